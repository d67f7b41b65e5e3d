"""The database: one bounded connection pool per worker process, opened lazily and self-healing.

The pool never blocks start-up: with the database down the app still serves /healthz and answers
503 elsewhere, and it reconnects by itself when the database returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import psycopg
from flask import Flask, current_app
from psycopg import pq
from psycopg.adapt import Transformer
from psycopg.errors import error_from_result
from psycopg_pool import ConnectionPool, PoolTimeout

from actors.config import Config

T = TypeVar("T")
EXTENSION_KEY = "actors.db"
CONNECT_TIMEOUT_S = 3
# psycopg_pool retries a failed connect with exponential backoff until this many seconds pass, then
# lets the next request start afresh: a short window bounds the recovery delay after an outage.
RECONNECT_WINDOW_S = 2.0
# How long a request waits for a connection while the database is known to be down.
DOWN_WAIT_S = 0.1
# PostgreSQL's SQLSTATE for "prepared statement does not exist" (invalid_sql_statement_name)
UNKNOWN_STATEMENT = b"26000"
SQLSTATE = pq.DiagnosticField.SQLSTATE


class DatabaseUnavailable(Exception):
    """The database could not serve the request in time; the caller answers 503."""


def make_pool(
    config: Config,
    on_connected: Callable[[psycopg.Connection], None] | None = None,
    on_reconnect_failed: Callable[[ConnectionPool], None] | None = None,
) -> ConnectionPool:
    return ConnectionPool(
        config.conninfo,
        min_size=1,
        max_size=config.pool_size,
        timeout=config.pool_timeout,
        reconnect_timeout=RECONNECT_WINDOW_S,
        configure=on_connected,
        reconnect_failed=on_reconnect_failed,
        kwargs={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "actors",
            "options": f"-c statement_timeout={config.statement_timeout_ms}",
            "autocommit": True,
        },
        name="actors",
        open=False,
    )


class Database:
    """One worker's pool, and whether the database is down.

    Once the pool has failed to connect for RECONNECT_WINDOW_S, requests wait only briefly for a
    connection: an outage then answers 503 at once instead of queueing requests behind each other's
    full pool timeout. The pool keeps reconnecting meanwhile, and its first new connection ends it.
    (A pool merely exhausted by slow queries still lets requests wait the whole pool timeout.)
    """

    def __init__(self, config: Config) -> None:
        self.pool = make_pool(config, on_connected=self._connected, on_reconnect_failed=self._unreachable)
        self.down = False

    def _connected(self, _conn: psycopg.Connection) -> None:
        self.down = False

    def _unreachable(self, _pool: ConnectionPool) -> None:
        self.down = True

    def open(self) -> None:
        self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close()

    def run(self, work: Callable[[psycopg.Connection], T], timeout: float | None = None) -> T:
        """Run `work` on a pooled connection; failure or a wait past `timeout` becomes DatabaseUnavailable.

        Connections are not checked on the way out of the pool (that costs a round trip per request):
        one found dead instead (the server restarted while it sat idle) is dropped and `work` retried.
        The connections are in autocommit mode, so there is no transaction to end: `getconn` and
        `putconn` directly, without `pool.connection()`'s context managers and commit (putconn still
        replaces a broken connection).
        """
        if self.down:
            timeout = DOWN_WAIT_S
        pool = self.pool
        for _ in range(pool.max_size + 1):
            conn = None
            try:
                conn = pool.getconn(timeout)
                try:
                    return work(conn)
                finally:
                    pool.putconn(conn)
            except PoolTimeout as exc:
                raise DatabaseUnavailable("no database connection within the pool timeout") from exc
            except psycopg.OperationalError as exc:  # lost connection, statement timeout, server shutting down
                if conn is None or not conn.broken:
                    raise DatabaseUnavailable(type(exc).__name__) from exc
        raise DatabaseUnavailable("every pooled connection was broken")


def fetch_prepared(conn: psycopg.Connection, name: bytes, query: str) -> list[tuple]:
    """The rows of `query` (no parameters), run as `conn`'s server-side prepared statement `name`.

    The app's one hot query goes straight through libpq (psycopg's documented `pq` layer), and its
    rows are loaded by psycopg's own `Transformer`, so types are the same as a cursor's. A cursor
    execution builds a cursor, converts the query and consults psycopg's cache of prepared statements
    on every call: with the pool's context managers, about 50 µs more CPU per request (docs/performance.md,
    the second pass). The statement is prepared on first use on each connection: a new connection (the
    pool replaced one) answers "no such statement" once, the statement is prepared, and run again.
    Errors are psycopg's usual exceptions (a lost connection or a statement timeout:
    `psycopg.OperationalError`). libpq releases the GIL while it waits, as psycopg's own waiting
    does; the server's statement_timeout bounds the wait.
    Only for connections in autocommit mode (the pool's): a failed statement leaves no transaction.
    """
    pgconn = conn.pgconn
    result = pgconn.exec_prepared(name, None)
    unknown = result.status == pq.ExecStatus.FATAL_ERROR and result.error_field(SQLSTATE) == UNKNOWN_STATEMENT
    if unknown:
        _check(pgconn.prepare(name, query.encode()), conn)
        result = pgconn.exec_prepared(name, None)
    _check(result, conn)
    loader = Transformer.from_context(conn)
    loader.set_pgresult(result)
    return loader.load_rows(0, result.ntuples, tuple)


def _check(result: pq.abc.PGresult, conn: psycopg.Connection) -> None:
    """Raise what psycopg's cursor would for a failed `result`: the server's error by its SQLSTATE, or
    OperationalError when libpq itself failed (connection lost: no SQLSTATE, the connection BAD)."""
    if result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        return
    if conn.pgconn.status == pq.ConnStatus.BAD or not result.error_field(SQLSTATE):
        message = result.error_message.decode(errors="replace").strip() or "the connection is lost"
        raise psycopg.OperationalError(message)
    raise error_from_result(result, encoding=conn.info.encoding)


def init_app(app: Flask, config: Config) -> None:
    """Attach the database to the app; its pool starts connecting in the background."""
    database = Database(config)
    database.open()
    app.extensions[EXTENSION_KEY] = database


def get_from(app: Flask) -> Database:
    return app.extensions[EXTENSION_KEY]


def get() -> Database:
    """The current app's database (inside a request)."""
    return get_from(current_app)


def run(work: Callable[[psycopg.Connection], T], timeout: float | None = None) -> T:
    return get().run(work, timeout)


def ping(timeout: float) -> None:
    """Raise DatabaseUnavailable unless the database answers a trivial query within `timeout` seconds."""
    run(lambda conn: conn.execute("SELECT 1"), timeout=timeout)
