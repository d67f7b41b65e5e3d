"""Build an app's image with a real builder and run it the way Kubernetes and Heroku would (tests and bench).

Everything here is generic: it takes an app directory, an image, a pod spec from the offline plan, a heroku.yml;
never a name of our app's. The engine is Debian's buildah, podman and runc (`apt-get install buildah podman runc
mmdebstrap`); `require_tools()` skips a test, naming that command, where they are missing.

API
- `require_tools()`: skip (pytest) unless buildah, podman, runc and mmdebstrap are installed (fail in CI).
- `ensure_base_image() -> str`: a local stand-in for `python:3.X-slim-trixie` (Docker Hub is out of reach here),
  made once by mmdebstrap: Debian trixie minbase + python3, python3-venv, ca-certificates, `python` on PATH.
  It covers the Debian userland the real base shares; not the exact CPython build (3.13 from Debian, in /usr,
  instead of python.org's 3.12 in /usr/local).
- `build_image(context, tag, build_args=None, dockerfile=None, host_pip_settings=True, keep=False) -> Image`:
  `buildah bud` of `context`'s Dockerfile (its .dockerignore applies), with PYTHON_IMAGE set to the local base unless
  `build_args` sets it; `remove_built_images()` removes those not kept (the tests' conftest does, after each module).
  `Image.mounted()` reads the image's own files (dpkg status, venv) from the host; `Image.added_bytes(base)`.
- `PostgresServer(binaries=None, tls=False)`: a real PostgreSQL (the host's or pgserver's), listening on all
  addresses with password auth, reachable from containers at `PostgresServer.container_host`; with `tls=True` it
  refuses any connection that is not TLS, as Heroku Postgres does. `PostgresInContainer(image)` does the same with
  a server inside an image (e.g. Debian trixie's 17, `postgres_image(17)`). Both: `.provision(user, password,
  dbname)`, `.admin_url(dbname)`, `.url_for_containers(user, password, dbname)`, `.server_version`.
- `run_pod_container(image, pod_spec, container, secrets=..., hosts=..., pod=...) -> Container`: one container of
  a Deployment/Job pod spec, as the kubelet runs it: command/args, env (`secretKeyRef` from `secrets`, the
  downward API from `pod`), pod and container securityContext (user/group/fsGroup, read-only root, capabilities,
  no-new-privileges, runAsNonRoot checked against the image), emptyDir volumes, resource limits, its ports
  published on free loopback ports (`Container.port(name_or_number)`). `hosts` maps names (a Service's DNS name)
  to addresses, as cluster DNS would. `Container.probe(kind)` runs its startup/liveness/readiness probe once as
  the kubelet does; `Container.wait_started()` / `wait_ready()` follow the probe's period, timeout and thresholds.
  `Container.stop()` is the kubelet's SIGTERM with terminationGracePeriodSeconds, then SIGKILL. `pod_fields()` is
  the downward API of one pod; `expand(value, env)` the kubelet's `$(VAR)` expansion (env, command, args).
- `Cluster(plan, server)`: what a k8s plan gives an app's pods (Secrets, DATABASE_URL and PGPORT pointed at a
  real server); `.run(image, manifest)`, `.release(image)`.
- `heroku_release(image, heroku_yml, config_vars, database_url)` and `heroku_web(image, heroku_yml, config_vars,
  database_url)`: the release phase (run to completion) and a web dyno (random $PORT, DYNO=web.1), commands from
  heroku.yml run with `/bin/sh -c`, else the image's CMD; `Container.stop()` then acts as the dyno manager
  (SIGTERM, SIGKILL 30 s later).
- `load_during_stop(container, url, still_routed_for=...)`: requests lost while the container stops under load,
  counting those a Service keeps sending for a while after the pod starts terminating.
- `ContainerSpecError`: a spec this harness (or the platform) cannot run; its message names the field.

Containers share the podman bridge network (a network namespace each, like pods); servers on this host are
reached at the bridge's gateway address.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets as random_secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devenv.postgres import EmbeddedPostgres, free_port
from offline import plan as offline_plan

TOOLS = ("buildah", "podman", "runc", "mmdebstrap")
INSTALL = "apt-get install -y buildah podman runc mmdebstrap"
BASE_IMAGE = "localhost/paasport-python-base:trixie"
# mmdebstrap's recipe for the stand-in base; the tag changes when it does.
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
STATE = Path(os.environ.get("PAASPORT_CONTAINERS", Path.home() / ".local/share/paasport/containers"))
# Where this machine refuses crun and podman's default rlimits: runc, no default ulimits, cgroupfs.
CONTAINERS_CONF = """[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
"""
# vfs: the driver buildah's chroot isolation works with here; its own store, apart from the machine's default.
STORAGE_CONF = """[storage]
driver = "vfs"
graphroot = "{root}/storage"
runroot = "{run}"
"""
# The kubelet's probe client (pkg/probe/http/request.go): these headers; 2xx and 3xx succeed.
KUBE_PROBE_HEADERS = {"User-Agent": "kube-probe/1.33", "Accept": "*/*"}
# Heroku's dyno manager: SIGTERM to every process of the dyno, SIGKILL 30 s later
# (https://devcenter.heroku.com/articles/dynos#shutdown); a web dyno must bind $PORT within 60 s (R10).
HEROKU_GRACE_SECONDS = 30
HEROKU_BOOT_SECONDS = 60
DEPLOYMENT, JOB, SECRET = "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:core/v1:Secret"


class ContainerSpecError(Exception):
    """A spec field this harness or the platform cannot run; the message names the field."""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()]


def require_tools() -> None:
    """Skip the calling test where the builder or runtime is missing, naming the command that installs them; in CI
    (CI set, where .ci/run installs them) fail instead, so that the checks can never be skipped silently there."""
    missing = missing_tools()
    if missing:
        message = f"needs {', '.join(missing)} to build and run the image: sudo {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def engine_env() -> dict[str, str]:
    """The environment for buildah/podman: this harness's containers.conf and storage.conf."""
    STATE.mkdir(parents=True, exist_ok=True)
    conf, storage = STATE / "containers.conf", STATE / "storage.conf"
    run_root = Path("/run" if os.geteuid() == 0 else tempfile.gettempdir()) / f"paasport-containers-{os.geteuid()}"
    for path, text in ((conf, CONTAINERS_CONF), (storage, STORAGE_CONF.format(root=STATE, run=run_root))):
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return {**os.environ, "CONTAINERS_CONF": str(conf), "CONTAINERS_STORAGE_CONF": str(storage)}


def engine(tool: str, *args: str, check: bool = True, timeout: float = 900,
           **kwargs: Any) -> subprocess.CompletedProcess:
    """Run buildah or podman with the harness's configuration; on failure, raise with what it printed."""
    result = subprocess.run([tool, *args], env=engine_env(), capture_output=True, text=True, timeout=timeout,
                            errors="replace", **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{tool} {shlex.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def podman(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return engine("podman", *args, **kwargs)


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder of a shared thing at a time, across processes (parallel test runs share the store)."""
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


def ensure_base_image() -> str:
    """The local stand-in base image (made by mmdebstrap on first use, ~1 min); its reference."""
    with _locked("base"):
        if not image_exists(BASE_IMAGE):
            with tempfile.TemporaryDirectory(prefix="paasport-base-") as work:
                tar = Path(work) / "rootfs.tar"
                subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                                "trixie", str(tar)], check=True, capture_output=True, timeout=900)
                podman("import", "--change", 'CMD ["python3"]', "--change", "ENV LANG=C.UTF-8", str(tar), BASE_IMAGE)
    return BASE_IMAGE


@dataclass
class Image:
    ref: str
    id: str

    def inspect(self) -> dict:
        return json.loads(podman("image", "inspect", self.id).stdout)[0]

    def size_bytes(self) -> int:
        return int(self.inspect()["Size"])

    def layers(self) -> list[str]:
        return self.inspect()["RootFS"]["Layers"]

    def added_bytes(self, base: str) -> int:
        """Bytes this image adds above `base` (its layers' uncompressed sizes beyond the base's)."""
        base_image = Image(base, json.loads(podman("image", "inspect", base).stdout)[0]["Id"])
        return self.size_bytes() - base_image.size_bytes()

    @contextlib.contextmanager
    def mounted(self) -> Iterator[Path]:
        """The image's root filesystem on the host, read-only use, for the duration of the block."""
        path = Path(podman("image", "mount", self.id).stdout.strip())
        try:
            yield path
        finally:
            podman("image", "unmount", self.id, check=False)

    def config(self) -> dict:
        return self.inspect()["Config"]


def build_image(context: Path, tag: str, *, build_args: Mapping[str, str] | None = None,
                dockerfile: Path | None = None, host_pip_settings: bool = True, keep: bool = False) -> Image:
    """`buildah bud` of `context` (its Dockerfile unless `dockerfile`), tagged `tag`; PYTHON_IMAGE defaults to the
    local base. pip in the build gets this host's /etc/ssl/certs and pip.conf (a mirror, a proxy) as read-only
    mounts, unless `host_pip_settings` is False: a build whose packages write to /etc/ssl/certs (ssl-cert,
    ca-certificates) needs that. The image is removed by `remove_built_images` unless `keep`.

    vfs stores every layer as a full copy of the filesystem, so no step is cached as a layer (`--layers=false`),
    and the image this tag named before is removed: a CI machine's disk ran out with them."""
    args = {"PYTHON_IMAGE": ensure_base_image(), **(build_args or {})}
    command = ["bud", "--isolation", "chroot", "--network", "host", "--layers=false", "-t", tag]
    for host_path in ("/etc/ssl/certs", "/etc/pip.conf") if host_pip_settings else ():
        if Path(host_path).exists():
            command += ["--volume", f"{host_path}:{host_path}:ro"]
    for key, value in args.items():
        command += ["--build-arg", f"{key}={value}"]
    if dockerfile is not None:
        command += ["-f", str(dockerfile)]
    with _locked(f"build-{tag.replace('/', '_').replace(':', '_')}"):
        before = _image_id(tag)
        engine("buildah", *command, str(context), timeout=1800)
        image = Image(tag, _image_id(tag))
        if before and before != image.id:
            podman("rmi", before, check=False)
    if not keep:
        _built.append(image.id)
    return image


_built: list[str] = []  # the images build_image made in this process and did not keep, newest last


def _image_id(ref: str) -> str | None:
    result = podman("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def remove_built_images() -> None:
    """Remove the images `build_image` made, newest first (one built FROM another goes before it)."""
    while _built:
        podman("rmi", "-f", _built.pop(), check=False)


def bridge_gateway() -> str:
    """The host's address on podman's bridge network: how a container reaches a server on this host."""
    result = podman("network", "inspect", "podman")
    return json.loads(result.stdout)[0]["subnets"][0]["gateway"]


# ---------------------------------------------------------------------------------------------------- PostgreSQL

def _self_signed(directory: Path, owner: str | None) -> tuple[Path, Path]:
    cert, key = directory / "server.crt", directory / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=postgres",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    key.chmod(0o600)
    if owner:
        for path in (cert, key):
            shutil.chown(path, owner, owner)
    return cert, key


class _Provisioning:
    """Roles and databases, through the admin URL (superuser, trust on loopback)."""

    def admin_url(self, dbname: str = "postgres") -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def provision(self, user: str, password: str, dbname: str) -> None:
        """A login role `user` with `password` owning a fresh, empty database `dbname` (dropped first if there)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [user]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user),
                                                                              sql.Literal(password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(user)))

    @property
    def server_version(self) -> int:
        import psycopg

        with psycopg.connect(self.admin_url()) as conn:
            return conn.info.server_version


class PostgresServer(EmbeddedPostgres, _Provisioning):
    """A real PostgreSQL on this host (the installed one or pgserver's, or `binaries`), listening on every address
    with scram passwords, so containers reach it; `tls=True` refuses all but TLS from them (Heroku Postgres)."""

    def __init__(self, datadir: Path, *, binaries: Path | None = None, tls: bool = False) -> None:
        super().__init__(datadir, durable=False, binaries=binaries)
        self.tls = tls
        self.container_host = bridge_gateway()

    def start(self) -> PostgresServer:
        if not self.initialised:
            self._prepare_datadir()
            self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth-local=trust", "--auth-host=trust",
                      "-E", "UTF8")
            remote = "hostssl" if self.tls else "host"
            hba = ("host all postgres 127.0.0.1/32 trust\n"
                   f"{remote} all all 0.0.0.0/0 scram-sha-256\n")
            if self.tls:
                hba += "hostnossl all all 0.0.0.0/0 reject\n"
            (self.datadir / "pg_hba.conf").write_text(hba)
            settings = "listen_addresses = '*'\nunix_socket_directories = ''\nfsync = off\n"
            if self.tls:
                cert, key = _self_signed(self.datadir, self._run_as)
                settings += f"ssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\n"
            with (self.datadir / "postgresql.conf").open("a") as conf:
                conf.write(settings)
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "-l", str(self.datadir / "server.log"),
                  "-o", f"-p {self.port}", "start")
        return self

    def admin_url(self, dbname: str = "postgres") -> str:
        return self.url(dbname)

    def url_for_containers(self, user: str, password: str, dbname: str) -> str:
        sslmode = "require" if self.tls else "disable"
        return f"postgresql://{user}:{password}@{self.container_host}:{self.port}/{dbname}?sslmode={sslmode}"


@contextlib.contextmanager
def postgres_on_host(*, tls: bool, binaries: Path | None = None) -> Iterator[PostgresServer]:
    """A `PostgresServer` in a temporary directory of its own, removed with it."""
    top = Path(tempfile.mkdtemp(prefix="paasport-pg-"))
    try:
        with PostgresServer(top / "data", binaries=binaries, tls=tls) as server:
            yield server
    finally:
        shutil.rmtree(top, ignore_errors=True)


def postgres_image(major: int) -> Image:
    """Debian trixie's PostgreSQL `major` (17 in trixie) on the local base: a server of a version the host lacks."""
    tag = f"localhost/paasport-postgres:{major}"
    if found := _image_id(tag):
        return Image(tag, found)
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "Dockerfile").write_text(
            "ARG PYTHON_IMAGE\nFROM ${PYTHON_IMAGE}\n"
            # no main cluster at install (initdb at run time instead), which fails under buildah's chroot
            "RUN mkdir -p /etc/postgresql-common/createcluster.d"
            " && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/none.conf"
            f" && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
            f" postgresql-{major} openssl && rm -rf /var/lib/apt/lists/*\n"
            f"ENV PATH=/usr/lib/postgresql/{major}/bin:$PATH\n"
        )
        return build_image(Path(context), tag, host_pip_settings=False, keep=True)


class PostgresInContainer(_Provisioning):
    """A PostgreSQL server run from `image` (see `postgres_image`), published on a free port of this host."""

    def __init__(self, image: Image, *, tls: bool = False) -> None:
        self.image, self.tls = image, tls
        self.port = free_port()
        self.container_host = bridge_gateway()
        self.name = f"paasport-pg-{random_secrets.token_hex(4)}"

    def start(self) -> PostgresInContainer:
        ssl = ""
        if self.tls:
            ssl = ("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=postgres -keyout /tmp/k -out /tmp/c "
                   "2>/dev/null && chmod 600 /tmp/k && ")
        remote = "hostssl" if self.tls else "host"
        script = (
            f"{ssl}initdb -D /tmp/data -U postgres --auth=trust -E UTF8 >/dev/null && "
            f"printf 'local all all trust\\nhost all postgres 10.0.0.0/8 trust\\n{remote} all all 0.0.0.0/0 "
            "scram-sha-256\\n' > /tmp/data/pg_hba.conf && "
            "exec postgres -D /tmp/data -c listen_addresses='*' -c fsync=off -c unix_socket_directories=/tmp"
            + (" -c ssl=on -c ssl_cert_file=/tmp/c -c ssl_key_file=/tmp/k" if self.tls else "")
        )
        podman("run", "-d", "--name", self.name, "--user", "postgres", "-p", f"{self.port}:5432",
               "--tmpfs", "/tmp:size=1g,mode=1777", self.image.id, "sh", "-c", script)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.server_version  # noqa: B018 - connects
                return self
            except Exception as error:
                if time.monotonic() > deadline:
                    logs = podman("logs", self.name, check=False)
                    raise RuntimeError(f"PostgreSQL in {self.image.ref} did not start:\n{logs.stdout}"
                                       f"{logs.stderr}") from error
                time.sleep(0.3)

    def stop(self) -> None:
        podman("rm", "-f", "-t", "5", self.name, check=False)

    def admin_url(self, dbname: str = "postgres") -> str:
        # the gateway address, not loopback: a published port is reached through the bridge, which trusts postgres
        return f"postgresql://postgres@{self.container_host}:{self.port}/{dbname}?sslmode=prefer"

    def url_for_containers(self, user: str, password: str, dbname: str) -> str:
        sslmode = "require" if self.tls else "disable"
        return f"postgresql://{user}:{password}@{self.container_host}:{self.port}/{dbname}?sslmode={sslmode}"

    def __enter__(self) -> PostgresInContainer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------------- containers

@dataclass
class Probe:
    """A kubelet probe (httpGet, tcpSocket or exec) with its timing fields and the kubelet's defaults."""

    spec: dict
    kind: str

    def field(self, name: str, default: int) -> int:
        return int(self.spec.get(name, default))

    @property
    def period(self) -> int:
        return self.field("periodSeconds", 10)

    @property
    def timeout(self) -> int:
        return self.field("timeoutSeconds", 1)

    @property
    def failure_threshold(self) -> int:
        return self.field("failureThreshold", 3)

    @property
    def initial_delay(self) -> int:
        return self.field("initialDelaySeconds", 0)


@dataclass
class Container:
    """A running container; `spec` is the pod container it was made from ({} for Heroku dynos)."""

    name: str
    image: Image
    ports: dict[int, int]  # container port -> loopback port on this host
    spec: dict = field(default_factory=dict)
    grace_seconds: int = 30
    started_at: float = 0.0  # time.monotonic() when `podman run` was called
    port_names: dict[str, int] = field(default_factory=dict)
    _cleanup: list[Path] = field(default_factory=list)
    # The kubelet signals the container (its PID 1, through the runtime); Heroku's dyno manager every process.
    signal_every_process: bool = False
    init_logs: dict[str, str] = field(default_factory=dict)  # what each of the pod's init containers printed

    # -- state
    def inspect(self) -> dict:
        return json.loads(podman("container", "inspect", self.name).stdout)[0]

    @property
    def running(self) -> bool:
        result = podman("container", "inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return result.stdout.strip() == "true"

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def pid(self) -> int:
        """The host PID of the container's PID 1."""
        return int(self.inspect()["State"]["Pid"])

    def port(self, name_or_number: str | int) -> int:
        number = self.port_names[name_or_number] if isinstance(name_or_number, str) else int(name_or_number)
        try:
            return self.ports[number]
        except KeyError:
            raise ContainerSpecError(f"port {name_or_number}: the container spec does not declare it") from None

    def url(self, port: str | int, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port(port)}{path}"

    def wait(self, timeout: float) -> int:
        """Wait for the container to exit; its exit code."""
        result = podman("wait", self.name, timeout=timeout)
        return int(result.stdout.strip().splitlines()[-1])

    # -- kubelet probes
    def probe_spec(self, kind: str) -> Probe:
        key = f"{kind}Probe"
        if key not in self.spec:
            raise ContainerSpecError(f"{key}: the container spec has none")
        return Probe(self.spec[key], kind)

    def probe(self, kind: str) -> bool:
        """One attempt of the `kind` probe (startup, liveness, readiness), as the kubelet makes it."""
        probe = self.probe_spec(kind)
        spec = probe.spec
        if "httpGet" in spec:
            get = spec["httpGet"]
            if get.get("host"):
                raise ContainerSpecError(f"{kind}Probe.httpGet.host: not supported by this harness")
            scheme = get.get("scheme", "HTTP").lower()
            headers = {**KUBE_PROBE_HEADERS, **{h["name"]: h["value"] for h in get.get("httpHeaders", [])}}
            url = f"{scheme}://127.0.0.1:{self.port(get['port'])}{get.get('path', '/')}"
            try:
                response = httpx.get(url, headers=headers, timeout=probe.timeout,
                                     verify=False)  # noqa: S501 - the kubelet skips verification for HTTPS probes
            except httpx.HTTPError:
                return False
            return 200 <= response.status_code < 400
        if "tcpSocket" in spec:
            import socket

            with socket.socket() as sock:
                sock.settimeout(probe.timeout)
                return sock.connect_ex(("127.0.0.1", self.port(spec["tcpSocket"]["port"]))) == 0
        if "exec" in spec:
            result = podman("exec", self.name, *spec["exec"]["command"], check=False, timeout=probe.timeout + 5)
            return result.returncode == 0
        raise ContainerSpecError(f"{kind}Probe: no httpGet, tcpSocket or exec handler")

    def wait_probe(self, kind: str) -> float:
        """Probe every periodSeconds until success; seconds from `podman run`. Fails as the kubelet would
        (restart, or never ready) after failureThreshold consecutive failures."""
        probe = self.probe_spec(kind)
        time.sleep(max(0.0, self.started_at + probe.initial_delay - time.monotonic()))
        failures = 0
        while True:
            attempt = time.monotonic()
            if self.probe(kind):
                return time.monotonic() - self.started_at
            if not self.running:
                raise AssertionError(f"the container exited before its {kind}Probe passed:\n{self.logs()[-3000:]}")
            failures += 1
            if failures >= probe.failure_threshold:
                raise AssertionError(
                    f"{kind}Probe failed {failures} times ({kind}Probe.failureThreshold): the kubelet would "
                    f"{'restart the container' if kind != 'readiness' else 'never send it traffic'}; "
                    f"logs:\n{self.logs()[-3000:]}")
            time.sleep(max(0.0, attempt + probe.period - time.monotonic()))

    def wait_started(self) -> float:
        return self.wait_probe("startup") if "startupProbe" in self.spec else 0.0

    def wait_ready(self) -> float:
        self.wait_started()
        return self.wait_probe("readiness")

    def wait_http(self, port: str | int, path: str, timeout: float) -> float:
        """Poll GET `path` until 200 (no kubelet: a Heroku router's view); seconds from `podman run`."""
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url(port, path), timeout=1).status_code == 200:
                    return time.monotonic() - self.started_at
            except httpx.HTTPError:
                pass
            if not self.running:
                raise AssertionError(f"the container exited before {path} answered:\n{self.logs()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"{path} did not answer 200 within {timeout} s:\n{self.logs()[-3000:]}")

    # -- stopping
    def pre_stop(self) -> None:
        """The container's lifecycle.preStop handler (exec, httpGet or sleep), as the kubelet runs it before
        SIGTERM, within the grace period (pkg/kubelet/kuberuntime/kuberuntime_container.go, killContainer)."""
        hook = self.spec.get("lifecycle", {}).get("preStop")
        if not hook:
            return
        if "sleep" in hook:
            time.sleep(int(hook["sleep"]["seconds"]))
        elif "exec" in hook:
            podman("exec", self.name, *hook["exec"]["command"], check=False, timeout=self.grace_seconds)
        elif "httpGet" in hook:
            get = hook["httpGet"]
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(self.url(get["port"], get.get("path", "/")), timeout=self.grace_seconds)
        else:
            raise ContainerSpecError("lifecycle.preStop: no exec, httpGet or sleep handler")

    def stop(self) -> tuple[int, float]:
        """preStop (pod containers), SIGTERM, then SIGKILL when the grace period (the kubelet's
        terminationGracePeriodSeconds, or the dyno manager's 30 s) is over; the exit code and the seconds it took."""
        began = time.monotonic()
        self.pre_stop()
        left = max(2, round(self.grace_seconds - (time.monotonic() - began)))  # the kubelet's minimum is 2 s
        if self.signal_every_process:
            self.signal_all(signal.SIGTERM)
            try:
                self.wait(timeout=left)
            except subprocess.TimeoutExpired:
                podman("kill", "--signal", "KILL", self.name, check=False)
                self.wait(timeout=60)
        else:
            podman("stop", "-t", str(left), self.name, timeout=left + 60)
        code = int(self.inspect()["State"]["ExitCode"])
        return code, time.monotonic() - began

    def host_pids(self) -> list[int]:
        """The host PIDs of every process in the container."""
        result = podman("top", self.name, "hpid", check=False)
        return [int(line) for line in result.stdout.split()[1:] if line.strip().isdigit()]

    def signal_all(self, signum: int) -> None:
        for pid in self.host_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def remove(self) -> None:
        podman("rm", "-f", "-t", "0", self.name, check=False)
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _name(prefix: str) -> str:
    return f"{prefix}-{random_secrets.token_hex(4)}"


def _run(image: Image, flags: list[str], trailing: list[str], *, name: str, ports: dict[int, int]) -> float:
    """`podman run -d` on the bridge network with `ports` published on loopback; time.monotonic() at the call."""
    started = time.monotonic()
    published = [f"--publish=127.0.0.1:{host}:{inside}" for inside, host in ports.items()]
    podman("run", "--detach", "--name", name, "--network", "bridge", *published, *flags, image.id, *trailing,
           timeout=120)
    return started


def _quantity_bytes(value: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    for suffix, factor in units.items():
        if str(value).endswith(suffix):
            return int(float(str(value)[: -len(suffix)]) * factor)
    return int(value)


def _cpus(value: str) -> str:
    value = str(value)
    return str(int(value[:-1]) / 1000) if value.endswith("m") else value


def _secret_data(secret: dict) -> dict[str, str]:
    """A Secret's keys and values: stringData as is, data base64-decoded (the API server merges them so)."""
    data = {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
    return {**data, **(secret.get("stringData") or {})}


def secrets_by_name(secret_objects: list[dict]) -> dict[str, dict[str, str]]:
    """{name: {key: value}} from Secret objects (e.g. the plan's, revealed)."""
    return {secret["metadata"]["name"]: _secret_data(secret) for secret in secret_objects}


def pod_fields(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The downward API's values for one pod (fieldPath -> value), as the kubelet fills them: a fresh pod name."""
    return {"metadata.name": _name("pod"), "metadata.namespace": "default", "status.podIP": "127.0.0.1",
            "spec.nodeName": "node", "spec.serviceAccountName": "default", **(overrides or {})}


def expand(value: str, env: Mapping[str, str]) -> str:
    """`$(VAR)` references as the kubelet expands them (kubernetes third_party/forked/golang/expansion/expand.go):
    `$(NAME)` of a defined variable becomes its value, of an undefined one stays as written; `$$` is one `$`."""
    out, i = [], 0
    while i < len(value):
        if value[i] == "$" and i + 1 < len(value):
            following = value[i + 1]
            if following == "$":
                out.append("$")
                i += 2
                continue
            if following == "(":
                end = value.find(")", i + 2)
                if end != -1:
                    name = value[i + 2:end]
                    out.append(env[name] if name in env else value[i:end + 1])
                    i = end + 1
                    continue
        out.append(value[i])
        i += 1
    return "".join(out)


def pod_environment(container: dict, *, secrets: Mapping[str, Mapping[str, str]],
                    pod: Mapping[str, str] | None = None, where: str) -> dict[str, str]:
    """The container's env as the kubelet resolves it: values ($(VAR) expanded), secretKeyRef, the downward API
    (`pod` maps fieldPath to value, `pod_fields()` by default), resourceFieldRef. envFrom is refused, not guessed."""
    if container.get("envFrom"):
        raise ContainerSpecError(f"{where}.envFrom: not supported by this harness")
    pod = pod_fields() if pod is None else pod
    env: dict[str, str] = {}
    for index, item in enumerate(container.get("env", [])):
        field_name = f"{where}.env[{index}] ({item['name']})"
        if "value" in item:
            env[item["name"]] = expand(str(item["value"]), env)  # $(VAR) refers to variables defined before it
            continue
        source = item.get("valueFrom", {})
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            try:
                env[item["name"]] = secrets[ref["name"]][ref["key"]]
            except KeyError:
                if ref.get("optional"):
                    continue
                raise ContainerSpecError(f"{field_name}.valueFrom.secretKeyRef: no key {ref['key']!r} in Secret "
                                         f"{ref['name']!r}: the kubelet would not start the container") from None
        elif "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            if path not in pod:
                raise ContainerSpecError(f"{field_name}.valueFrom.fieldRef: no value for {path} in `pod`")
            env[item["name"]] = pod[path]
        elif "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            kind, _, resource = ref["resource"].partition(".")
            raw = container.get("resources", {}).get(kind, {}).get(resource)
            if raw is None:
                raise ContainerSpecError(f"{field_name}.valueFrom.resourceFieldRef: {ref['resource']} is not set")
            if resource == "memory":
                env[item["name"]] = str(_quantity_bytes(raw) // _quantity_bytes(ref.get("divisor", "1")))
            else:
                env[item["name"]] = str(max(1, int(-(-float(_cpus(raw)) // float(_cpus(ref.get("divisor", "1")))))))
        else:
            raise ContainerSpecError(f"{field_name}.valueFrom: only secretKeyRef, fieldRef and resourceFieldRef are "
                                     "supported by this harness")
    return env


def _user_of(image: Image) -> str:
    return image.config().get("User", "") or "0"


class InitContainerFailed(AssertionError):
    """An init container exited non-zero: the kubelet would restart it and never start the pod's containers."""


def run_pod_container(image: Image, pod_spec: dict, container_name: str, *,
                      secrets: Mapping[str, Mapping[str, str]] | None = None, hosts: Mapping[str, str] | None = None,
                      pod: Mapping[str, str] | None = None, env_overrides: Mapping[str, str] | None = None,
                      extra_mounts: Mapping[Path, str] | None = None, detach: bool = True) -> Container:
    """Start `container_name` of `pod_spec` from `image` as the kubelet would (see the module docstring): first
    the pod's initContainers, one at a time, each to a zero exit (else `InitContainerFailed`, with its output), on
    the same emptyDir volumes as the container then gets (a directory of this host per volume and pod, created
    empty, as the kubelet's; pkg/kubelet/kuberuntime, initContainers run in order before the containers).

    `env_overrides` replace resolved values (e.g. a Service's port, which a Service maps and this network cannot);
    `extra_mounts` ({host path: container path}, read-only) add what the cluster would provide (e.g. a CA bundle
    standing for the public CAs a real archive host uses). Say why where you use them.
    With `detach=False` it runs to completion (a Job's container); `Container.wait()` gives its exit code.
    """
    names = {c["name"] for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", [])}
    if container_name not in names:
        raise ContainerSpecError(f"containers: no container named {container_name!r} (has {sorted(names)})")
    pod = pod_fields(pod)
    volumes = _PodVolumes(pod_spec)
    common = {"secrets": secrets, "hosts": hosts, "pod": pod, "extra_mounts": extra_mounts}
    init_logs: dict[str, str] = {}
    try:
        if container_name not in {c["name"] for c in pod_spec.get("initContainers", [])}:
            for init in pod_spec.get("initContainers", []):
                with _start(image, pod_spec, init, volumes, **common) as done:
                    code = done.wait(timeout=int(pod_spec.get("activeDeadlineSeconds", 600)))
                    init_logs[init["name"]] = done.logs()
                    if code != 0:
                        raise InitContainerFailed(f"initContainers[{init['name']}] exited {code}: the kubelet would "
                                                  f"restart it and never start the pod's containers:\n"
                                                  f"{done.logs()[-3000:]}")
        container = _start(image, pod_spec, next(c for c in pod_spec.get("containers", []) +
                                                 pod_spec.get("initContainers", []) if c["name"] == container_name),
                           volumes, env_overrides=env_overrides, **common)
    except BaseException:
        volumes.remove()
        raise
    container._cleanup.extend(volumes.directories.values())
    container.init_logs = init_logs
    if not detach:
        container.wait(timeout=int(pod_spec.get("activeDeadlineSeconds", 1800)))
    return container


class _PodVolumes:
    """A pod's emptyDir volumes: each a directory of this host, made empty on first use and shared by every
    container of the pod that mounts it (a node's disk, as the kubelet's emptyDir: never podman's tmpfs, which
    would copy the image's files there up)."""

    def __init__(self, pod_spec: dict) -> None:
        self.volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
        self.directories: dict[str, Path] = {}

    def directory(self, name: str) -> Path:
        if name not in self.directories:
            directory = Path(tempfile.mkdtemp(prefix="paasport-emptydir-"))
            directory.chmod(0o777)  # the kubelet makes emptyDir world-writable (pkg/volume/emptydir: 0777)
            self.directories[name] = directory
        return self.directories[name]

    def remove(self) -> None:
        for path in self.directories.values():
            shutil.rmtree(path, ignore_errors=True)


def _start(image: Image, pod_spec: dict, spec: dict, volumes: _PodVolumes, *,
           secrets: Mapping[str, Mapping[str, str]] | None, hosts: Mapping[str, str] | None, pod: Mapping[str, str],
           extra_mounts: Mapping[Path, str] | None, env_overrides: Mapping[str, str] | None = None) -> Container:
    """`podman run -d` of one container of the pod, as the kubelet would start it."""
    container_name = spec["name"]
    where = f"containers[{container_name}]"
    args: list[str] = []
    env = {**pod_environment(spec, secrets=secrets or {}, pod=pod, where=where), **(env_overrides or {})}
    env.setdefault("HOSTNAME", pod["metadata.name"])  # a pod's hostname is its name
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    args += ["--hostname", pod["metadata.name"]]

    # securityContext: the container's fields override the pod's (k8s.io/api core/v1 SecurityContext docs)
    pod_sc, sc = pod_spec.get("securityContext", {}), spec.get("securityContext", {})
    merged = {**pod_sc, **sc}
    user = merged.get("runAsUser")
    group = merged.get("runAsGroup")
    if user is not None:
        args += ["--user", f"{user}:{group}" if group is not None else str(user)]
    if merged.get("runAsNonRoot"):
        effective = str(user) if user is not None else _user_of(image).split(":")[0]
        if not effective.isdigit():
            raise ContainerSpecError(f"{where}.securityContext.runAsNonRoot: image user {effective!r} is not numeric, "
                                     "so the kubelet cannot verify it (CreateContainerConfigError)")
        if int(effective) == 0:
            raise ContainerSpecError(f"{where}.securityContext.runAsNonRoot: the container would run as root")
    for gid in [pod_sc.get("fsGroup"), *pod_sc.get("supplementalGroups", [])]:
        if gid is not None:
            args += ["--group-add", str(gid)]
    if sc.get("privileged"):
        args += ["--privileged"]
    if merged.get("readOnlyRootFilesystem"):
        args += ["--read-only", "--read-only-tmpfs=false"]  # podman's own tmpfs on /tmp would hide a missing volume
    caps = sc.get("capabilities", {})
    for cap in caps.get("drop", []):
        args += ["--cap-drop", cap]
    for cap in caps.get("add", []):
        args += ["--cap-add", cap]
    if sc.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    seccomp = merged.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        args += ["--security-opt", "seccomp=unconfined"]
    elif seccomp != "RuntimeDefault":
        raise ContainerSpecError(f"{where}.securityContext.seccompProfile.type: {seccomp} not supported here")

    # volumes: emptyDir only (a directory of the node's disk shared by the pod's containers, or an empty tmpfs of
    # the container's own for medium: Memory, which only the one container may mount here)
    memory_users = [m["name"] for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", [])
                    for m in c.get("volumeMounts", [])
                    if ((volumes.volumes.get(m["name"]) or {}).get("emptyDir") or {}).get("medium") == "Memory"]
    for index, mount in enumerate(spec.get("volumeMounts", [])):
        volume = volumes.volumes.get(mount["name"])
        if volume is None:
            raise ContainerSpecError(f"{where}.volumeMounts[{index}]: no volume {mount['name']!r} in the pod")
        if "emptyDir" not in volume:
            raise ContainerSpecError(f"volumes[{mount['name']}]: only emptyDir is supported by this harness")
        empty = volume["emptyDir"] or {}
        options = "ro" if mount.get("readOnly") else "rw"
        if empty.get("medium") == "Memory":
            if memory_users.count(mount["name"]) > 1:
                raise ContainerSpecError(f"volumes[{mount['name']}]: a Memory emptyDir that several containers "
                                         "share is not supported by this harness")
            size = f",size={_quantity_bytes(empty['sizeLimit'])}" if empty.get("sizeLimit") else ""
            # notmpcopyup: podman would otherwise copy the image's files at that path into the tmpfs
            args += ["--tmpfs", f"{mount['mountPath']}:{options},mode=1777,notmpcopyup{size}"]
        else:
            args += ["--volume", f"{volumes.directory(mount['name'])}:{mount['mountPath']}:{options}"]

    limits = spec.get("resources", {}).get("limits", {})
    if "memory" in limits:
        args += ["--memory", str(_quantity_bytes(limits["memory"]))]
    if "cpu" in limits:
        args += ["--cpus", _cpus(limits["cpu"])]
    args += _hosts_and_mounts(hosts, extra_mounts)

    # ports: each containerPort published on a free loopback port of this host
    ports, port_names = {}, {}
    for declared in spec.get("ports", []):
        ports[int(declared["containerPort"])] = free_port()
        if "name" in declared:
            port_names[declared["name"]] = int(declared["containerPort"])

    # command replaces the image's ENTRYPOINT (and so its CMD), args replace CMD
    # the kubelet expands $(VAR) in them with the container's env (kubecontainer.ExpandContainerCommandAndArgs)
    command = spec.get("command")
    if command:
        args += ["--entrypoint", json.dumps([expand(str(part), env) for part in command])]
    trailing = [expand(str(arg), env) for arg in spec.get("args", [])]
    grace = int(pod_spec.get("terminationGracePeriodSeconds", 30))
    name = _name(container_name)
    container = Container(name, image, ports, spec, grace, 0.0, port_names)
    try:
        container.started_at = _run(image, args, trailing, name=name, ports=ports)
    except Exception:
        container.remove()
        raise
    return container


class Cluster:
    """What a k8s plan gives one app's pods: its Secrets, and its database reached on a real server (a
    `PostgresServer` or `PostgresInContainer`). `plan` is an offline plan (offline/plan.py); the web Deployment and
    release Job are the ones whose names end in -web and -release."""

    def __init__(self, plan: Any, server: PostgresServer | PostgresInContainer) -> None:
        self.plan, self.server = plan, server
        self.secrets = secrets_by_name([_revealed(r) for r in plan.find(SECRET)])
        web = self.manifest(DEPLOYMENT, "web")["spec"]["template"]["spec"]["containers"][0]
        url = urlsplit(self.resolved(web, "DATABASE_URL"))
        self.database, self.user = url.path.lstrip("/"), url.username or ""
        server.provision(self.user, url.password or "", self.database)
        # The Service's DNS name resolves to the server, whose port a Service would map: the URL keeps its host.
        self.hosts = {url.hostname or "": server.container_host}
        credentials, _, host_port = url.netloc.rpartition("@")
        netloc = f"{credentials}@" * bool(credentials) + f"{host_port.rpartition(':')[0] or host_port}:{server.port}"
        self.env = {"PGPORT": str(server.port), "DATABASE_URL": url._replace(netloc=netloc).geturl()}

    def manifest(self, type_: str, process: str) -> dict[str, Any]:
        found = [r for r in self.plan.find(type_) if r.name.endswith(f"-{process}")]
        assert len(found) == 1, f"expected one {type_} for {process!r}, found {[r.name for r in self.plan.find(type_)]}"
        return _revealed(found[0])

    def resolved(self, spec: dict[str, Any], variable: str) -> str:
        items = {item["name"]: item for item in spec.get("env", [])}
        assert variable in items, f"the web container has no {variable}"
        item = items[variable]
        if "value" in item:
            return item["value"]
        ref = item["valueFrom"]["secretKeyRef"]
        return self.secrets[ref["name"]][ref["key"]]

    @contextlib.contextmanager
    def run(self, image: Image, manifest: dict[str, Any], *, detach: bool = True,
            hosts: Mapping[str, str] | None = None, extra_mounts: Mapping[Path, str] | None = None
            ) -> Iterator[Container]:
        """One container of `manifest`'s pod; `hosts` and `extra_mounts` add to what the cluster provides."""
        pod = manifest["spec"]["template"]["spec"]
        [spec] = pod["containers"]
        with run_pod_container(image, pod, spec["name"], secrets=self.secrets, hosts={**self.hosts, **(hosts or {})},
                               env_overrides=self.env, extra_mounts=extra_mounts, detach=detach) as container:
            yield container

    def release(self, image: Image, **kwargs: Any) -> tuple[int, str]:
        """The release Job run to completion: its exit code and output."""
        with self.run(image, self.manifest(JOB, "release"), detach=False, **kwargs) as job:
            return job.wait(timeout=60), job.logs()


def _revealed(registration: Any) -> dict[str, Any]:
    """A plan registration's inputs with secrets in clear: the values the cluster would hold."""
    return offline_plan.reveal(registration.inputs, show_secrets=True)


@dataclass
class LoadResult:
    answered: int  # 2xx answers
    lost: list[str]  # what each failed request got instead (connection refused or reset, a 5xx)


# How long after a pod starts terminating the Service still sends it new connections: the endpoint controller
# and kube-proxy must see it first; kube-proxy applies changes at most once per --iptables-min-sync-period
# (default 1 s, kube-proxy reference). A lower bound: real clusters often take longer.
ENDPOINT_PROPAGATION_SECONDS = 1.0


def load_during_stop(container: Container, url: str, *, clients: int = 4,
                     still_routed_for: float = ENDPOINT_PROPAGATION_SECONDS) -> tuple[LoadResult, int, float]:
    """Clients GET `url` in a loop; after 1 s of that, `container.stop()`. New requests keep coming for
    `still_routed_for` seconds after the stop began (0: only those in flight), as a Service or router keeps
    routing to a terminating backend until it learns of it. Returns what the clients got, the exit code and the
    seconds the stop took."""
    import threading

    result = LoadResult(0, [])
    lock = threading.Lock()
    stop_sending = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop_sending.is_set():
                try:
                    status = http.get(url).status_code
                    outcome = None if status < 500 else f"HTTP {status}"
                except httpx.HTTPError as error:
                    outcome = f"{type(error).__name__}: {error}"
                with lock:
                    if outcome is None:
                        result.answered += 1
                    else:
                        result.lost.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    stopper: dict[str, Any] = {}
    stopping = threading.Thread(target=lambda: stopper.update(zip(("code", "seconds"), container.stop(),
                                                                  strict=True)))
    stopping.start()
    time.sleep(still_routed_for)
    stop_sending.set()
    for thread in threads:
        thread.join(60)
    stopping.join(container.grace_seconds + 90)
    return result, stopper["code"], stopper["seconds"]


# ------------------------------------------------------------------------------------------------------ Heroku

def _hosts_and_mounts(hosts: Mapping[str, str] | None, mounts: Mapping[Path, str] | None) -> list[str]:
    flags: list[str] = []
    for name, address in (hosts or {}).items():
        flags += ["--add-host", f"{name}:{address}"]
    for host_path, path in (mounts or {}).items():
        flags += ["--volume", f"{host_path}:{path}:ro"]
    return flags


def _heroku_command(command: str | None) -> list[str]:
    """heroku.yml commands run with /bin/sh -c (devcenter: "Building Docker Images with heroku.yml"); none: CMD."""
    return ["/bin/sh", "-c", command] if command else []


def _heroku_args(config_vars: Mapping[str, str], extra: Mapping[str, str],
                 command: list[str]) -> tuple[list[str], list[str]]:
    """podman flags and trailing arguments for a dyno: its config vars, and `command` in place of ENTRYPOINT/CMD."""
    flags: list[str] = []
    for key, value in {**config_vars, **extra}.items():
        flags += ["--env", f"{key}={value}"]
    if command:
        flags += ["--entrypoint", json.dumps(command[:1])]
    return flags, command[1:]


def heroku_release(image: Image, heroku_yml: dict | None, config_vars: Mapping[str, str], database_url: str, *,
                   hosts: Mapping[str, str] | None = None, extra_mounts: Mapping[Path, str] | None = None,
                   timeout: float = 1800) -> tuple[int, str]:
    """The release phase in a one-off dyno (DYNO=release.1): heroku.yml's release command, or, with `heroku_yml`
    None (registry deploys), the release image's own CMD. Its exit code and output. `hosts` and `extra_mounts` as
    for `run_pod_container`."""
    command: list[str] = []
    if heroku_yml is not None:
        release = heroku_yml.get("release")
        if not release or not release.get("command"):
            raise ContainerSpecError("heroku.yml release.command: none, so Heroku runs no release phase")
        commands = release["command"]
        command = _heroku_command(" ".join(commands) if isinstance(commands, list) else commands)
    name = _name("release")
    flags, trailing = _heroku_args(config_vars, {"DATABASE_URL": database_url, "DYNO": "release.1"}, command)
    flags += _hosts_and_mounts(hosts, extra_mounts)
    container = Container(name, image, {})
    try:
        _run(image, flags, trailing, name=name, ports={})
        code = container.wait(timeout)
        return code, container.logs()
    finally:
        container.remove()


def heroku_web(image: Image, heroku_yml: dict, config_vars: Mapping[str, str], database_url: str, *,
               hosts: Mapping[str, str] | None = None) -> Container:
    """A web dyno: heroku.yml's run.web (else the image's CMD) with a random $PORT and DYNO=web.1."""
    web = (heroku_yml.get("run") or {}).get("web")
    command = web.get("command") if isinstance(web, dict) else web
    if isinstance(command, list):
        command = " ".join(command)
    inside = free_port()  # Heroku picks $PORT; the router reaches it
    name = _name("web")
    flags, trailing = _heroku_args(config_vars, {"DATABASE_URL": database_url, "DYNO": "web.1", "PORT": str(inside)},
                                   _heroku_command(command))
    flags += _hosts_and_mounts(hosts, None)
    container = Container(name, image, {inside: free_port()}, {}, HEROKU_GRACE_SECONDS, signal_every_process=True)
    container.port_names["web"] = inside
    try:
        container.started_at = _run(image, flags, trailing, name=name, ports=container.ports)
    except Exception:
        container.remove()
        raise
    return container
