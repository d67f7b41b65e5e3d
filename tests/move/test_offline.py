"""The offline move between real servers (issue 23): under an app's writes, reverted, moved back, and killed."""

from __future__ import annotations

import io
import re
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

from move import run
from move.db import Database as MoveDatabase
from move.progress import Report
from tests.move.helpers import (
    BIG_ROWS,
    CLEAN,
    FIXTURE_TABLE_COUNT,
    HEROKU_SEARCH_PATH,
    AppWriter,
    add_big_table,
    assert_fixture,
    assert_moved,
    assert_refuses_writes,
    assert_same_contents,
    assert_writes_again,
    contents,
    move_leftovers,
    run_move,
    stopped_seconds,
)

if TYPE_CHECKING:
    from tests.move.conftest import Database, Server


def test_offline_move_under_writes_loses_no_acknowledged_write(
        direction: tuple[Server, Server], fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database], app_writer: Callable[[Database], AppWriter]):
    source_server, target_server = direction
    source, target = fixture_database(source_server), new_database(target_server)
    writer = app_writer(source)
    started = writer.acknowledged[-1]

    run = run_move("--from", source.url, "--to", target.url, "--yes")

    assert run.code == 0, run
    writer.wait_for(refused=5)  # the app goes on trying; the source refuses
    writer.stop()
    assert f"verified: {FIXTURE_TABLE_COUNT} tables (rows and checksums)" in run.stdout, run
    assert stopped_seconds(run) > 0
    assert writer.acknowledged_between(started, run.when("^stopping writes on the source database")) > 0
    assert run.stderr == ""
    with target.connect() as dst:
        writer.assert_on(dst)
        assert_fixture(dst, quiet=False)
        settings = dst.execute("SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d"
                               " ON d.oid = s.setdatabase WHERE d.datname = current_database()").fetchall()
        # a Heroku source's search_path comes along (its heroku_ext); a Heroku target keeps its own
        assert settings == [([HEROKU_SEARCH_PATH],)]
    assert_moved(source, target)


def test_revert_gives_the_source_back_then_it_moves_again_and_back(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database], app_writer: Callable[[Database], AppWriter]):
    source, target = fixture_database(heroku15), new_database(chart17)
    writer = app_writer(source)
    assert run_move("--from", source.url, "--to", target.url, "--yes").code == 0
    writer.wait_for(refused=len(writer.refused) + 5)  # the app, reconnected, is refused

    reverted = run_move("--from", source.url, "--to", target.url, "--revert", "--yes")

    assert reverted.code == 0, reverted
    assert reverted.stderr == ""
    # the app writes again, without a restart
    writer.wait_for(acknowledged=len(writer.acknowledged) + 20)
    writer.stop()
    with source.connect(admin=True) as src:
        assert move_leftovers(src) == CLEAN
    with source.connect() as src:
        writer.assert_on(src)
        assert src.execute("INSERT INTO customers (email) VALUES ('back@example.com') RETURNING id").fetchone()[0] == 7
    assert_refuses_writes(target.url)  # the given-up copy

    again = run_move("--from", source.url, "--to", target.url, "--yes")

    assert again.code == 0, again
    assert "replacing the target's content: the target holds a copy left by a move from" in again.stdout
    with target.connect() as dst:
        assert dst.execute("SELECT id, revision FROM customers WHERE email = 'BACK@example.com'").fetchall() \
            == [(7, 1)]  # citext: the email matches whatever its case
        assert_fixture(dst, quiet=False)
    assert_moved(source, target, next_customer=8)

    back = run_move("--from", target.url, "--to", source.url, "--yes")

    assert back.code == 0, back
    assert ("replacing the target's content: the target is the source of the earlier move to this source"
            in back.stdout)
    assert f"verified: {FIXTURE_TABLE_COUNT} tables" in back.stdout
    with target.connect(admin=True) as dst, source.connect(admin=True) as src:
        assert_same_contents(contents(src), contents(dst))
        assert move_leftovers(src) == CLEAN
        assert move_leftovers(dst)["triggers"] == ["paasport_move_guard"]
    with source.connect() as src:
        assert_fixture(src, quiet=False)
        assert src.execute("SELECT count(*) FROM customers").fetchone()[0] == 7  # 5, back@, and new@ of assert_moved
        assert src.execute("INSERT INTO customers (email) VALUES ('third@example.com') RETURNING id").fetchone()[0] \
            == 9
    assert_refuses_writes(target.url)


def test_offline_move_killed_during_the_copy_completes_when_run_again(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database]):
    source, target = fixture_database(heroku15), new_database(chart17)
    add_big_table(source.url, BIG_ROWS)
    args = ("--from", source.url, "--to", target.url, "--yes", "--jobs", "2")

    killed = run_move(*args, kill_at=r"^copying \d+ tables")

    assert killed.code is None, killed
    with target.connect(admin=True) as dst:  # killed in the middle: the big table is not all there
        assert dst.execute("SELECT count(*) FROM big").fetchone()[0] < BIG_ROWS
    assert_refuses_writes(source.url)  # a killed move leaves the source refusing writes
    assert_refuses_writes(target.url)  # and the half-filled target refuses the app's too
    early = psycopg.connect(target.url, autocommit=True)  # an app's session opened before the cutover

    resumed = run_move(*args)

    assert resumed.code == 0, resumed
    assert "resuming the move started" in resumed.stdout
    assert f"verified: {FIXTURE_TABLE_COUNT + 1} tables (rows and checksums)" in resumed.stdout
    with target.connect(admin=True) as dst:
        assert dst.execute("SELECT count(*), sum(id), count(DISTINCT label) FROM big").fetchone() \
            == (BIG_ROWS, BIG_ROWS * (BIG_ROWS + 1) // 2, BIG_ROWS)
        assert_fixture(dst)
    assert_moved(source, target)  # and every table equals the source's
    with early:
        assert_writes_again(early, target.url)


def test_a_move_failing_after_the_write_stop_gives_the_source_its_writes_back(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database], app_writer: Callable[[Database], AppWriter]):
    """The target's connections are lost in the middle of the copy: the source takes writes again before the
    command exits, the half-filled target is left for inspection, refusing writes, and the same command moves it."""
    source, target = fixture_database(heroku15), new_database(chart17)
    add_big_table(source.url, BIG_ROWS)
    writer = app_writer(source)
    args = ("--from", source.url, "--to", target.url, "--yes", "--jobs", "2")

    def lose_the_target() -> None:
        with target.connect(admin=True) as dst:
            assert dst.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE datname = current_database() AND application_name = 'paasport-move'"
                               ).fetchone()[0] > 0

    failed = run_move(*args, on=(r"^copying \d+ tables", lose_the_target))

    assert failed.code == 2, failed
    assert re.fullmatch(r"move: the database refused a step: .+: run the same command again to resume, or with "
                        r"--revert to undo\n", failed.stderr), failed
    assert failed.lines[-1][1] == "the source takes writes again"
    writer.wait_for(acknowledged=len(writer.acknowledged) + 20)  # and the app, reconnected, writes
    with source.connect(admin=True) as src:
        assert move_leftovers(src) == CLEAN
    with target.connect(admin=True) as dst:
        assert dst.execute("SELECT count(*) FROM big").fetchone()[0] < BIG_ROWS
    assert_refuses_writes(target.url)

    again = run_move(*args)

    assert again.code == 0, again
    assert "replacing the target's content: the target holds a copy left by a move from" in again.stdout
    writer.wait_for(refused=len(writer.refused) + 5)
    writer.stop()
    with target.connect() as dst:
        writer.assert_on(dst)
    assert_moved(source, target)


def test_interrupted_or_killed_while_stopping_writes_the_source_gets_them_back(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    """Stopping writes waits for the transactions that wrote a table (here one of another role's, which the move
    may not end); Ctrl-C meanwhile, or a SIGKILL then `--revert`, must leave the source taking writes, its
    database's read-only default included, not only the journal gone."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute("CREATE TABLE jobs (id serial PRIMARY KEY, what text)")
    args = ("--from", source.url, "--to", target.url, "--yes")
    with source.connect(admin=True) as held:
        held.execute("BEGIN; INSERT INTO jobs (what) VALUES ('held')")

        interrupted = run_move(*args, signal_at=(r"^stopping writes on the source database", signal.SIGINT, 1.0))

        assert interrupted.code == 130, interrupted
        assert interrupted.stderr.startswith("move: interrupted: "), interrupted
        with source.connect(admin=True) as src:
            assert move_leftovers(src) == CLEAN
        with source.connect() as app:
            app.execute("INSERT INTO jobs (what) VALUES ('after the interruption')")

        killed = run_move(*args, kill_at=r"^stopping writes on the source database")

        assert killed.code is None, killed
        held.execute("ROLLBACK")
    with source.connect(admin=True) as src:  # the killed command's session ends once its statement does
        for _ in range(100):
            if not src.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'paasport-move'"
                               " AND datname = current_database()").fetchone()[0]:
                break
            time.sleep(0.1)

    reverted = run_move(*args, "--revert")

    assert reverted.code == 0, reverted
    with source.connect(admin=True) as src:
        assert move_leftovers(src) == CLEAN
    with source.connect() as app:
        app.execute("INSERT INTO jobs (what) VALUES ('after the revert')")


def test_killed_between_the_targets_schema_and_its_guard_completes_when_run_again(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database]):
    """The schema commits on the target, then the target's guard starts with the database's read-only default;
    killed in between (here held there by another session's uncommitted change of the database's settings), the
    same command completes the move."""
    source, target = fixture_database(heroku15), new_database(chart17)
    args = ("--from", source.url, "--to", target.url, "--yes")
    with target.connect(admin=True) as held:
        held.execute(sql.SQL("BEGIN; ALTER DATABASE {} SET work_mem = '8MB'").format(sql.Identifier(target.name)))

        killed = run_move(*args, signal_at=(r"^copying the schema", signal.SIGKILL, 2.0))

        held.execute("ROLLBACK")
    assert killed.lines[-1][1] == "copying the schema", killed
    assert_refuses_writes(source.url)

    resumed = run_move(*args)

    assert resumed.code == 0, resumed
    assert "resuming the move started" in resumed.stdout
    assert_moved(source, target)


def test_a_table_created_while_the_move_asks_to_go_on_is_moved(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    """Between the preflight and the write stop the move asks its user; the app may deploy meanwhile: a table it
    creates then is moved with its rows and its sequence, never left empty on the target."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute("CREATE TABLE jobs (id serial PRIMARY KEY, what text); INSERT INTO jobs (what) VALUES ('a')")

    def answer_after_a_deploy(question: str) -> str:
        with source.connect() as conn:
            conn.execute("CREATE TABLE invoices (id serial PRIMARY KEY, total int);"
                         " INSERT INTO invoices (total) VALUES (10), (20), (30)")
        return "y"

    result = run.move(run.Side(MoveDatabase("source", source.url)), run.Side(MoveDatabase("target", target.url)),
                      run.Options(jobs=2), Report(io.StringIO(), live=False), ask=answer_after_a_deploy)

    assert result is not None and result.tables == 2
    with source.connect(admin=True) as src, target.connect(admin=True) as dst:
        assert_same_contents(contents(dst), contents(src))
    with target.connect() as dst:
        assert dst.execute("SELECT count(*), sum(total) FROM invoices").fetchone() == (3, 60)
        assert dst.execute("INSERT INTO invoices (total) VALUES (40) RETURNING id").fetchone() == (4,)


def test_revert_of_an_unfinished_move_needs_no_target(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database]):
    """Killed before the cutover, then its target is lost (the new cluster is gone): the source holds everything,
    and `--revert` gives it its writes back without the target; after a cutover it may not, and says why."""
    source, target = fixture_database(heroku15), new_database(chart17)
    args = ("--from", source.url, "--to", target.url, "--yes")
    killed = run_move(*args, kill_at=r"^copying the schema")
    assert killed.code is None, killed
    chart17.drop(target)

    reverted = run_move(*args, "--revert")

    assert reverted.code == 0, reverted
    assert re.search(r"^warning: the target .+ cannot be reached \(.+\): its copy is left as it is", reverted.stdout,
                     re.MULTILINE), reverted
    with source.connect(admin=True) as src:
        assert move_leftovers(src) == CLEAN
    with source.connect() as app:
        app.execute("INSERT INTO audit_log (what) VALUES ('after the revert')")

    target = new_database(chart17)
    args = ("--from", source.url, "--to", target.url, "--yes")
    assert run_move(*args).code == 0
    chart17.drop(target)

    refused = run_move(*args, "--revert")

    assert refused.code == 2, refused
    assert re.fullmatch(r"move: target .+: after the cutover, reverting must first check that "
                        r"the target took no writes since: bring it back, then run --revert again\n",
                        refused.stderr), refused
    assert_refuses_writes(source.url)


def test_revert_refuses_when_the_target_gained_a_table_or_a_large_object(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    """After the cutover the app's next release migrates the target: a new table with rows, an upload. Reverting
    would give them up (the copy left on the target is replaced by the next move), so it is refused."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute("CREATE TABLE jobs (id serial PRIMARY KEY, what text); INSERT INTO jobs (what) VALUES ('a')")
    args = ("--from", source.url, "--to", target.url, "--yes")
    assert run_move(*args).code == 0
    with target.connect() as dst:
        dst.execute("CREATE TABLE invoices (id serial PRIMARY KEY, total int); INSERT INTO invoices (total) VALUES (1)")

    with_table = run_move(*args, "--revert")

    with target.connect() as dst:
        dst.execute("DROP TABLE invoices; SELECT lo_from_bytea(0, 'an upload')")

    with_large_object = run_move(*args, "--revert")

    for refused, what in ((with_table, r"public\.invoices"), (with_large_object, "1 large object")):
        assert refused.code == 2, refused
        assert re.fullmatch(rf"move: the target took writes since the cutover \({what}\): reverting would lose them: "
                            r"move them back instead: .+\n", refused.stderr), refused
    with source.connect() as app, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        app.execute("INSERT INTO jobs (what) VALUES ('b')")


def test_a_move_losing_its_source_sessions_gives_the_source_its_writes_back(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database]):
    """The source's sessions of the move are ended in the middle of the copy (a restart, a failover, an admin): the
    move fails, and gives the source its writes back through a new session before it exits."""
    source, target = fixture_database(heroku15), new_database(chart17)
    add_big_table(source.url, BIG_ROWS)

    def lose_the_source() -> None:
        with source.connect(admin=True) as src:
            assert src.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE datname = current_database() AND application_name = 'paasport-move'"
                               ).fetchone()[0] > 0

    failed = run_move("--from", source.url, "--to", target.url, "--yes", "--jobs", "2",
                      on=(r"^copying \d+ tables", lose_the_source))

    assert failed.code == 2, failed
    assert failed.lines[-1][1] == "the source takes writes again", failed
    with source.connect(admin=True) as src:
        assert move_leftovers(src) == CLEAN
    with source.connect() as app:
        app.execute("INSERT INTO audit_log (what) VALUES ('after the failure')")


def test_a_move_fits_in_the_sessions_the_source_allows(
        heroku15: Server, chart17: Server, fixture_database: Callable[[Server], Database],
        new_database: Callable[[Server], Database]):
    """Heroku's plans cap the sessions of a database (20 on the smallest): the move opens fewer workers than asked
    for rather than failing half way for want of one, and says so."""
    source, target = fixture_database(heroku15), new_database(chart17)
    add_big_table(source.url, 20_000)
    with source.connect(admin=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT 8").format(sql.Identifier(source.name)))

    run = run_move("--from", source.url, "--to", target.url, "--yes", "--jobs", "8")

    assert run.code == 0, run
    assert re.search(r"^  workers: 4 of the 8 asked for: the source allows 7 more sessions", run.stdout,
                     re.MULTILINE), run
    assert_moved(source, target)
