"""Phase 1: everything the move needs to know, checked before anything changes anywhere (`--check` stops here).

A refusal is one line naming the problem and its fix. What passes is reported in one block: both servers, the size,
the extensions and who may create them, `heroku_ext`, tables without a key, large objects, what the target holds,
and an estimate of how long writes stop, from the size and a copy measured on a sample.
The schema is tried on the target in a transaction that is rolled back: the only sure answer to whether it
restores there (an older server, a missing extension, a platform's rules), and it changes nothing.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from move import catalog, guard, journal, schema
from move.catalog import Inventory, Table
from move.db import Database, MoveError, Server, Tools, find_tools
from move.progress import counted, size

SAMPLE_BYTES = 16 << 20
# Sessions a move holds on one side beside its workers': its own, the snapshot's and the copy's main one.
SESSIONS_BESIDE_WORKERS = 3
# What a move costs beyond streaming the bytes once, measured on this project's bench (docs/performance.md,
# `make bench-move`): the indexes and the checksums of both sides.
OVERHEAD = 1.6


@dataclass
class Replacement:
    """What the target holds that the move may replace, and why nothing is lost by it."""

    why: str


@dataclass
class Preflight:
    source: Server
    target: Server
    tools: Tools
    source_inventory: Inventory
    target_inventory: Inventory
    extensions: schema.ExtensionPlan
    source_record: journal.Record | None
    target_record: journal.Record | None
    replacement: Replacement | None = None
    lines: list[str] = field(default_factory=list)
    estimate_s: float = 0.0
    jobs: int = 1  # the workers the move may open: as many as asked for, if both sides allow the sessions

    @property
    def source_matches(self) -> bool:
        """The source's record is of an unfinished move to this target."""
        rec = self.source_record
        return rec is not None and rec.peer == self.target.identity and rec.state in (journal.COPYING,
                                                                                       journal.STOPPED)

    @property
    def resuming(self) -> bool:
        """Both records are of the same unfinished move: it resumes where it stopped."""
        src, dst = self.source_record, self.target_record
        return (self.source_matches and dst is not None and dst.id == src.id and dst.side == journal.TARGET
                and dst.state == journal.COPYING)

    @property
    def done_already(self) -> bool:
        rec = self.source_record
        return rec is not None and rec.peer == self.target.identity and rec.state == journal.CUT_OVER


def _servers(source: Database, target: Database) -> tuple[Server, Server]:
    s, t = source.server, target.server
    for database, server in ((source, s), (target, t)):
        if server.in_recovery:  # the move writes its journal on both sides, and stops the source's writes
            raise MoveError(f"{database.label} {database.shown}: a read-only replica (a standby, in recovery): give "
                            "the URL of its primary")
    if s.identity == t.identity:
        raise MoveError(f"the source and the target are the same database ({source.shown}): give two different "
                        "databases")
    return s, t


def _source_state(source: Database, record: journal.Record | None, target: Server) -> None:
    if record is None or record.side != journal.SOURCE or record.peer == target.identity:
        return
    if record.state == journal.CUT_OVER:
        raise MoveError(f"the source was moved to {record.peer_shown} on {record.cut_over:%Y-%m-%d %H:%M} UTC and "
                        "refuses writes since: its data lives there now: move from there instead")
    raise MoveError(f"a move of the source to {record.peer_shown} is under way or was interrupted: run it again to "
                    f"finish it, or `--revert` it, before moving the source elsewhere")


def _replaceable(conn: psycopg.Connection, record: journal.Record | None, source: Server) -> Replacement | None:
    """A target whose content exists elsewhere for sure: a copy a move made and never handed over (its guard still
    refuses everyone else's writes), or the frozen source of a move to this very source."""
    if record is None or not guard.installed(conn):
        return None
    if record.side == journal.TARGET and record.state in (journal.COPYING, journal.FAILED, journal.REVERTED):
        return Replacement(f"the target holds a copy left by a move from {record.peer_shown} ({record.state}), "
                           "which refused every other write since: it is replaced")
    if record.side == journal.SOURCE and record.state == journal.CUT_OVER and record.peer == source.identity:
        return Replacement("the target is the source of the earlier move to this source: it has refused writes "
                           "since that cutover, so the source holds all it had and more: it is replaced")
    return None


def _target_content(conn: psycopg.Connection, inventory: Inventory, record: journal.Record | None,
                    source: Server, resuming: bool, empty_hint: str) -> Replacement | None:
    if resuming or not (inventory.tables or inventory.large_objects):
        return None
    if replaced := _replaceable(conn, record, source):
        return replaced
    full = catalog.tables_with_rows(conn, inventory.tables)
    if full or inventory.large_objects:
        names = ", ".join(t.shown for t in full[:3]) + (f" and {len(full) - 3} more" if len(full) > 3 else "")
        what = (f"{counted(len(full), 'table')} with rows ({names})" if full
                else counted(inventory.large_objects, "large object"))
        raise MoveError(f"the target already holds data: {what}. A move never merges into or overwrites data: "
                        f"give an empty database, or empty this one first ({empty_hint})")
    return Replacement(f"the target holds {counted(len(inventory.tables), 'empty table')} (an app's release step "
                       "made them: migrations); they are replaced by the source's")


def empty_sql(conn: psycopg.Connection) -> str:
    """SQL that removes the app's objects from this database (its schemas but `public`, which stays, emptied;
    objects of other roles and of extensions are left), its large objects, and the move's own schema."""
    statements = []
    for name, owned in conn.execute(
            "SELECT n.nspname, pg_has_role(n.nspowner, 'USAGE') FROM pg_namespace n WHERE n.nspname NOT IN"
            " ('pg_catalog', 'information_schema', 'public') AND NOT starts_with(n.nspname, 'pg_')"
            " AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass"
            " AND d.objid = n.oid AND d.deptype = 'e')").fetchall():
        if owned and not conn.execute("SELECT EXISTS (SELECT FROM pg_extension e JOIN pg_namespace n ON"
                                      " n.oid = e.extnamespace WHERE n.nspname = %s)", [name]).fetchone()[0]:
            statements.append(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    owned_in = ("pg_has_role({owner}, 'USAGE') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                " AND NOT starts_with(n.nspname, 'pg_') AND NOT EXISTS (SELECT FROM pg_depend d WHERE"
                " d.classid = {catalog}::regclass AND d.objid = {oid} AND d.deptype = 'e')")
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}
    for schema_name, name, kind in conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relispartition = false"
            " AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
            "                 AND d.deptype IN ('a', 'i') AND c.relkind = 'S') AND "
            + owned_in.format(owner="c.relowner", catalog="'pg_class'", oid="c.oid")).fetchall():
        statements.append(sql.SQL("DROP {} IF EXISTS {} CASCADE").format(sql.SQL(kinds[kind]),
                                                                          sql.Identifier(schema_name, name)))
    for signature, kind in conn.execute(
            "SELECT p.oid::regprocedure::text, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE " + owned_in.format(owner="p.proowner", catalog="'pg_proc'", oid="p.oid")).fetchall():
        word = {"p": "PROCEDURE", "a": "AGGREGATE"}.get(kind, "FUNCTION")
        statements.append(sql.SQL(f"DROP {word} IF EXISTS {signature} CASCADE"))
    for type_name in [t for (t,) in conn.execute(
            "SELECT t.oid::regtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE t.typtype IN ('e', 'd', 'r', 'c') AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c"
            " WHERE c.oid = t.typrelid) = 'c') AND "
            + owned_in.format(owner="t.typowner", catalog="'pg_type'", oid="t.oid")).fetchall()]:
        statements.append(sql.SQL(f"DROP TYPE IF EXISTS {type_name} CASCADE"))
    statements.append(sql.SQL("SELECT lo_unlink(oid) FROM pg_largeobject_metadata"))
    statements.append(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(catalog.MOVE_SCHEMA)))
    return ";\n".join(s.as_string(conn) for s in statements) + ";\n"


def trial(target: Database, archive: schema.Archive, plan: schema.ExtensionPlan, empty: str | None,
          search_path: str | None) -> None:
    """Restore the schema on the target in a transaction that is rolled back, as the move does (its post-data with
    the source database's `search_path`); raise `MoveError` if it fails."""
    with target.connect() as conn:
        guard.allow_move_writes(conn)
        try:
            with conn.transaction(force_rollback=True):
                if empty:
                    conn.execute(empty)
                conn.execute(schema.extensions_sql(plan, archive.schemas()) or "SELECT")
                schema.run_script(conn, archive.pre_data, "the schema")
                if search_path is not None:  # which the script emptied
                    conn.execute("SELECT set_config('search_path', %s, true)", [search_path])
                for entry in archive.post_data:
                    schema.run_script(conn, schema.not_valid(entry), f"{entry.desc.lower()} {entry.name}")
        except MoveError as error:
            raise MoveError(f"the source's schema does not restore on the target: {error}") from None


def _measure(source: Database, target: Database, table: Table | None) -> tuple[float, int]:
    """Seconds to copy a sample of the largest table into a temporary table on the target, and its bytes."""
    if table is None or table.bytes == 0:
        return 0.0, 0
    from move.copy import stream  # the copy's own streaming, on a sample

    percent = min(100.0, 100.0 * SAMPLE_BYTES / table.bytes)
    with source.connect() as src, target.connect() as dst:
        started = time.monotonic()
        dst.execute("CREATE TEMP TABLE sample (line text)")
        select = sql.SQL("SELECT t::text FROM ONLY {} AS t TABLESAMPLE SYSTEM ({})").format(table.ident,
                                                                                         sql.Literal(percent))
        copied = stream(src, dst, select, sql.Identifier("sample"), sql.SQL("text"))
        return time.monotonic() - started, copied


EMPTY_HINT = "in it: DROP SCHEMA public CASCADE; CREATE SCHEMA public;"


def _sessions_left(conn: psycopg.Connection) -> int:
    """How many more sessions this role may open on this database now: the least that the role's connection limit,
    the database's and the server's (max_connections but those reserved for superusers and roles of
    pg_use_reserved_connections) leave. Heroku's plans set the database's: 20 on the smallest."""
    return int(conn.execute(
        "SELECT least("
        " CASE WHEN r.rolconnlimit >= 0 THEN r.rolconnlimit"
        "  - (SELECT count(*) FROM pg_stat_activity WHERE usename = current_user) END,"
        " CASE WHEN d.datconnlimit >= 0 THEN d.datconnlimit"
        "  - (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) END,"
        " current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
        "  - coalesce(current_setting('reserved_connections', true)::int, 0)"
        "  - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'))"
        " FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()"
    ).fetchone()[0])


def _workers(jobs: int, left: dict[str, int]) -> tuple[int, str | None]:
    """The workers the sessions both sides allow, up to `jobs`, and why fewer when fewer: a move opening one more
    than allowed would fail half way, with writes stopped."""
    label, fewest = min(left.items(), key=lambda item: item[1])
    allowed = min(jobs, fewest - SESSIONS_BESIDE_WORKERS)
    if allowed < 1:
        raise MoveError(f"the {label} allows {max(fewest, 0)} more sessions, and a move needs "
                        f"{SESSIONS_BESIDE_WORKERS + 1}: end some of the app's (scale its workers down), or raise the "
                        "limit (the role's or the database's CONNECTION LIMIT, the server's max_connections)")
    if allowed == jobs:
        return jobs, None
    return allowed, f"workers: {allowed} of the {jobs} asked for: the {label} allows {fewest} more sessions"


def _listed(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _access(label: str, conn: psycopg.Connection, *, tables: bool) -> None:
    """Refuse what would stop the move half way, or copy part of a table: the move's role must own the database
    (the guard sets its default_transaction_read_only), on the source own every table (the guard's and the
    capture's triggers: adding and removing them is the owner's), and see every row (a policy forced on the owner
    hides rows from the copy and its checksums alike, so the gate could not tell)."""
    access = catalog.access(conn)
    if access.database_owner:
        raise MoveError(f"the {label}'s role {access.role} does not own database {access.database} "
                        f"({access.database_owner} does): the move makes the database refuse writes, which only its "
                        f"owner may: run ALTER DATABASE {access.database} OWNER TO {access.role}; as a superuser, "
                        "or give the URL of the role that owns it")
    if not tables:
        return
    if access.not_owned:
        (name, owner), names = access.not_owned[0], [n for n, _ in access.not_owned]
        raise MoveError(f"the {label}'s table {_listed(names)} belongs to role {owner}, not to {access.role}: the "
                        "move stops writes with a trigger on every table, which only a table's owner may add and "
                        f"remove: run ALTER TABLE {name} OWNER TO {access.role}; as a superuser (for each one), or "
                        "move as the role that owns them")
    if access.forced_row_security:
        name = access.forced_row_security[0]
        raise MoveError(f"the {label}'s table {_listed(access.forced_row_security)} has row-level security that "
                        f"applies to its role {access.role} (FORCE ROW LEVEL SECURITY): the move would see only the "
                        f"rows its policies show: run ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY; for the move "
                        "(for each one; FORCE it again on the target after), or move as a role with BYPASSRLS")


def run(source: Database, target: Database, *, online: bool, jobs: int, empty_hint: str = EMPTY_HINT) -> Preflight:
    """Check everything (see the module); raise `MoveError` on the first refusal."""
    source_server, target_server = _servers(source, target)
    tools = find_tools(source_server.major)
    with source.connect() as src, target.connect() as dst:
        source_record, target_record = journal.read(src), journal.read(dst)
        _source_state(source, source_record, target_server)
        _access("source", src, tables=True)
        _access("target", dst, tables=False)
        workers, fewer = _workers(jobs, {"source": _sessions_left(src), "target": _sessions_left(dst)})
        source_inv, target_inv = catalog.read(src), catalog.read(dst)
        if source_server.encoding != target_server.encoding:
            raise MoveError(f"the source's encoding is {source_server.encoding}, the target's "
                            f"{target_server.encoding}: create the target database WITH ENCODING "
                            f"'{source_server.encoding}'")
        pf = Preflight(source_server, target_server, tools, source_inv, target_inv,
                       schema.plan_extensions(dst, source_inv, target_inv), source_record, target_record, jobs=workers)
        if pf.done_already:
            return pf
        if not pf.resuming and not (source_inv.tables or source_inv.sequences or source_inv.large_objects
                                    or any(source_inv.counts.values())):
            raise MoveError(f"the source database {source_server.database} holds nothing of an app's (no tables, "
                            "sequences, large objects, views or functions): nothing to move; check the database "
                            "name in the URL")
        pf.replacement = _target_content(dst, target_inv, target_record, source_server, pf.resuming, empty_hint)
        refused = pf.extensions.refused
        if refused:
            name, why = next(iter(sorted(refused.items())))
            where = source_inv.extensions[name][1]
            more = f" (and {', '.join(sorted(refused)[1:])})" if len(refused) > 1 else ""
            raise MoveError(f"the target lacks extension {name}{more} and its role {target_server.user} may not "
                            f"create it ({why}): have a superuser run CREATE EXTENSION {name} WITH SCHEMA {where}; "
                            "on the target, or use a server that offers it")
        empty = empty_sql(dst) if pf.replacement else None
    if not pf.resuming:
        with tempfile.TemporaryDirectory(prefix="paasport-move-") as work:
            archive = schema.Archive.dump(tools, source, Path(work), target_server.major)
            try:
                trial(target, archive, pf.extensions, empty, schema.search_path(source_inv.settings))
            except MoveError as error:
                if target_server.major < source_server.major:
                    raise MoveError(f"the target runs PostgreSQL {target_server.version}, older than the source's "
                                    f"{source_server.version}, and the source's schema does not restore there "
                                    f"({str(error).split(': ', 2)[-1]}): use a target of PostgreSQL "
                                    f"{source_server.major} or newer") from None
                raise
    largest = max(source_inv.tables, key=lambda t: t.bytes, default=None)
    seconds, sampled = _measure(source, target, largest)
    rate = sampled / seconds if seconds > 0 and sampled else 0.0
    pf.estimate_s = source_inv.data_bytes / rate * OVERHEAD if rate else 0.0
    pf.lines = _lines(pf, source, target, online, rate) + ([fewer] if fewer else [])
    return pf


def _lines(pf: Preflight, source: Database, target: Database, online: bool, rate: float) -> list[str]:
    s, t = pf.source_inventory, pf.target_inventory
    lines = [
        f"source: {source.shown}, PostgreSQL {pf.source.version}, {size(s.size_bytes)} "
        f"({size(s.data_bytes)} in {counted(len(s.tables), 'table')}), role {pf.source.user}",
        f"target: {target.shown}, PostgreSQL {pf.target.version}, role {pf.target.user}"
        + (" (superuser)" if pf.target.superuser else ""),
        f"client tools: pg_dump {pf.tools.major} ({pf.tools.bindir})",
    ]
    ext = ", ".join(f"{n} {v} ({sch})" for n, (v, sch) in sorted(s.extensions.items()) if n != "plpgsql") or "none"
    lines.append(f"extensions on the source: {ext}")
    if pf.extensions.create:
        lines.append("the target will get: " + ", ".join(f"{n} (in {sch})" for n, sch in pf.extensions.create)
                     + f" (tried: role {pf.target.user} may create them)")
    for name, why in sorted(pf.extensions.skipped.items()):
        lines.append(f"left out: {name}, a platform's own extension that no object needs ({why})")
    if "heroku_ext" in s.schemas:
        lines.append("heroku_ext: the source keeps extensions there; the target gets the same schema, and the "
                     "database's search_path (" + next((x for x in s.settings if x.startswith("search_path=")),
                                                       "search_path unset") + ")")
    if s.without_key:
        shown = ", ".join(x.shown for x in s.without_key[:5])
        lines.append(f"tables without a primary key: {len(s.without_key)} ({shown})"
                     + ("; --online captures them by whole row, and each round compares them in full"
                        if online else "; copied and verified like any other"))
    lines.append(f"large objects: {s.large_objects}" + (" (compared in full while writes are stopped)"
                                                         if online and s.large_objects else ""))
    if pf.resuming:
        lines.append(f"resuming the move started {pf.source_record.started:%Y-%m-%d %H:%M} UTC "
                     f"({pf.source_record.state})")
    elif pf.replacement:
        lines.append(pf.replacement.why)
    else:
        lines.append("the target holds no tables: the schema was tried there and rolled back")
    if t.settings:
        lines.append("target database settings: " + ", ".join(t.settings))
    if rate:
        estimate = ("a few seconds: the last changes, then the checks" if online
                    else f"{'under a second' if pf.estimate_s < 1 else f'about {pf.estimate_s:,.0f} s'}: "
                         f"{size(s.data_bytes)} at {size(rate)}/s measured on a sample, plus the indexes and the "
                         "checksums")
        lines.append(f"writes stop for {estimate}")
    return lines
