"""Each public app plans on both stacks from its own directory (`app_dir`), and each plan runs what the app says.

The expected commands, variables and checks are the apps' own words (tests/public_apps/EXPECTED), so a program
that still ran the actors app, dropped a worker or lost a header fails here, whatever it planned.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from offline import plan as offline_plan
from tests.public_apps import APPS, EXPECTED, config_override, heroku_side
from tests.support import obj

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SERVICE = "kubernetes:core/v1:Service"
SECRET = "kubernetes:core/v1:Secret"
FORMATION = "heroku:formation/formation:Formation"
HEROKU_APP = "heroku:app/app:App"
# Left by the actors app's hard-coding (issue 19): none of it may reach another app's processes.
ACTORS_TRACES = ("actors", "SEED_ARCHIVE", "dvdrental")


@functools.cache
def k8s(name: str) -> offline_plan.Plan:
    return offline_plan.run("k8s", [config_override(name)])


def workload(plan: offline_plan.Plan, type_: str, process: str) -> dict[str, Any]:
    """The Deployment (or Job) of one process type: named `<stack prefix>-<process>`, as `paasport-web` is."""
    found = [r for r in plan.find(type_) if r.name.endswith(f"-{process}")]
    assert len(found) == 1, f"expected one {type_} for {process!r}, found {[r.name for r in plan.find(type_)]}"
    return obj(found[0])


def container(manifest: dict[str, Any]) -> dict[str, Any]:
    [only] = manifest["spec"]["template"]["spec"]["containers"]
    return only


def command_line(spec: dict[str, Any]) -> str:
    argv = [*(spec.get("command") or []), *(spec.get("args") or [])]
    assert argv, "the container states no command: it would run the image's CMD, not the Procfile's"
    return " ".join(str(arg) for arg in argv)


def env_names(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in spec.get("env", [])}


@pytest.mark.parametrize("name", APPS)
def test_k8s_web_runs_the_procfile_web_command(name: str):
    web = container(workload(k8s(name), DEPLOYMENT, "web"))
    line = command_line(web)
    assert EXPECTED[name].web in line
    assert not any(trace in line for trace in ACTORS_TRACES)
    assert not set(env_names(web)) & {"SEED_ARCHIVE"}


@pytest.mark.parametrize("name", APPS)
def test_k8s_gives_heroku_runtime_contract(name: str):
    env = env_names(container(workload(k8s(name), DEPLOYMENT, "web")))
    for variable in ("PORT", "DYNO", "DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
        assert variable in env, f"{name}: the web container lacks {variable}"
    for variable in ("DATABASE_URL", "PGPASSWORD"):
        assert "secretKeyRef" in env[variable].get("valueFrom", {}), f"{variable} must come from a Secret"
    # Heroku's form is <type>.<n>; a Deployment has no ordinal, so the pod's name may stand for n.
    dyno = env["DYNO"]
    assert "valueFrom" in dyno or dyno["value"].startswith("web."), f"DYNO is not web.<n>: {dyno}"


@pytest.mark.parametrize("name", [n for n in APPS if EXPECTED[n].config or EXPECTED[n].secrets])
def test_k8s_app_json_values_and_secrets(name: str):
    expected = EXPECTED[name]
    env = env_names(container(workload(k8s(name), DEPLOYMENT, "web")))
    for variable, value in expected.config.items():
        assert env.get(variable, {}).get("value") == value, f"app.json env {variable} must reach the pod as {value}"
    for variable in expected.secrets:
        assert "secretKeyRef" in env.get(variable, {}).get("valueFrom", {}), f"{variable} must be a generated Secret"


@pytest.mark.parametrize("name", APPS)
def test_k8s_release_job_runs_the_procfile_release(name: str):
    expected, plan = EXPECTED[name], k8s(name)
    jobs = [r for r in plan.find(JOB) if r.name.endswith("-release")]
    if expected.release is None:
        assert not jobs, f"{name} has no release command, so no release Job"
        return
    assert len(jobs) == 1, f"{name}: expected one release Job, found {[r.name for r in plan.find(JOB)]}"
    assert expected.release in command_line(container(obj(jobs[0])))


@pytest.mark.parametrize("name", [n for n in APPS if EXPECTED[n].workers])
def test_k8s_workers_are_deployments_without_a_service_or_port(name: str):
    plan = k8s(name)
    for process, command in EXPECTED[name].workers.items():
        manifest = workload(plan, DEPLOYMENT, process)
        spec = container(manifest)
        assert command in command_line(spec)
        assert not spec.get("ports"), f"the {process} container must not declare a port"
        labels = manifest["spec"]["template"]["metadata"]["labels"]
        for service in plan.find(SERVICE):
            selector = obj(service)["spec"].get("selector") or {}
            assert not (selector and selector.items() <= labels.items()), f"Service {service.name} routes to {process}"


@pytest.mark.parametrize("name", ["django-getting-started"])
def test_k8s_probes_carry_the_app_json_headers(name: str):
    """django-getting-started redirects plain http to https when DYNO is set; its checks send X-Forwarded-Proto."""
    web = container(workload(k8s(name), DEPLOYMENT, "web"))
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = web[kind]["httpGet"]
        assert get["path"] == "/"
        assert {"name": "X-Forwarded-Proto", "value": "https"} in get.get("httpHeaders", []), kind


@functools.cache
def heroku(name: str):
    return heroku_side(name)


@pytest.mark.parametrize("name", APPS)
def test_heroku_yml_runs_the_procfile(name: str):
    expected, manifest = EXPECTED[name], heroku(name).heroku_yml
    assert manifest["build"]["docker"]["web"] == "Dockerfile"
    run = manifest["run"]
    assert expected.web in (run["web"] if isinstance(run["web"], str) else " ".join(run["web"]["command"]))
    for process, command in expected.workers.items():
        assert command in " ".join(run[process]["command"])
    if expected.release is None:
        assert "release" not in manifest
    else:
        assert expected.release in " ".join(manifest["release"]["command"])


@pytest.mark.parametrize("name", APPS)
def test_heroku_formation_and_config_vars(name: str):
    expected, plan = EXPECTED[name], heroku(name).plan
    formations = {obj(r)["type"]: obj(r) for r in plan.find(FORMATION)}
    assert set(formations) == {"web", *expected.workers}
    assert all(f["quantity"] >= 1 for f in formations.values())
    [app] = plan.find(HEROKU_APP)
    inputs = obj(app)
    config, sensitive = inputs.get("configVars", {}), inputs.get("sensitiveConfigVars", {})
    for variable, value in expected.config.items():
        assert config.get(variable) == value, f"app.json env {variable} must be the config var {value}"
    for variable in expected.secrets:
        assert variable in sensitive and variable not in config, f"{variable} must be a sensitive config var"
    assert not any(trace in str(config) for trace in ACTORS_TRACES)
