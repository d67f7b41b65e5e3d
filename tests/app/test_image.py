"""The app's image, built with a real builder (buildah) and run by a real runtime (podman, runc) as each platform
runs it: the pod specs of the k8s stack's offline plan, and Heroku's heroku.yml (tests/containers.py does both).

The base is a local stand-in for python:3.12.12-slim-trixie (Docker Hub is out of reach here): Debian trixie with
Debian's python3. It covers the Debian userland both share (apt, dpkg, libpq5, the PostgreSQL 17 client); it does
not cover the exact CPython build (3.13 in /usr instead of python.org's 3.12 in /usr/local), so wheels are
resolved for 3.13 here. Build with the real base wherever a registry is reachable.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from devenv.postgres import bin_dir
from infra import contract
from infra.heroku.registry import release_dockerfile
from offline import plan as offline_plan
from tests import containers
from tests.support import APP_DIR, DVDRENTAL_TAR, HerokuSide, heroku_shipped, k8s_plan, one

ARCHIVE_HOST = "archive.test"  # the host of the SEED_ARCHIVE URL a user sets in config_vars, served from here
# Debian's CA bundle path, which Python's ssl reads on both bases: the test CA stands for the public CAs there.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# What a runtime image must not carry: compilers, fetchers, remote shells, package installers, and perl (only
# the client's wrapper scripts need it). perl-base is Essential in Debian and stays.
FORBIDDEN_PACKAGES = re.compile(
    r"^((gcc|g\+\+|cpp|clang)(-\d+)?|binutils.*|make|build-essential|libc6-dev|linux-libc-dev|curl|wget|git|openssh-.*|"
    r"ssh|python3-pip|perl|perl-modules-.*|libperl.*|postgresql-client-common|postgresql-client(-\d+)?)$"
)
FORBIDDEN_DISTRIBUTIONS = re.compile(r"^(pip|setuptools|wheel|uv)-", re.IGNORECASE)


@pytest.fixture(scope="module")
def image() -> containers.Image:
    containers.require_tools()
    return containers.build_image(APP_DIR, "localhost/paasport-app:test")


@pytest.fixture(scope="session")
def archive_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """An https server for `archive.test`, serving the DVD rental archive, and a CA bundle that trusts it."""
    if not DVDRENTAL_TAR.is_file():
        pytest.skip(f"needs the shared DVD rental archive at {DVDRENTAL_TAR} (absent outside the workplace)")
    root = tmp_path_factory.mktemp("archive-site")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={ARCHIVE_HOST}",
         "-addext", f"subjectAltName=DNS:{ARCHIVE_HOST}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    cert.chmod(0o644)
    site = root / "site"
    site.mkdir()
    (site / "dvdrental.tar").write_bytes(DVDRENTAL_TAR.read_bytes())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), functools.partial(Quiet, directory=str(site)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert
    server.shutdown()


def server_major(binaries: Path) -> int:
    version = subprocess.run([str(binaries / "postgres"), "--version"], capture_output=True, text=True).stdout
    return int(re.search(r"(\d+)\.", version)[1])


def has_ssl(binaries: Path) -> bool:
    """Whether that server was built with OpenSSL (pgserver's wheel is not)."""
    configure = subprocess.run([str(binaries / "pg_config"), "--configure"], capture_output=True, text=True).stdout
    return "openssl" in configure


def server_binaries() -> list[Path]:
    """The bin directories of the PostgreSQL servers on this machine (Debian's, pgserver's), oldest first."""
    found = {server_major(path): path for path in Path("/usr/lib/postgresql").glob("*/bin")
             if (path / "postgres").exists()}
    found.setdefault(server_major(bin_dir()), bin_dir())
    return [found[major] for major in sorted(found)]


def oldest_postgres(tmp: Path, *, tls: bool) -> containers.PostgresServer:
    return containers.PostgresServer(tmp / "data", binaries=server_binaries()[0], tls=tls)


@pytest.fixture(scope="module")
def postgres17() -> Iterator[containers.PostgresInContainer]:
    """Debian trixie's PostgreSQL 17, the major of the k8s stack's chart (bitnami/postgresql 16.7.x)."""
    containers.require_tools()
    with containers.PostgresInContainer(containers.postgres_image(17)) as server:
        yield server


def k8s_objects(*overrides: str) -> tuple[dict, dict, dict[str, dict[str, str]]]:
    """The web Deployment's and release Job's pod specs and the Secrets, from the k8s stack's plan."""
    plan = k8s_plan(*overrides)
    reveal = functools.partial(offline_plan.reveal, show_secrets=True)
    web = reveal(one(plan, "kubernetes:apps/v1:Deployment").inputs)["spec"]["template"]["spec"]
    job = reveal(one(plan, "kubernetes:batch/v1:Job").inputs)["spec"]
    secrets = containers.secrets_by_name([reveal(r.inputs) for r in plan.find("kubernetes:core/v1:Secret")])
    return web, job, secrets


def counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM actor), (SELECT count(*) FROM film), "
                            "(SELECT count(*) FROM rental)").fetchone()


def messages(output: str) -> list[str]:
    """The messages of the JSON log lines in a container's output."""
    return [json.loads(line)["message"] for line in output.splitlines() if line.startswith("{")]


# ------------------------------------------------------------------------------------------------ the image itself

def test_the_image_ships_no_build_tools_pip_or_package_caches(image: containers.Image):
    with image.mounted() as root:
        status = (root / "var/lib/dpkg/status").read_text()
        packages = re.findall(r"^Package: (\S+)", status, re.MULTILINE)
        [site] = root.glob("opt/venv/lib/python3*/site-packages")
        distributions = [path.name for path in site.glob("*.dist-info")]
        caches = [str(path.relative_to(root)) for pattern in (
            "var/lib/apt/lists/*_Packages*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
            "root/.cache/pip", "opt/venv/bin/pip*")
            for path in root.glob(pattern)]
        programs = [name for name in ("pg_restore", "psql") if (root / "usr/local/bin" / name).is_file()]
    assert [name for name in packages if FORBIDDEN_PACKAGES.match(name)] == []
    assert [name for name in distributions if FORBIDDEN_DISTRIBUTIONS.match(name)] == []
    assert caches == []
    assert "psycopg-3.3.9.dist-info" in distributions  # the venv read is the one the app runs (app/requirements.txt)
    assert programs == ["pg_restore", "psql"]  # the release step's tools are there, without their package


def test_the_image_runs_as_its_numeric_unprivileged_user(image: containers.Image):
    user, _, group = image.config()["User"].partition(":")
    assert int(user) >= 10000 and int(group) >= 10000  # numeric, so the kubelet can check runAsNonRoot


# ------------------------------------------------------------------------------------------------------ Kubernetes

@pytest.fixture(scope="module")
def k8s_loaded(image: containers.Image, postgres17: containers.PostgresInContainer,
               archive_site: tuple[int, Path]) -> dict:
    """The release Job's container run to completion against PostgreSQL 17, with the SEED_ARCHIVE URL a user sets
    in config_vars; what it printed, and what a second run printed."""
    port, ca = archive_site
    seed = json.dumps({"SEED_ARCHIVE": f"https://{ARCHIVE_HOST}:{port}/dvdrental.tar"})
    # The Service's name and port lead to this server (Cluster: DATABASE_URL and PGPORT where it listens).
    cluster = containers.Cluster(k8s_plan(f"config_vars={seed}"), postgres17)
    runs = [cluster.release(image, hosts={ARCHIVE_HOST: postgres17.container_host},
                            extra_mounts={ca: CA_BUNDLE})  # the archive host's CA, as a public CA is in the bundle
            for _ in range(2)]
    url = postgres17.admin_url(cluster.database)
    return {"runs": runs, "url": url, "cluster": cluster, "counts": counts(url)}


def test_the_release_job_loads_the_archive_then_changes_nothing(k8s_loaded: dict):
    (first_code, first), (second_code, second) = k8s_loaded["runs"]
    assert first_code == 0, first
    assert k8s_loaded["counts"] == (200, 1000, 16044)  # the DVD rental database's own row counts
    assert second_code == 0, second
    assert messages(second)[-1].startswith("already loaded: 200 actors")
    assert counts(k8s_loaded["url"]) == k8s_loaded["counts"]


@pytest.fixture
def web_pod(image: containers.Image, postgres17: containers.PostgresInContainer,
            k8s_loaded: dict) -> Iterator[containers.Container]:
    cluster = k8s_loaded["cluster"]
    with cluster.run(image, cluster.manifest(containers.DEPLOYMENT, "web")) as pod:
        yield pod


def test_the_web_pod_passes_its_probes_as_its_spec_runs_it(web_pod: containers.Container):
    web_pod.wait_ready()  # startup probe, then readiness, with the spec's periods, timeouts and thresholds
    assert web_pod.probe("liveness")
    status = dict(line.split(":\t", 1) for line in Path(f"/proc/{web_pod.pid()}/status").read_text().splitlines())
    assert status["Uid"].split()[0] == "10001" and status["Gid"].split()[0] == "10001"
    assert "10001" in status["Groups"].split()  # fsGroup
    assert status["NoNewPrivs"].strip() == "1"
    assert int(status["CapEff"], 16) == 0  # drop: [ALL]
    answer = httpx.get(web_pod.url("http", "/api/actors"), timeout=10)
    assert answer.status_code == 200 and answer.json()["count"] == 5


def test_the_web_pod_stops_under_load_without_losing_a_request(web_pod: containers.Container):
    web_pod.wait_ready()
    load, code, seconds = containers.load_during_stop(web_pod, web_pod.url("http", "/api/actors"))
    assert load.lost == [], f"{len(load.lost)} of {load.answered + len(load.lost)} requests lost: {load.lost[:3]}"
    assert load.answered > 0
    assert code == 0, web_pod.logs()[-2000:]
    assert seconds < web_pod.grace_seconds  # it stopped on SIGTERM, not on the SIGKILL at the end of the grace


# ------------------------------------------------------------------------------------------------------ Heroku

@functools.cache
def heroku() -> HerokuSide:
    """The heroku stack's plan, and the heroku.yml its Build uploads (written from app/Procfile)."""
    return heroku_shipped()


def heroku_yml() -> dict:
    return heroku().heroku_yml


def heroku_config_vars() -> dict[str, str]:
    """The config vars the heroku stack sets on the app (its App's configVars and sensitiveConfigVars)."""
    inputs = offline_plan.reveal(one(heroku().plan, "heroku:app/app:App").inputs, show_secrets=True)
    return {key: str(value) for key, value in {**inputs.get("configVars", {}),
                                               **inputs.get("sensitiveConfigVars", {})}.items()}


@pytest.fixture(scope="module")
def heroku_postgres() -> Iterator[containers.PostgresServer | containers.PostgresInContainer]:
    """A PostgreSQL refusing connections without TLS, as Heroku Postgres does: the oldest on this machine built
    with OpenSSL, else trixie's 17 in a container."""
    containers.require_tools()
    with_tls = [path for path in server_binaries() if has_ssl(path)]
    if not with_tls:
        with containers.PostgresInContainer(containers.postgres_image(17), tls=True) as server:
            yield server
        return
    top = Path(tempfile.mkdtemp(prefix="paasport-heroku-pg-"))
    try:
        with containers.PostgresServer(top / "data", binaries=with_tls[0], tls=True) as server:
            yield server
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.parametrize("binaries", server_binaries(), ids=lambda path: f"postgres-{server_major(path)}")
def test_heroku_release_phase_loads_into_each_server_here_over_tls(image: containers.Image, binaries: Path):
    """Every PostgreSQL server on this machine (Debian bookworm's 15, pgserver's 16): pg_restore 17 before 17.
    Over TLS where the server has it (pgserver's build has none)."""
    if not DVDRENTAL_TAR.is_file():
        pytest.skip(f"needs the shared DVD rental archive at {DVDRENTAL_TAR} (absent outside the workplace)")
    top = Path(tempfile.mkdtemp(prefix="paasport-heroku-pg-"))
    try:
        with containers.PostgresServer(top / "data", binaries=binaries, tls=has_ssl(binaries)) as server:
            heroku_release_loads_once(image, server)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def heroku_release_loads_once(image: containers.Image,
                              heroku_postgres: containers.PostgresServer | containers.PostgresInContainer) -> None:
    heroku_postgres.provision("heroku_user", "heroku-password", "heroku_db")
    url = heroku_postgres.url_for_containers("heroku_user", "heroku-password", "heroku_db")
    config = {**heroku_config_vars(), "SEED_ARCHIVE": "/seed/dvdrental.tar"}
    mounts = {DVDRENTAL_TAR: "/seed/dvdrental.tar"}  # a local path: what the image holds, without a download
    code, output = containers.heroku_release(image, heroku_yml(), config, url, extra_mounts=mounts)
    assert code == 0, output
    assert f"(PostgreSQL {heroku_postgres.server_version // 10000}." in output  # that server, not another
    assert counts(heroku_postgres.admin_url("heroku_db")) == (200, 1000, 16044)
    code, output = containers.heroku_release(image, heroku_yml(), config, url, extra_mounts=mounts)
    assert code == 0 and messages(output)[-1].startswith("already loaded: 200 actors"), output


def test_heroku_registry_release_image_runs_the_release_command(
        image: containers.Image, heroku_postgres: containers.PostgresServer | containers.PostgresInContainer,
        tmp_path: Path):
    """deploy=registry: the release image the program generates (its CMD is the release phase)."""
    spec, problems = contract.read(APP_DIR)
    assert problems == []
    (tmp_path / "Dockerfile").write_text(release_dockerfile(spec.release))  # as RegistryRelease writes it
    release = containers.build_image(tmp_path, "localhost/paasport-app-release:test",
                                     build_args={"WEB_IMAGE": image.id})
    heroku_postgres.provision("registry_user", "registry-password", "registry_db")
    url = heroku_postgres.url_for_containers("registry_user", "registry-password", "registry_db")
    with psycopg.connect(heroku_postgres.admin_url("registry_db"), autocommit=True) as conn:
        conn.execute("CREATE TABLE actor (actor_id int); ALTER TABLE actor OWNER TO registry_user")
    code, output = containers.heroku_release(release, None, heroku_config_vars(), url)
    assert code == 0, output
    assert messages(output)[-1].startswith("already loaded: 0 actors")  # the seed ran, and found the table


def test_heroku_web_dyno_binds_port_and_stops_within_the_grace(
        image: containers.Image, heroku_postgres: containers.PostgresServer | containers.PostgresInContainer):
    heroku_postgres.provision("web_user", "web-password", "web_db")
    with psycopg.connect(heroku_postgres.admin_url("web_db"), autocommit=True) as conn:
        conn.execute("CREATE TABLE actor (actor_id serial PRIMARY KEY, first_name text, last_name text,"
                     " last_update timestamp DEFAULT now()); ALTER TABLE actor OWNER TO web_user;"
                     " INSERT INTO actor (first_name, last_name) VALUES ('Penelope', 'Guiness')")
    url = heroku_postgres.url_for_containers("web_user", "web-password", "web_db")
    with containers.heroku_web(image, heroku_yml(), heroku_config_vars(), url) as dyno:
        dyno.wait_http("web", "/readyz", timeout=containers.HEROKU_BOOT_SECONDS)  # else R10, boot timeout
        assert httpx.get(dyno.url("web", "/api/actors"), timeout=10).json()["count"] == 1
        load, code, seconds = containers.load_during_stop(dyno, dyno.url("web", "/api/actors"), still_routed_for=0)
    assert load.lost == [] and load.answered > 0, load.lost[:3]
    assert code == 0 and seconds < containers.HEROKU_GRACE_SECONDS


# ------------------------------------------------------------------------------------- the release step's servers

def test_release_step_loads_into_postgresql_17(k8s_loaded: dict):
    """The newest major Heroku Postgres offers and the k8s chart's: the direct pg_restore path."""
    assert "(PostgreSQL 17." in k8s_loaded["runs"][0][1]
    assert k8s_loaded["counts"] == (200, 1000, 16044)


def test_a_server_older_than_the_archive_gets_one_line_naming_both(
        image: containers.Image, postgres17: containers.PostgresInContainer, tmp_path: Path):
    postgres17.provision("dumper", "dumper-password", "source_db")
    with psycopg.connect(postgres17.admin_url("source_db"), autocommit=True) as conn:
        conn.execute("CREATE TABLE actor (actor_id int PRIMARY KEY, first_name text, last_name text)")
    archive = tmp_path / "new.tar"
    dump = subprocess.run(  # the image holds no pg_dump (only what the release step runs): the server's image does
        ["podman", "run", "--rm", "--network", "bridge", postgres17.image.id, "pg_dump", "-Ft",
         postgres17.admin_url("source_db")],
        env=containers.engine_env(), capture_output=True, check=True)
    archive.write_bytes(dump.stdout)
    older = oldest_postgres(tmp_path / "old", tls=False)
    with older:
        older.provision("app", "app-password", "app_db")
        code, output = containers.heroku_release(
            image, heroku_yml(), {"SEED_ARCHIVE": "/seed/new.tar"}, older.url_for_containers("app", "app-password",
                                                                                             "app_db"),
            extra_mounts={archive: "/seed/new.tar"})
        old_version = older.server_version
    assert code == 1
    [error] = [line for line in messages(output) if "new.tar" in line and "dumped from" in line]
    assert re.search(r"dumped from PostgreSQL 17\.\d+, newer than PostgreSQL "
                     rf"{old_version // 10000}\.\d+ at .*: load it into PostgreSQL 17 or later", error), error


def test_a_failed_restore_into_an_older_server_leaves_the_database_as_it_was(image: containers.Image, tmp_path: Path):
    """Through psql (server before 17): an error early in the script stops both programs, one line says why."""
    if not DVDRENTAL_TAR.is_file():
        pytest.skip(f"needs the shared DVD rental archive at {DVDRENTAL_TAR} (absent outside the workplace)")
    with oldest_postgres(tmp_path / "pg", tls=False) as server:
        server.provision("app", "app-password", "app_db")
        with psycopg.connect(server.admin_url("app_db"), autocommit=True) as conn:
            conn.execute("CREATE TABLE film (title text); ALTER TABLE film OWNER TO app;"
                         " INSERT INTO film VALUES ('kept')")
        code, output = containers.heroku_release(
            image, heroku_yml(), {"SEED_ARCHIVE": "/seed/dvdrental.tar"},
            server.url_for_containers("app", "app-password", "app_db"),
            extra_mounts={DVDRENTAL_TAR: "/seed/dvdrental.tar"}, timeout=120)
        with psycopg.connect(server.admin_url("app_db")) as conn:
            left = conn.execute("SELECT (SELECT array_agg(title) FROM film), to_regclass('public.actor')").fetchone()
    assert code == 1, output
    assert messages(output)[-1] == ('restore failed, the database is left as it was: '
                                    'ERROR:  relation "film" already exists')
    assert left == (["kept"], None)


# ------------------------------------------------------------------------------------- what the harness refuses

def test_a_secret_the_plan_lacks_is_named_by_its_env_field():
    """As the kubelet would refuse the pod (CreateContainerConfigError): the field and the Secret are named."""
    web, _, secrets = k8s_objects()
    [container] = web["containers"]
    with pytest.raises(containers.ContainerSpecError) as refused:
        containers.pod_environment(container, secrets={name: {} for name in secrets}, where="web")
    assert re.fullmatch(r"web\.env\[\d+\] \(PGPASSWORD\)\.valueFrom\.secretKeyRef: no key 'password' in Secret "
                        r"'paasport-db': the kubelet would not start the container", str(refused.value))


def test_a_volume_kind_the_harness_cannot_run_is_named(image: containers.Image):
    web, _, secrets = k8s_objects()
    pod = {**web, "volumes": [{"name": "tmp", "hostPath": {"path": "/tmp"}}, *web["volumes"][1:]]}
    with pytest.raises(containers.ContainerSpecError, match=r"^volumes\[tmp\]: only emptyDir is supported"):
        containers.run_pod_container(image, pod, "web", secrets=secrets)


def test_the_harness_fills_the_downward_api_and_expands_env_as_the_kubelet_does():
    """kubernetes third_party/forked/golang/expansion: `$(NAME)` of an earlier variable is its value, of an unknown
    or later one stays as written, `$$` is a `$`; an unclosed reference stays as written."""
    container = {"env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                         {"name": "DYNO", "value": "web.$(POD)"},
                         {"name": "KEPT", "value": "$(LATER) $$(POD) $(POD"},
                         {"name": "LATER", "value": "x"}]}
    env = containers.pod_environment(container, secrets={}, pod={"metadata.name": "paasport-web-7d9f-abcde"},
                                     where="web")
    assert env == {"POD": "paasport-web-7d9f-abcde", "DYNO": "web.paasport-web-7d9f-abcde",
                   "KEPT": "$(LATER) $(POD) $(POD", "LATER": "x"}
    default = containers.pod_environment(container, secrets={}, where="web")  # a pod of the harness's own
    assert default["POD"] and default["DYNO"] == f"web.{default['POD']}"
