"""The database: one bounded connection pool per worker process, opened lazily and self-healing.

The pool never blocks start-up: with the database down the app still serves /healthz and answers
503 elsewhere, and it reconnects by itself when the database returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import psycopg
from flask import Flask, current_app
from psycopg_pool import ConnectionPool, PoolTimeout

from actors.config import Config

T = TypeVar("T")
EXTENSION_KEY = "actors.db"
CONNECT_TIMEOUT_S = 3
# psycopg_pool retries a failed connect with exponential backoff until this many seconds pass, then
# lets the next request start afresh: a short window bounds the recovery delay after an outage.
RECONNECT_WINDOW_S = 2.0


class DatabaseUnavailable(Exception):
    """The database could not serve the request in time; the caller answers 503."""


def make_pool(config: Config) -> ConnectionPool:
    return ConnectionPool(
        config.conninfo,
        min_size=1,
        max_size=config.pool_size,
        timeout=config.pool_timeout,
        reconnect_timeout=RECONNECT_WINDOW_S,
        kwargs={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "actors",
            "options": f"-c statement_timeout={config.statement_timeout_ms}",
            "autocommit": True,
        },
        name="actors",
        open=False,
    )


def init_app(app: Flask, config: Config) -> None:
    """Attach a pool to the app; it starts connecting in the background."""
    pool = make_pool(config)
    pool.open(wait=False)
    app.extensions[EXTENSION_KEY] = pool


def get_pool() -> ConnectionPool:
    return current_app.extensions[EXTENSION_KEY]


def run(work: Callable[[psycopg.Connection], T], timeout: float | None = None) -> T:
    """Run `work` on a pooled connection; failure or a wait past `timeout` becomes DatabaseUnavailable.

    Connections are not checked on the way out of the pool (that costs a round trip per request):
    one found dead instead (the server restarted while it sat idle) is dropped and `work` retried.
    """
    pool = get_pool()
    for _ in range(pool.max_size + 1):
        conn = None
        try:
            with pool.connection(timeout=timeout) as conn:
                return work(conn)
        except PoolTimeout as exc:
            raise DatabaseUnavailable("no database connection within the pool timeout") from exc
        except psycopg.OperationalError as exc:  # lost connection, statement timeout, server shutting down
            if conn is None or not conn.broken:
                raise DatabaseUnavailable(type(exc).__name__) from exc
    raise DatabaseUnavailable("every pooled connection was broken")


def ping(timeout: float) -> None:
    """Raise DatabaseUnavailable unless the database answers a trivial query within `timeout` seconds."""
    run(lambda conn: conn.execute("SELECT 1"), timeout=timeout)
