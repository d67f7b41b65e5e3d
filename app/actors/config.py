"""The app's settings, read once from the environment (12-factor) and validated.

A bad value stops the process with one line that names the variable and the fix.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} is not valid: set it to a whole number from {low} to {high}, or unset it")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name}={env[name]!r} is not valid: set it to true or false, or unset it")


def database_params(env: Mapping[str, str]) -> dict[str, str]:
    """libpq connection parameters from `DATABASE_URL`, with `sslmode=require` unless it names one.

    {} when it is unset: libpq then reads the PG* variables itself. Raises ConfigError, which never
    repeats the URL (it holds the password), for anything but a postgres:// or postgresql:// URL that
    libpq parses (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS)
    with numeric ports.
    """
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return {}
    invalid = ConfigError("DATABASE_URL is not a valid PostgreSQL URL: use postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
    if not url.startswith(("postgres://", "postgresql://")):
        raise invalid
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise invalid from None
    if not all(part.isdigit() for part in str(params.get("port", "5432")).split(",")):
        raise invalid
    params.setdefault("sslmode", "require")
    return {key: str(value) for key, value in params.items()}


def database_conninfo(env: Mapping[str, str]) -> str:
    """`database_params` as a libpq connection string; empty to let libpq read the PG* variables."""
    params = database_params(env)
    return make_conninfo(**params) if params else ""


def from_environ(env: Mapping[str, str] | None = None) -> Config:
    """Read and validate every setting the app and its server (`actors.serve`) use; ConfigError names a bad one."""
    env = os.environ if env is None else env
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL={env['LOG_LEVEL']!r} is not valid: use one of {', '.join(LOG_LEVELS)}")
    # Requests spend most of their time in Python, not waiting on the database: more threads per
    # worker only contend for the GIL (wrk on 2 cores: 2 threads serve a fifth more requests/s than 4).
    threads = _int(env, "WEB_THREADS", 2, 1, 32)
    return Config(
        port=_int(env, "PORT", 5000, 1, 65535),
        web_concurrency=_int(env, "WEB_CONCURRENCY", 2, 1, 64),
        threads=threads,
        # one connection per request thread by default, so threads never wait on each other
        pool_size=_int(env, "DB_POOL_SIZE", threads, 1, 100),
        log_level=log_level,
        conninfo=database_conninfo(env),
        pool_timeout=_int(env, "DB_POOL_TIMEOUT", 5, 1, 25),
        statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", 5000, 100, 25000),
        force_https=_bool(env, "FORCE_HTTPS", True),
        server_name=env.get("DYNO") or env.get("HOSTNAME") or socket.gethostname(),
    )
