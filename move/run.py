"""The phases of a move, in order, and `--revert`.

Offline: stop writes on the source, then copy and verify everything, then cut over: writes stop for the whole copy.
Online: capture changes, copy while the source takes writes, apply the captured changes in rounds, then stop writes
only for the last round and the checks (`move.capture`).
Writes stop the platform's way for a stack (the app: `move.stacks`) and always in the database (`move.guard`);
the source keeps refusing writes after the cutover, until `--revert`, so no write can land on both sides.
Any failure after writes stopped gives them back to the source before the command exits, and leaves the target
for inspection; a killed move (SIGKILL, a lost laptop) leaves the source refusing writes, and the same command run
again resumes it from the journals (`move.journal`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql

from move import capture, catalog, copy, guard, journal, preflight, schema, verify
from move.db import Database, MoveError
from move.progress import Report, counted, size

ADVISORY_LOCK = 0x0000_5EED_0F_0D  # one move of a given source at a time
ROUND_SMALL = 2000  # changes a round may leave behind before writes stop
ROUND_FAST_S = 1.0
MAX_ROUNDS = 50
THROUGHPUT_SAMPLE_S = 3.0


class App(Protocol):
    """A stack's app, stopped and started the platform's own way."""

    description: str

    def stop(self) -> dict[str, Any]: ...

    def start(self, before: dict[str, Any] | None, *, serve: bool = True) -> None: ...

    def dns_step(self) -> str | None: ...

    def empty_hint(self) -> str: ...


@dataclass
class Side:
    db: Database
    app: App | None = None
    dump: str | None = None  # a restore drill's archive, restored into `db` for the move

    @property
    def name(self) -> str:
        if self.dump:
            return f"the dump {self.dump}"
        return self.app.description if self.app else self.db.shown


@dataclass
class Options:
    check: bool = False
    online: bool = False
    revert: bool = False
    yes: bool = False
    jobs: int = 4


@dataclass
class Result:
    """What the final line says (and the bench reads)."""

    bytes: int = 0
    seconds: float = 0.0
    stopped_s: float = 0.0
    verify_s: float = 0.0  # of the write stop: checksums and the gate
    tables: int = 0
    rounds: list[capture.Round] = field(default_factory=list)
    throughput: tuple[float, float] | None = None  # rows written per second: before capture, during capture
    events: dict[str, float] = field(default_factory=dict)  # "capture", "stop", "cut over": time.time() of each
    phases: dict[str, float] = field(default_factory=dict)  # seconds each phase took

    def line(self) -> str:
        return (f"moved {size(self.bytes)} in {self.seconds:,.1f} s; writes stopped for {self.stopped_s:,.1f} s; "
                f"{counted(self.tables, 'table')} verified")


# ------------------------------------------------------------------------------------------------------- move

class Mover:
    def __init__(self, source: Side, target: Side, pf: preflight.Preflight, options: Options, report: Report,
                 work: Path) -> None:
        self.source, self.target, self.pf, self.options, self.report, self.work = (source, target, pf, options,
                                                                                   report, work)
        self.src = source.db.connect()
        if not self.src.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK]).fetchone()[0]:
            raise MoveError("another move of this source is running right now: wait for it to end")
        self.dst = copy.target_session(target.db)
        self.dst.autocommit = True
        self.same_major = pf.source.major == pf.target.major
        self.online = pf.source_record.online if pf.source_matches else options.online
        self.result = Result(bytes=pf.source_inventory.data_bytes)
        self.started = time.monotonic()
        self.stopped_at: float | None = None
        self.skipped_extensions = sorted(pf.extensions.skipped)

    def close(self) -> None:
        for conn in (self.src, self.dst):
            with contextlib.suppress(psycopg.Error):
                conn.close()

    @contextlib.contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.result.phases[phase] = self.result.phases.get(phase, 0.0) + time.monotonic() - started

    # -- the journals

    def _begin(self) -> None:
        """A new move (or one whose target must start again): replace what the target may lose, then write both
        records (the source's is kept when it is of this move: the source may have stopped already)."""
        move_id = self.pf.source_record.id if self.pf.source_matches else uuid.uuid4()
        if self.pf.replacement:
            self.report.say(f"replacing the target's content: {self.pf.replacement.why}")
            if guard.installed(self.dst):
                guard.remove(self.dst, None)
            with self.dst.transaction():
                self.dst.execute(preflight.empty_sql(self.dst))
        if not self.pf.source_matches:
            journal.create(self.src, journal.Record(move_id, journal.SOURCE, self.pf.target.identity,
                                                    self.target.db.shown, self.online, journal.COPYING,
                                                    read_only_before=guard.read_only_setting(
                                                        self.pf.source_inventory)))
        journal.create(self.dst, journal.Record(move_id, journal.TARGET, self.pf.source.identity,
                                                self.source.db.shown, self.online, journal.COPYING))

    def done(self) -> dict[str, dict[str, Any]]:
        return journal.done(self.dst)

    # -- phases

    def run(self) -> Result:
        if not self.pf.resuming:
            self._begin()
        record = journal.read(self.src)
        try:
            if self.online:
                self._online(record)
            else:
                self._offline(record)
        except BaseException:
            try:
                self._fail()
            except Exception as problem:
                self.report.say(f"the source could not be given its writes back ({problem}): it refuses writes "
                                "until the same command runs again (it resumes) or `--revert`")
            raise
        self.result.seconds = time.monotonic() - self.started
        return self.result

    def _stop_writes(self, record: journal.Record) -> None:
        """The app stops (stacks), then the database refuses writes; done once, even across resumes."""
        if record.state == journal.STOPPED:
            self.stopped_at = time.monotonic() - float(self.src.execute(
                "SELECT extract(epoch FROM now() - stopped) FROM paasport_move.move").fetchone()[0])
            return
        self.stopped_at = time.monotonic()
        self.result.events["stop"] = time.time()
        apps = dict(record.apps)
        for key, side in (("source", self.source), ("target", self.target)):
            if side.app and key not in apps:
                self.report.say(f"stopping {side.app.description}")
                apps[key] = side.app.stop()
                journal.update(self.src, apps=apps)
        self.report.say("stopping writes on the source database")
        left = guard.install(self.src, f"paasport moved this database to {self.target.db.shown}: it refuses writes "
                             "(`make move ... --revert` gives them back)")
        if left:
            self.report.say(f"sessions of {', '.join(left)} could not be ended: the guard refuses their writes")
        journal.update(self.src, state=journal.STOPPED, stopped=True)

    def _schema(self, snapshot: copy.Snapshot) -> schema.Archive:
        """The schema at the snapshot; its objects on the target once (the journal's `schema`, marked in the same
        transaction, so a move killed after it never creates them again), then the target's guard."""
        archive = schema.Archive.dump(self.pf.tools, self.source.db, self.work, self.pf.target.major, snapshot.id)
        if "schema" not in self.done():
            self.report.say("copying the schema")
            # a session of its own: pg_restore's script empties its search_path for good
            with copy.target_session(self.target.db) as conn, conn.transaction():
                conn.execute(schema.extensions_sql(self.pf.extensions, archive.schemas()) or "SELECT")
                schema.run_script(conn, archive.pre_data, "the schema")
                journal.mark(conn, "schema")
        if not guard.installed(self.dst):
            guard.install(self.dst, f"paasport is moving {self.source.db.shown} into this database: it refuses "
                          "writes until the cutover")
        return archive

    def _tables(self, snapshot: copy.Snapshot, archive: schema.Archive) -> None:
        done = self.done()
        todo = [t for t in self.pf.source_inventory.tables if f"table:{t.shown}" not in done]
        self.result.tables = len(self.pf.source_inventory.tables)
        if not todo:
            return
        self.report.say(f"copying {counted(len(todo), 'table')} ({size(sum(t.bytes for t in todo))}) with "
                        f"{self.options.jobs} workers")
        main_src = snapshot.session()
        self.dst.autocommit = False
        self.report.start_tables(sum(t.bytes for t in todo))
        started = time.monotonic()
        try:
            # each table's own indexes and keys as soon as its rows are in, beside the checksums
            early: dict[str, list[schema.PostEntry]] = {}
            for entry in archive.post_data:
                if entry.stage == 0 and entry.key not in done and entry.table:
                    early.setdefault(entry.table, []).append(entry)
            with copy.workers(snapshot, self.target.db, self.options.jobs) as pool:
                copied = copy.copy_tables(pool, main_src, self.dst, todo, self.same_major, self.report,
                                          lambda table: [_entry_task(e) for e in early.get(table.shown, [])])
            # while writes are stopped: the checksums' share of the time the tables took (workers copy, index and
            # checksum side by side)
            busy = copied.copy_s + copied.verify_s + copied.index_s
            if self.stopped_at is not None and busy:
                self.result.verify_s += (time.monotonic() - started) * copied.verify_s / busy
        finally:
            self.report.end_tables()
            self.dst.rollback()
            self.dst.autocommit = True
            main_src.close()

    def _large_objects(self) -> None:
        if not self.pf.source_inventory.large_objects or "large objects" in self.done():
            return
        self.report.say(f"copying {counted(self.pf.source_inventory.large_objects, 'large object')}")
        with self.dst.transaction():
            count = copy.copy_large_objects(self.src, self.dst)
            journal.mark(self.dst, "large objects", {"count": count})

    def _post_data(self, archive: schema.Archive, stages: range) -> None:
        """Post-data entries of `stages`, stage by stage, in parallel within one; each recorded as it commits."""
        done = self.done()
        for stage in stages:
            entries = [e for e in archive.post_data if e.stage == stage and e.key not in done]
            if not entries:
                continue
            what = {0: "indexes and keys", 1: "partition indexes", 2: "foreign keys, triggers and rules"}[stage]
            self.report.say(f"creating {len(entries)} {what}")

            def create(entry: schema.PostEntry) -> None:
                with copy.target_session(self.target.db) as conn:
                    _entry_task(entry)(None, conn)

            with ThreadPoolExecutor(self.options.jobs) as pool:
                list(pool.map(create, entries))

    def _matviews(self) -> None:
        if "matviews" in self.done():
            return
        for name in self.pf.source_inventory.populated_matviews:
            self.report.say(f"refreshing materialized view {name}")
            try:
                with self.dst.transaction():
                    self.dst.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(
                        sql.Identifier(*name.split(".", 1))))
            except (psycopg.errors.UndefinedFunction, psycopg.errors.UndefinedTable,
                    psycopg.errors.UndefinedObject) as error:
                raise MoveError(f"materialized view {name} does not refresh on the target "
                                f"({(error.diag.message_primary or str(error)).strip()}): a function it calls must "
                                "find what it uses without the database's search_path (PostgreSQL 17 and newer "
                                "refresh with search_path = pg_catalog, pg_temp): qualify the names in it, or give it "
                                "SET search_path, then run the same command again") from None
        with self.dst.transaction():
            journal.mark(self.dst, "matviews")

    def _gate(self) -> None:
        """Sequences forward, then everything but the rows (which were checked as they landed) must match."""
        started = time.monotonic()
        gate = verify.Gate([])
        # the source as it is now that it refuses writes: a table, sequence or large object that appeared since the
        # preflight (a migration during an online copy) was neither copied nor captured, and must not be left behind
        source_inventory, target_inventory = catalog.read(self.src), catalog.read(self.dst)
        for name in sorted({t.shown for t in source_inventory.tables}
                           - {t.shown for t in self.pf.source_inventory.tables}):
            gate.add(f"table {name} appeared on the source during the move, after its preflight, and was not copied")
        on_target = [name for name in source_inventory.sequences if name in set(target_inventory.sequences)]
        with self.dst.transaction():
            copy.copy_sequences(self.src, self.dst, on_target)
        source_sequences = verify.sequences(self.src, source_inventory.sequences)
        verify.compare_sequences(gate, source_sequences, verify.sequences(self.dst, on_target))
        source_objects = verify.large_objects(self.src)
        verify.compare_large_objects(gate, source_objects, verify.large_objects(self.dst))
        verify.compare_objects(gate, source_inventory, target_inventory, self.skipped_extensions)
        verify.compare_schema(gate, catalog.schema_lines(self.src), catalog.schema_lines(self.dst))
        self.result.verify_s += time.monotonic() - started
        if not gate:
            raise GateFailure(f"the target does not match the source: {gate.summary()}: the source takes writes "
                              "again; run the same command again to move it afresh")
        # every table is verified now, also in a run resumed after its copy (whose own copy verified none)
        self.result.tables = len(self.pf.source_inventory.tables)
        self.report.say(f"verified: {counted(len(self.pf.source_inventory.tables), 'table')} (rows and checksums), "
                        f"{counted(len(source_sequences), 'sequence')}, "
                        f"{counted(len(source_objects), 'large object')}, "
                        "extensions, views, functions, triggers and the schema")

    def _cut_over(self) -> None:
        refused = schema.database_settings(self.dst, self.pf.source_inventory.settings)
        for setting in refused:
            self.report.say(f"warning: the target refused the source database's setting {setting}")
        with self.src.transaction():  # both or neither: a resumed move drains the capture until it is cut over
            if self.online:
                capture.remove(self.src)
            journal.update(self.src, state=journal.CUT_OVER, cut_over=True)
        finish_cutover(self.dst)
        self.result.stopped_s = time.monotonic() - (self.stopped_at or time.monotonic())
        self.result.events["cut over"] = time.time()
        if self.source.dump:
            self.report.say(f"restore drill passed: {self.target.name} holds {self.source.name}, verified")
        else:
            self.report.say(f"cut over: {self.target.name} takes the writes; {self.source.name} refuses them until "
                            "`--revert`")
        if self.target.app:
            self.report.say(f"starting {self.target.app.description}")
            self.target.app.start(journal.read(self.src).apps.get("target"), serve=True)
            if step := self.target.app.dns_step():
                self.report.say(step)

    def _offline(self, record: journal.Record) -> None:
        with self._timed("stop"):
            self._stop_writes(record)
        # the tables as nothing can change them any more: one the app created since the preflight (while the move
        # asked to go on) is moved too
        self.pf.source_inventory = catalog.read(self.src)
        self.result.bytes = self.pf.source_inventory.data_bytes
        snapshot = copy.Snapshot(self.source.db)
        try:
            with self._timed("schema"):
                archive = self._schema(snapshot)
            with self._timed("tables"):
                self._tables(snapshot, archive)
        finally:
            snapshot.close()
        with self._timed("large objects"):
            self._large_objects()
        with self._timed("indexes"):
            self._post_data(archive, range(0, 2))
        with self._timed("materialized views"):
            self._matviews()
        with self._timed("constraints"):
            self._post_data(archive, range(2, 3))
        with self._timed("gate"):
            self._gate()
        with self._timed("cut over"):
            self._cut_over()
        with self._timed("validate"):
            validate_foreign_keys(self.src, self.dst, self.report)

    def _online(self, record: journal.Record) -> None:
        tables = self.pf.source_inventory.tables
        if record.state == journal.COPYING:
            if not capture.installed(self.src):
                before = _throughput(self.src, tables)
                self.report.say("capturing changes on the source (triggers into schema paasport_move)")
                capture.install(self.src, tables)
                self.result.events["capture"] = time.time()
                self.result.throughput = (before, 0.0)
            snapshot = copy.Snapshot(self.source.db)
            try:
                archive = self._schema(snapshot)
                self._tables(snapshot, archive)
            finally:
                snapshot.close()
            self._post_data(archive, range(0, 2))
            self._matviews()
            self._large_objects()
            self._drain(tables)
        else:
            archive = schema.Archive.dump(self.pf.tools, self.source.db, self.work, self.pf.target.major)
        self._stop_writes(journal.read(self.src))
        last = capture.drain_round(self.source.db, self._round_session(), tables, self.same_major)
        self.result.rounds.append(last)
        self.report.say(f"last round: {counted(last.changes, 'change')} to {counted(last.tables, 'table')}, "
                        f"applied and verified in {last.seconds:.2f} s")
        self.result.verify_s += last.seconds
        with self.dst.transaction():  # all of them now, those the app made since the preflight too
            copy.copy_large_objects(self.src, self.dst)
        self._post_data(archive, range(2, 3))
        self._gate()
        self._cut_over()
        validate_foreign_keys(self.src, self.dst, self.report)

    def _round_session(self) -> psycopg.Connection:
        conn = copy.target_session(self.target.db)
        conn.autocommit = True
        return conn

    def _drain(self, tables: list[catalog.Table]) -> None:
        """Rounds while the source takes writes, until one is small and quick."""
        conn = self._round_session()
        try:
            during = _throughput(self.src, tables)
            overhead = ""
            if self.result.throughput:  # the rate before is known to the run that installed the capture only
                before = self.result.throughput[0]
                self.result.throughput = (before, during)
                overhead = f" ({during / before:.0%} of the {before:,.0f} before capture)" if before else ""
            # reported by a resumed run too: the issue asks for the rate during capture
            self.report.say(f"source writes during capture: {during:,.0f} rows/s{overhead}")
            for number in range(1, MAX_ROUNDS + 1):
                result = capture.drain_round(self.source.db, conn, tables, self.same_major)
                self.result.rounds.append(result)
                left = capture.backlog(self.src, tables)
                self.report.say(f"round {number}: {counted(result.changes, 'change')} to "
                                f"{counted(result.tables, 'table')} applied and verified in {result.seconds:.2f} s; "
                                f"backlog now {left}")
                if left <= ROUND_SMALL and result.seconds <= ROUND_FAST_S:
                    return
        finally:
            conn.close()

    def _fail(self) -> None:
        """Give the source back its writes (and its app), and leave the target for inspection, marked failed; through
        new sessions: the move's own may be what failed (ended by the server, lost, or interrupted mid-statement)."""
        with self.source.db.connect() as src:
            record = journal.read(src)
            if record is None or record.state == journal.CUT_OVER:
                return
            with contextlib.suppress(psycopg.Error, MoveError), self.target.db.connect() as dst:
                journal.update(dst, state=journal.FAILED)
            give_back(self.source, src, record, self.report)


def _entry_task(entry: schema.PostEntry) -> copy.Task:
    """Create a post-data entry in one transaction of the target session it is given, and record it there."""
    def work(_src: psycopg.Connection | None, dst: psycopg.Connection) -> tuple[None, float]:
        started = time.monotonic()
        try:
            dst.execute("SET LOCAL maintenance_work_mem = '256MB'")
            schema.run_script(dst, schema.not_valid(entry), f"{entry.desc.lower()} {entry.name}")
            journal.mark(dst, entry.key)
            dst.commit()
        except BaseException:
            dst.rollback()
            raise
        return None, time.monotonic() - started
    return work


def validate_foreign_keys(src: psycopg.Connection, dst: psycopg.Connection, report: Report) -> None:
    """Foreign keys were added NOT VALID while writes were stopped; validating them lets writes through. Each one the
    source has validated is, whichever run cut over (the catalog knows, when a killed run's journal is gone)."""
    validated = {key for key, valid in catalog.foreign_keys(src).items() if valid}
    for key, valid in sorted(catalog.foreign_keys(dst).items()):
        if valid or key not in validated:
            continue
        try:
            dst.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(sql.Identifier(*key[:2]),
                                                                                 sql.Identifier(key[2])))
        except psycopg.Error as error:
            report.say(f"warning: foreign key {key[2]} on {key[0]}.{key[1]} did not validate on the target: "
                       f"{(error.diag.message_primary or str(error)).strip()}")


def finish_cutover(dst: psycopg.Connection) -> None:
    """The target takes writes: its guard and its record go (the source's record says the move is done)."""
    if guard.installed(dst):
        guard.remove(dst, None)
    journal.drop(dst)


class GateFailure(MoveError):
    """The target does not match the source."""


def give_back(source: Side, src: psycopg.Connection, record: journal.Record, report: Report) -> None:
    """The source as the move found it: no guard, no capture, no journal, its app running again."""
    if capture.installed(src):
        capture.remove(src)
    # whatever the journal says: it says `stopped` only once the whole guard is in place
    if guard.present(src):
        guard.remove(src, record.read_only_before)
    journal.drop(src)
    if source.app and record.apps.get("source") is not None:
        report.say(f"starting {source.app.description} again")
        source.app.start(record.apps["source"], serve=False)
    report.say("the source takes writes again")


def _throughput(conn: psycopg.Connection, tables: list[catalog.Table]) -> float:
    """Rows the app writes to the moved tables per second, over a few seconds (the statistics collector's counts)."""
    oids = [t.oid for t in tables]
    query = ("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables"
             " WHERE relid = ANY(%s)")
    conn.execute("SELECT pg_stat_clear_snapshot()")
    first = conn.execute(query, [oids]).fetchone()[0]
    time.sleep(THROUGHPUT_SAMPLE_S)
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return float(conn.execute(query, [oids]).fetchone()[0] - first) / THROUGHPUT_SAMPLE_S


# ------------------------------------------------------------------------------------------------------ entry

def confirm(options: Options, source: Side, target: Side, ask: Any = input) -> None:
    if options.yes:
        return
    try:
        answer = ask(f"Stop writes on {source.name} and move it to {target.name}? [y/N] ")
    except EOFError:
        answer = ""
    except KeyboardInterrupt:  # nothing has changed before the answer
        raise MoveError("interrupted at the question: nothing was changed") from None
    if answer.strip().lower() not in ("y", "yes"):
        raise MoveError("not moved: answer y to move, or pass --yes")


@contextlib.contextmanager
def _work() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="paasport-move-") as work:
        yield Path(work)


def move(source: Side, target: Side, options: Options, report: Report, ask: Any = input) -> Result | None:
    """Preflight, then (unless `--check`) the move; None when there was nothing to do."""
    report.say(f"preflight: {source.name} -> {target.name}")
    pf = preflight.run(source.db, target.db, online=options.online, jobs=options.jobs,
                       empty_hint=target.app.empty_hint() if target.app else preflight.EMPTY_HINT)
    if pf.done_already:
        if pf.target_record is not None and pf.target_record.id == pf.source_record.id:
            if options.check:  # which changes nothing
                report.say("an interrupted run left the cutover half done: a run without --check completes the "
                           "cutover")
                return None
            report.say("completing the cutover that an interrupted run left half done")
            with target.db.connect() as dst:
                finish_cutover(dst)
        if not options.check:  # a run killed after its cutover may have left them
            with source.db.connect() as src, target.db.connect() as dst:
                validate_foreign_keys(src, dst, report)
        report.say(f"nothing to do: the source was moved to the target on {pf.source_record.cut_over:%Y-%m-%d %H:%M}"
                   " UTC (`--revert` gives the source its writes back)")
        return None
    report.block("preflight passed:", pf.lines)
    if options.check:
        return None
    confirm(options, source, target, ask)
    options = dataclasses.replace(options, jobs=pf.jobs)
    # The target's sessions search as the source database's do (Heroku's search_path names heroku_ext): a function
    # that an index, a constraint or a materialized view calls may find an extension's through it (unqualified, as
    # the immutable wrappers of unaccent or similarity do), as on the source; the target's database gets the
    # setting itself at the cutover.
    target = dataclasses.replace(target, db=dataclasses.replace(
        target.db, search_path=schema.search_path(pf.source_inventory.settings)))
    with _work() as work:
        mover = Mover(source, target, pf, options, report, work)
        try:
            result = mover.run()
        finally:
            mover.close()
    report.say(result.line())
    return result


def revert(source: Side, target: Side, options: Options, report: Report, ask: Any = input) -> None:
    """Undo a move: the source takes writes again (and its app runs), the target's copy is given up."""
    with source.db.connect() as src:
        record = journal.read(src)
        nothing = MoveError(f"nothing to revert: no move from {source.db.shown} to {target.db.shown} is recorded on "
                            "the source")
        if record is None or record.side != journal.SOURCE:
            raise nothing
        try:
            target_server = target.db.server
        except MoveError as error:
            if record.state == journal.CUT_OVER:
                raise MoveError(f"{error}: after the cutover, reverting must first check that the target took no "
                                "writes since: bring it back, then run --revert again") from None
            # Before the cutover the source holds everything and the target took no write of the app's: the source
            # gets its writes back without it (a lost new server must not keep the old one refusing writes).
            if options.check:
                report.say("revert: possible without the target (--check changes nothing)")
                return
            confirm(options, source, target, lambda _: ask(f"Give {source.name} its writes back? [y/N] "))
            report.say(f"warning: the target {record.peer_shown} cannot be reached ({error}): its copy is left as it "
                       "is (a later move replaces it)")
            give_back(source, src, record, report)
            return
        if record.peer != target_server.identity:
            raise nothing
        with target.db.connect() as dst:
            if record.state == journal.CUT_OVER:
                _unchanged_since_cutover(source, target, src, dst, options.jobs)
            if options.check:
                report.say("revert: possible (--check changes nothing)")
                return
            confirm(options, source, target, lambda _: ask(f"Give {source.name} its writes back and give up the "
                                                           f"copy on {target.name}? [y/N] "))
            if record.state == journal.CUT_OVER and target.app:
                report.say(f"stopping {target.app.description}")
                target.app.stop()
            if journal.read(dst) is None:
                journal.create(dst, journal.Record(record.id, journal.TARGET, record.peer, source.db.shown,
                                                   record.online, journal.REVERTED))
            else:
                journal.update(dst, state=journal.REVERTED)
            if not guard.installed(dst):
                guard.install(dst, f"paasport reverted the move of {source.db.shown} into this "
                              "database: this copy is given up and refuses writes")
        give_back(source, src, record, report)
    report.say(f"reverted: {source.name} takes writes again; {target.name} keeps the given-up copy, refusing writes "
               "(a later move may replace it)")


def _unchanged_since_cutover(source: Side, target: Side, src: psycopg.Connection, dst: psycopg.Connection,
                             jobs: int) -> None:
    """The source has refused writes since the cutover; if the target's rows still equal the source's, it took
    none, and reverting loses nothing."""
    tables = catalog.read(src).tables
    # what the target holds that the source has not: a table of a release since (its rows), large objects
    shown = {t.shown for t in tables}
    changed = [t.shown for t in catalog.tables_with_rows(dst, catalog.read(dst).tables) if t.shown not in shown]
    source_objects, target_objects = verify.large_objects(src), verify.large_objects(dst)
    if differing := {oid for oid in source_objects.keys() | target_objects.keys()
                     if source_objects.get(oid) != target_objects.get(oid)}:
        changed.append(f"{len(differing)} large object{'s' if len(differing) > 1 else ''}")

    def both(table: catalog.Table) -> tuple[str, verify.Sums, verify.Sums]:
        with source.db.connect() as s, target.db.connect() as t:
            return table.shown, verify.sums(s, table), verify.sums(t, table)

    with ThreadPoolExecutor(jobs) as pool:
        changed += [name for name, a, b in pool.map(both, tables) if a != b]
    if changed:
        raise MoveError(f"the target took writes since the cutover ({', '.join(changed[:5])}): reverting would lose "
                        f"them: move them back instead: run the move with --from and --to swapped")
