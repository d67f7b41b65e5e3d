"""Both stacks consume another app's contract: a web, a worker and a release from its Procfile; its env, checks,
port, sizes, generated secret, own database variables and writable path from its app.json. Expected values are
written out from the issue's runtime contract (Heroku's, on k8s) and the fixture's files."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from functools import cache
from pathlib import Path

import pytest
import yaml

from offline import plan as offline_plan
from offline import types as t
from tests.infra.test_contract import make_app
from tests.support import obj, one

PROCFILE = "web: node server.js\nworker: node worker.js --queue default\nrelease: node migrate.js && node seed.js\n"
APP_JSON = {
    "name": "shop",
    "env": {"SESSION_SECRET": {"generator": "secret", "description": "Signs cookies."},
            "NODE_ENV": {"value": "production"},
            "MAIL_FROM": {"description": "Sender address."}},
    "formation": {"worker": {"quantity": 2, "size": "standard-2x",
                             "autoscaling": {"min_quantity": 2, "max_quantity": 6,
                                             "triggers": [{"type": "cpu", "metadata": {"value": "60"}}]}}},
    "healthchecks": {"web": [{"type": "readiness", "path": "/up", "timeout": 2, "attempts": 4, "wait": 3,
                              "httpHeaders": [{"name": "X-Forwarded-Proto", "value": "https"}]},
                             {"type": "liveness", "path": "/live", "initialDelay": 10}]},
    "addons": ["heroku-postgresql"],
    "paasport": {"port": 3000, "writable_paths": ["/app/tmp"], "read_only_root": False,
                 "database_env": {"DB_HOST": "host", "DB_PASS": "password", "DB_NAME": "name"}},
}
GIVEN = ('config_vars={"MAIL_FROM": "shop@example.com"}',)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    return make_app(tmp_path_factory.mktemp("apps") / "shop", procfile=PROCFILE, app_json=APP_JSON)


@cache
def plan(stack: str, app: Path, *overrides: str) -> offline_plan.Plan:
    # On Heroku, web must be standard too: its standard-2x worker does not mix with basic dynos.
    on_heroku = ("dyno_size=standard-1x",) if stack == "heroku" else ()
    return offline_plan.run(stack, [f"app_dir={app}", *GIVEN, *on_heroku, *overrides])


def container(reg: offline_plan.Registration) -> dict:
    (only,) = obj(reg)["spec"]["template"]["spec"]["containers"]
    return only


def env_of(c: dict) -> dict[str, dict]:
    return {e["name"]: {k: v for k, v in e.items() if k != "name"} for e in c["env"]}


def test_k8s_gives_the_web_herokus_runtime_contract(shop):
    web = container(one(plan("k8s", shop), t.DEPLOYMENT, "paasport-web"))
    assert web["args"] == ["node", "server.js"]
    assert web["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    env = env_of(web)
    assert env["PAASPORT_POD_NAME"] == {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    assert web["env"][0]["name"] == "PAASPORT_POD_NAME"  # before DYNO, which the kubelet expands from it
    assert env["DYNO"] == {"value": "web.$(PAASPORT_POD_NAME)"}
    assert env["PORT"] == {"value": "3000"}
    assert env["DATABASE_URL"] == {"valueFrom": {"secretKeyRef": {"name": "paasport-database-url", "key": "url"}}}
    assert env["PGPASSWORD"] == {"valueFrom": {"secretKeyRef": {"name": "paasport-db", "key": "password"}}}
    assert env["PGHOST"] == env["DB_HOST"] == {"value": "paasport-postgresql.paasport.svc.cluster.local"}
    assert env["DB_NAME"] == env["PGDATABASE"] == {"value": "dvdrental"}
    assert env["DB_PASS"] == env["PGPASSWORD"]
    assert env["NODE_ENV"] == {"value": "production"} and env["MAIL_FROM"] == {"value": "shop@example.com"}
    assert env["SESSION_SECRET"] == {"valueFrom": {"secretKeyRef": {"name": "paasport-env", "key": "SESSION_SECRET"}}}
    # Dokku's checks as probes; what a check leaves out takes Dokku's defaults (timeout 30, attempts 5, wait 5).
    assert web["readinessProbe"] == {"httpGet": {"path": "/up", "port": "http", "httpHeaders": [
                                         {"name": "X-Forwarded-Proto", "value": "https"}]}, "periodSeconds": 3,
                                     "timeoutSeconds": 2, "failureThreshold": 4}
    assert web["livenessProbe"] == {"httpGet": {"path": "/live", "port": "http"}, "initialDelaySeconds": 10,
                                    "periodSeconds": 5, "timeoutSeconds": 30, "failureThreshold": 5}
    assert "startupProbe" not in web
    # The contract relaxed the root filesystem: the container's own layer is the dyno's writable filesystem, the
    # image's files included, so no volume hides them at /tmp or the writable path (only /dev/shm's memory).
    assert web["securityContext"]["readOnlyRootFilesystem"] is False
    assert web["volumeMounts"] == [{"name": "shm", "mountPath": "/dev/shm"}]
    pod = obj(one(plan("k8s", shop), t.DEPLOYMENT, "paasport-web"))["spec"]["template"]
    assert pod["spec"]["volumes"] == [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}]
    assert "initContainers" not in pod["spec"]
    assert pod["spec"]["terminationGracePeriodSeconds"] == 30
    assert "annotations" not in pod["metadata"] or "prometheus.io/scrape" not in pod["metadata"]["annotations"]


def test_k8s_runs_the_worker_as_a_deployment_without_a_service_after_the_release(shop):
    p = plan("k8s", shop)
    worker_reg = one(p, t.DEPLOYMENT, "paasport-worker")
    worker = obj(worker_reg)
    assert "replicas" not in worker["spec"]  # the autoscaler owns it
    (c,) = worker["spec"]["template"]["spec"]["containers"]
    assert c["args"] == ["node", "worker.js", "--queue", "default"]
    assert "ports" not in c and "readinessProbe" not in c
    assert env_of(c)["DYNO"] == {"value": "worker.$(PAASPORT_POD_NAME)"}
    # standard-2x: 1024 MB, as the container's limit; half of it requested.
    assert c["resources"] == {"requests": {"cpu": "200m", "memory": "512Mi"},
                              "limits": {"cpu": "1", "memory": "1024Mi"}}
    assert [s.name for s in p.find(t.SERVICE)] == ["paasport-web"]
    hpa = obj(one(p, t.HPA, "paasport-worker"))["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    policy = obj(one(p, t.NETWORK_POLICY, "paasport-worker"))["spec"]
    assert policy == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "paasport",
                                                      "app.kubernetes.io/component": "worker-worker"}},
                      "policyTypes": ["Ingress"]}  # no rule: nothing may connect
    db_policy = obj(one(p, t.NETWORK_POLICY, "paasport-postgresql"))["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "paasport",
                                            "app.kubernetes.io/component": "worker-worker"}}} in db_policy
    job = one(p, t.JOB)
    assert job.urn in worker_reg.dependencies
    assert container(job)["args"] == ["/bin/sh", "-c", "node migrate.js && node seed.js"]


def test_k8s_keeps_secrets_secret_and_makes_the_generated_one_once(shop):
    p = plan("k8s", shop)
    secret = one(p, t.SECRET, "paasport-env")
    assert obj(secret)["stringData"] == {"SESSION_SECRET": "[secret]"}
    (password,) = [r for r in p.find(t.RANDOM_PASSWORD) if r.name == "paasport-session-secret"]
    # Inputs that never change (every input of RandomPassword forces a new value), and protected like the data.
    assert obj(password) == {"length": 64, "special": False}
    assert password.protect is True
    url = one(p, t.SECRET, "paasport-database-url")
    assert obj(url)["stringData"] == {"url": "[secret]"}
    revealed = offline_plan.reveal(url.inputs["stringData"], show_secrets=True)["url"]
    assert revealed.startswith("postgres://paasport:") and revealed.endswith(
        "@paasport-postgresql.paasport.svc.cluster.local:5432/dvdrental")


def test_heroku_sets_config_vars_formation_per_type_and_writes_heroku_yml_with_the_prelude(shop):
    p = plan("heroku", shop)
    app = obj(one(p, t.HEROKU_APP))
    assert app["configVars"]["NODE_ENV"] == "production" and app["configVars"]["MAIL_FROM"] == "shop@example.com"
    assert app["sensitiveConfigVars"] == {"SESSION_SECRET": "[secret]"}
    revealed = offline_plan.reveal(one(p, t.HEROKU_APP).inputs["sensitiveConfigVars"], show_secrets=True)
    assert set(revealed) == {"SESSION_SECRET"}
    worker = obj(one(p, t.HEROKU_FORMATION, "paasport-worker"))
    assert (worker["type"], worker["quantity"], worker["size"]) == ("worker", 2, "standard-2x")
    build = one(p, t.HEROKU_BUILD)
    with tarfile.open(fileobj=io.BytesIO(Path(obj(build)["source"]["path"]).read_bytes()), mode="r:gz") as tar:
        manifest = yaml.safe_load(tar.extractfile("heroku.yml").read())
    prelude = ('_u="${DATABASE_URL#*://}"; _a="${_u%%@*}"; _r="${_u#*@}"; _h="${_r%%/*}"; _d="${_r#*/}"; '
               'export DB_HOST="${_h%:*}" DB_NAME="${_d%%\\?*}" DB_PASS="${_a#*:}" PGDATABASE="${_d%%\\?*}" '
               'PGHOST="${_h%:*}" PGPASSWORD="${_a#*:}" PGPORT="${_h##*:}" PGUSER="${_a%%:*}"; '
               'unset _u _a _r _h _d; ')
    assert manifest["run"] == {"web": prelude + "exec node server.js",
                               "worker": {"command": [prelude + "exec node worker.js --queue default"],
                                          "image": "web"}}
    assert manifest["release"] == {"image": "web", "command": [prelude + "node migrate.js && node seed.js"]}


def test_an_app_without_a_database_or_release_gets_neither(tmp_path):
    app = make_app(tmp_path / "static", procfile="web: ./serve\n")
    k8s = offline_plan.run("k8s", [f"app_dir={app}"])
    assert not k8s.find(t.JOB) and not k8s.find(t.HELM_RELEASE) and not k8s.find(t.CRON_JOB)
    env = env_of(container(one(k8s, t.DEPLOYMENT, "paasport-web")))
    assert not {"DATABASE_URL", "PGHOST", "PGPASSWORD"} & set(env)
    heroku = offline_plan.run("heroku", [f"app_dir={app}"])
    assert not heroku.find(t.HEROKU_ADDON)
    assert "PGSSLMODE" not in obj(one(heroku, t.HEROKU_APP))["configVars"]


def test_registry_mode_refuses_what_it_cannot_release(shop):
    from infra.settings import ConfigError

    with pytest.raises(ConfigError, match=r"paasport:deploy is 'registry', which releases the image's own command "
                                          r"for web and the release only; the app's contract also needs worker "
                                          r"'worker', paasport.database_env"):
        offline_plan.run("heroku", [f"app_dir={shop}", *GIVEN, "deploy=registry"])


def test_the_relaxed_hardening_is_valid_kubernetes_and_checkov_reports_it(shop, tmp_path):
    """The rendered objects of the other app validate strictly; Checkov fails exactly the read-only root filesystem
    check (CKV_K8S_22) on the workloads whose pods the contract relaxed, and nothing else."""
    from kubernetes_validate import utils as kubernetes_validate

    from tests.offline.test_render import CHECKOV, KUBERNETES_VERSIONS, documents, is_core
    from tests.support import REPO, offline_cli, require_shared_charts

    require_shared_charts()
    offline_cli("plan", "--stack", "k8s", f"--config=app_dir={shop}", *(f"--config={g}" for g in GIVEN),
                "--render", str(tmp_path), check=True)
    for doc in documents(tmp_path).values():
        if is_core(doc):
            kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)
    if not CHECKOV.is_file():
        pytest.skip(f"needs Checkov in {CHECKOV.parent.parent} (`make test` creates it)")
    result = subprocess.run([str(CHECKOV), "--config-file", str(REPO / ".checkov.yaml"), "-d", str(tmp_path),
                             "--output", "json"], capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    failed = sorted((c["check_id"], c["resource"]) for c in report["results"]["failed_checks"])
    assert failed == [("CKV_K8S_22", "Deployment.paasport.paasport-web"),
                      ("CKV_K8S_22", "Deployment.paasport.paasport-worker"),
                      ("CKV_K8S_22", "Job.paasport.paasport-release-687d2f8508")]


def test_the_parity_table_is_derived_from_this_apps_contract(shop):
    from offline import parity

    rows = dict(parity.table({"k8s": plan("k8s", shop), "heroku": plan("heroku", shop)}).rows)
    checks = rows["Health checks"]["k8s"]
    assert checks.what.startswith("liveness probe /live, readiness probe /up:")
    assert "RELAXED: the root filesystem is writable (app.json paasport.read_only_root: false; Checkov CKV_K8S_22)" \
        in rows["Hardened app containers"]["k8s"].what
    assert "writable: /dev/shm, and the whole root filesystem, the image's files included" in \
        rows["Hardened app containers"]["k8s"].what
    assert isinstance(rows["Metrics"]["k8s"], parity.Unused)  # the app names no metrics path
    assert "runs `node migrate.js && node seed.js`" in rows["Release phase"]["k8s"].what


def test_what_heroku_cannot_honour_is_a_warning_at_preview(shop):
    from tests.support import offline_cli

    result = offline_cli("plan", "--stack", "heroku", f"--config=app_dir={shop}", *(f"--config={g}" for g in GIVEN),
                         "--config=dyno_size=standard-1x")
    assert result.returncode == 0, result.stderr
    assert f"{shop}/app.json healthchecks.web: Heroku's Common Runtime does not probe dynos" in result.stderr
    assert f"{shop}/app.json formation.worker.autoscaling: Heroku autoscales only web dynos of Performance size " \
           "and up" in result.stderr


def test_what_the_stack_decides_instead_of_app_json_is_a_warning_at_preview(tmp_path):
    from tests.support import offline_cli

    app = make_app(tmp_path / "scaled", app_json={"formation": {"web": {"quantity": 3, "max_parallel": 2}}})
    result = offline_cli("plan", "--stack", "k8s", f"--config=app_dir={app}")
    assert result.returncode == 0, result.stderr
    assert f"{app}/app.json formation.web: the stack's replicas and hpa_* settings decide the web pods (an " \
           "autoscaler), not app.json's quantity 3." in result.stderr
    assert f"{app}/app.json formation.web.max_parallel: is ignored: rollouts start one new process at a time" \
        in result.stderr


def test_registry_mode_refuses_a_procfile_web_the_image_does_not_run(tmp_path):
    from infra.settings import ConfigError

    app = make_app(tmp_path / "cmd", procfile="web: ./other-server\n")  # the Dockerfile's CMD is ["/server"]
    with pytest.raises(ConfigError, match=r"paasport:deploy is 'registry', which runs the image's CMD \('/server'\) "
                                          r"for web, but the app's Procfile says `web: ./other-server`"):
        offline_plan.run("heroku", [f"app_dir={app}", "deploy=registry"])
    offline_plan.run("heroku", [f"app_dir={app}"])  # the build mode runs the Procfile's command


def test_each_app_gets_its_own_build_archive_so_plans_never_rewrite_each_others(shop, tmp_path):
    from tests.support import heroku_plan

    actors = obj(one(heroku_plan(), t.HEROKU_BUILD))["source"]["path"]
    other = obj(one(plan("heroku", shop), t.HEROKU_BUILD))["source"]["path"]
    assert Path(actors).name == "paasport-source.tar.gz" and Path(actors).parent.name == "heroku"  # as before
    assert other != actors
    with tarfile.open(actors, mode="r:gz") as tar:
        assert "actors/serve.py" in tar.getnames()  # still the actors app after the other app's plan


def test_k8s_runs_shell_commands_of_long_running_processes_so_that_sigterm_reaches_them(tmp_path):
    """The kubelet signals PID 1 only: a simple command replaces its shell, a compound one keeps a forwarding shell;
    the release Job runs to its end and keeps plain `sh -c`."""
    app = make_app(tmp_path / "a", procfile="web: ./server --port $PORT\nworker: cd jobs && ./work\n"
                                            "release: ./migrate --to $VERSION\n")
    p = plan("k8s", app)
    web, worker = (container(one(p, t.DEPLOYMENT, n)) for n in ("paasport-web", "paasport-worker"))
    assert web["args"] == ["/bin/sh", "-c", "exec ./server --port $PORT"]
    assert worker["args"][:2] == ["/bin/sh", "-c"]
    assert worker["args"][2].startswith("trap 'trap \"\" TERM; kill -TERM 0 2>/dev/null' TERM\n")
    assert "\ncd jobs && ./work\n" in worker["args"][2]
    job = one(p, t.JOB)
    assert container(job)["args"] == ["/bin/sh", "-c", "./migrate --to $VERSION"]


def test_heroku_without_a_prelude_says_that_pg_variables_are_not_set(tmp_path):
    from offline import parity
    from tests.support import offline_cli

    own = make_app(tmp_path / "own", app_json={"addons": ["heroku-postgresql"]},
                   heroku__yml="build:\n  docker:\n    web: Dockerfile\n")
    result = offline_cli("plan", "--stack", "heroku", f"--config=app_dir={own}")
    assert result.returncode == 0, result.stderr
    assert (f"PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD are not set on Heroku: it attaches DATABASE_URL only, "
            f"and {own}/heroku.yml is the app's own") in " ".join(result.stderr.split())
    row = parity.table({"heroku": plan("heroku", own)}).rows
    assert "PG* are not set (no generated heroku.yml to derive them): the app must read DATABASE_URL" in \
        dict(row)["DB credentials as secrets"]["heroku"].what
    generated = make_app(tmp_path / "generated", app_json={"addons": ["heroku-postgresql"]})
    assert "PGHOST" not in offline_cli("plan", "--stack", "heroku", f"--config=app_dir={generated}").stderr
