"""The app's schema: dumped by pg_dump, filtered for another server, restored in stages (or tried and rolled back).

`pg_dump --schema-only` writes a custom-format archive; `pg_restore --list` names its entries and `pg_restore
--file=-` turns chosen entries into SQL, which the move runs itself: in one transaction for the objects (pre-data),
entry by entry and in parallel for the indexes and constraints that need the data (post-data), each entry recorded
in the target's journal as it commits, so a killed move resumes there.

What the archive says that another server must not be told:
- owners and privileges (`--no-owner --no-privileges`): the target's role owns what it creates, as the app's;
- extensions, their comments and their schemas: `extensions_sql` creates each one where the source has it, `heroku_ext`
  included, so that the types and functions the dump names by schema exist (Heroku moved extensions there in 2022-23;
  a plain restore of such a dump elsewhere stops at `CREATE EXTENSION ... WITH SCHEMA heroku_ext`, whose schema it
  never created);
- the move's own triggers (`catalog.MOVE_TRIGGER_PREFIX`) and schema, large objects (copied by `move.copy`),
  statistics, publications, subscriptions, tablespaces, security labels, event triggers (superuser only).
pg_restore 17 and newer open every script with `SET transaction_timeout = 0`, which servers before 17 refuse
(pg_backup_archiver.c, _doSetFixedOutputState), and 15.14/16.10/17.6 and newer wrap scripts in psql's `\\restrict`:
both lines are dropped when the move runs the SQL itself.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from move.catalog import MOVE_TRIGGER_PREFIX, PLATFORM_EXTENSIONS, Inventory
from move.db import MOVE_SCHEMA, Database, MoveError, Tools

# pg_restore --list descriptions (pg_dump.c), longest first so that "FK CONSTRAINT" is not read as "CONSTRAINT".
_DESCS = sorted((
    "ACCESS METHOD", "ACL", "AGGREGATE", "BLOB", "BLOB METADATA", "BLOBS", "CAST", "CHECK CONSTRAINT", "COLLATION",
    "COMMENT", "CONSTRAINT", "CONVERSION", "DATABASE", "DATABASE PROPERTIES", "DEFAULT", "DEFAULT ACL", "DOMAIN",
    "ENCODING", "EVENT TRIGGER", "EXTENSION", "FK CONSTRAINT", "FOREIGN DATA WRAPPER", "FOREIGN SERVER",
    "FOREIGN TABLE", "FUNCTION", "INDEX", "INDEX ATTACH", "LARGE OBJECT", "LARGE OBJECTS", "MATERIALIZED VIEW",
    "MATERIALIZED VIEW DATA", "OPERATOR", "OPERATOR CLASS", "OPERATOR FAMILY", "POLICY", "PROCEDURAL LANGUAGE",
    "PROCEDURE", "PUBLICATION", "PUBLICATION TABLE", "PUBLICATION TABLES IN SCHEMA", "ROW SECURITY", "RULE",
    "SCHEMA", "SEARCHPATH", "SECURITY LABEL", "SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET", "SERVER",
    "SHELL TYPE", "STATISTICS", "STATISTICS DATA", "STDSTRINGS", "SUBSCRIPTION", "SUBSCRIPTION TABLE", "TABLE",
    "TABLE ATTACH", "TABLE DATA", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER",
    "TEXT SEARCH TEMPLATE", "TRANSFORM", "TRIGGER", "TYPE", "USER MAPPING", "VIEW",
), key=len, reverse=True)
_TOC_LINE = re.compile(r"^(\d+); (\d+) (\d+) (.*)$")
_LEFT_OUT = {"EXTENSION", "SCHEMA", "ACL", "DEFAULT ACL", "BLOB", "BLOB METADATA", "BLOBS", "LARGE OBJECT",
             "LARGE OBJECTS", "STATISTICS DATA", "EVENT TRIGGER", "PUBLICATION", "PUBLICATION TABLE",
             "PUBLICATION TABLES IN SCHEMA", "SUBSCRIPTION", "SUBSCRIPTION TABLE", "SECURITY LABEL",
             "TABLE DATA", "SEQUENCE SET", "MATERIALIZED VIEW DATA"}
# Post-data entries: the ones that need the data first, then those that must wait for the last change copied
# (an online move applies changes to tables without them: a foreign key would refuse a change applied out of
# order, a trigger or rule would fire again for it).
POST_DATA = {"CONSTRAINT": 0, "INDEX": 0, "INDEX ATTACH": 1, "CHECK CONSTRAINT": 1, "STATISTICS": 1,
             "FK CONSTRAINT": 2, "TRIGGER": 2, "RULE": 2, "POLICY": 2, "ROW SECURITY": 2}
_ENTRY_HEADER = re.compile(
    r"^--\n-- Name: (?P<name>.*?); Type: (?P<type>.*?); Schema: (?P<schema>.*?); Owner: .*\n--\n", re.MULTILINE)
_DROPPED_LINES = re.compile(rb"^(\\restrict .*|\\unrestrict .*|SET transaction_timeout = 0;)\n", re.MULTILINE)
# PostgreSQL 17.12 (Debian trixie's, seen here) keeps a version of its own in every column's options, `pg_attver=N`:
# it sets it on every column it creates and ignores a value given to it, and servers without it refuse the option
# ("unrecognized parameter"), so pg_dump's `ALTER TABLE ... ALTER COLUMN ... SET (pg_attver=N)` would stop a move
# to an older server. The option is left out (the target keeps its own); the column's other options stay.
_COLUMN_OPTIONS = re.compile(rb"^(ALTER (?:FOREIGN )?TABLE .* ALTER COLUMN .* SET )\((.*)\);\n", re.MULTILINE)
_SERVER_OPTION = re.compile(rb"^pg_attver=")
_FK_END = re.compile(r";\s*$")
# The table of `ALTER TABLE ONLY t ADD CONSTRAINT ...` and of `CREATE [UNIQUE] INDEX i ON t USING ...` (pg_dump's
# forms); `ON ONLY parent` is a partitioned table's own index, whose partitions' indexes attach to it later.
_NAME = r'(?:"(?:[^"]|"")*"|[^\s."]+)'
_ON_TABLE = re.compile(rf"^(?:ALTER TABLE ONLY|CREATE (?:UNIQUE )?INDEX \S+ ON) (?!ONLY )({_NAME}\.{_NAME})")
# pg_dump's `ALTER TABLE [ONLY] table ADD CONSTRAINT name FOREIGN KEY ...` (dumpConstraint: ONLY but for a
# partitioned table), with names quoted as it quotes them (spaces, quotes and all)
_FK = re.compile(rf"ALTER TABLE (?P<only>ONLY )?(?P<table>{_NAME}\.{_NAME})\s+ADD CONSTRAINT (?P<name>{_NAME})"
                 " FOREIGN KEY")
_IDENT_PART = re.compile(r'"(?:[^"]|"")*"|[^."]+')
# GUCs whose value is a list: ALTER DATABASE ... SET takes their elements one by one (pg_dumpall's
# makeAlterConfigCommand, for GUC_LIST_QUOTE variables).
_LIST_SETTINGS = {"search_path", "temp_tablespaces", "session_preload_libraries", "local_preload_libraries"}


def _without_server_options(match: re.Match[bytes]) -> bytes:
    kept = [o for o in match[2].split(b", ") if not _SERVER_OPTION.match(o)]
    return match[1] + b"(" + b", ".join(kept) + b");\n" if kept else b""


@dataclass(frozen=True)
class TocEntry:
    dump_id: int
    desc: str
    schema: str
    name: str

    def line(self) -> str:
        return f"{self.dump_id};"


@dataclass(frozen=True)
class PostEntry:
    """One post-data entry as SQL; `key` names it in the journal."""

    dump_id: int
    desc: str
    schema: str
    name: str
    sql: str

    @property
    def stage(self) -> int:
        return POST_DATA[self.desc]

    @property
    def key(self) -> str:
        # By what it is, not by its dump id: a resumed move dumps the schema again, and the ids shift when the
        # source gained objects meanwhile (an online move resumed after its write stop: the guard's triggers).
        return f"post:{self.desc}:{self.schema}.{self.name}"

    @property
    def table(self) -> str | None:
        """The table an index or constraint is on, "schema.name" (None for ONLY a partitioned parent)."""
        match = _ON_TABLE.search(self.sql)
        return ".".join(_unquoted(part) for part in _IDENT_PART.findall(match.group(1))) if match else None


def _parse_toc(listing: str) -> list[TocEntry]:
    entries = []
    for line in listing.splitlines():
        match = _TOC_LINE.match(line)
        if not match:
            continue
        rest = match.group(4)
        desc = next((d for d in _DESCS if rest.startswith(d + " ")), None)
        if desc is None:
            raise MoveError(f"pg_restore listed an entry this move does not know: {line!r}: please report it")
        schema, _, name_owner = rest[len(desc) + 1:].partition(" ")
        name = name_owner.rsplit(" ", 1)[0] if " " in name_owner else name_owner
        entries.append(TocEntry(int(match.group(1)), desc, schema, name))
    return entries


def _kept(entry: TocEntry) -> bool:
    if entry.desc in _LEFT_OUT:
        return False
    if entry.desc == "COMMENT" and (entry.name.startswith("EXTENSION ") or entry.name == "SCHEMA public"):
        return False
    return not (entry.desc == "TRIGGER" and MOVE_TRIGGER_PREFIX in entry.name)


class Archive:
    """The source's schema, dumped once, as the SQL of each stage for a target of major version `target_major`."""

    def __init__(self, tools: Tools, path: Path, target_major: int) -> None:
        self.tools, self.path, self.target_major = tools, path, target_major
        self.entries = [e for e in _parse_toc(tools.run("pg_restore", "--list", str(path)).decode()) if _kept(e)]

    @classmethod
    def dump(cls, tools: Tools, source: Database, directory: Path, target_major: int,
             snapshot: str | None = None) -> Archive:
        """`pg_dump --schema-only` of the source (at `snapshot`, an exported one, when given) into `directory`."""
        path = directory / "schema.dump"
        args = ["--format=custom", "--schema-only", "--no-publications", "--no-subscriptions", "--no-security-labels",
                "--no-tablespaces", f"--exclude-schema={MOVE_SCHEMA}", f"--file={path}"]
        if tools.major >= 15:
            args.append("--no-large-objects" if tools.major >= 16 else "--no-blobs")
        if snapshot:
            args.append(f"--snapshot={snapshot}")
        with tools.env(source.url) as env:
            tools.run("pg_dump", *args, env=env)
        return cls(tools, path, target_major)

    def _script(self, section: str, entries: Iterable[TocEntry]) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".list") as listing:
            listing.write("".join(e.line() + "\n" for e in entries))
            listing.flush()
            script = self.tools.run("pg_restore", "--file=-", "--no-owner", "--no-privileges", "--no-tablespaces",
                                    f"--section={section}", f"--use-list={listing.name}", str(self.path))
        return _COLUMN_OPTIONS.sub(_without_server_options, _DROPPED_LINES.sub(b"", script)).decode()

    @property
    def pre_data(self) -> str:
        """The objects (types, tables, sequences, functions, views), as one script."""
        return self._script("pre-data", [e for e in self.entries if e.desc not in POST_DATA])

    @property
    def post_data(self) -> list[PostEntry]:
        """Indexes, constraints, triggers and rules, one entry each, in pg_dump's order."""
        wanted = [e for e in self.entries if e.desc in POST_DATA]
        script = self._script("post-data", wanted)
        headers = list(_ENTRY_HEADER.finditer(script))
        # pg_restore prints the entries in the order of the list it is given (its --use-list), each under a header
        # that names it. The names come from the header: `--list` separates schema, name and owner by spaces,
        # which a quoted name may hold ("My Schema"), so its lines cannot be split back into them.
        if [h["type"] for h in headers] != [e.desc for e in wanted]:
            raise MoveError("pg_restore's post-data script does not follow its list: please report it")
        result = []
        for i, (header, toc) in enumerate(zip(headers, wanted, strict=True)):
            end = headers[i + 1].start() if i + 1 < len(headers) else len(script)
            body = script[header.end():end].split("\n--\n-- PostgreSQL database dump complete", 1)[0].strip()
            result.append(PostEntry(toc.dump_id, toc.desc, header["schema"], header["name"], body))
        return result

    def schemas(self) -> list[str]:
        """The schemas the archive creates (without their CREATE, which `extensions_sql` makes idempotent)."""
        return sorted({e.name for e in _parse_toc(self.tools.run("pg_restore", "--list", str(self.path)).decode())
                       if e.desc == "SCHEMA"})


def _unquoted(part: str) -> str:
    return part[1:-1].replace('""', '"') if part.startswith('"') else part


def not_valid(entry: PostEntry) -> str:
    """A foreign key's SQL added NOT VALID: instant, enforced for new rows; `VALIDATE CONSTRAINT` checks the old
    ones later, under a lock that lets writes through (ALTER TABLE's docs). Not a partitioned table's (pg_dump
    writes it without ONLY): servers before 18 refuse NOT VALID there ("cannot add NOT VALID foreign key on
    partitioned table", tablecmds.c), so it is added valid, checking its rows at once."""
    if entry.desc != "FK CONSTRAINT" or not _fk_match(entry)["only"]:
        return entry.sql
    return _FK_END.sub(" NOT VALID;", entry.sql)


def _fk_match(entry: PostEntry) -> re.Match[str]:
    match = _FK.search(entry.sql)
    if not match:
        raise MoveError(f"cannot read the foreign key of entry {entry.dump_id} ({entry.name}): please report it")
    return match



# ------------------------------------------------------------------------------------------------- extensions

@dataclass(frozen=True)
class ExtensionPlan:
    """What the target lacks, and what it would take."""

    create: list[tuple[str, str]]  # (name, schema) the target lacks
    refused: dict[str, str]  # name -> why the target role cannot create it (a required extension)
    skipped: dict[str, str]  # platform extensions the target cannot have, left out


def plan_extensions(conn: psycopg.Connection, source: Inventory, target: Inventory) -> ExtensionPlan:
    """Try each missing extension in a transaction that is rolled back: the only sure answer to "may this role
    create it" (trusted extensions, the role's privileges, a platform's own rules such as Heroku's heroku_ext)."""
    create, refused, skipped = [], {}, {}
    for name, (_version, schema) in sorted(source.extensions.items()):
        if name in target.extensions:
            continue
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                conn.execute(sql.SQL("CREATE EXTENSION {} WITH SCHEMA {}").format(sql.Identifier(name),
                                                                                   sql.Identifier(schema)))
        except psycopg.Error as error:
            why = (error.diag.message_primary or str(error)).strip()
            (skipped if name in PLATFORM_EXTENSIONS else refused)[name] = why
            continue
        create.append((name, schema))
    return ExtensionPlan(create, refused, skipped)


def extensions_sql(plan: ExtensionPlan, schemas: Iterable[str]) -> str:
    """The schemas (idempotently) and the missing extensions, as SQL."""
    statements = [sql.SQL("CREATE SCHEMA IF NOT EXISTS {};").format(sql.Identifier(s)) for s in sorted(set(schemas))]
    statements += [sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {};").format(
        sql.Identifier(name), sql.Identifier(schema)) for name, schema in plan.create]
    return "\n".join(s.as_string(None) for s in statements)


def _setting_sql(database: str, setting: str) -> sql.Composed:
    name, _, value = setting.partition("=")
    values = [v.strip().strip('"') for v in value.split(",")] if name in _LIST_SETTINGS else [value]
    return sql.SQL("ALTER DATABASE {} SET {} TO {}").format(
        sql.Identifier(database), sql.Identifier(name), sql.SQL(", ").join(map(sql.Literal, values)))


def search_path(settings: Iterable[str]) -> str | None:
    """The database's own search_path (Heroku's names heroku_ext), as set_config takes it, from its settings."""
    return next((s.partition("=")[2] for s in settings if s.startswith("search_path=")), None)


def database_settings(conn: psycopg.Connection, settings: Iterable[str]) -> list[str]:
    """Give the target database the source database's own settings (a search_path with heroku_ext, a statement
    timeout), except the move's read-only switch; returns those the target refused, with why."""
    refused = []
    database = conn.execute("SELECT current_database()").fetchone()[0]
    for setting in settings:
        if setting.startswith("default_transaction_read_only="):
            continue
        try:
            with conn.transaction():
                conn.execute(_setting_sql(database, setting))
        except psycopg.Error as error:
            refused.append(f"{setting} ({(error.diag.message_primary or str(error)).strip()})")
    return refused


def run_script(conn: psycopg.Connection, script: str, what: str) -> None:
    """Run a pg_restore script; a failure names the statement's object and the server's message."""
    try:
        conn.execute(script)
    except psycopg.Error as error:
        raise MoveError(f"{what}: {(error.diag.message_primary or str(error)).strip()}"
                        + (f" ({error.diag.context.splitlines()[0]})" if error.diag.context else "")) from None
