"""Refusing writes in the database itself, so that no session, whatever the app does, can write where it must not.

Three layers, each one a database owner may set up (Heroku's default credential is one; no superuser needed):
1. `ALTER DATABASE ... SET default_transaction_read_only = on`: every new session starts read-only, so an app that
   reconnects can neither write, nor run DDL, nor write large objects or sequences;
2. the database's other sessions are ended (`pg_terminate_backend`, which a role may do to its own sessions): their
   uncommitted transactions roll back, and they were never acknowledged;
3. a statement trigger on every table refuses INSERT, UPDATE, DELETE and TRUNCATE, even from a session that turns
   read-only off. Creating it waits for every transaction that wrote the table to end, so once the last one exists,
   nothing written before is still to commit, and the copy that follows sees it all.
The move's own sessions set `paasport_move.writer` (a placeholder setting any role may set): the trigger lets them
through on a target, where the move writes until the cutover. Removing the guard undoes the three, and ends the
sessions opened meanwhile, which would stay read-only.
"""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

from move import catalog
from move.catalog import MOVE_TRIGGER_PREFIX, Inventory
from move.db import APPLICATION_NAME, MOVE_SCHEMA

TRIGGER = MOVE_TRIGGER_PREFIX + "guard"
FUNCTION = "refuse_writes"
WRITER_SETTING = "paasport_move.writer"
LOCK_TIMEOUT = "10s"
ATTEMPTS = 6


def _function_sql(message: str) -> sql.Composed:
    body = sql.SQL(
        "BEGIN IF current_setting({setting}, true) = 'on' THEN RETURN NULL; END IF;"
        " RAISE EXCEPTION USING ERRCODE = 'read_only_sql_transaction', MESSAGE = {message}; END")
    return sql.SQL("CREATE OR REPLACE FUNCTION {}.{}() RETURNS trigger LANGUAGE plpgsql AS {}").format(
        sql.Identifier(MOVE_SCHEMA), sql.Identifier(FUNCTION),
        sql.Literal(body.format(setting=sql.Literal(WRITER_SETTING), message=sql.Literal(message)).as_string(None)))


def read_only_setting(inventory: Inventory) -> str | None:
    """The database's own default_transaction_read_only before the guard, to give back on removal."""
    return next((s.partition("=")[2] for s in inventory.settings
                 if s.startswith("default_transaction_read_only=")), None)


def _relations(inventory: Inventory) -> list[sql.Identifier]:
    names = inventory.partitioned + [t.shown for t in inventory.tables]  # parents first, as writes lock them
    return [sql.Identifier(*name.split(".", 1)) for name in names]


def end_other_sessions(conn: psycopg.Connection) -> list[str]:
    """End every other session on this database; the roles of those this role may not end."""
    rows = conn.execute(
        "SELECT pid, usename FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend' AND coalesce(application_name, '') <> %s", [APPLICATION_NAME]).fetchall()
    left = []
    for pid, user in rows:
        try:
            conn.execute("SELECT pg_terminate_backend(%s)", [pid])
        except psycopg.errors.InsufficientPrivilege:
            left.append(user or "?")
    return left


def install(conn: psycopg.Connection, message: str) -> list[str]:
    """Set up the three layers (see the module); the roles whose sessions could not be ended. The tables are read
    once no other session may create one: every table there is then, the app's latest migration's too."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(MOVE_SCHEMA)))
    database = conn.execute("SELECT current_database()").fetchone()[0]
    conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(sql.Identifier(database)))
    left = end_other_sessions(conn)
    inventory = catalog.read(conn)
    for attempt in range(ATTEMPTS):
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
                conn.execute(_function_sql(message))
                for relation in _relations(inventory):
                    conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(TRIGGER), relation))
                    conn.execute(sql.SQL(
                        "CREATE TRIGGER {} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {}"
                        " FOR EACH STATEMENT EXECUTE FUNCTION {}.{}()").format(
                            sql.Identifier(TRIGGER), relation, sql.Identifier(MOVE_SCHEMA), sql.Identifier(FUNCTION)))
            break
        except psycopg.errors.LockNotAvailable:
            if attempt == ATTEMPTS - 1:
                raise
            left = sorted(set(left + end_other_sessions(conn)))
            time.sleep(1)
    return left


def installed(conn: psycopg.Connection) -> bool:
    """Whether the guard is in place: its function, and the database read-only by default."""
    return bool(conn.execute(
        "SELECT EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = %s AND p.proname = %s) AND EXISTS (SELECT FROM pg_db_role_setting s"
        " JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database() AND s.setrole = 0"
        " AND 'default_transaction_read_only=on' = ANY(s.setconfig))", [MOVE_SCHEMA, FUNCTION]).fetchone()[0])


def present(conn: psycopg.Connection) -> bool:
    """Whether any layer of the guard is in place: a move stopped while setting it up (Ctrl-C, a lock it waited for
    too long, a SIGKILL) leaves the database read-only by default before its triggers exist."""
    return bool(conn.execute(
        "SELECT EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = %s AND p.proname = %s) OR EXISTS (SELECT FROM pg_trigger WHERE tgname = %s)"
        " OR EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
        " WHERE d.datname = current_database() AND s.setrole = 0"
        " AND 'default_transaction_read_only=on' = ANY(s.setconfig))", [MOVE_SCHEMA, FUNCTION, TRIGGER]).fetchone()[0])


def remove(conn: psycopg.Connection, read_only_before: str | None) -> None:
    """Undo the guard: the triggers and their function go, the database's own setting comes back, and the other
    sessions are ended: each one was opened while the guard was on (those before it were ended then), so it is
    read-only for its lifetime whatever the database's setting now; the app reconnects to a database that takes
    its writes (a source given back, a target cut over to)."""
    database = conn.execute("SELECT current_database()").fetchone()[0]
    with conn.transaction():
        for schema, table in conn.execute(
                "SELECT n.nspname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = %s", [TRIGGER]).fetchall():
            conn.execute(sql.SQL("DROP TRIGGER {} ON {}").format(sql.Identifier(TRIGGER),
                                                                 sql.Identifier(schema, table)))
        conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {}.{}()").format(sql.Identifier(MOVE_SCHEMA),
                                                                       sql.Identifier(FUNCTION)))
    if read_only_before is None:
        conn.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(sql.Identifier(database)))
    else:
        conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = {}").format(
            sql.Identifier(database), sql.Literal(read_only_before)))
    end_other_sessions(conn)


def allow_move_writes(conn: psycopg.Connection) -> None:
    """Let this session write through a guard (the move's sessions on its target)."""
    conn.execute("SELECT set_config(%s, 'on', false)", [WRITER_SETTING])

