"""The data: every table's rows, large objects and sequences, from one consistent snapshot of the source.

Faster than `pg_dump -Fc | pg_restore`, which streams one table after another through zlib on one core: here
`jobs` workers stream COPY from source to target at once, a large table split into ranges of pages, uncompressed
(binary where both servers read the same bytes: built-in types), and each table is checksummed on both sides as
soon as its last range lands, while the others still copy. All source sessions share the snapshot that a
`Snapshot` exports (`pg_export_snapshot`, `SET TRANSACTION SNAPSHOT`), so the copy is one point in time even
while an online source takes writes.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq, sql

from move import guard, journal, verify
from move.catalog import Table
from move.db import Database, MoveError
from move.verify import Sums

PAGES_PER_RANGE = 8192  # 64 MiB of table per COPY stream
BLOCK = 1 << 20  # bytes handed to the target at once
LARGE_OBJECT_PIECE = 1 << 20


class Snapshot:
    """A repeatable-read transaction on the source whose snapshot other sessions import, held until `close`."""

    def __init__(self, source: Database) -> None:
        self.source = source
        self.conn = source.connect(autocommit=False)
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.id: str = self.conn.execute("SELECT pg_export_snapshot()").fetchone()[0]

    def session(self) -> psycopg.Connection:
        """A new source session inside the snapshot (left open: the caller closes it)."""
        conn = self.source.connect(autocommit=False)
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(self.id)))
        return conn

    def close(self) -> None:
        self.conn.close()


def target_session(target: Database) -> psycopg.Connection:
    """A session that writes to the target: through its guard, without waiting for each commit to flush."""
    conn = target.connect()
    guard.allow_move_writes(conn)
    conn.execute("SET synchronous_commit = off")
    conn.autocommit = False
    return conn


class Workers:
    """`jobs` threads, each with its own source session in the snapshot and its own target session."""

    def __init__(self, snapshot: Snapshot, target: Database, jobs: int) -> None:
        self.snapshot, self.target, self.jobs = snapshot, target, jobs
        self._local = threading.local()
        self._conns: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self.pool = ThreadPoolExecutor(jobs, thread_name_prefix="move")

    def _sessions(self) -> tuple[psycopg.Connection, psycopg.Connection]:
        if not hasattr(self._local, "src"):
            src, dst = self.snapshot.session(), target_session(self.target)
            self._local.src, self._local.dst = src, dst
            with self._lock:
                self._conns += [src, dst]
        return self._local.src, self._local.dst

    def submit(self, work: Callable[[psycopg.Connection, psycopg.Connection], Any]) -> Future:
        return self.pool.submit(lambda: work(*self._sessions()))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        for conn in self._conns:
            with contextlib.suppress(psycopg.Error):
                conn.close()


def copy_format(table: Table, same_major: bool) -> sql.SQL:
    return sql.SQL("binary" if same_major or table.binary_safe else "text")


def stream(src: psycopg.Connection, dst: psycopg.Connection, select: sql.Composable, insert: sql.Composable,
           fmt: sql.SQL, advance: Callable[[int], None] | None = None) -> int:
    """COPY `select`'s rows from the source into `insert`'s table; the bytes that went through."""
    total = 0
    out_sql = sql.SQL("COPY ({}) TO STDOUT (FORMAT {})").format(select, fmt).as_bytes(src)
    in_sql = sql.SQL("COPY {} FROM STDIN (FORMAT {})").format(insert, fmt)
    with dst.cursor().copy(in_sql) as into:
        for block in _copy_out(src, out_sql):
            into.write(block)
            total += len(block)
            if advance:
                advance(len(block))
    return total


def _copy_out(conn: psycopg.Connection, query: bytes) -> Iterator[bytes]:
    """A COPY TO STDOUT's data in blocks of about BLOCK bytes. libpq hands it over a row at a time, and psycopg's
    `Copy` iterates through Python's generator machinery for each one: a third of a large copy's time, holding the
    GIL. This reads the rows in a tight loop and waits for the socket outside the GIL (as psycopg does, non-blocking)
    in the session's current transaction."""
    pgconn = conn.pgconn
    pgconn.send_query(query)
    while True:
        _wait(pgconn)
        result = pgconn.get_result()
        if result is None or result.status == pq.ExecStatus.COPY_OUT:
            break
        _raise(conn, result)
    block = bytearray()
    while True:
        size, data = pgconn.get_copy_data(1)
        if size > 0:
            block += data
            if len(block) >= BLOCK:
                yield bytes(block)
                block.clear()
        elif size == 0:
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        elif size == -1:
            break
        else:
            raise psycopg.OperationalError(pgconn.get_error_message())
    if block:
        yield bytes(block)
    while True:
        _wait(pgconn)
        if (result := pgconn.get_result()) is None:
            return
        if result.status != pq.ExecStatus.COMMAND_OK:
            _raise(conn, result)


def _wait(pgconn: pq.abc.PGconn) -> None:
    while pgconn.is_busy():
        select.select([pgconn.socket], [], [])
        pgconn.consume_input()


def _raise(conn: psycopg.Connection, result: pq.abc.PGresult) -> None:
    """The server's error as psycopg would have raised it (the class of its SQLSTATE)."""
    state = result.error_field(pq.DiagnosticField.SQLSTATE)
    error = psycopg.errors.lookup(state.decode()) if state else psycopg.DatabaseError
    raise error(result.error_message.decode(errors="replace").strip())


def select_rows(table: Table, where: sql.Composable | None = None) -> sql.Composed:
    query = sql.SQL("SELECT {} FROM ONLY {}").format(table.column_list, table.ident)
    return query if where is None else sql.SQL("{} WHERE {}").format(query, where)


def insert_into(table: Table) -> sql.Composed:
    return sql.SQL("{} ({})").format(table.ident, table.column_list)


@dataclass
class _Progress:
    table: Table
    waiting: int  # tasks of the current stage still running
    stage: str = "copy"  # then "indexes" (with the source's checksum), then "target" (the target's checksum)
    source: Sums = verify.ZERO
    target: Sums = verify.ZERO


@dataclass
class Copied:
    """The tables verified, and the workers' seconds spent copying, checksumming and indexing."""

    sums: dict[str, Sums]
    copy_s: float = 0.0
    verify_s: float = 0.0
    index_s: float = 0.0


Task = Callable[[psycopg.Connection, psycopg.Connection], Any]


def copy_tables(workers: Workers, main_src: psycopg.Connection, main_dst: psycopg.Connection,
                tables: Iterable[Table], same_major: bool, report: Any,
                indexes: Callable[[Table], list[Task]] = lambda _: []) -> Copied:
    """Copy and verify each table (truncated first: a resumed move copies a half-filled table again); each one is
    marked done in the target's journal once both sides' checksums agree. As soon as a table's rows are in, its
    `indexes` tasks run beside the source's checksum; the target's checksum follows them (adding a primary key
    locks the table)."""
    tables = list(tables)
    for table in tables:
        main_dst.execute(sql.SQL("TRUNCATE ONLY {}").format(table.ident))
    main_dst.commit()
    states: dict[str, _Progress] = {}
    pending: dict[Future, tuple[str, str]] = {}

    def submit(state: _Progress, kind: str, task: Task) -> None:
        pending[workers.submit(task)] = (state.table.shown, kind)
        state.waiting += 1

    for table in tables:
        states[table.shown] = state = _Progress(table, 0)
        report.table_started(table.shown, table.bytes)
        fmt = copy_format(table, same_major)
        for where in verify.page_ranges(main_src, table, PAGES_PER_RANGE):
            submit(state, "copy", _copy_range(table, where, fmt, report))
    copied = Copied({})
    while pending:
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            shown, kind = pending.pop(future)
            state, (result, seconds) = states[shown], future.result()
            if kind in ("source", "target"):
                copied.verify_s += seconds
                setattr(state, kind, getattr(state, kind) + result)
            elif kind == "copy":
                copied.copy_s += seconds
            else:
                copied.index_s += seconds
            state.waiting -= 1
            if state.waiting:
                continue
            if state.stage == "copy":
                state.stage = "indexes"
                for where in verify.page_ranges(main_src, state.table, PAGES_PER_RANGE):
                    submit(state, "source", _sum_range(state.table, where, "source"))
                for task in indexes(state.table):
                    submit(state, "index", task)
                continue
            if state.stage == "indexes":
                state.stage = "target"
                ranges = verify.page_ranges(main_dst, state.table, PAGES_PER_RANGE)
                main_dst.commit()  # the size read holds a lock on the table until then
                for where in ranges:
                    submit(state, "target", _sum_range(state.table, where, "target"))
                continue
            if state.source != state.target:
                raise MoveError(f"table {shown} differs after the copy: source {state.source.shown()}, target "
                                f"{state.target.shown()}")
            journal.mark(main_dst, f"table:{shown}", {"rows": state.source.rows,
                                                      "checksum": str(state.source.checksum)})
            main_dst.commit()
            copied.sums[shown] = state.source
            report.table_done(shown, state.source.rows)
    return copied


def _copy_range(table: Table, where: sql.Composable | None, fmt: sql.SQL, report: Any):
    def work(src: psycopg.Connection, dst: psycopg.Connection) -> tuple[int, float]:
        started = time.monotonic()
        try:
            copied = stream(src, dst, select_rows(table, where), insert_into(table), fmt,
                            lambda n: report.table_advance(table.shown, n))
            dst.commit()
        except BaseException:
            dst.rollback()
            raise
        return copied, time.monotonic() - started
    return work


def _sum_range(table: Table, where: sql.Composable | None, side: str):
    def work(src: psycopg.Connection, dst: psycopg.Connection) -> tuple[Sums, float]:
        started = time.monotonic()
        conn = src if side == "source" else dst
        result = verify.sums(conn, table, where)
        if side == "target":
            dst.commit()
        return result, time.monotonic() - started
    return work


# --------------------------------------------------------------------------------------------- large objects

def copy_large_objects(src: psycopg.Connection, dst: psycopg.Connection) -> int:
    """Every large object, with its OID, in pieces of 1 MiB; the target's own are removed first (a resumed move).
    Returns how many there are."""
    for (oid,) in dst.execute("SELECT oid FROM pg_largeobject_metadata").fetchall():
        dst.execute("SELECT lo_unlink(%s)", [oid])
    oids = [oid for (oid,) in src.execute("SELECT oid FROM pg_largeobject_metadata ORDER BY oid").fetchall()]
    for oid in oids:
        dst.execute("SELECT lo_create(%s)", [oid])
        offset = 0
        while True:
            piece = src.execute("SELECT lo_get(%s, %s, %s)", [oid, offset, LARGE_OBJECT_PIECE]).fetchone()[0]
            if piece:
                dst.execute("SELECT lo_put(%s, %s, %s)", [oid, offset, piece])
                offset += len(piece)
            if len(piece) < LARGE_OBJECT_PIECE:
                break
    return len(oids)


def copy_sequences(src: psycopg.Connection, dst: psycopg.Connection, names: Iterable[str]) -> dict[str, tuple]:
    """Set every sequence on the target to the source's value; returns the source's values."""
    values = verify.sequences(src, names)
    for name, (value, called) in values.items():
        dst.execute("SELECT setval(%s::regclass, %s, %s)",
                    [sql.Identifier(*name.split(".", 1)).as_string(dst), value, called])
    return values


@contextlib.contextmanager
def workers(snapshot: Snapshot, target: Database, jobs: int) -> Iterator[Workers]:
    pool = Workers(snapshot, target, jobs)
    try:
        yield pool
    finally:
        pool.close()
