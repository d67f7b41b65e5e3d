"""`--online`: every change to the moved tables is captured on the source while they are copied, then applied to the
target in rounds, until the last round fits in a write stop of seconds.

Heroku Postgres offers no logical replication or replication slot to anything outside Heroku (heroku/roadmap#38),
so changes are captured with triggers, which the database's owner may create, as Bucardo's do for PlanetScale's
heroku-migrator. A row trigger on each table writes the key of every row it inserts, updates (old and new key:
a key may change) or deletes into a delta table of the move's own schema; TRUNCATE is noted per table. The key is
the primary key, else a unique index on NOT NULL columns, else the whole row (a table without a key is a multiset:
its delta holds whole rows).

A round does not replay statements. In one repeatable-read transaction on the source, it reads the delta's keys,
then the rows that have those keys now; on the target it deletes every row with those keys and writes the rows
read, and checks both sides' checksums over those keys; it commits the target, then deletes the deltas it read in
the source transaction (rows another transaction adds meanwhile are outside its snapshot and stay for the next
round). Applying a key again is harmless, so a round killed halfway is simply done again, and a change already in
the copied snapshot does no harm. After a round the target equals the source as of that round's snapshot, for
every key it touched; every other row was checked at the copy, or in an earlier round, and not changed since.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from move import copy, journal, verify
from move.catalog import MOVE_TRIGGER_PREFIX, Table
from move.db import MOVE_SCHEMA, Database, MoveError

TRIGGER = MOVE_TRIGGER_PREFIX + "capture"
TRUNCATE_TRIGGER = MOVE_TRIGGER_PREFIX + "truncate"
TRUNCATED = "truncated"
# Adding a trigger waits for the transactions that wrote the table, and every write that comes after queues behind
# it: so each try gives up quickly and lets the app's writes through for a while before the next one.
LOCK_TIMEOUT = "100ms"
RETRY_PAUSE_S = 0.5
WAIT_S = 60.0
_S = sql.Identifier(MOVE_SCHEMA)
# The capture writes into the move's schema whoever writes the table: another role of the app's (a second Heroku
# credential, a migration user) may not use that schema, and its writes would fail. So the functions run as their
# owner, with a search_path an invoker cannot plant objects in ("Writing SECURITY DEFINER Functions Safely", CREATE
# FUNCTION's docs); they name every object by its schema, and compare keys by their text, which needs no operator
# of the key's type from the search_path.
_DEFINER = sql.SQL("SECURITY DEFINER SET search_path = pg_catalog, pg_temp")


def _delta(table: Table) -> sql.Identifier:
    return sql.Identifier(MOVE_SCHEMA, f"delta_{table.oid}")


def _key_columns(table: Table) -> tuple[str, ...]:
    return table.key or table.columns


def _row(prefix: str, columns: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.SQL(prefix), sql.Identifier(c)) for c in columns)


def _function(table: Table) -> sql.Composed:
    cols = _key_columns(table)
    delta = _delta(table)
    old, new = _row("OLD", cols), _row("NEW", cols)
    body = sql.SQL(
        "BEGIN"
        " IF TG_OP <> 'INSERT' THEN INSERT INTO {delta} VALUES ({old}); END IF;"
        " IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND ROW({old})::text IS DISTINCT FROM ROW({new})::text) THEN"
        "  INSERT INTO {delta} VALUES ({new}); END IF;"
        " RETURN NULL; END").format(delta=delta, old=old, new=new)
    return sql.SQL("CREATE OR REPLACE FUNCTION {}.{}() RETURNS trigger LANGUAGE plpgsql {} AS {}").format(
        _S, sql.Identifier(f"capture_{table.oid}"), _DEFINER, sql.Literal(body.as_string(None)))


def _lock_ancestors(conn: psycopg.Connection, table: Table) -> None:
    """Lock a partition's parents, root first, before the partition itself: the order in which the app's writes
    through the parent lock them, so that adding a trigger waits for them instead of deadlocking with them."""
    for (name,) in conn.execute(
            "SELECT a.relid::regclass::text FROM pg_partition_ancestors(%s::regclass) WITH ORDINALITY a(relid, n)"
            " WHERE a.relid <> %s::regclass ORDER BY a.n DESC", [table.ident.as_string(conn)] * 2).fetchall():
        conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(sql.SQL(name)))


def install(conn: psycopg.Connection, tables: Iterable[Table]) -> None:
    """Create the deltas and triggers; each table's trigger in a transaction of its own with a short lock timeout,
    retried after a pause, so that a long transaction of the app's delays the capture rather than the app's writes
    (they wait for one try at most, never for the long transaction)."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(_S))
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {}.{} (relid oid NOT NULL)").format(
        _S, sql.Identifier(TRUNCATED)))
    conn.execute(sql.SQL(
        "CREATE OR REPLACE FUNCTION {}.note_truncate() RETURNS trigger LANGUAGE plpgsql {} AS"
        " $$BEGIN INSERT INTO {}.{} VALUES (TG_RELID); RETURN NULL; END$$").format(
            _S, _DEFINER, _S, sql.Identifier(TRUNCATED)))
    for table in tables:
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} AS SELECT {} FROM ONLY {} WITH NO DATA").format(
            _delta(table), sql.SQL(", ").join(map(sql.Identifier, _key_columns(table))), table.ident))
        conn.execute(_function(table))
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
                    _lock_ancestors(conn, table)
                    conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(TRIGGER),
                                                                                   table.ident))
                    conn.execute(sql.SQL("CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW"
                                         " EXECUTE FUNCTION {}.{}()").format(
                        sql.Identifier(TRIGGER), table.ident, _S, sql.Identifier(f"capture_{table.oid}")))
                    conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                        sql.Identifier(TRUNCATE_TRIGGER), table.ident))
                    conn.execute(sql.SQL("CREATE TRIGGER {} AFTER TRUNCATE ON {} FOR EACH STATEMENT"
                                         " EXECUTE FUNCTION {}.note_truncate()").format(
                        sql.Identifier(TRUNCATE_TRIGGER), table.ident, _S))
                break
            except psycopg.errors.LockNotAvailable:
                if time.monotonic() > deadline:
                    raise MoveError(f"could not add the change capture to {table.shown}: a transaction holds it "
                                    f"locked for over a minute; end it and run the move again") from None
                time.sleep(RETRY_PAUSE_S)


def remove(conn: psycopg.Connection) -> None:
    """Drop every trigger and object of the capture (the move's schema goes with the journal, see `journal.drop`)."""
    with conn.transaction():
        for schema, table, name in conn.execute(
                "SELECT n.nspname, c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = ANY(%s)",
                [[TRIGGER, TRUNCATE_TRIGGER]]).fetchall():
            conn.execute(sql.SQL("DROP TRIGGER {} ON {}").format(sql.Identifier(name), sql.Identifier(schema, table)))
        for (name,) in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND (starts_with(c.relname, 'delta_') OR c.relname = %s) AND c.relkind = 'r'",
                [MOVE_SCHEMA, TRUNCATED]).fetchall():
            conn.execute(sql.SQL("DROP TABLE {}.{}").format(_S, sql.Identifier(name)))
        for (name,) in conn.execute(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s"
                " AND (starts_with(p.proname, 'capture_') OR p.proname = 'note_truncate')", [MOVE_SCHEMA]).fetchall():
            conn.execute(sql.SQL("DROP FUNCTION {}.{}()").format(_S, sql.Identifier(name)))


def installed(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT FROM pg_trigger WHERE tgname = %s)", [TRIGGER]).fetchone()[0]


def backlog(conn: psycopg.Connection, tables: Iterable[Table]) -> int:
    """Changes waiting (keys in the deltas; a truncated table counts its rows as of now)."""
    parts = [sql.SQL("SELECT count(*) FROM {}").format(_delta(t)) for t in tables]
    if not parts:
        return 0
    return int(conn.execute(sql.SQL("SELECT sum(n) FROM ({}) AS d(n)").format(
        sql.SQL(" UNION ALL ").join(parts))).fetchone()[0] or 0)


@dataclass
class Round:
    changes: int  # keys read from the deltas
    rows: int  # rows written to the target
    tables: int
    seconds: float


def _matching(table: Table, alias: str, keys: sql.Composable) -> sql.Composed:
    """A condition on `alias`'s rows: its key is among `keys` (a query of key rows)."""
    cols = _key_columns(table)
    mine = sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in cols)
    if table.key:
        return sql.SQL("({}) IN (SELECT {} FROM {})").format(
            mine, sql.SQL(", ").join(map(sql.Identifier, cols)), keys)
    # a whole-row key: rows are equal when their text is, which needs no equality operator (json has none)
    return sql.SQL("ROW({})::text IN (SELECT ROW({})::text FROM {} AS k)").format(
        mine, sql.SQL(", ").join(sql.SQL("k.{}").format(sql.Identifier(c)) for c in cols), keys)


def drain_round(source: Database, dst: psycopg.Connection, tables: list[Table], same_major: bool) -> Round:
    """Apply and verify the changes captured so far (see the module), in one transaction of `dst`, a target
    session in autocommit mode."""
    started = time.monotonic()
    src = source.connect(autocommit=False)
    src.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        truncated = {oid for (oid,) in src.execute(sql.SQL("SELECT DISTINCT relid FROM {}.{}").format(
            _S, sql.Identifier(TRUNCATED))).fetchall()}
        counts = dict(zip([t.shown for t in tables], [0] * len(tables), strict=True))
        if tables:
            counts = dict(src.execute(sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT {}, count(*) FROM {}").format(sql.Literal(t.shown), _delta(t))
                for t in tables)).fetchall())
        changed = [t for t in tables if counts[t.shown] or t.oid in truncated]
        rows = 0
        with dst.transaction():
            for table in changed:
                rows += _apply(src, dst, table, whole=table.oid in truncated, same_major=same_major)
            journal.mark(dst, "rounds", {"last": time.time()})
        for table in changed:
            src.execute(sql.SQL("DELETE FROM {}").format(_delta(table)))
        src.execute(sql.SQL("DELETE FROM {}.{}").format(_S, sql.Identifier(TRUNCATED)))
        src.commit()
    finally:
        src.close()
    return Round(sum(counts.values()), rows, len(changed), time.monotonic() - started)


def _apply(src: psycopg.Connection, dst: psycopg.Connection, table: Table, *, whole: bool, same_major: bool) -> int:
    """Make `table`'s changed keys (or all of it, after a TRUNCATE) on the target equal the source's, verified."""
    fmt = copy.copy_format(table, same_major)
    if whole:
        dst.execute(sql.SQL("DELETE FROM ONLY {}").format(table.ident))
        where_src = where_dst = None
    else:
        cols = sql.SQL(", ").join(map(sql.Identifier, _key_columns(table)))
        keys = sql.Identifier(f"keys_{table.oid}")
        dst.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM ONLY {}"
                            " WITH NO DATA").format(keys, cols, table.ident))
        # a key's changes, once each; whole rows (a table without a key) as they are: DISTINCT needs an equality
        # operator for every column, which json and point lack, and `_matching` ignores repeats
        distinct = sql.SQL("DISTINCT ") if table.key else sql.SQL("")
        copy.stream(src, dst, sql.SQL("SELECT {}{} FROM {}").format(distinct, cols, _delta(table)), keys,
                    sql.SQL("text"))
        where_src = _matching(table, "t", _delta(table))
        where_dst = _matching(table, "t", keys)
        dst.execute(sql.SQL("DELETE FROM ONLY {} AS t WHERE {}").format(table.ident, where_dst))
    select = sql.SQL("SELECT {} FROM ONLY {} AS t").format(table.column_list, table.ident)
    if where_src is not None:
        select = sql.SQL("{} WHERE {}").format(select, where_src)
    copy.stream(src, dst, select, copy.insert_into(table), fmt)
    source, target = verify.sums(src, table, where_src), verify.sums(dst, table, where_dst)
    if source != target:
        raise MoveError(f"table {table.shown} differs after applying its changes: source {source.shown()}, "
                        f"target {target.shown()}")
    return source.rows
