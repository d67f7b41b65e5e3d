"""What a database holds, read from its catalogs: the preflight reports it, the copy and the gate work from it.

The app's objects are everything outside the server's own schemas and the move's (`db.SYSTEM_SCHEMAS`, `pg_*`),
except objects that belong to an extension, which the extension itself recreates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from move.db import MOVE_SCHEMA, SYSTEM_SCHEMAS

# The last OID of a built-in object (FirstNormalObjectId - 1): values of such types have the same binary COPY
# format on every PostgreSQL since 7.4; a type an extension or the app made may not (an array's binary form names
# its element type's OID, which differs between servers).
LAST_BUILTIN_OID = 16383
# Extensions a platform installs for itself, which no app object needs: moved when the target allows it, else
# left out without failing the move (Heroku installs pg_stat_statements into every database).
PLATFORM_EXTENSIONS = frozenset({"plpgsql", "pg_stat_statements"})
MOVE_TRIGGER_PREFIX = "paasport_move_"

_APP_SCHEMA = ("n.nspname NOT IN ({}) AND NOT starts_with(n.nspname, 'pg_')").format(
    ", ".join(f"'{s}'" for s in SYSTEM_SCHEMAS))
_NOT_EXTENSION = ("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = {catalog}::regclass AND d.objid = {oid}"
                  " AND d.deptype = 'e')")


def _not_extension(catalog: str, oid: str) -> str:
    return _NOT_EXTENSION.format(catalog=f"'{catalog}'", oid=oid)


@dataclass(frozen=True)
class Table:
    """A table that holds rows (a plain table or a partition), as the copy and the gate see it."""

    schema: str
    name: str
    oid: int
    columns: tuple[str, ...]  # the copied columns, in order: not generated, not dropped
    key: tuple[str, ...]  # its primary key, else a unique index on NOT NULL columns; () for none
    pages: int
    bytes: int
    binary_safe: bool  # every copied column's type is built in: binary COPY is safe between any versions
    # and none is an OID in disguise (reg*): each one's hash is the same on any server (`verify.sums`); an enum's
    # hash, for one, is that of its value's OID, which differs between databases
    hash_safe: bool = False

    @property
    def shown(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def column_list(self) -> sql.Composed:
        return sql.SQL(", ").join(map(sql.Identifier, self.columns))


@dataclass
class Inventory:
    """Everything of the app's that a database holds, as counts and lists."""

    tables: list[Table]
    partitioned: list[str]  # partitioned parents (no rows of their own), "schema.name"
    sequences: list[str]  # "schema.name"
    extensions: dict[str, tuple[str, str]]  # name -> (version, schema)
    large_objects: int
    counts: dict[str, int]  # views, materialized views, functions, triggers, types
    populated_matviews: list[str]  # "schema.name", in dependency order
    size_bytes: int
    settings: list[str] = field(default_factory=list)  # the database's own settings, "name=value"
    schemas: list[str] = field(default_factory=list)

    @property
    def without_key(self) -> list[Table]:
        return [t for t in self.tables if not t.key]

    @property
    def data_bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    def table(self, shown: str) -> Table:
        return next(t for t in self.tables if t.shown == shown)


def _tables(conn: psycopg.Connection) -> tuple[list[Table], list[str]]:
    rows = conn.execute(
        "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpages, pg_table_size(c.oid)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('r', 'p') AND {_APP_SCHEMA} AND {_not_extension('pg_class', 'c.oid')}"
        " ORDER BY n.nspname, c.relname").fetchall()
    oids = [r[0] for r in rows if r[3] == "r"]
    columns: dict[int, list[tuple[str, int, str]]] = {oid: [] for oid in oids}
    hashed: dict[int, bool] = dict.fromkeys(oids, True)
    for relid, name, typid, typname, generated in conn.execute(
            "SELECT a.attrelid, a.attname, a.atttypid, t.typname, a.attgenerated <> '' FROM pg_attribute a"
            " JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = ANY(%s) AND a.attnum > 0"
            " AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum", [oids]).fetchall():
        # a generated column is not copied, but it is hashed: the row's hash covers every column
        hashed[relid] &= typid <= LAST_BUILTIN_OID and not typname.lstrip("_").startswith("reg")
        if not generated:
            columns[relid].append((name, typid, typname))
    keys: dict[int, tuple[str, ...]] = {}
    # The primary key first, else the narrowest unique, total, immediate index on NOT NULL columns.
    for relid, key in conn.execute(
            "SELECT DISTINCT ON (i.indrelid) i.indrelid,"
            " array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, pos)"
            "       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.pos)"
            " FROM pg_index i WHERE i.indrelid = ANY(%s) AND i.indisunique AND i.indimmediate AND i.indisvalid"
            " AND i.indpred IS NULL AND i.indexprs IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k(attnum) JOIN pg_attribute a"
            "                 ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE NOT a.attnotnull)"
            " ORDER BY i.indrelid, i.indisprimary DESC, i.indnatts, i.indexrelid", [oids]).fetchall():
        keys[relid] = tuple(key)
    tables, partitioned = [], []
    for oid, schema, name, kind, pages, size in rows:
        if kind == "p":
            partitioned.append(f"{schema}.{name}")
            continue
        cols = columns[oid]
        tables.append(Table(schema, name, oid, tuple(c for c, _, _ in cols), keys.get(oid, ()), max(pages, 0),
                            size, all(t <= LAST_BUILTIN_OID for _, t, _ in cols), hashed[oid]))
    return tables, partitioned


def read(conn: psycopg.Connection) -> Inventory:
    """The inventory of the database `conn` is connected to."""
    tables, partitioned = _tables(conn)
    sequences = [f"{s}.{n}" for s, n in conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind = 'S' AND {_APP_SCHEMA} AND {_not_extension('pg_class', 'c.oid')}"
        " ORDER BY 1, 2").fetchall()]
    extensions = {name: (version, schema) for name, version, schema in conn.execute(
        "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n"
        " ON n.oid = e.extnamespace ORDER BY 1").fetchall()}
    counts = dict(zip(("views", "materialized views", "functions", "triggers", "types"), conn.execute(
        "SELECT"
        f" (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v'"
        f"  AND {_APP_SCHEMA} AND {_not_extension('pg_class', 'c.oid')}),"
        f" (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm'"
        f"  AND {_APP_SCHEMA} AND {_not_extension('pg_class', 'c.oid')}),"
        f" (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_APP_SCHEMA}"
        f"  AND {_not_extension('pg_proc', 'p.oid')}),"
        " (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n"
        f"  ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND {_APP_SCHEMA}"
        f"  AND NOT starts_with(t.tgname, '{MOVE_TRIGGER_PREFIX}')),"
        f" (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {_APP_SCHEMA}"
        f"  AND t.typtype IN ('e', 'd', 'c', 'r') AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c"
        f"  WHERE c.oid = t.typrelid) = 'c') AND {_not_extension('pg_type', 't.oid')})").fetchone(), strict=True))
    populated = matviews_in_order(conn)
    size, large_objects = conn.execute(
        "SELECT pg_database_size(current_database()), (SELECT count(*) FROM pg_largeobject_metadata)").fetchone()
    settings = [s for (s,) in conn.execute(
        "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
        " WHERE d.datname = current_database() AND s.setrole = 0").fetchall()]
    schemas = [s for (s,) in conn.execute(
        f"SELECT n.nspname FROM pg_namespace n WHERE {_APP_SCHEMA} ORDER BY 1").fetchall()]
    return Inventory(tables, partitioned, sequences, extensions, int(large_objects), counts, populated, int(size),
                     settings, schemas)


@dataclass(frozen=True)
class Access:
    """What the connected role lacks of what a move needs on its side (`preflight` refuses each one)."""

    role: str  # quoted as SQL needs it, as are the other names
    database: str
    database_owner: str | None  # the database's owner, when the role has not its privileges
    not_owned: list[tuple[str, str]]  # (table, owner): the app's tables whose owner's privileges the role lacks
    forced_row_security: list[str]  # tables whose policies apply to the role, their owner (FORCE ROW LEVEL SECURITY)


def access(conn: psycopg.Connection) -> Access:
    """The role's powers over the database and the app's tables. A superuser, or a role with BYPASSRLS, reads every
    row whatever the policies; a table's owner too, unless the table forces them on it (CREATE POLICY's docs)."""
    role, database, database_owner, bypass = conn.execute(
        "SELECT quote_ident(current_user), quote_ident(current_database()),"
        " (SELECT CASE WHEN pg_has_role(datdba, 'USAGE') THEN NULL ELSE quote_ident(pg_get_userbyid(datdba)) END"
        "  FROM pg_database WHERE datname = current_database()),"
        " (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)").fetchone()
    not_owned, forced = [], []
    for name, owner, owned, forces in conn.execute(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(pg_get_userbyid(c.relowner)),"
            " pg_has_role(c.relowner, 'USAGE'), c.relrowsecurity AND c.relforcerowsecurity"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE c.relkind IN ('r', 'p') AND {_APP_SCHEMA} AND {_not_extension('pg_class', 'c.oid')}"
            " ORDER BY n.nspname, c.relname").fetchall():
        if not owned:
            not_owned.append((name, owner))
        elif forces and not bypass:
            forced.append(name)
    return Access(role, database, database_owner, not_owned, forced)


def matviews_in_order(conn: psycopg.Connection) -> list[str]:
    """Populated materialized views, each after those it reads (pg_depend through their rewrite rules)."""
    rows = conn.execute(
        "SELECT c.oid, n.nspname || '.' || c.relname, c.relispopulated,"
        " array(SELECT DISTINCT d.refobjid FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass"
        "       AND d.objid = r.oid WHERE r.ev_class = c.oid AND d.refobjid <> c.oid)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind = 'm' AND {_APP_SCHEMA} ORDER BY 2").fetchall()
    names = {oid: name for oid, name, _, _ in rows}
    needs = {oid: [r for r in refs if r in names] for oid, _, _, refs in rows}
    order: list[int] = []

    def visit(oid: int) -> None:
        if oid not in order:
            for ref in needs[oid]:
                visit(ref)
            order.append(oid)

    for oid in names:
        visit(oid)
    populated = {oid for oid, _, pop, _ in rows if pop}
    return [names[oid] for oid in order if oid in populated]


def foreign_keys(conn: psycopg.Connection) -> dict[tuple[str, str, str], bool]:
    """The app's foreign keys, (schema, table, name), each with whether it is validated (a partition's own copy of
    its parent's left out: it follows its parent's)."""
    return {(schema, table, name): valid for schema, table, name, valid in conn.execute(
        "SELECT n.nspname, c.relname, k.conname, k.convalidated FROM pg_constraint k JOIN pg_class c"
        f" ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'f'"
        f" AND k.conparentid = 0 AND {_APP_SCHEMA}").fetchall()}


def tables_with_rows(conn: psycopg.Connection, tables: Iterable[Table]) -> list[Table]:
    """The tables that hold at least one row (an exact answer, unlike the statistics)."""
    return [t for t in tables if conn.execute(
        sql.SQL("SELECT EXISTS (SELECT FROM ONLY {})").format(t.ident)).fetchone()[0]]


def move_schema_exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)",
                        [MOVE_SCHEMA]).fetchone()[0]


def schema_lines(conn: psycopg.Connection) -> set[str]:
    """The app schema's shape, one line per column, constraint, index, trigger, view and function, fully qualified:
    two databases with the same lines have the same schema. A foreign key not validated yet counts as validated.
    A view is its name and columns: how a server prints a view's query changes between major versions, as does
    whether NOT NULL is a constraint of its own (PostgreSQL 18)."""
    with conn.transaction():
        conn.execute("SET LOCAL search_path = ''")
        rows = conn.execute(
            "SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' '"
            "  || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
            "  || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')"
            " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            f" WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_APP_SCHEMA}"
            f" AND {_not_extension('pg_class', 'c.oid')}"
            " UNION ALL SELECT 'constraint ' || n.nspname || '.' || c.relname || '.' || k.conname || ' '"
            "  || replace(pg_get_constraintdef(k.oid), ' NOT VALID', '')"
            " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE k.contype <> 'n' AND {_APP_SCHEMA}"
            " UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c"
            "  ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE {_APP_SCHEMA} AND {_not_extension('pg_class', 'c.oid')}"
            " UNION ALL SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c"
            "  ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE NOT t.tgisinternal AND {_APP_SCHEMA} AND NOT starts_with(t.tgname, '{MOVE_TRIGGER_PREFIX}')"
            " UNION ALL SELECT 'view ' || n.nspname || '.' || c.relname"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE c.relkind IN ('v', 'm') AND {_APP_SCHEMA} AND {_not_extension('pg_class', 'c.oid')}"
            " UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname || '('"
            "  || pg_get_function_identity_arguments(p.oid) || ') ' || md5(coalesce(p.prosrc, ''))"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            f" WHERE {_APP_SCHEMA} AND {_not_extension('pg_proc', 'p.oid')}").fetchall()
    return {line for (line,) in rows}



