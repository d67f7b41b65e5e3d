"""app.json `cron` (Dokku's scheduled tasks, issue 25 item 3): read and checked like every other key, a CronJob
each on k8s, and on Heroku the Scheduler job to add by hand, since Scheduler has no API. Expected values are
written out from Dokku's docs and code, robfig/cron's parser (Kubernetes' judge of a schedule), Kubernetes' own
schemas (kubernetes-validate) and Heroku Scheduler's three frequencies."""

from __future__ import annotations

import pytest
from kubernetes_validate import utils as kubernetes_validate

from infra import contract, cron
from infra.heroku import scheduler
from infra.k8s.one_off import cron_job_name
from offline import plan as offline_plan
from offline import types as t
from tests.infra.test_contract import make_app
from tests.support import obj, offline_cli

PROCFILE = "web: ./server\nreport: ./bin/report --all\n"


def read(tmp_path, entries) -> tuple[contract.AppSpec | None, list[str]]:
    app = make_app(tmp_path / "app", procfile=PROCFILE, app_json={"cron": entries})
    return contract.read(app, "myapp")


# --- the schedule, as Kubernetes' parser (robfig/cron v3 ParseStandard) reads it -------------------------------------

@pytest.mark.parametrize(("schedule", "minutes", "weekdays"), [
    ("0 3 * * *", {0}, set(range(7))),
    ("*/15 * * * *", {0, 15, 30, 45}, set(range(7))),
    ("5-20/5 * * * 1-5", {5, 10, 15, 20}, {1, 2, 3, 4, 5}),
    ("30 4 * * MON,wed", {30}, {1, 3}),  # names, any case
    ("10/20 * * * ?", {10, 30, 50}, set(range(7))),  # "N/step" runs from N to the end; ? is *
    ("@weekly", {0}, {0}),
    ("@hourly", {0}, set(range(7))),
])
def test_a_schedule_kubernetes_takes(schedule, minutes, weekdays):
    parsed, why = cron.parse(schedule)
    assert why is None
    assert (set(parsed.values[0]), set(parsed.values[4])) == (minutes, weekdays)


@pytest.mark.parametrize(("schedule", "why"), [
    ("0 3 * *", "has 4 fields, not 5 (minute hour day-of-month month day-of-week)"),
    ("0 24 * * *", "has '24' in its hour field: outside 0-23"),
    ("0 0 * * 7", "has '7' in its day of week field: outside 0-6"),  # robfig's weekdays end at 6
    ("0 0 0 * *", "has '0' in its day of month field: outside 1-31"),
    ("*/0 * * * *", "has '*/0' in its minute field: a step of 0"),
    ("9-3 * * * *", "has '9-3' in its minute field: a range that ends before it begins"),
    ("1-2-3 * * * *", "has '1-2-3' in its minute field: too many hyphens"),
    ("0 0 L * *", "has 'L' in its day of month field: not a number or name"),  # Quartz's L: not robfig's
    ("@reboot", "is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every "
                "<duration>"),
    ("CRON_TZ=Europe/Paris 0 3 * * *", "sets a time zone, which Kubernetes refuses in a schedule (schedules run "
                                       "in UTC here)"),
    ("@every 5 minutes", "has '5 minutes', not a duration like 1h30m"),
])
def test_a_schedule_kubernetes_refuses_is_named_with_the_reason(schedule, why):
    assert cron.problem(schedule) == why


# --- app.json cron -------------------------------------------------------------------------------------------------

def test_tasks_are_read_with_doku_semantics_and_forbid_by_default(tmp_path):
    spec, problems = read(tmp_path, [
        {"command": "python manage.py clearsessions", "schedule": "@daily"},
        {"command": "report", "schedule": "0 * * * *", "concurrency_policy": "replace"},  # a Procfile type
        {"command": "./bin/sync", "schedule": "*/10 * * * *", "concurrency_policy": "allow", "maintenance": True},
    ])
    assert problems == []
    assert spec.cron == (
        contract.CronTask("python manage.py clearsessions", "@daily", "forbid"),
        contract.CronTask("./bin/report --all", "0 * * * *", "replace", process="report"),
        contract.CronTask("./bin/sync", "*/10 * * * *", "allow", maintenance=True),
    )


@pytest.mark.parametrize(("entries", "problem"), [
    ({"command": "x"}, 'cron: is an object, not a list of tasks. Fix: write [{"command": "python manage.py '
                       'clearsessions", "schedule": "@daily"}].'),
    (["x"], 'cron[0]: is a string, not an object. Fix: write it as {"command": "...", "schedule": "0 3 * * *"}.'),
    ([{"command": "x", "schedule": "@daily", "when": 1}], "cron[0].when: is not a key this format knows. Fix: "
                                                         "remove it, or use one of command, schedule, "
                                                         "concurrency_policy, maintenance."),
    ([{"schedule": "@daily"}], 'cron[0].command: is null, not a command. Fix: write the command to run, e.g. '
                               '"python manage.py clearsessions", or a Procfile process type.'),
    ([{"command": "x", "schedule": "61 * * * *"}], 'cron[0].schedule: is "61 * * * *", which has \'61\' in its '
                                                   "minute field: outside 0-59. Fix: write five cron fields in UTC, "
                                                   'e.g. "0 3 * * *" (03:00 every day), or @hourly, @daily, @weekly, '
                                                   "@monthly."),
    ([{"command": "x", "schedule": 5}], 'cron[0].schedule: is a number, not a string. Fix: write five cron fields '
                                        'in UTC, e.g. "0 3 * * *" (03:00 every day), or @hourly, @daily, @weekly, '
                                        "@monthly."),
    ([{"command": "x", "schedule": "@daily", "concurrency_policy": "Forbid"}],
     'cron[0].concurrency_policy: is "Forbid". Fix: use one of allow, forbid, replace.'),
    ([{"command": "x", "schedule": "@daily", "maintenance": "yes"}],
     'cron[0].maintenance: is a string, not true or false. Fix: write "maintenance": true to keep the task from '
     "running."),
])
def test_each_bad_task_gets_one_line_naming_the_key_and_the_fix(tmp_path, entries, problem):
    _spec, problems = read(tmp_path, entries)
    assert problems == [f"myapp/app.json {problem}"]


def test_every_bad_task_is_reported_at_once(tmp_path):
    _, problems = read(tmp_path, [{"command": "", "schedule": "@daily"}, {"command": "x", "schedule": "* *"}])
    assert [p.split(":", 1)[0] for p in problems] == ["myapp/app.json cron[0].command",
                                                      "myapp/app.json cron[1].schedule"]


# --- k8s: a CronJob per task ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scheduled(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("apps") / "scheduled", procfile=PROCFILE, app_json={
        "addons": ["heroku-postgresql"],
        "cron": [{"command": "report", "schedule": "30 2 * * *"},
                 {"command": "./bin/sync | tee /tmp/log", "schedule": "@hourly", "concurrency_policy": "allow",
                  "maintenance": True}]})
    return app, offline_plan.run("k8s", [f"app_dir={app}"])


def test_each_task_is_a_cron_job_running_the_app_image_as_the_web_pod_runs(scheduled):
    app, plan = scheduled
    spec, _ = contract.read(app)
    jobs = {r.name: obj(r) for r in plan.find(t.CRON_JOB) if r.name != "paasport-backup"}
    assert sorted(jobs) == sorted(cron_job_name("paasport", task) for task in spec.cron)
    assert all(len(name) <= 52 for name in jobs)  # a CronJob's name leaves room for its Jobs' suffix
    report = jobs[cron_job_name("paasport", spec.cron[0])]
    sync = jobs[cron_job_name("paasport", spec.cron[1])]
    fields = ("schedule", "timeZone", "concurrencyPolicy", "suspend", "startingDeadlineSeconds",
              "successfulJobsHistoryLimit", "failedJobsHistoryLimit")
    assert {k: report["spec"][k] for k in fields} == {
        "schedule": "30 2 * * *", "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid", "suspend": False,
        "startingDeadlineSeconds": 60, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3}
    assert (sync["spec"]["concurrencyPolicy"], sync["spec"]["suspend"]) == ("Allow", True)
    job = report["spec"]["jobTemplate"]["spec"]
    assert (job["backoffLimit"], job["activeDeadlineSeconds"]) == (0, 86400)
    pod = job["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "cron"
    assert pod["metadata"]["annotations"]["linkerd.io/inject"] == "disabled"  # a meshed Job never completes
    assert pod["spec"]["restartPolicy"] == "Never"
    (container,) = pod["spec"]["containers"]
    web = obj(plan.find(t.DEPLOYMENT)[0])["spec"]["template"]
    (serving,) = web["spec"]["containers"]
    assert container["args"] == ["./bin/report", "--all"]  # the Procfile's `report`, without a shell
    assert sync["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "/bin/sh", "-c", "./bin/sync | tee /tmp/log"]
    assert container["image"] == serving["image"] and container["securityContext"] == serving["securityContext"]
    assert [e for e in container["env"] if e["name"] != "DYNO"] == [e for e in serving["env"] if e["name"] != "DYNO"]
    assert {"name": "DYNO", "value": "scheduler.$(PAASPORT_POD_NAME)"} in container["env"]  # Heroku's scheduler.N
    assert pod["metadata"]["annotations"]["paasport/secrets-digest"] == \
        web["metadata"]["annotations"]["paasport/secrets-digest"]
    assert pod["spec"].get("initContainers") == web["spec"].get("initContainers")
    for doc in jobs.values():
        kubernetes_validate.validate(doc, sorted(kubernetes_validate.all_versions(),
                                                 key=lambda v: tuple(map(int, v.split("."))))[-1], strict=True)


def test_the_database_admits_the_tasks_pods_and_nothing_reaches_them(scheduled):
    _, plan = scheduled
    (policy,) = [obj(r) for r in plan.find(t.NETWORK_POLICY) if r.name == "paasport-postgresql"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "paasport",
                                            "app.kubernetes.io/component": "cron"}}} in policy["spec"]["ingress"][0][
        "from"]
    (own,) = [obj(r) for r in plan.find(t.NETWORK_POLICY) if r.name == "paasport-cron"]
    assert own["spec"] == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "paasport",
                                                           "app.kubernetes.io/component": "cron"}},
                           "policyTypes": ["Ingress"]}


# --- Heroku: the Scheduler job to add -------------------------------------------------------------------------------

def task(schedule: str) -> contract.CronTask:
    return contract.CronTask("./bin/report", schedule, "forbid")


NO_DATABASE = contract.AppSpec(directory=None, shown="app", processes={}, release=None, env=(), database=False,
                               database_env={}, port=5000, metrics_path="", writable_paths=(), read_only_root=True,
                               heroku_yml=False)


@pytest.mark.parametrize(("schedule", "expected"), [
    ("*/10 * * * *", ("Every 10 minutes", "./bin/report")),
    ("0,10,20,30,40,50 * * * *", ("Every 10 minutes", "./bin/report")),
    ("@hourly", ("Every hour at :00", "./bin/report")),
    ("40 * * * *", ("Every hour at :40", "./bin/report")),
    ("30 2 * * *", ("Every day at 02:30 (UTC)", "./bin/report")),
    ("@daily", ("Every day at 00:00 (UTC)", "./bin/report")),
    ("20 4 * * *", ("Every hour at :20", 'case "$(date -u +%H)" in 04) ;; *) exit 0;; esac; ./bin/report')),
    ("0 */6 * * *", ("Every hour at :00", 'case "$(date -u +%H)" in 00|06|12|18) ;; *) exit 0;; esac; '
                                          "./bin/report")),
    ("@weekly", ("Every day at 00:00 (UTC)", 'case "$(date -u +%w)" in 0) ;; *) exit 0;; esac; ./bin/report')),
    ("0 3 1 1,7 *", ("Every day at 03:00 (UTC)", 'case "$(date -u +%d)" in 01) ;; *) exit 0;; esac; '
                                                 'case "$(date -u +%m)" in 01|07) ;; *) exit 0;; esac; ./bin/report')),
])
def test_the_scheduler_job_that_keeps_each_schedule(schedule, expected):
    assert scheduler.job(task(schedule), NO_DATABASE) == expected


@pytest.mark.parametrize(("schedule", "why"), [
    ("*/5 * * * *", "it runs at :00, :05, :10, :15, :20, :25 ... past the hour, and Scheduler only at a whole ten "
                    "minutes, or every ten"),
    ("15 3 * * *", "it runs at :15 past the hour, and Scheduler only at a whole ten minutes, or every ten"),
    ("0 3 1 * 1", "it restricts both the day of the month and the day of the week, which cron reads as either"),
    ("@every 1h", "@every 1h runs at an interval from whenever the scheduler started, not at set times"),
])
def test_a_schedule_scheduler_cannot_keep_is_said_with_the_reason(schedule, why):
    assert scheduler.job(task(schedule), NO_DATABASE) == why


def test_heroku_says_at_preview_what_to_add_and_lists_the_jobs(scheduled):
    app, _ = scheduled
    result = offline_cli("plan", "--stack", "heroku", f"--config=app_dir={app}", "--json")
    assert result.returncode == 0, result.stderr
    warnings = " ".join(result.stderr.split())
    assert (f"{app}/app.json cron[0] (30 2 * * *: ./bin/report --all): Heroku Scheduler has no API, so the stack "
            "cannot add this job. Once: `heroku addons:create scheduler:standard --app paasport-example` (free; its "
            "runs are billed as one-off dynos), then `heroku addons:open scheduler --app paasport-example` and Add "
            'Job: "Every day at 02:30 (UTC)", Run Command: ') in warnings
    assert f"{app}/app.json cron[1] (@hourly: ./bin/sync | tee /tmp/log) is in maintenance: not scheduled on " \
           "Heroku either." in warnings
    import json

    (job,) = json.loads(result.stdout)["outputs"]["heroku_scheduler_jobs"]
    # behind the prelude that gives a one-off dyno the PG* variables heroku.yml's processes get
    assert job.startswith('Every day at 02:30 (UTC): _u="${DATABASE_URL#*://}"; ') and job.endswith(
        "exec ./bin/report --all")


def test_the_parity_table_shows_the_tasks_on_k8s(scheduled):
    from offline.parity import k8s as k8s_detectors

    _, plan = scheduled
    cell = k8s_detectors.scheduled_jobs(plan)
    assert cell.what.startswith("a CronJob per app.json `cron` task (`30 2 * * *`, `@hourly`, Etc/UTC; ")
    assert len(cell.resources) == 2


def test_checkov_finds_no_failed_check_in_the_tasks_and_the_one_off_pod(tmp_path):
    """The CronJobs and the one-off pod, as hardened as the web Deployment (init container included)."""
    import json
    import shlex
    import subprocess

    import yaml

    from tests.support import REPO

    checkov = REPO / ".venv-checkov" / "bin" / "checkov"
    if not checkov.is_file():
        pytest.skip(f"needs Checkov in {checkov.parent.parent} (`make test` creates it)")
    app = make_app(tmp_path / "app", procfile=PROCFILE, dockerfile="ARG BASE=debian:trixie-slim\nFROM ${BASE}\n",
                   app_json={"addons": ["heroku-postgresql"], "cron": [{"command": "report", "schedule": "@daily"}]})
    plan = offline_plan.run("k8s", [f"app_dir={app}"])
    out = tmp_path / "rendered"
    out.mkdir()
    for reg in [*plan.find(t.CRON_JOB), *plan.find(t.NETWORK_POLICY)]:  # with what admits nothing to their pods
        manifest = offline_plan.kubernetes_manifest(reg)
        (out / f"{reg.type.rsplit(':', 1)[1]}-{reg.name}.yaml").write_text(yaml.safe_dump(manifest))
    words = shlex.split(offline_plan.reveal(plan.outputs["kubectl_run"]))
    overrides = json.loads(next(w for w in words if w.startswith("--overrides=")).removeprefix("--overrides="))
    run = {**overrides, "kind": "Pod", "metadata": {**overrides["metadata"], "name": "paasport-run",
                                                    "namespace": "paasport"}}
    (out / "pod-paasport-run.yaml").write_text(yaml.safe_dump(run))
    assert [c["name"] for c in run["spec"]["initContainers"]] == ["image-files"]
    result = subprocess.run([str(checkov), "--config-file", str(REPO / ".checkov.yaml"), "-d", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_the_backup_schedule_is_checked_by_the_same_rules():
    from infra.settings import ConfigError

    with pytest.raises(ConfigError) as refused:
        offline_plan.run("k8s", ["backup_schedule=0 3 * * 7"])
    assert ("paasport:backup_schedule is '0 3 * * 7', which has '7' in its day of week field: outside 0-6 (it is a "
            "cron schedule, in UTC). Fix: in Pulumi.k8s.yaml set `paasport:backup_schedule: '0 3 * * *'`") in str(
        refused.value)
