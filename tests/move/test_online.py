"""`--online` between real servers (issue 24): an app writes through the whole move; killed and resumed; reverted."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import psycopg
import pytest

from move import journal, run
from move.db import Database as MoveDatabase
from move.progress import Report
from tests.move.helpers import (
    BIG_ROWS,
    CLEAN,
    FIXTURE_TABLE_COUNT,
    AppWriter,
    Run,
    add_big_table,
    assert_fixture,
    assert_moved,
    assert_refuses_writes,
    assert_same_contents,
    contents,
    move_leftovers,
    run_move,
    stopped_seconds,
)

if TYPE_CHECKING:
    from tests.move.conftest import Database, Server


def assert_online_move(run: Run, writer: AppWriter, source: Database, target: Database, tables: int, *,
                       since: str = r"^copying \d+ tables", drained: bool = True,
                       others: tuple[AppWriter, ...] = ()) -> None:
    """A completed online move: the app wrote from the line `since` (the copy) until writes stopped (in this run,
    when it `drained` the changes in rounds), every write it (and the `others`) got acknowledged is on the target,
    and the source keeps no trigger, function or table of the capture."""
    assert run.code == 0, run
    for app in (writer, *others):
        app.wait_for(refused=5)  # the app goes on trying; the source refuses
        app.stop()
    assert f"verified: {tables} tables (rows and checksums)" in run.stdout, run
    assert stopped_seconds(run) >= 0  # the write stop is reported
    assert re.search(rf"; {tables} tables verified$", run.stdout.strip()), run
    assert re.search(r"^last round: [\d,]+ changes?", run.stdout, re.MULTILINE), run
    if drained:
        assert re.search(r"^round 1: [\d,]+ changes? to [\d,]+ tables? applied and verified", run.stdout,
                         re.MULTILINE), run
        assert re.search(r"^source writes during capture: [\d,]+ rows/s", run.stdout, re.MULTILINE), run
        assert writer.acknowledged_between(run.when(since),
                                           run.when("^stopping writes on the source database")) > 0
    assert run.stderr == ""
    with target.connect() as dst:
        for app in (writer, *others):
            app.assert_on(dst)
        assert_fixture(dst, quiet=False)
    assert_moved(source, target)  # the source keeps only the guard and the journal


def test_online_move_under_writes_loses_no_acknowledged_change(
        direction: tuple[Server, Server], fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database], app_writer: Callable[..., AppWriter]):
    source_server, target_server = direction
    source, target = fixture_database(source_server), new_database(target_server)
    writer = app_writer(source)
    worker = app_writer(source, second_role=True)  # another role of the app's writes too, through the capture

    run = run_move("--from", source.url, "--to", target.url, "--online", "--yes")

    assert_online_move(run, writer, source, target, FIXTURE_TABLE_COUNT, others=(worker,))


def test_online_move_killed_in_the_copy_and_in_the_drain_completes_when_run_again(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database], app_writer: Callable[..., AppWriter]):
    source, target = fixture_database(heroku15), new_database(chart17)
    add_big_table(source.url, BIG_ROWS)
    writer = app_writer(source)
    args = ("--from", source.url, "--to", target.url, "--online", "--yes", "--jobs", "2")

    in_copy = run_move(*args, kill_at=r"^copying \d+ tables")

    assert in_copy.code is None, in_copy
    with target.connect(admin=True) as dst:  # killed in the middle: the big table is not all there
        assert dst.execute("SELECT count(*) FROM big").fetchone()[0] < BIG_ROWS
    with source.connect(admin=True) as src:  # the capture goes on
        assert move_leftovers(src)["triggers"] == ["paasport_move_capture", "paasport_move_truncate"]
    acknowledged = len(writer.acknowledged)
    writer.wait_for(acknowledged=acknowledged + 20)  # the source still takes the app's writes

    # the drain: its first round starts right after this line
    in_drain = run_move(*args, kill_at=r"^source writes during capture:")

    assert in_drain.code is None, in_drain
    assert "resuming the move started" in in_drain.stdout
    with source.connect(admin=True) as src:
        assert move_leftovers(src)["read only"] == []  # writes never stopped

    run = run_move(*args)

    assert "resuming the move started" in run.stdout
    assert_online_move(run, writer, source, target, FIXTURE_TABLE_COUNT + 1, since="^preflight: ")
    with target.connect(admin=True) as dst:
        assert dst.execute("SELECT count(*), sum(id) FROM big").fetchone() \
            == (BIG_ROWS, BIG_ROWS * (BIG_ROWS + 1) // 2)


def test_revert_after_a_killed_online_move_leaves_the_source_clean(
        chart15: Server, heroku17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database], app_writer: Callable[..., AppWriter]):
    source, target = fixture_database(chart15), new_database(heroku17)
    writer = app_writer(source)
    args = ("--from", source.url, "--to", target.url, "--online", "--yes")
    killed = run_move(*args, kill_at=r"^source writes during capture:")  # in the drain
    assert killed.code is None, killed

    reverted = run_move(*args, "--revert")

    assert reverted.code == 0, reverted
    assert "the source takes writes again" in reverted.stdout
    with source.connect(admin=True) as src:
        assert move_leftovers(src) == CLEAN
    acknowledged = len(writer.acknowledged)
    writer.wait_for(acknowledged=acknowledged + 20)
    writer.stop()
    assert writer.refused == []  # an online move that never reached its write stop refused nothing
    with source.connect() as src:
        writer.assert_on(src)
    assert_refuses_writes(target.url)  # the given-up copy


def test_online_move_killed_after_its_write_stop_completes_when_run_again(
        chart15: Server, heroku17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database], app_writer: Callable[..., AppWriter]):
    """Killed between the gate and the cutover: the source refuses writes, the target holds all; the same command
    finishes the move (it dumps the schema again, now with the guard's triggers, and knows what it created)."""
    source, target = fixture_database(chart15), new_database(heroku17)
    writer = app_writer(source)
    args = ("--from", source.url, "--to", target.url, "--online", "--yes")

    killed = run_move(*args, kill_at=r"^verified: ")

    assert killed.code is None, killed
    assert_refuses_writes(source.url)

    run = run_move(*args)

    assert "resuming the move started" in run.stdout
    assert_online_move(run, writer, source, target, FIXTURE_TABLE_COUNT, drained=False)


def test_online_move_of_a_keyless_table_with_json_and_point_columns(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    """A table without a key is captured by whole row; json and point have no equality operator, so its changes
    must be matched without one."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute("CREATE TABLE log (doc json, at point); INSERT INTO log SELECT json_build_object('n', g),"
                     " point(g, g) FROM generate_series(1, 100) g")

    def write() -> None:
        with source.connect() as conn:
            conn.execute("INSERT INTO log VALUES ('{\"n\": 101}', '(101,101)'), ('{\"n\": 101}', '(101,101)');"
                         " DELETE FROM log WHERE doc->>'n' IN ('1', '2'); UPDATE log SET at = '(0,0)'"
                         " WHERE doc->>'n' = '3'")

    run = run_move("--from", source.url, "--to", target.url, "--online", "--yes",
                   on=(r"^copying the schema", write))  # captured: after the capture and the snapshot

    assert run.code == 0, run
    with source.connect(admin=True) as src, target.connect(admin=True) as dst:
        assert_same_contents(contents(dst), contents(src))
        assert dst.execute("SELECT count(*), count(*) FILTER (WHERE at ~= '(0,0)') FROM log").fetchone() == (100, 1)


def test_online_capture_waiting_for_a_long_transaction_does_not_block_the_apps_writes(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    """A transaction of the app's that wrote a table before the capture holds it until it ends; adding the capture's
    trigger waits for it, and while it waits, the app's other writes to that table must go on (a lock request
    queues every later one behind it)."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute("CREATE TABLE jobs (id serial PRIMARY KEY, what text)")
    long = psycopg.connect(source.url)  # a batch job's transaction, open across the start of the capture
    long.execute("INSERT INTO jobs (what) VALUES ('the long one')")
    written: list[int] = []
    held_up: list[str] = []

    def write_while_the_capture_waits() -> None:
        try:
            with source.connect() as app:
                app.execute("SET lock_timeout = '1s'")  # a write held up longer than that is one too many
                for _ in range(12):
                    written.append(app.execute("INSERT INTO jobs (what) VALUES ('app') RETURNING id").fetchone()[0])
                    time.sleep(0.25)
        except psycopg.errors.LockNotAvailable as error:
            held_up.append(str(error))
        finally:
            long.commit()

    run = run_move("--from", source.url, "--to", target.url, "--online", "--yes",
                   on=(r"^capturing changes on the source", write_while_the_capture_waits))

    long.close()
    assert run.code == 0, run
    assert held_up == []
    assert len(written) == 12
    with target.connect() as dst:
        assert dst.execute("SELECT count(*), count(*) FILTER (WHERE what = 'the long one') FROM jobs").fetchone() \
            == (13, 1)


def test_a_table_created_during_an_online_move_is_never_left_behind(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    """A migration creates a table and writes to it after the preflight read the tables, before the copy's
    snapshot: the table is in the copied schema but was never copied nor captured. The gate must refuse the
    cutover, giving the source its writes back, and the same command then moves the table too."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute("CREATE TABLE jobs (id serial PRIMARY KEY, what text); INSERT INTO jobs (what) VALUES ('a')")

    def migrate() -> None:  # the preflight is printed; the move samples the write rate for seconds, then captures
        with source.connect() as conn:
            conn.execute("CREATE TABLE invoices (id serial PRIMARY KEY, total int);"
                         " INSERT INTO invoices (total) VALUES (10), (20), (30)")

    args = ("--from", source.url, "--to", target.url, "--online", "--yes")
    failed = run_move(*args, on=(r"^preflight passed", migrate))

    assert failed.code == 2, failed
    assert re.fullmatch(r"move: the target does not match the source: table public\.invoices appeared on the source "
                        r"during the move, after its preflight, and was not copied.*: the source takes writes again; "
                        r"run the same command again to move it afresh\n", failed.stderr), failed
    with source.connect(admin=True) as src:
        assert move_leftovers(src) == CLEAN

    again = run_move(*args)

    assert again.code == 0, again
    with target.connect() as dst:
        assert dst.execute("SELECT count(*), sum(total) FROM invoices").fetchone() == (3, 60)
        assert dst.execute("INSERT INTO invoices (total) VALUES (40) RETURNING id").fetchone() == (4,)


def test_large_objects_made_during_an_online_move_are_moved(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    """The source held none when the preflight looked; the app makes one during the copy."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute("CREATE TABLE documents (id serial PRIMARY KEY, body oid)")

    def upload() -> None:
        with source.connect() as conn:
            conn.execute("INSERT INTO documents (body) VALUES (lo_from_bytea(777, 'scanned'))")

    run = run_move("--from", source.url, "--to", target.url, "--online", "--yes", on=(r"^copying the schema", upload))

    assert run.code == 0, run
    with target.connect() as dst:
        assert dst.execute("SELECT lo_get(body) FROM documents").fetchall() == [(b"scanned",)]


def test_online_move_killed_as_it_removes_its_capture_completes_when_run_again(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database], monkeypatch: pytest.MonkeyPatch):
    """The cutover removes the capture and records the cutover on the source; killed between the two (here: the
    process dies as the record is written), the same command completes the move."""
    source, target = fixture_database(heroku15), new_database(chart17)
    update = journal.update

    def dies_at_the_cutover(conn: psycopg.Connection, **changes: object) -> None:
        if changes.get("state") == journal.CUT_OVER:
            raise SystemExit("killed")  # and nothing of the move's own handling runs: a SIGKILL
        update(conn, **changes)

    monkeypatch.setattr(journal, "update", dies_at_the_cutover)
    monkeypatch.setattr(run.Mover, "_fail", lambda self: None)
    with pytest.raises(SystemExit):
        run.move(run.Side(MoveDatabase("source", source.url)), run.Side(MoveDatabase("target", target.url)),
                 run.Options(online=True, yes=True, jobs=2), Report(io.StringIO(), live=False))
    monkeypatch.undo()

    resumed = run_move("--from", source.url, "--to", target.url, "--online", "--yes")

    assert resumed.code == 0, resumed
    assert_moved(source, target)
