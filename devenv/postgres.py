"""An embedded PostgreSQL server for `make local`, the tests and the benchmark.

It runs the binaries that the `pgserver` wheel ships (server, pg_restore, pg_dump; wheels exist for
Python 3.11 and 3.12), else those of an installed PostgreSQL, on 127.0.0.1 only, with trust auth for
local development. Unlike `pgserver.get_server` it listens on TCP and can be stopped and started at
will, which the outage tests need.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

# PostgreSQL refuses to run as root (CI runs as root): run it as this unprivileged user then.
SERVICE_USER = "pgserver"


def recreate_database(admin_url: str, name: str) -> str:
    """Drop database `name` if it exists, create it empty on the admin URL's server, and return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlsplit(admin_url)._replace(path=f"/{name}").geturl()


def create_actor_table(url: str, names: Iterable[tuple[str, str]] = (), *, generated: int = 0) -> None:
    """An `actor` table shaped like the DVD rental one, holding `names` (first, last) in order of id,
    then `generated` made-up actors ("Actor<n>", "Number<n>"); analysed, so its plans are realistic."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE actor (actor_id serial PRIMARY KEY, first_name varchar(45) NOT NULL,"
            " last_name varchar(45) NOT NULL, last_update timestamp NOT NULL DEFAULT now())"
        )
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO actor (first_name, last_name) VALUES (%s, %s)", list(names))
        if generated:
            conn.execute(
                "INSERT INTO actor (first_name, last_name)"
                " SELECT 'Actor' || n, 'Number' || n FROM generate_series(1, %s) n",
                [generated],
            )
        conn.execute("VACUUM ANALYZE actor")


class PostgresNotFound(RuntimeError):
    """No PostgreSQL server binaries on this machine; the message says how to get some."""


def _installed_bin_dir() -> Path | None:
    """The bin directory of an installed PostgreSQL: pg_config's, Debian's newest, or pg_ctl's on PATH."""
    candidates = []
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(found.stdout.strip()))
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
                         reverse=True)
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(Path(pg_ctl).parent)
    return next((path for path in candidates if (path / "initdb").is_file()), None)


@cache
def bin_dir() -> Path:
    """Where initdb, pg_ctl, pg_restore and friends are: the pgserver wheel's, else an installed PostgreSQL's."""
    try:
        with warnings.catch_warnings():  # pgserver warns on import where XDG_RUNTIME_DIR is unset; we don't use it
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError:
        installed = _installed_bin_dir()
        if installed is None:
            raise PostgresNotFound(
                "no PostgreSQL to embed: the pgserver wheel installs on Python 3.11 and 3.12 only, and no "
                "PostgreSQL is installed. Use Python 3.12, install PostgreSQL (apt-get install postgresql, "
                "brew install postgresql), or set DATABASE_URL to a server of your own"
            ) from None
        return installed
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tools_env() -> dict[str, str]:
    """The environment with the embedded server's client tools (pg_restore, psql) first on PATH."""
    return {**os.environ, "PATH": f"{bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"}


class EmbeddedPostgres:
    """One PostgreSQL cluster in `datadir`, served on 127.0.0.1:`port`."""

    def __init__(
        self, datadir: Path, port: int | None = None, *, durable: bool = True, binaries: Path | None = None
    ) -> None:
        self.binaries = binaries or bin_dir()
        self.datadir = Path(datadir).resolve()
        self.port = port or free_port()
        self.durable = durable  # throwaway test clusters skip fsync
        self._run_as = SERVICE_USER if os.geteuid() == 0 else None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}?sslmode=disable"

    def _invoke(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        as_user = {"user": self._run_as, "group": self._run_as, "extra_groups": []} if self._run_as else {}
        return subprocess.run(
            [str(self.binaries / tool), *args], **as_user, capture_output=True, text=True, timeout=timeout, check=False
        )

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        result = self._invoke(tool, *args, timeout=timeout)
        if result.returncode != 0:
            log = self.datadir / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{result.stderr}{detail}")

    def _prepare_datadir(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            if subprocess.run(["id", "-u", SERVICE_USER], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", SERVICE_USER], check=True)
            entry = pwd.getpwnam(SERVICE_USER)
            shutil.chown(self.datadir, entry.pw_uid, entry.pw_gid)
            # that user must reach its data and the binaries, even below a 0700 folder (mktemp -d, pytest's)
            for place in (self.datadir, self.binaries):
                for parent in place.parents:
                    parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
        self.datadir.chmod(0o700)

    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def start(self) -> EmbeddedPostgres:
        """Create the cluster on first use, then start the server and wait until it accepts connections."""
        if not self.initialised:
            self._prepare_datadir()
            self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log = str(self.datadir / "server.log")
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "-l", log, "-o", options, "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `immediate` is the closest thing to pulling the plug."""
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "-m", mode, "stop")

    @property
    def running(self) -> bool:
        return self._invoke("pg_ctl", "-D", str(self.datadir), "status").returncode == 0

    def create_database(self, name: str) -> str:
        """Create an empty database (dropping one of that name) and return its URL."""
        return recreate_database(self.url(), name)

    def ensure_database(self, name: str) -> str:
        """Create the database unless it exists, and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.running:
            self.stop()
