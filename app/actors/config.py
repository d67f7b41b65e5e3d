"""The app's settings, read once from the environment (12-factor) and validated.

A bad value stops the process with one line that names the variable and the fix. The rule is: a value the app
accepts works (the server answers), so anything that would start the server only to fail every request is refused
here, at start. The rules of LOG_LEVEL and SEED_ARCHIVE (`log_level`, `seed_archive_problem`) are also the stack
settings' rules (infra/settings.py repeats them; tests/app/test_env_properties.py checks that the two agree).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SHOWN_CHARS = 60  # of a bad value quoted in a message: a pasted file must not flood the log

# SEED_ARCHIVE (and the seed's --archive, and the stack's seed_archive): an https URL without credentials, of
# RFC 3986 characters (others percent-encoded), or a local path (anything without "://"). infra/settings.py holds
# the same pattern, character for character.
SEED_ARCHIVE_MAX_CHARS = 2048
SEED_ARCHIVE_PATTERN = (
    r"^(?:https://"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
    r"|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
    r"(?:[/?#](?:[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)?"
    r"|(?!.*://).+)$"
)
_SEED_ARCHIVE = re.compile(SEED_ARCHIVE_PATTERN, re.DOTALL)

# The server the image runs is granian, embedded through its Python API (actors.serve): these are read by
# nobody, so whoever sets them (e.g. migrating from gunicorn) would lose those settings without a word.
SERVER_VARIABLES = "WEB_CONCURRENCY (worker processes), WEB_THREADS (threads per worker), PORT and LOG_LEVEL"
_GRANIAN_EQUIVALENTS = {
    "GRANIAN_WORKERS": "WEB_CONCURRENCY", "GRANIAN_BLOCKING_THREADS": "WEB_THREADS", "GRANIAN_PORT": "PORT",
    "GRANIAN_LOG_LEVEL": "LOG_LEVEL",
}

# libpq checks these only when it connects: a bad value would leave every request failing, so they are checked
# here (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS).
_CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "target_session_attrs": ("any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
    "load_balance_hosts": ("disable", "random"),
    "sslnegotiation": ("postgres", "direct"),
    "sslcertmode": ("disable", "allow", "require"),
    "ssl_min_protocol_version": ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"),
    "ssl_max_protocol_version": ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"),
    "min_protocol_version": ("3.0", "3.2", "latest"),
    "max_protocol_version": ("3.0", "3.2", "latest"),
    "sslsni": ("0", "1"),
    "sslcompression": ("0", "1"),
    "gssdelegation": ("0", "1"),
    "keepalives": ("0", "1"),
}
_WHOLE_NUMBERS = ("keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout")
# Files libpq reads: named but absent, libpq would go on without them (or fail every connection).
_FILES = ("sslrootcert", "sslcert", "sslkey", "sslcrl", "passfile")
# What the app sets on every connection itself (actors.db): a value given here would be replaced without a word.
_SET_BY_THE_APP = {
    "options": "statement_timeout, from DB_STATEMENT_TIMEOUT_MS",
    "application_name": "actors",
    "connect_timeout": "3 s",
}
_UNSUPPORTED = {
    "replication": "the app is not a replication client",
    "service": "give the settings themselves, not a pg_service.conf entry",
}


class ConfigError(ValueError):
    """An environment variable has a value the app cannot use."""


@dataclass(frozen=True)
class Config:
    """Every setting; `from_environ` holds the defaults."""

    port: int
    web_concurrency: int
    threads: int
    log_level: str
    # libpq connection string; empty means "use the PG* variables", as libpq does by itself.
    conninfo: str
    pool_size: int
    pool_timeout: float
    statement_timeout_ms: int
    force_https: bool
    server_name: str


def show(value: str, limit: int = SHOWN_CHARS) -> str:
    """`value` quoted for a one-line message, cut short."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = int(raw) if re.fullmatch(r"[+-]?[0-9]{1,30}", raw) else None
    if value is None or not low <= value <= high:
        raise ConfigError(
            f"{name}={show(raw)} is not valid: set it to a whole number from {low} to {high}, or unset it")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name}={show(env[name])} is not valid: set it to true or false, or unset it")


def log_level(raw: str | None) -> str | None:
    """The level a LOG_LEVEL (or stack `log_level`) value names, upper-case; None when it names none.

    Surrounding blanks are ignored, empty means INFO, and the case does not matter (ASCII only: "\u0131nfo", with a
    dotless i, is not "info", though Python upper-cases it to "INFO").
    """
    value = (raw or "").strip()
    if not value:
        return "INFO"
    return value.upper() if value.isascii() and value.upper() in LOG_LEVELS else None


def seed_archive_problem(raw: str) -> str | None:
    """Why a SEED_ARCHIVE value (stripped; empty means the default download) cannot be used; None when it can.

    Only its form: whether the file exists, or the URL answers, is for the seed to find out.
    """
    value = raw.strip()
    if not value:
        return None
    if len(value) > SEED_ARCHIVE_MAX_CHARS:
        return f"is {len(value)} characters long, more than {SEED_ARCHIVE_MAX_CHARS}"
    if not value.isprintable():
        return "holds control characters (or other unprintable ones)"
    if not _SEED_ARCHIVE.match(value):
        return ("is not an https:// URL (without credentials; other characters percent-encoded) "
                "nor a path of a .tar or .zip pg_restore archive")
    return None


def _ports(value: str) -> bool:
    return all(not port or (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535)
               for port in value.split(","))


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_][A-Za-z0-9_-]{0,62})*\.?$")


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _hosts(value: str) -> bool:
    """Host names, IP addresses or socket directories (absolute paths), comma-separated; an empty one is libpq's."""
    return all(not host or host.startswith(("/", "@")) or _ip(host) or _HOSTNAME.match(host)
               for host in value.split(","))


def _param_problem(keyword: str, value: str) -> str | None:
    """What is wrong with libpq parameter `keyword` set to `value`, as "must be ..." or the like; None if nothing."""
    if keyword in _SET_BY_THE_APP:
        return f"is set by the app itself ({_SET_BY_THE_APP[keyword]}): remove it"
    if keyword in _UNSUPPORTED:
        return f"is not supported ({_UNSUPPORTED[keyword]}): remove it"
    if keyword in _CHOICES and value not in _CHOICES[keyword]:
        return f"must be one of {', '.join(_CHOICES[keyword])}"
    if keyword in _WHOLE_NUMBERS and not (value.isascii() and value.isdigit() and int(value) <= 2**31 - 1):
        return "must be a whole number"
    if keyword == "port" and not _ports(value):
        return "must be a whole number from 1 to 65535 (one per host)"
    if keyword == "host" and not _hosts(value):
        return "must be host names (ASCII: punycode), IP addresses or socket directories"
    if keyword == "hostaddr" and not all(not addr or _ip(addr) for addr in value.split(",")):
        return "must be IP addresses"
    if keyword in _FILES and value and not (keyword == "sslrootcert" and value == "system"):
        try:
            present = Path(value).expanduser().is_file()
        except (OSError, ValueError, RuntimeError):
            present = False
        if not present:
            return "names a file that does not exist"
    return None


@functools.cache
def _libpq_variables() -> dict[str, str]:
    """libpq's environment variables (PGHOST...) and the parameter each one sets."""
    return {
        option.envvar.decode(): option.keyword.decode()
        for option in psycopg.pq.Conninfo.get_defaults()
        if option.envvar and option.envvar != b"PGPASSWORD"
    }


def _pg_variables(env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """{parameter: (variable, value)} of the non-empty PG* variables set in `env` (libpq ignores empty ones)."""
    return {keyword: (name, env[name]) for name, keyword in _libpq_variables().items() if env.get(name)}


def database_params(env: Mapping[str, str]) -> dict[str, str]:
    """libpq connection parameters from `DATABASE_URL`, with `sslmode=require` unless it (or PGSSLMODE) names one.

    {} when it is unset: libpq then reads the PG* variables itself. Raises ConfigError, which never
    repeats the URL (it holds the password), for anything but a postgres:// or postgresql:// URL that
    libpq parses (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS)
    with parameters libpq would accept when connecting; and for a PG* variable it would not accept.
    """
    from_variables = _pg_variables(env)
    for keyword, (name, value) in from_variables.items():
        problem = _param_problem(keyword, value)
        if problem:
            raise ConfigError(f"{name}={show(value)} is not valid: it {problem}")
    url = env.get("DATABASE_URL", "").strip()
    params: dict[str, str] = {}
    if url:
        invalid = ConfigError(
            "DATABASE_URL is not a valid PostgreSQL URL: use postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
        if not url.startswith(("postgres://", "postgresql://")):
            raise invalid
        try:
            params = {key: str(value) for key, value in conninfo_to_dict(url).items()}
        except psycopg.ProgrammingError:
            raise invalid from None
        for keyword, value in params.items():
            problem = _param_problem(keyword, value)
            if problem:  # names the parameter, never its value: the URL may hold secrets anywhere
                raise ConfigError(f"DATABASE_URL is not a valid PostgreSQL URL: its parameter {keyword} {problem}")
        if "sslmode" not in params and "sslmode" not in from_variables:
            params["sslmode"] = "require"
    hosts = (params.get("host") or from_variables.get("host", ("", ""))[1]).split(",")
    ports = (params.get("port") or from_variables.get("port", ("", ""))[1]).split(",")
    if len(ports) not in (1, len(hosts)):
        where = "DATABASE_URL" if "port" in params or "host" in params else "PGPORT"
        raise ConfigError(f"{where} is not valid: it gives {len(ports)} ports for {len(hosts)} hosts "
                          "(give one port for all, or one per host)")
    return params


def database_conninfo(env: Mapping[str, str]) -> str:
    """`database_params` as a libpq connection string; empty to let libpq read the PG* variables."""
    params = database_params(env)
    return make_conninfo(**params) if params else ""


def check_server_variables(env: Mapping[str, str]) -> None:
    """Refuse the variables of servers that do not serve this app (they would be ignored without a word)."""
    if env.get("GUNICORN_CMD_ARGS", "").strip():
        raise ConfigError(
            "GUNICORN_CMD_ARGS is set, but the server is granian, which does not read it: unset it and use "
            f"{SERVER_VARIABLES} instead (README, Configuration)")
    for name in sorted(env):
        if name.upper().startswith("GRANIAN_") and env[name].strip():
            instead = _GRANIAN_EQUIVALENTS.get(name.upper())
            use = f"use {instead} instead" if instead else f"the settings are {SERVER_VARIABLES}"
            raise ConfigError(f"{name} is set, but the app runs granian through its Python API, which does not "
                              f"read GRANIAN_* variables: unset it; {use} (README, Configuration)")


def check_metrics_directory(env: Mapping[str, str]) -> None:
    """PROMETHEUS_MULTIPROC_DIR, when set, must be a directory the server can create or write (nothing is made here)."""
    raw = env.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not raw:
        return
    try:
        probe = Path(raw).absolute()
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir():
            problem = f"{probe} is not a directory"
        elif not os.access(probe, os.W_OK | os.X_OK):
            problem = f"{probe} is not writable"
        else:
            problem = ""
    except (OSError, ValueError) as error:
        problem = getattr(error, "strerror", None) or type(error).__name__
    if problem:
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR={show(raw)} cannot be used ({problem}): set it to a writable "
                          "directory, or unset it (the server then makes one under the temporary directory)")


def from_environ(env: Mapping[str, str] | None = None) -> Config:
    """Read and validate every setting the app and its server (`actors.serve`) use; ConfigError names a bad one."""
    env = os.environ if env is None else env
    check_server_variables(env)
    level = log_level(env.get("LOG_LEVEL"))
    if level is None:
        raise ConfigError(f"LOG_LEVEL={show(env['LOG_LEVEL'])} is not valid: use one of {', '.join(LOG_LEVELS)}")
    check_metrics_directory(env)
    # Requests spend most of their time in Python, not waiting on the database: a second thread per
    # worker only contends for the GIL (make bench, 2 cores, 64 connections: 1 thread 2,070 req/s at
    # 0.88 ms of CPU per request, 2 threads 1,844 at 0.99 ms). Scale with WEB_CONCURRENCY instead.
    threads = _int(env, "WEB_THREADS", 1, 1, 32)
    return Config(
        port=_int(env, "PORT", 5000, 1, 65535),
        web_concurrency=_int(env, "WEB_CONCURRENCY", 2, 1, 64),
        threads=threads,
        # one connection per request thread by default, so threads never wait on each other
        pool_size=_int(env, "DB_POOL_SIZE", threads, 1, 100),
        log_level=level,
        conninfo=database_conninfo(env),
        pool_timeout=_int(env, "DB_POOL_TIMEOUT", 5, 1, 25),
        statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", 5000, 100, 25000),
        force_https=_bool(env, "FORCE_HTTPS", True),
        server_name=env.get("DYNO") or env.get("HOSTNAME") or socket.gethostname(),
    )
