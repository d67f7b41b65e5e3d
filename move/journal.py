"""The move's own record, kept in both databases (schema `paasport_move`), so that a killed move resumes, a failed
one is recognised, and `--revert` knows what it gives back. Nothing is kept on the machine that runs the command:
any machine can resume.

On each side one row says which move this is, with which peer, and how far it got:
- the source: `copying` (online: changes are captured), `stopped` (writes refused), `cut over` (the target took
  over; the source keeps refusing writes);
- the target: `copying` until the cutover, when its record goes; `failed` (the gate refused the copy, kept for
  inspection) or `reverted` (the copy was given up) after. Such a target still refuses writes (`move.guard`), so a
  later move may replace it: nothing in it exists only there.
Items the target has done (`done`: the schema, each verified table, each post-data entry) commit in the same
transaction as the work itself, so a resumed move never takes a half-filled table for a copied one.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from move.catalog import move_schema_exists
from move.db import MOVE_SCHEMA

SOURCE, TARGET = "source", "target"
COPYING, STOPPED, CUT_OVER, FAILED, REVERTED = "copying", "stopped", "cut over", "failed", "reverted"

_SCHEMA = sql.Identifier(MOVE_SCHEMA)
_CREATE = sql.SQL("""
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.move (
    id uuid PRIMARY KEY,
    side text NOT NULL,
    peer text NOT NULL,
    peer_shown text NOT NULL,
    online boolean NOT NULL,
    state text NOT NULL,
    started timestamptz NOT NULL DEFAULT now(),
    stopped timestamptz,
    cut_over timestamptz,
    read_only_before text,
    apps jsonb NOT NULL DEFAULT '{{}}'
);
CREATE TABLE IF NOT EXISTS {schema}.done (
    item text PRIMARY KEY,
    detail jsonb NOT NULL DEFAULT '{{}}',
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
""").format(schema=_SCHEMA)


@dataclass
class Record:
    """One side's row."""

    id: uuid.UUID
    side: str
    peer: str
    peer_shown: str
    online: bool
    state: str
    started: Any = None
    stopped: Any = None
    cut_over: Any = None
    read_only_before: str | None = None
    apps: dict[str, Any] = field(default_factory=dict)


def read(conn: psycopg.Connection) -> Record | None:
    if not move_schema_exists(conn):
        return None
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{MOVE_SCHEMA}.move"]).fetchone()[0]
    if not exists:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(sql.SQL("SELECT * FROM {}.move").format(_SCHEMA)).fetchone()
    return Record(**row) if row else None


def create(conn: psycopg.Connection, record: Record) -> None:
    conn.execute(_CREATE)
    conn.execute(sql.SQL("DELETE FROM {}.move").format(_SCHEMA))
    conn.execute(sql.SQL("DELETE FROM {}.done").format(_SCHEMA))
    conn.execute(sql.SQL(
        "INSERT INTO {}.move (id, side, peer, peer_shown, online, state, read_only_before, apps)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(_SCHEMA),
        [record.id, record.side, record.peer, record.peer_shown, record.online, record.state, record.read_only_before,
         json.dumps(record.apps)])


def update(conn: psycopg.Connection, **changes: Any) -> None:
    """Change the row (`state`, `stopped=True` for now, `apps`, ...)."""
    parts, values = [], []
    for name, value in changes.items():
        if value is True and name in ("stopped", "cut_over"):
            parts.append(sql.SQL("{} = now()").format(sql.Identifier(name)))
            continue
        parts.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
        values.append(json.dumps(value) if name == "apps" else value)
    conn.execute(sql.SQL("UPDATE {}.move SET {}").format(_SCHEMA, sql.SQL(", ").join(parts)), values)


def done(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """The items the target has done, with their details."""
    if not move_schema_exists(conn):
        return {}
    return dict(conn.execute(sql.SQL("SELECT item, detail FROM {}.done").format(_SCHEMA)).fetchall())


def mark(conn: psycopg.Connection, item: str, detail: dict[str, Any] | None = None) -> None:
    """Record `item` as done; call it inside the transaction that did it."""
    conn.execute(sql.SQL("INSERT INTO {}.done (item, detail) VALUES (%s, %s) ON CONFLICT (item) DO UPDATE"
                         " SET detail = excluded.detail, at = excluded.at").format(_SCHEMA),
                 [item, json.dumps(detail or {})])


def drop(conn: psycopg.Connection) -> None:
    """Remove the move's schema and all it holds (its record, a capture's tables and functions)."""
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(_SCHEMA))
