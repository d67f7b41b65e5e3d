"""The app contract (infra/contract.py): what it reads from an app's Procfile, app.json and Dockerfile, the one
message each bad input gets, and the heroku.yml it writes; the expected values are written out here."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from infra import contract
from infra.settings import ConfigError
from offline import plan as offline_plan
from tests.support import APP_DIR

DOCKERFILE = "FROM scratch\nCMD [\"/server\"]\n"


def make_app(root: Path, procfile: str | None = "web: ./server --port $PORT\n", app_json: object = None,
             dockerfile: str | None = DOCKERFILE, **files: str) -> Path:
    """An app directory with these files (None: the file is absent)."""
    root.mkdir(parents=True, exist_ok=True)
    if procfile is not None:
        (root / "Procfile").write_text(procfile)
    if dockerfile is not None:
        (root / "Dockerfile").write_text(dockerfile)
    if app_json is not None:
        (root / "app.json").write_text(app_json if isinstance(app_json, str) else json.dumps(app_json, indent=2))
    for name, text in files.items():
        (root / name.replace("__", ".")).write_text(text)
    return root


def problems_of(directory: Path) -> list[str]:
    return contract.read(directory, "myapp")[1]


def test_the_actors_app_states_its_processes_checks_port_and_database_through_the_contract():
    spec, problems = contract.read(APP_DIR, "app")
    assert problems == []
    assert list(spec.processes) == ["web"]
    assert spec.web.command == "python -m actors.serve"
    assert spec.release == "python -m actors.seed"
    assert spec.web.checks == (
        contract.Check("startup", "/healthz", 3, 0, 30, 2),
        contract.Check("liveness", "/healthz", 3, 0, 3, 10),
        contract.Check("readiness", "/readyz", 3, 0, 3, 5),
    )
    assert (spec.port, spec.metrics_path, spec.database, spec.database_env) == (8000, "/metrics", True, {})
    assert spec.plain_env == {"FORCE_HTTPS": "true"}
    assert [(v.name, v.required) for v in spec.env] == [("SEED_ARCHIVE", False), ("FORCE_HTTPS", True)]
    assert (spec.read_only_root, spec.writable_paths, spec.heroku_yml) == (True, (), False)


def test_procfile_types_formation_autoscaling_and_env_are_read(tmp_path):
    app = make_app(tmp_path / "a", procfile="# comment\n\nweb: bundle exec puma -p $PORT\nworker: bundle exec "
                   "sidekiq\nrelease: bin/rails db:migrate\nclock: bin/clock\n", app_json={
                       "name": "x", "scripts": {"postdeploy": "x"},
                       "env": {"SIMPLE": "v", "SECRET_KEY_BASE": {"generator": "secret"},
                               "OPTIONAL": {"required": False, "description": "d"}},
                       "formation": {"worker": {"quantity": 2, "size": "Standard-2X", "autoscaling": {
                           "min_quantity": 1, "max_quantity": 4,
                           "triggers": [{"name": "c", "type": "cpu", "metadata": {"value": "60"}}]}}},
                       "addons": [{"plan": "heroku-postgresql:essential-0", "as": "MAIN"}]})
    spec, problems = contract.read(app)
    assert problems == []
    assert list(spec.processes) == ["web", "worker", "clock"]  # web first; release is not a process
    assert spec.release == "bin/rails db:migrate"
    worker = spec.processes["worker"]
    assert (worker.quantity, worker.size, worker.autoscaling) == (2, "standard-2x", contract.Autoscaling(1, 4, 60))
    assert (spec.processes["clock"].quantity, spec.web.quantity) == (0, 1)  # Dokku's defaults
    assert [v.name for v in spec.generated] == ["SECRET_KEY_BASE"]
    assert spec.plain_env == {"SIMPLE": "v"}
    assert spec.database_env == {"MAIN_URL": "url"}  # Heroku's attachment naming: `as` MAIN sets MAIN_URL


# Each bad input of the issue, and the one message it gets: the file, the line or key, and the fix.
BAD = {
    "malformed Procfile": (dict(procfile="web: ./server\nthis is not a process line\n"),
                           "myapp/Procfile line 2: \"this is not a process line\" is not `<type>: <command>`. Fix: "
                           "write `name: command`"),
    "missing web": (dict(procfile="worker: ./work\n"),
                    "myapp/Procfile: has no `web` process (it has worker). Fix: add a `web: <command>` line"),
    "unknown app.json key": (dict(app_json={"envs": {}}),
                             "myapp/app.json key 'envs': is not a key of Heroku's app.json schema or Dokku's. "
                             "Fix: remove it, or correct its name"),
    "wrong type": (dict(app_json={"formation": {"web": {"quantity": "2"}}}),
                   "myapp/app.json formation.web.quantity: is \"2\", not a whole number. Fix: write a number"),
    "health path without /": (dict(app_json={"healthchecks": {"web": [{"type": "readiness", "path": "health"}]}}),
                              "myapp/app.json healthchecks.web[0].path: is 'health', which does not start with "
                              "'/'. Fix: write it from the root, e.g. \"/health\""),
    "worker with a port": (dict(procfile="web: ./s\nworker: ./w\n",
                                app_json={"formation": {"worker": {"service": {"exposed": True}}}}),
                           "myapp/app.json formation.worker.service: exposes 'worker', a worker, on a port: only "
                           "web gets a port"),
    "worker with an HTTP check": (dict(procfile="web: ./s\nworker: ./w\n", app_json={
        "healthchecks": {"worker": [{"type": "liveness", "path": "/up", "port": 9000}]}}),
        "myapp/app.json healthchecks.worker[0]: checks HTTP on a port of 'worker', a worker: only web gets a port"),
    "invalid JSON": (dict(app_json='{"env": {,}}'),
                     "myapp/app.json line 1 column 10: is not valid JSON"),
    "no Dockerfile": (dict(dockerfile=None),
                      "myapp/Dockerfile: is missing: apps built by buildpacks alone are not supported yet. Fix: "
                      "add a Dockerfile"),
    "an add-on neither platform has": (dict(app_json={"addons": ["heroku-redis"]}),
                                       "myapp/app.json addons[0]: is \"heroku-redis\": the only add-on both "
                                       "platforms provide is heroku-postgresql"),
    "two types one Kubernetes name": (dict(procfile="web: ./s\nmail_out: ./a\nmail-out: ./b\n"),
                                      "myapp/Procfile line 3: process type 'mail-out' names the same Kubernetes "
                                      "objects as 'mail_out' (line 2): case and '_' are not kept there. Fix: rename"),
    "a header without a value": (dict(app_json={"healthchecks": {"web": [{"path": "/", "httpHeaders": [
        {"name": "Host"}]}]}}), "myapp/app.json healthchecks.web[0].httpHeaders[0]: is not a header name (a token) "
        "with a string value. Fix: write [{\"name\": \"X-Forwarded-Proto\", \"value\": \"https\"}]"),
    "an unknown env key": (dict(app_json={"env": {"X": {"valeu": "1"}}}),
                           "myapp/app.json env.X.valeu: is not a key this format knows. Fix: remove it"),
    "a formation of a type the Procfile lacks": (dict(app_json={"formation": {"wroker": {"quantity": 1}}}),
                                                 "myapp/app.json formation.wroker: names a process type the "
                                                 "Procfile does not declare"),
}


@pytest.mark.parametrize("case", BAD)
def test_each_bad_input_gets_one_message_naming_the_file_the_key_or_line_and_the_fix(tmp_path, case):
    files, expected = BAD[case]
    problems = problems_of(make_app(tmp_path / "myapp", **files))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]
    assert " Fix: " in problems[0]


def _plan_error(stack: str, app: Path, *overrides: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        offline_plan.run(stack, [f"app_dir={app}", *overrides])
    return [line for line in str(caught.value).splitlines() if line.startswith("  - ")]


def test_a_required_variable_without_a_value_stops_the_preview_naming_the_command_that_sets_it(tmp_path):
    app = make_app(tmp_path / "myapp", app_json={"env": {"API_TOKEN": {"description": "The API's token."}},
                                                 "addons": ["heroku-postgresql"]})
    for stack in ("k8s", "heroku"):
        assert _plan_error(stack, app) == [
            f"  - paasport:app_dir {app}/app.json env.API_TOKEN: is required (The API's token) and has no value. "
            f"Fix: run `pulumi config set --stack {stack} --path config_vars.API_TOKEN <value>` (or --secret with "
            "secret_config_vars), or give it a \"value\" in app.json."]
    # Given by the stack, it plans.
    offline_plan.run("heroku", [f"app_dir={app}", 'config_vars={"API_TOKEN": "t"}'])


def test_a_size_neither_platform_has_stops_the_preview_on_both(tmp_path):
    app = make_app(tmp_path / "myapp", app_json={"formation": {"web": {"size": "hobby"}},
                                                 "addons": ["heroku-postgresql"]})
    (heroku,) = _plan_error("heroku", app)
    assert heroku.startswith(f"  - paasport:app_dir {app}/app.json formation.web.size: is 'hobby', which is not a "
                             "dyno size Heroku has. Fix: use one of eco, basic, standard-1x")
    (k8s,) = _plan_error("k8s", app)
    assert "formation.web.size: is 'hobby', which is not a dyno size the k8s stack (which maps Heroku's sizes) " \
           "has." in k8s


def test_one_run_reports_every_problem_of_the_procfile_app_json_and_the_stack(tmp_path):
    # Before: the Procfile's line first; once fixed, app.json's types; then the required variable and the size.
    app = make_app(tmp_path / "myapp", procfile="web: ./server\nbad line\n", app_json={
        "env": {"MAIL_FROM": {"description": "The sender."}, "DEBUG": {"required": "yes"}},
        "formation": {"web": {"size": "huge"}, "worker": {"quantity": 2}}})
    for stack, sizes in (("k8s", "the k8s stack (which maps Heroku's sizes)"), ("heroku", "Heroku")):
        problems = _plan_error(stack, app, "replicas=0" if stack == "k8s" else "dyno_quantity=0")
        assert sorted(problems) == sorted([  # in the order each platform reads its settings
            f"  - paasport:app_dir {app}/Procfile line 2: \"bad line\" is not `<type>: <command>`. Fix: write `name: "
            "command`, the name of letters, digits, '_' or '-' (e.g. `web: ./server`).",
            f"  - paasport:app_dir {app}/app.json env.DEBUG.required: is a string, not true or false. Fix: write "
            "\"required\": true or false.",
            f"  - paasport:app_dir {app}/app.json formation.worker: names a process type the Procfile does not "
            "declare. Fix: add `worker: <command>` to the Procfile, or use one of web.",
            f"  - paasport:app_dir {app}/app.json env.MAIL_FROM: is required (The sender) and has no value. Fix: run "
            f"`pulumi config set --stack {stack} --path config_vars.MAIL_FROM <value>` (or --secret with "
            "secret_config_vars), or give it a \"value\" in app.json.",
            *(["  - paasport:replicas is '0', but must be between 1 and 1000. Fix: in Pulumi.k8s.yaml set "
               "`paasport:replicas: 2` (or run `pulumi config set --stack k8s replicas 2`)."] if stack == "k8s" else
              ["  - paasport:dyno_quantity is '0', but must be between 1 and 100. Fix: in Pulumi.heroku.yaml set "
               "`paasport:dyno_quantity: 1` (or run `pulumi config set --stack heroku dyno_quantity 1`)."]),
            f"  - paasport:app_dir {app}/app.json formation.web.size: is 'huge', which is not a dyno size {sizes} "
            "has. Fix: use one of eco, basic, standard-1x, standard-2x, performance-m, performance-l, "
            "performance-l-ram, performance-xl, performance-2xl."])


def test_a_procfile_without_web_still_reports_the_rest(tmp_path):
    app = make_app(tmp_path / "myapp", procfile="worker: ./work\n", app_json={
        "env": {"MAIL_FROM": {}}, "formation": {"worker": {"size": "huge"}}})
    assert [line.split(": ", 1)[0] for line in _plan_error("heroku", app, "deploy=registry")] == [
        f"  - paasport:app_dir {app}/Procfile",
        f"  - paasport:app_dir {app}/app.json env.MAIL_FROM",
        f"  - paasport:app_dir {app}/app.json formation.worker.size",
        "  - paasport:deploy is 'registry', which releases the image's own command for web and the release only; "
        "the app's contract also needs worker 'worker'. Fix"]


def test_an_app_dir_that_is_not_a_directory_names_the_setting(tmp_path):
    assert _plan_error("k8s", tmp_path / "nowhere") == [
        f"  - paasport:app_dir is '{tmp_path / 'nowhere'}', which is not a directory (a relative path is from the "
        "project directory, where Pulumi.yaml is; the directory holds the app's Procfile and Dockerfile). Fix: in "
        "Pulumi.k8s.yaml set `paasport:app_dir: /path/to/your-app` (or run `pulumi config set --stack k8s app_dir "
        "/path/to/your-app`)."]


def test_the_written_heroku_yml_runs_every_process_of_the_procfile_in_the_built_image(tmp_path):
    app = make_app(tmp_path / "a", procfile="web: ./server\nrelease: ./migrate && ./seed\nworker: ./work\n",
                   app_json={"addons": ["heroku-postgresql"]})
    spec, _ = contract.read(app)
    # Heroku attaches DATABASE_URL only; every command starts behind a prelude that derives libpq's PG* from it.
    prelude = ('_u="${DATABASE_URL#*://}"; _a="${_u%%@*}"; _r="${_u#*@}"; _h="${_r%%/*}"; _d="${_r#*/}"; '
               'export PGDATABASE="${_d%%\\?*}" PGHOST="${_h%:*}" PGPASSWORD="${_a#*:}" PGPORT="${_h##*:}" '
               'PGUSER="${_a%%:*}"; unset _u _a _r _h _d; ')
    assert yaml.safe_load(contract.heroku_yml(spec)) == {
        "build": {"docker": {"web": "Dockerfile"}},
        "release": {"image": "web", "command": [prelude + "./migrate && ./seed"]},
        "run": {"web": prelude + "exec ./server", "worker": {"command": [prelude + "exec ./work"], "image": "web"}},
    }
    # Without the add-on there is nothing to derive: the Procfile's commands as they are.
    bare = make_app(tmp_path / "b", procfile="web: ./server --port $PORT\nrelease: ./migrate\n")
    spec, _ = contract.read(bare)
    assert yaml.safe_load(contract.heroku_yml(spec)) == {
        "build": {"docker": {"web": "Dockerfile"}},
        "release": {"image": "web", "command": ["./migrate"]},
        "run": {"web": "./server --port $PORT"},
    }


def test_the_heroku_prelude_leaves_a_pg_variable_the_app_sets_to_the_app(tmp_path):
    app = make_app(tmp_path / "a", procfile="web: ./server\n",
                   app_json={"addons": ["heroku-postgresql"], "env": {"PGHOST": "db.internal", "PGPORT": "6432"}})
    spec, _ = contract.read(app)
    url = "postgres://u1a2:Pw0rdAlnum65@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8abc"
    web = yaml.safe_load(contract.heroku_yml(spec))["run"]["web"]
    assert _started_env(web.replace("exec ./server", "exec env"), url, {"PGHOST": "db.internal", "PGPORT": "6432"},
                        prefix="PG") == {"PGHOST": "db.internal", "PGPORT": "6432", "PGDATABASE": "d8abc",
                                         "PGUSER": "u1a2", "PGPASSWORD": "Pw0rdAlnum65"}


MAPPING = {"DB_HOST": "host", "DB_PORT": "port", "DB_NAME": "name", "DB_USER": "user", "DB_PASSWORD": "password",
           "DB_URL": "url"}


def _started_env(command: str, database_url: str, config_vars: dict[str, str] | None = None, *,
                 prefix: str = "DB_") -> dict[str, str]:
    """What a process started by `command` (a heroku.yml run command) sees, run by a real POSIX shell."""
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", **(config_vars or {})}
    out = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if line.startswith(prefix))


def test_the_heroku_prelude_sets_the_apps_own_variables_from_database_url_at_each_start():
    command = contract.heroku_command("env", MAPPING)
    url = "postgres://u1a2:Pw0rdAlnum65@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8abc"
    assert _started_env(command, url) == {
        "DB_HOST": "ec2-1-2-3-4.compute-1.amazonaws.com", "DB_PORT": "5432", "DB_NAME": "d8abc", "DB_USER": "u1a2",
        "DB_PASSWORD": "Pw0rdAlnum65", "DB_URL": url}
    # After `heroku pg:credentials:rotate`, Heroku sets a new DATABASE_URL and restarts the dynos: the next start
    # derives the new values (a config var copied once at deploy would keep the old password).
    rotated = "postgres://u1a2:NewPass99@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8abc?sslmode=require"
    assert _started_env(command, rotated)["DB_PASSWORD"] == "NewPass99"
    assert _started_env(command, rotated)["DB_NAME"] == "d8abc"
    # A compound command keeps working behind the prelude (no `exec` in front of it).
    assert _started_env(contract.heroku_command("true && env", {"DB_USER": "user"}), url) == {"DB_USER": "u1a2"}


def test_the_heroku_prelude_sets_libpq_variables_from_database_url_at_each_start(tmp_path):
    """express-postgres (`new pg.Pool()`) and fastapi-pgqueuer (asyncpg, `pgq`) read PG*, which Heroku never sets."""
    app = make_app(tmp_path / "a", procfile="web: env\nrelease: true && env\n",
                   app_json={"addons": ["heroku-postgresql"]})
    spec, _ = contract.read(app)
    manifest = yaml.safe_load(contract.heroku_yml(spec))
    url = "postgres://u1a2:Pw0rdAlnum65@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8abc"
    for command in (manifest["run"]["web"], manifest["release"]["command"][0]):
        assert _started_env(command, url, prefix="PG") == {
            "PGHOST": "ec2-1-2-3-4.compute-1.amazonaws.com", "PGPORT": "5432", "PGDATABASE": "d8abc",
            "PGUSER": "u1a2", "PGPASSWORD": "Pw0rdAlnum65"}
        # `heroku pg:credentials:rotate` sets a new DATABASE_URL and restarts the dynos: the next start has it.
        rotated = "postgres://x9y8z7:NewPass99@ec2-5-6-7-8.compute-1.amazonaws.com:5433/d8abc?sslmode=require"
        assert _started_env(command, rotated, prefix="PG") == {
            "PGHOST": "ec2-5-6-7-8.compute-1.amazonaws.com", "PGPORT": "5433", "PGDATABASE": "d8abc",
            "PGUSER": "x9y8z7", "PGPASSWORD": "NewPass99"}


def test_a_command_without_shell_syntax_runs_without_a_shell():
    assert contract.argv("python -m actors.serve") == ["python", "-m", "actors.serve"]
    assert contract.argv("./server --port $PORT") == ["/bin/sh", "-c", "./server --port $PORT"]
    assert contract.argv("a && b") == ["/bin/sh", "-c", "a && b"]


@pytest.mark.parametrize(("command", "simple"), [
    ("uvicorn --factory app:make --host 0.0.0.0 --port $PORT", True),
    ("gunicorn -b :$PORT app:app 2>&1", True),  # a redirection applies to the exec'd program
    ("node server.js --name 'a && b' \"x;y\"", True),  # operators inside quotes are words
    ("exec ./server --port $PORT", True),
    ("(pgq verify --expect present || pgq install) && pgq upgrade", False),
    ("cd web && ./server", False),
    ("./a; ./b", False),
    ("./a | ./b", False),
    ("./a & ./b", False),
    ("WEB_CONCURRENCY=2 ./server", False),  # `exec NAME=value` would run a program named NAME=value
    ("if true; then ./server; fi", False),
    ("./server --x=\"unterminated", False),  # what shlex cannot read counts as compound
])
def test_a_simple_command_is_told_from_a_compound_one(command, simple):
    assert contract.simple_command(command) is simple


def test_a_long_running_shell_command_replaces_the_shell_on_k8s():
    """The kubelet sends SIGTERM to PID 1 only: `sh -c 'uvicorn ...'` left sh there, which ignores it."""
    assert contract.process_argv("uvicorn app:make --port $PORT") == [
        "/bin/sh", "-c", "exec uvicorn app:make --port $PORT"]
    assert contract.process_argv("exec ./server --port $PORT") == ["/bin/sh", "-c", "exec ./server --port $PORT"]
    assert contract.process_argv("python -m actors.serve") == ["python", "-m", "actors.serve"]


_TERM_REPORTER = ("python3 -c \"import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: (print('term', "
                  "flush=True), sys.exit(3))); print('up', flush=True); time.sleep(60)\"")


@pytest.mark.parametrize("command", [f"true && {_TERM_REPORTER}", f"sleep 0; {_TERM_REPORTER}"])
def test_a_compound_command_gets_the_sigterm_its_shell_gets(command):
    """A compound command keeps its shell, which forwards SIGTERM (as Heroku signals every process of a dyno) and
    exits with the command's status once it has stopped. Plain `sh -c` leaves the command running."""
    args = contract.process_argv(command)
    assert args[:2] == ["/bin/sh", "-c"] and command in args[2]
    shell = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert shell.stdout.readline() == "up\n"
        shell.send_signal(signal.SIGTERM)
        out, _ = shell.communicate(timeout=10)
        assert (out, shell.returncode) == ("term\n", 3)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)


def test_a_stack_that_still_sets_seed_archive_is_told_where_it_went():
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("heroku", ["seed_archive=https://example.com/dvd.tar"])
    assert "  - paasport:seed_archive is no longer read: the app's own variables are set in `config_vars` (its " \
           "app.json lists them under env). Fix: remove it from Pulumi.heroku.yaml and set the variable in " \
           "config_vars instead." in str(caught.value).splitlines()


def test_the_app_cannot_set_what_the_platforms_set(tmp_path):
    problems = problems_of(make_app(tmp_path / "myapp", app_json={"env": {"DATABASE_URL": "postgres://x"}}))
    assert problems == ["myapp/app.json env.DATABASE_URL: is a variable both platforms set themselves (Heroku's "
                        "runtime contract). Fix: remove it; to name the database's URL otherwise, use "
                        "paasport.database_env."]


def test_the_apps_own_pgsslmode_wins_over_the_heroku_stacks(tmp_path):
    from tests.support import obj, one

    app = make_app(tmp_path / "node", procfile="web: yarn start\n",
                   app_json={"env": {"PGSSLMODE": "no-verify"}, "addons": ["heroku-postgresql"]})
    heroku = offline_plan.run("heroku", [f"app_dir={app}"])
    assert obj(one(heroku, "heroku:app/app:App"))["configVars"]["PGSSLMODE"] == "no-verify"


# --- app files that point out of the app directory --------------------------------------------------------------


@pytest.mark.parametrize("name", ["Procfile", "app.json", "Dockerfile", "heroku.yml"])
@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_a_contract_file_linked_out_of_the_app_is_refused_unread(tmp_path, name, target):
    # The defect: the stack read and deployed whatever such a link pointed at, any file of the deploying machine.
    app = make_app(tmp_path / "myapp")
    outside = tmp_path / "secret.txt"
    outside.write_text("web: cat /etc/shadow\n")
    (app / name).unlink(missing_ok=True)
    link = str(outside) if target == "absolute" else "../secret.txt"
    (app / name).symlink_to(link)
    assert problems_of(app) == [
        f"myapp/{name}: is a symbolic link to {link}, outside the app directory, which the stack does not read. "
        "Fix: replace the link with the file itself, or link to a file inside myapp."]


def test_a_contract_file_linked_inside_the_app_is_read(tmp_path):
    app = make_app(tmp_path / "myapp", procfile=None)
    (app / "deploy").mkdir()
    (app / "deploy" / "Procfile").write_text("web: ./server --port $PORT\n")
    (app / "Procfile").symlink_to("deploy/Procfile")
    spec, problems = contract.read(app, "myapp")
    assert problems == [] and spec.web.command == "./server --port $PORT"


def test_a_stack_whose_app_links_out_gets_one_line(tmp_path):
    app = make_app(tmp_path / "myapp", procfile=None)
    (app / "Procfile").symlink_to("/etc/hostname")
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", [f"app_dir={app}"])
    assert str(caught.value).splitlines()[1:] == [
        f"  - paasport:app_dir {app}/Procfile: is a symbolic link to /etc/hostname, outside the app directory, which "
        f"the stack does not read. Fix: replace the link with the file itself, or link to a file inside {app}."]


# --- the app's own heroku.yml: what Heroku takes ------------------------------------------------------------------

GOOD_HEROKU_YML = """\
setup:
  addons: [{plan: heroku-postgresql}]
build:
  docker:
    web: Dockerfile
    worker: {dockerfile: Dockerfile, target: worker}
  config:
    NODE_ENV: production
release:
  image: web
  command: [./migrate]
run:
  web: ./server --port $PORT
  worker:
    command: [./work]
  clock:
    command: [./tick]
    image: web
"""


def test_an_app_heroku_yml_that_heroku_takes_is_used(tmp_path):
    spec, problems = contract.read(make_app(tmp_path / "myapp", heroku__yml=GOOD_HEROKU_YML), "myapp")
    assert problems == [] and spec.heroku_yml


@pytest.mark.parametrize(("text", "says"), [
    ("build: [\n", "myapp/heroku.yml line 2 column 1: is not valid YAML (expected the node content, but found "
                   "'<stream end>'). Fix: correct the YAML there."),
    ("- web\n", "myapp/heroku.yml: is a list, not a mapping of sections. Fix: write build: and run: sections."),
    ("run:\n  web: ./server\n", "myapp/heroku.yml build.docker: is missing: Heroku builds container apps from the "
                                "Dockerfiles it names. Fix: write build: {docker: {web: Dockerfile}}."),
    ("build:\n  docker:\n    web: Dockerfile\nbulid: {}\n",
     "myapp/heroku.yml key 'bulid': is not a section Heroku reads. Fix: use setup, build, release, run."),
    ("build:\n  docker:\n    web: Dockerfile.prod\n",
     "myapp/heroku.yml build.docker.web: names 'Dockerfile.prod', which is no file in the app directory. Fix: name "
     "a Dockerfile of the app."),
    ("build:\n  docker:\n    web: ../../etc/passwd\n",
     "myapp/heroku.yml build.docker.web: names '../../etc/passwd', which is no file in the app directory. Fix: name "
     "a Dockerfile of the app."),
    ("build:\n  docker:\n    web: Dockerfile\nrelease:\n  command: 3\n",
     "myapp/heroku.yml release.command: is a number, not a command (a string, or a list of strings). Fix: write the "
     "command to run."),
    ("build:\n  docker:\n    web: Dockerfile\nrelease:\n  image: worker\n  command: [./migrate]\n",
     "myapp/heroku.yml release.image: runs the image of 'worker', which build.docker does not build. Fix: use one of "
     "web, or build it."),
    ("build:\n  docker:\n    web: Dockerfile\nrun:\n  worker: ./work\n",
     "myapp/heroku.yml run.worker: runs the image of 'worker', which build.docker does not build. Fix: use one of "
     "web, or build it."),
    ("build:\n  docker:\n    web: Dockerfile\nrun:\n  web: {cmd: ./server}\n",
     "myapp/heroku.yml run.web.cmd: is not a key Heroku reads. Fix: use command and image."),
], ids=["yaml", "not-a-mapping", "no-build", "unknown-section", "missing-dockerfile", "dockerfile-outside",
        "release-command", "release-image", "run-image", "run-key"])
def test_an_app_heroku_yml_that_heroku_would_refuse_gets_one_line_per_problem(tmp_path, text, says):
    problems = problems_of(make_app(tmp_path / "myapp", heroku__yml=text))
    assert problems[0] == says and len(problems) == (2 if "cmd:" in text else 1), problems


# Heroku reads no Procfile when heroku.yml builds the app: run's commands, else the Dockerfile's CMD, and release's
# (devcenter.heroku.com/articles/build-docker-images-heroku-yml, "Get Started"; changelog-items/1390). The k8s stack
# runs the Procfile's.
_BUILD = "build:\n  docker:\n    web: Dockerfile\n"
_DIFFER = ("make them the same (heroku.yml's wins on Heroku), or delete heroku.yml: the stack then writes one from "
           "the Procfile.")


@pytest.mark.parametrize(("procfile", "heroku_yml", "says"), [
    ("web: ./server --port $PORT\n", _BUILD + "run:\n  web: ./server --port 8080\n",
     ["myapp/heroku.yml run.web: Heroku runs `./server --port 8080` for web, but the Procfile says `./server --port "
      f"$PORT`, which the k8s stack runs: the two platforms run different commands. Fix: {_DIFFER}"]),
    ("web: ./server --port $PORT\nworker: ./work --fast\n",
     _BUILD + "run:\n  web: ./server  --port $PORT\n  worker:\n    command: [./work]\n    image: web\n",
     ["myapp/heroku.yml run.worker: Heroku runs `./work` for worker, but the Procfile says `./work --fast`, which the "
      f"k8s stack runs: the two platforms run different commands. Fix: {_DIFFER}"]),
    ("web: ./server --port $PORT\nrelease: ./migrate --to head\n",
     _BUILD + "release:\n  image: web\n  command: [./migrate]\nrun:\n  web: ./server --port $PORT\n",
     ["myapp/heroku.yml release.command: Heroku runs `./migrate` for the release phase, but the Procfile says "
      f"`./migrate --to head`, which the k8s stack runs: the two platforms run different commands. Fix: {_DIFFER}"]),
    ("web: ./server --port $PORT\nrelease: ./migrate\n", _BUILD + "run:\n  web: ./server --port $PORT\n",
     ["myapp/heroku.yml: has no release section, so Heroku runs no release phase (it reads no Procfile when heroku.yml "
      "builds the app), but the k8s stack runs the Procfile's release `./migrate`. Fix: add release: {image: web, "
      "command: [\"./migrate\"]}, or delete heroku.yml."]),
    ("web: ./server --port $PORT\nworker: ./work\n", _BUILD + "run:\n  web: ./server --port $PORT\n",
     ["myapp/heroku.yml run: has no worker, so Heroku has no command for it (it reads no Procfile when heroku.yml "
      "builds the app), but the k8s stack runs the Procfile's `./work`. Fix: add worker: \"./work\" under run, or "
      "delete heroku.yml."]),
    ("web: ./server --port $PORT\n", _BUILD,
     ["myapp/heroku.yml: has no run section, so Heroku runs the Dockerfile's CMD (`/server`) for web, but the Procfile "
      "says `./server --port $PORT`, which the k8s stack runs: the two platforms run different commands. Fix: add "
      "run: {web: \"./server --port $PORT\"}, or make the CMD the Procfile's web command."]),
], ids=["web", "worker-list", "release", "no-release", "no-worker", "no-run-section"])
def test_an_app_heroku_yml_that_runs_other_commands_than_its_procfile_is_a_warning(tmp_path, procfile, heroku_yml,
                                                                                    says):
    spec, problems = contract.read(make_app(tmp_path / "myapp", procfile, heroku__yml=heroku_yml), "myapp")
    assert problems == []
    assert list(spec.warnings) == says


@pytest.mark.parametrize("heroku_yml", [
    _BUILD + "run:\n  web: ./server --port $PORT\n  worker: {command: [./work], image: web}\n"
             "release: {image: web, command: [./migrate]}\n",
    _BUILD + "run:\n  web: [\"./server\", \"--port\", \"$PORT\"]\n  worker: {command: \"  ./work \", image: web}\n"
             "release: {command: \"./migrate\"}\n",
], ids=["same", "same-words"])
def test_an_app_heroku_yml_that_runs_the_procfiles_commands_is_no_warning(tmp_path, heroku_yml):
    app = make_app(tmp_path / "myapp", "web: ./server --port $PORT\nworker: ./work\nrelease: ./migrate\n",
                   heroku__yml=heroku_yml)
    spec, problems = contract.read(app, "myapp")
    assert (problems, spec.warnings) == ([], ())


def test_both_plans_warn_that_heroku_yml_runs_another_command(tmp_path):
    from tests.support import offline_cli
    app = make_app(tmp_path / "myapp", "web: ./server --port $PORT\nworker: ./work --fast\n",
                   heroku__yml=_BUILD + "run:\n  web: ./server --port $PORT\n"
                               "  worker: {command: [./work], image: web}\n")
    for stack in ("k8s", "heroku"):
        result = offline_cli("plan", "--stack", stack, f"--config=app_dir={app}")
        assert result.returncode == 0, result.stderr
        assert (f"warning: {app}/heroku.yml run.worker: Heroku runs `./work` for worker, but the Procfile says "
                "`./work --fast`, which the k8s stack runs: the two platforms run different commands. Fix: "
                f"{_DIFFER}") in result.stderr.splitlines(), (stack, result.stderr)


def test_a_procfile_with_a_byte_order_mark_is_refused_as_heroku_refuses_it(tmp_path):
    # The defect: the BOM was read into the first process type, and the message quoted an invisible character.
    app = make_app(tmp_path / "myapp", procfile=None)
    (app / "Procfile").write_bytes(b"\xef\xbb\xbfweb: ./server --port $PORT\n")
    assert problems_of(app) == [
        "myapp/Procfile line 1: starts with a UTF-8 byte order mark (an editor's, invisible), which Heroku reads as "
        "part of the first process type and refuses. Fix: save the Procfile as UTF-8 without BOM."]
