"""Both sides must match before the target takes the writes: a gate, not a report.

A table matches when its row count and its content checksum are equal: the sum of a 64-bit hash of each row, which
does not depend on the rows' order, so a table split into ranges is checksummed range by range, in parallel. The
hash is `hash_record_extended(row, 0)` (PostgreSQL 14 and newer) for a table of built-in types: each column's own
extended hash function, the one hash partitioning relies on, and which therefore stays the same across major
versions; it hashes values as their type compares them (numeric 1.50 and 1.5 are equal). Other tables are hashed
by their text, `hashtextextended(row::text, 0)`, a third of the speed: the hash of a type an extension or the app
defines may depend on the database (an enum hashes its value's OID), and json or point have none. Every session
renders rows the same way (`db.SESSION`), so equal content gives equal text on any two servers.
The rest of the gate compares sequences (the target at or ahead), large objects (each one's md5), the extension
set, the counts of views, functions, triggers and types, and the schema itself (`catalog.schema_lines`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from move.catalog import Inventory, Table

SHOWN_DIFFERENCES = 5


@dataclass(frozen=True)
class Sums:
    rows: int
    checksum: int

    def __add__(self, other: Sums) -> Sums:
        return Sums(self.rows + other.rows, self.checksum + other.checksum)

    def shown(self) -> str:
        return f"{self.rows:,} rows, checksum {self.checksum & 0xFFFFFFFFFFFFFFFF:016x}"


ZERO = Sums(0, 0)


_HASHES = (sql.SQL("hash_record_extended(t, 0)"), sql.SQL("hashtextextended(t::text, 0)"))
_by_text: set[str] = set()  # tables with a column of a type that has no hash function


def sums(conn: psycopg.Connection, table: Table, where: sql.Composable | None = None) -> Sums:
    """Count and checksum of `table`'s rows (those matching `where`)."""
    hashes = _HASHES[(not table.hash_safe or table.shown in _by_text):]
    for hash_ in hashes:
        query = sql.SQL("SELECT count(*), coalesce(sum({}), 0) FROM ONLY {} AS t").format(hash_, table.ident)
        if where is not None:
            query = sql.SQL("{} WHERE {}").format(query, where)
        try:
            with conn.transaction():
                rows, checksum = conn.execute(query).fetchone()
        except (psycopg.errors.UndefinedFunction, psycopg.errors.FeatureNotSupported):
            if hash_ is hashes[-1]:  # the text hash works for every type: something else is missing, say what
                raise
            _by_text.add(table.shown)  # no hash for a column's type, or a server before 14
            continue
        return Sums(int(rows), int(checksum))
    raise AssertionError("unreachable: the last hash returns or raises")


def page_ranges(conn: psycopg.Connection, table: Table, pages_per_range: int) -> list[sql.Composable | None]:
    """`table` split into ranges of pages (TID range scans, PostgreSQL 14+): a condition for each range, or [None]
    for a small table; the last range is open so that it holds whatever lies beyond."""
    pages = conn.execute("SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int",
                         [table.ident.as_string(conn)]).fetchone()[0]
    if pages <= pages_per_range:
        return [None]
    bounds = list(range(0, pages, pages_per_range))
    ranges: list[sql.Composable | None] = []
    for i, start in enumerate(bounds):
        lower = sql.SQL("ctid >= {}::tid").format(sql.Literal(f"({start},0)"))
        if i + 1 < len(bounds):
            upper = sql.SQL("ctid < {}::tid").format(sql.Literal(f"({bounds[i + 1]},0)"))
            ranges.append(sql.SQL("{} AND {}").format(lower, upper))
        else:
            ranges.append(lower)
    return ranges


def sequences(conn: psycopg.Connection, names: Iterable[str]) -> dict[str, tuple[int, bool]]:
    """Each sequence's last value and whether it was called (what nextval hands out next follows from both)."""
    names = list(names)
    if not names:
        return {}
    parts = [sql.SQL("SELECT {}, last_value, is_called FROM {}").format(
        sql.Literal(name), sql.Identifier(*name.split(".", 1))) for name in names]
    return {name: (int(value), bool(called))
            for name, value, called in conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()}


def ahead_or_equal(target: tuple[int, bool], source: tuple[int, bool]) -> bool:
    """Whether the target's next value is at or after the source's (sequences counting upwards)."""
    return (target[0] + int(target[1])) >= (source[0] + int(source[1]))


def large_objects(conn: psycopg.Connection) -> dict[int, str]:
    """Each large object's md5, by OID."""
    return {int(oid): digest for oid, digest in conn.execute(
        "SELECT oid, md5(lo_get(oid)) FROM pg_largeobject_metadata ORDER BY oid").fetchall()}


@dataclass
class Gate:
    """The differences found; empty means the target matches."""

    differences: list[str]

    def __bool__(self) -> bool:
        return not self.differences

    def add(self, what: str) -> None:
        self.differences.append(what)

    def summary(self) -> str:
        shown = "; ".join(self.differences[:SHOWN_DIFFERENCES])
        more = len(self.differences) - SHOWN_DIFFERENCES
        return shown + (f"; and {more} more" if more > 0 else "")


def compare_objects(gate: Gate, source: Inventory, target: Inventory, skipped_extensions: Iterable[str]) -> None:
    """The extension set, the object counts and the tables' names."""
    skipped = set(skipped_extensions)
    wanted = {(n, s) for n, (_, s) in source.extensions.items() if n not in skipped}
    have = {(n, s) for n, (_, s) in target.extensions.items()}
    for name, schema in sorted(wanted - have):
        gate.add(f"extension {name} (in {schema}) is missing on the target")
    for name, count in source.counts.items():
        if target.counts.get(name) != count:
            gate.add(f"{name}: {count} on the source, {target.counts.get(name)} on the target")
    missing = {t.shown for t in source.tables} - {t.shown for t in target.tables}
    for name in sorted(missing):
        gate.add(f"table {name} is missing on the target")
    if set(source.populated_matviews) != set(target.populated_matviews):
        gate.add("materialized views populated on the source but not on the target: "
                 + ", ".join(sorted(set(source.populated_matviews) - set(target.populated_matviews))))


def compare_schema(gate: Gate, source: set[str], target: set[str]) -> None:
    for line in sorted(source - target)[:SHOWN_DIFFERENCES]:
        gate.add(f"the target lacks: {line[:200]}")
    for line in sorted(target - source)[:SHOWN_DIFFERENCES]:
        gate.add(f"the target has, the source not: {line[:200]}")


def compare_sequences(gate: Gate, source: dict[str, tuple[int, bool]], target: dict[str, tuple[int, bool]]) -> None:
    for name, value in sorted(source.items()):
        if name not in target:
            gate.add(f"sequence {name} is missing on the target")
        elif not ahead_or_equal(target[name], value):
            gate.add(f"sequence {name} is at {target[name][0]} on the target, behind the source's {value[0]}")


def compare_large_objects(gate: Gate, source: dict[int, str], target: dict[int, str]) -> None:
    for oid in sorted(set(source) | set(target)):
        if source.get(oid) != target.get(oid):
            state = "missing" if oid not in target else "extra" if oid not in source else "different"
            gate.add(f"large object {oid} is {state} on the target")

