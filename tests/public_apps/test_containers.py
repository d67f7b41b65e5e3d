"""Each public app is built from its own Dockerfile, its release is run, and its web serves a page read from a real
PostgreSQL, as each platform would run it (tests/containers.py: buildah and podman, the kubelet's and Heroku's way).

Kubernetes: the release Job's and the web Deployment's containers from the k8s plan (command, env with its Secrets,
securityContext, emptyDirs, probes), against a server with TLS only where the plan's PostgreSQL chart turns it on.
Heroku: the heroku.yml the heroku stack's Build uploads, the config vars it sets, `DATABASE_URL` in Heroku's form to
a server that refuses all but TLS, a random `$PORT` and `DYNO=web.1`.

The images are built on local stand-ins (tests/containers.py, tests/public_apps/conftest.py): Debian trixie's
Python 3.13 and node 20 in place of python:3.13-slim-trixie and node:22-trixie-slim. They cover the userland and
the apps' own build steps; not the exact interpreter builds.
"""

from __future__ import annotations

import secrets as random_secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from offline import plan as offline_plan
from tests import containers
from tests.public_apps import APPS, EXPECTED, Expected, heroku_side
from tests.public_apps.test_plans import DEPLOYMENT, HEROKU_APP, k8s

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def revealed(registration: offline_plan.Registration) -> dict[str, Any]:
    """A registration's inputs with secrets in clear: the values the cluster or Heroku would hold."""
    return offline_plan.reveal(registration.inputs, show_secrets=True)


def page(container: containers.Container, port: str | int, expected: Expected, timeout: float) -> httpx.Response:
    """GET the app's database page as the router or ingress sends it (its headers) until it answers 200, the
    container exits, or `timeout` (seconds from the container's start) runs out; fails with the container's logs."""
    url, deadline = container.url(port, expected.page), container.started_at + timeout
    while True:
        try:
            response = httpx.get(url, headers=expected.headers, timeout=5)
            if response.status_code == 200 and expected.page_text in response.text:
                return response
            outcome = f"{response.status_code}: {response.text[:300]}"
        except httpx.HTTPError as error:
            outcome = f"{error.__class__.__name__}: {error}"
        if time.monotonic() > deadline or not container.running:
            raise AssertionError(f"{expected.page} never served {expected.page_text!r} (last: {outcome}); "
                                 f"logs:\n{container.logs()[-3000:]}")
        time.sleep(0.2)


# ------------------------------------------------------------------------------------------------------ Kubernetes

def chart_tls(plan: offline_plan.Plan) -> bool:
    """Whether the plan's PostgreSQL chart serves TLS (Bitnami's `tls.enabled`)."""
    [chart] = plan.find(HELM_RELEASE)
    return bool(revealed(chart).get("values", {}).get("tls", {}).get("enabled", False))


@pytest.mark.parametrize("name", APPS)
def test_k8s_release_then_web_serves_the_database_page(name: str, app_image, cluster_postgres):
    expected, image, plan = EXPECTED[name], app_image(name), k8s(name)
    cluster = containers.Cluster(plan, cluster_postgres(chart_tls(plan)))
    if expected.release:
        for attempt in ("first", "second"):  # each deploy runs it again: it must succeed on a migrated database
            code, logs = cluster.release(image)
            assert code == 0, f"the {attempt} release Job failed ({code}):\n{logs[-3000:]}"
    with cluster.run(image, cluster.manifest(DEPLOYMENT, "web")) as web:
        web.wait_ready() if "readinessProbe" in web.spec else web.wait_started()
        page(web, web.spec["ports"][0]["containerPort"], expected, timeout=120)
        code, seconds = web.stop()
        assert seconds < web.grace_seconds, (f"the web container ignored SIGTERM: killed after {seconds:.0f} s "
                                             f"(terminationGracePeriodSeconds {web.grace_seconds})")


def test_k8s_worker_works_off_a_job_the_web_enqueued(app_image, cluster_postgres):
    """fastapi-pgqueuer: the web enqueues into PostgreSQL, the worker Deployment's container processes it."""
    name = "fastapi-pgqueuer"
    image, plan = app_image(name), k8s(name)
    cluster = containers.Cluster(plan, cluster_postgres(chart_tls(plan)))
    code, logs = cluster.release(image)
    assert code == 0, logs[-3000:]
    with cluster.run(image, cluster.manifest(DEPLOYMENT, "web")) as web, \
            cluster.run(image, cluster.manifest(DEPLOYMENT, "worker")) as worker:
        web.wait_ready()
        port = web.spec["ports"][0]["containerPort"]
        job_id = httpx.post(web.url(port, "/enqueue"), params={"entrypoint": "fetch", "payload": "from-web"},
                            timeout=10).json()["job_ids"][0]
        deadline = time.monotonic() + 30
        with psycopg.connect(cluster.server.admin_url(cluster.database), autocommit=True) as conn:
            while True:
                done = conn.execute("SELECT 1 FROM pgqueuer_log WHERE job_id = %s AND status = 'successful'",
                                    [job_id]).fetchone()
                if done or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
        assert done, f"the worker did not process job {job_id}:\n{worker.logs()[-3000:]}"
        code, seconds = worker.stop()
        assert seconds < worker.grace_seconds, f"the worker ignored SIGTERM: killed after {seconds:.0f} s"


# ---------------------------------------------------------------------------------------------------------- Heroku

def heroku_stop(dyno: containers.Container) -> float:
    """Stop a dyno as Heroku's dyno manager does: SIGTERM to every process of the dyno (not only PID 1, which a
    heroku.yml command's /bin/sh is), SIGKILL 30 s later (devcenter.heroku.com/articles/dynos#shutdown); seconds."""
    began = time.monotonic()
    containers.podman("exec", dyno.name, "/bin/sh", "-c", "kill -TERM -1", check=False, timeout=30)  # all but PID 1
    containers.podman("stop", "-t", str(containers.HEROKU_GRACE_SECONDS), dyno.name,
                      timeout=containers.HEROKU_GRACE_SECONDS + 60)
    return time.monotonic() - began


@pytest.fixture
def heroku_database(heroku_postgres) -> Callable[[str], str]:
    """A database on the TLS-only server, and its DATABASE_URL as Heroku sets it (no sslmode parameter)."""

    def make(name: str) -> str:
        user, password = f"u{random_secrets.token_hex(6)}", random_secrets.token_hex(16)  # alphanumeric, as Heroku's
        database = f"d{random_secrets.token_hex(6)}"
        heroku_postgres.provision(user, password, database)
        return f"postgres://{user}:{password}@{heroku_postgres.container_host}:{heroku_postgres.port}/{database}"

    return make


@pytest.mark.parametrize("name", APPS)
def test_heroku_release_then_web_serves_the_database_page(name: str, app_image, heroku_database):
    expected, image, side = EXPECTED[name], app_image(name), heroku_side(name)
    [app] = side.plan.find(HEROKU_APP)
    inputs = revealed(app)
    config_vars = {**inputs.get("configVars", {}), **inputs.get("sensitiveConfigVars", {})}
    database_url = heroku_database(name)
    if expected.release:
        for attempt in ("first", "second"):
            code, logs = containers.heroku_release(image, side.heroku_yml, config_vars, database_url)
            assert code == 0, f"the {attempt} release phase failed ({code}):\n{logs[-3000:]}"
    with containers.heroku_web(image, side.heroku_yml, config_vars, database_url) as web:
        page(web, "web", expected, timeout=containers.HEROKU_BOOT_SECONDS)  # R10 past Heroku's boot limit
        seconds = heroku_stop(web)
        assert seconds < containers.HEROKU_GRACE_SECONDS, f"the web dyno ignored SIGTERM: killed after {seconds:.0f} s"
