"""Issue 23's bad inputs, each refused with one line that names the problem and its fix, changing nothing on either
server; and `--check`, which reports the preflight and changes nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

from devenv.postgres import free_port
from move import run
from move.db import Database as MoveDatabase
from move.db import MoveError
from move.progress import Report
from tests.move.conftest import replica_url
from tests.move.helpers import CLEAN, footprint, move_leftovers, run_move

if TYPE_CHECKING:
    from tests.move.conftest import Database, Server

    Make = Callable[[Server], Database]


@dataclass
class Case:
    args: list[str]
    databases: list[Database]  # those the command reaches: unchanged after it
    line: str  # a pattern of the one line on stderr



def unreachable_host(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source = fixture(servers("heroku15"))
    port = free_port()  # nothing listens there
    return Case(["--from", source.url, "--to", f"postgresql://app:secret@127.0.0.1:{port}/app"], [source],
                rf"^move: target postgresql://app:\*\*\*@127\.0\.0\.1:{port}/app: cannot reach the server \(.+\): "
                "check the host and port, and that the server is running")


def wrong_password(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    heroku15 = servers("heroku15")
    source, target = fixture(heroku15), new(servers("chart17"))
    wrong = heroku15.url(source.name, password="not-the-password")
    return Case(["--from", wrong, "--to", target.url], [source, target],
                rf"^move: source postgresql://{heroku15.user}:\*\*\*@.+: the server refused the password: check the "
                "user and password in the URL")


def tls_refused_by_a_tls_only_server(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    heroku15 = servers("heroku15")
    source, target = fixture(heroku15), new(servers("chart17"))
    return Case(["--from", heroku15.url(source.name, sslmode="disable"), "--to", target.url], [source, target],
                r"^move: source .+\?sslmode=disable: the server accepts only TLS connections: remove "
                r"`sslmode=disable` from the URL")


def tls_required_by_the_url_but_not_offered(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    bare16 = servers("bare16")
    source, target = fixture(servers("heroku15")), new(bare16)
    return Case(["--from", source.url, "--to", bare16.url(target.name, sslmode="require")], [source, target],
                r"^move: target .+\?sslmode=require: the URL requires TLS \(`sslmode=require` or stricter\) but the "
                "server does not offer it")


def same_database(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source = fixture(servers("heroku15"))
    # the same database by another URL: the server's identity tells, not the text
    return Case(["--from", source.url, "--to", source.url + "&application_name=other"], [source],
                r"^move: the source and the target are the same database \(.+\): give two different databases$")


def target_holds_data(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart17"))
    with target.connect() as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, email text); INSERT INTO customers VALUES (1, 'a')")
    return Case(["--from", source.url, "--to", target.url], [source, target],
                r"^move: the target already holds data: 1 table with rows \(public\.customers\)\. A move never "
                "merges into or overwrites data")


def target_missing_an_extension(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("bare16"))  # pgserver's 16: no contrib
    return Case(["--from", source.url, "--to", target.url], [source, target],
                r"^move: the target lacks extension citext \(and hstore, pgcrypto\) and its role app may not create "
                r"it \(.+\): have a superuser run CREATE EXTENSION citext WITH SCHEMA heroku_ext; on the target")


def target_of_an_older_major(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("chart17")), new(servers("heroku15"))
    with source.connect() as conn:  # any_value() is PostgreSQL 16's
        conn.execute("CREATE VIEW first_email AS SELECT any_value(email) AS email FROM customers")
    return Case(["--from", source.url, "--to", target.url], [source, target],
                r"^move: the target runs PostgreSQL 15\.\d+, older than the source's 17\.\d+, and the source's schema "
                r"does not restore there \(.*any_value.*\): use a target of PostgreSQL 17 or newer$")


def revert_when_nothing_was_moved(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart17"))
    return Case(["--from", source.url, "--to", target.url, "--revert"], [source, target],
                r"^move: nothing to revert: no move from .+ to .+ is recorded on the source$")


def source_rows_hidden_by_row_security(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart17"))
    with source.connect() as conn:  # a tenant's policy, forced on the owner: the move's session sees no row
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, tenant int NOT NULL);"
                     " INSERT INTO notes VALUES (1, 1), (2, 2);"
                     " ALTER TABLE notes ENABLE ROW LEVEL SECURITY; ALTER TABLE notes FORCE ROW LEVEL SECURITY;"
                     " CREATE POLICY tenant ON notes USING (tenant = current_setting('app.tenant', true)::int)")
    return Case(["--from", source.url, "--to", target.url], [source, target],
                r"^move: the source's table public\.notes has row-level security that applies to its role \S+ "
                r"\(FORCE ROW LEVEL SECURITY\): the move would see only the rows its policies show: run ALTER TABLE "
                r"public\.notes NO FORCE ROW LEVEL SECURITY; for the move")


def source_table_of_another_role(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    heroku15 = servers("heroku15")
    source, target = fixture(heroku15), new(servers("chart17"))
    with source.connect(admin=True) as conn:  # made by a superuser, read by the app's role
        conn.execute(sql.SQL("CREATE TABLE theirs (id int PRIMARY KEY); GRANT SELECT ON theirs TO {}").format(
            sql.Identifier(heroku15.user)))
    return Case(["--from", source.url, "--to", target.url], [source, target],
                rf"^move: the source's table public\.theirs belongs to role postgres, not to {heroku15.user}: .+: "
                rf"run ALTER TABLE public\.theirs OWNER TO {heroku15.user}; as a superuser")


def target_database_of_another_role(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart17"))
    with target.connect(admin=True) as conn:  # the role may create tables there, but the database is not its own
        conn.execute(sql.SQL("ALTER DATABASE {db} OWNER TO postgres; GRANT CREATE ON DATABASE {db} TO app;"
                             " ALTER SCHEMA public OWNER TO postgres; GRANT ALL ON SCHEMA public TO app").format(
            db=sql.Identifier(target.name)))
    return Case(["--from", source.url, "--to", target.url], [source, target],
                rf"^move: the target's role app does not own database {target.name} \(postgres does\): .+: run "
                rf"ALTER DATABASE {target.name} OWNER TO app; as a superuser")


def target_is_a_replica(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart15"))
    replica = replica_url(servers("replica15"), target)
    return Case(["--from", source.url, "--to", replica], [source, target],
                r"^move: target .+: a read-only replica \(a standby, in recovery\): give the URL of its primary$")


def source_is_a_replica(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("chart15")), new(servers("heroku15"))
    replica = replica_url(servers("replica15"), source)
    return Case(["--from", replica, "--to", target.url], [source, target],
                r"^move: source .+: a read-only replica \(a standby, in recovery\): give the URL of its primary$")


def url_with_a_typo_in_its_scheme(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart17"))
    return Case(["--from", source.url.replace("postgresql://", "postgressql://"), "--to", target.url],
                [source, target], r"^move: source postgressql://\w+:\*\*\*@.+: not a postgres:// URL: write it as "
                                  r"postgres://USER:PASSWORD@HOST:PORT/DATABASE$")


def url_without_a_scheme(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart17"))
    return Case(["--from", source.url, "--to", target.url.replace("postgresql://", "")], [source, target],
                r"^move: target app:\*\*\*@.+: not a postgres:// URL: write it as "
                r"postgres://USER:PASSWORD@HOST:PORT/DATABASE$")


def url_with_an_unknown_parameter(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart17"))
    return Case(["--from", source.url + "&sslmdoe=require", "--to", target.url], [source, target],
                r'^move: source .+: not a valid PostgreSQL URL \(invalid URI query parameter: "sslmdoe"\): write it '
                r"as postgres://USER:PASSWORD@HOST:PORT/DATABASE$")


def url_with_an_invalid_port(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    heroku15 = servers("heroku15")
    source, target = fixture(heroku15), new(servers("chart17"))
    return Case(["--from", source.url.replace(f":{heroku15.pg.port}/", ":99999/"), "--to", target.url],
                [source, target], r'^move: source .+: not a valid PostgreSQL URL \(invalid port number: "99999"\): '
                                  r"write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE$")


def source_allows_too_few_sessions(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = fixture(servers("heroku15")), new(servers("chart17"))
    with source.connect(admin=True) as conn:  # the app's dynos hold all but three of the plan's sessions
        conn.execute(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT 3").format(sql.Identifier(source.name)))
    return Case(["--from", source.url, "--to", target.url], [source, target],
                r"^move: the source allows 2 more sessions, and a move needs 4: end some of the app's \(scale its "
                r"workers down\), or raise the limit")


def url_with_a_password_that_needs_encoding(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    heroku15 = servers("heroku15")
    source, target = fixture(heroku15), new(servers("chart17"))
    # written as typed, not percent-encoded: the rest would be read as the path, the fragment and the host
    mistyped = heroku15.url(source.name, password=f"{heroku15.password}/a@b#c")
    return Case(["--from", mistyped, "--to", target.url], [source, target],
                rf"^move: source postgresql://{heroku15.user}:\*\*\*@[^@]+/{source.name}\?sslmode=require: the URL's "
                r"user or password holds `/`, `\?`, `#`, `@` or a space, which end a part of a URL: percent-encode "
                r"each \(`/` %2F, `\?` %3F, `#` %23, `@` %40, space %20\)")


def url_without_a_database(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    heroku15 = servers("heroku15")
    source, target = fixture(heroku15), new(servers("chart17"))
    return Case(["--from", source.url.replace(f"/{source.name}?", "/?"), "--to", target.url], [source, target],
                rf"^move: source postgresql://{heroku15.user}:\*\*\*@[^@]+/\?sslmode=require: names no database "
                r"\(libpq would take the user's name\): write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE$")


def source_holds_nothing(servers: Callable[[str], Server], fixture: Make, new: Make) -> Case:
    source, target = new(servers("heroku15")), new(servers("chart17"))  # a new database: a wrong name, say
    return Case(["--from", source.url, "--to", target.url], [source, target],
                rf"^move: the source database {source.name} holds nothing of an app's \(no tables, sequences, large "
                r"objects, views or functions\): nothing to move; check the database name in the URL$")


CASES = [unreachable_host, wrong_password, tls_refused_by_a_tls_only_server, tls_required_by_the_url_but_not_offered,
         same_database, target_holds_data, target_missing_an_extension, target_of_an_older_major,
         revert_when_nothing_was_moved, source_rows_hidden_by_row_security, source_table_of_another_role,
         target_database_of_another_role, target_is_a_replica, source_is_a_replica, url_with_a_typo_in_its_scheme,
         url_without_a_scheme, url_with_an_unknown_parameter, url_with_an_invalid_port,
         source_allows_too_few_sessions, url_with_a_password_that_needs_encoding, url_without_a_database,
         source_holds_nothing]


def _state(database: Database) -> dict:
    with database.connect(admin=True) as conn:
        return {"footprint": footprint(conn), "leftovers": move_leftovers(conn)}


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.replace("_", "-") for c in CASES])
def test_a_bad_input_gets_one_line_and_changes_nothing(
        case: Callable[..., Case], request: pytest.FixtureRequest, fixture_database: Make, new_database: Make):
    bad = case(request.getfixturevalue, fixture_database, new_database)
    before = [_state(database) for database in bad.databases]

    run = run_move(*bad.args, "--yes")

    assert run.code == 2, run
    assert len(run.stderr.splitlines()) == 1, run
    assert re.search(bad.line, run.stderr.strip()), run
    assert "Traceback" not in run.stdout
    for database in bad.databases:  # a password is never shown, however mistyped the URL around it
        assert database.server.password not in run.stdout + run.stderr
    after = [_state(database) for database in bad.databases]
    assert after == before
    for state in after:
        assert state["leftovers"]["schema"] == 0 and state["leftovers"]["triggers"] == []


def test_check_prints_the_preflight_and_changes_nothing(
        heroku15: Server, chart17: Server, fixture_database: Make, new_database: Make):
    source, target = fixture_database(heroku15), new_database(chart17)
    before = [_state(source), _state(target)]

    run = run_move("--from", source.url, "--to", target.url, "--check")

    assert run.code == 0, run
    assert run.stderr == ""
    assert [_state(source), _state(target)] == before
    out = run.stdout
    assert re.search(rf"^  source: .+, PostgreSQL 15\.\d+, [\d.]+ MB \([\d.]+ kB in 7 tables\), role {heroku15.user}$",
                     out, re.MULTILINE), out
    assert re.search(r"^  target: .+, PostgreSQL 17\.\d+, role app$", out, re.MULTILINE), out
    assert re.search(r"^  extensions on the source: citext [\d.]+ \(heroku_ext\), hstore [\d.]+ \(public\), "
                     r"pg_stat_statements [\d.]+ \(heroku_ext\), pgcrypto [\d.]+ \(public\)$", out, re.MULTILINE), out
    assert ("  the target will get: citext (in heroku_ext), hstore (in public), pgcrypto (in public) (tried: role app "
            "may create them)") in out
    assert "  left out: pg_stat_statements, a platform's own extension that no object needs" in out
    assert ('  heroku_ext: the source keeps extensions there; the target gets the same schema, and the database\'s '
            'search_path (search_path="$user", public, heroku_ext)') in out
    assert "  tables without a primary key: 1 (public.audit_log)" in out
    assert "  large objects: 2\n" in out
    assert "  the target holds no tables: the schema was tried there and rolled back" in out
    assert re.search(r"^  writes stop for (about [\d,]+ s|under a second): ", out, re.MULTILINE), out
    # and the target is untouched: its app could still start on it
    with target.connect() as conn, pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT FROM customers")
    assert before[0]["leftovers"] == before[1]["leftovers"] == CLEAN


def test_check_changes_nothing_after_a_cutover_left_half_done(
        heroku15: Server, chart17: Server, new_database: Make, monkeypatch: pytest.MonkeyPatch):
    """Killed between the source's cutover and the target's: a run completes it, its foreign keys validated (added
    NOT VALID in the write stop), but `--check` only says so."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute("CREATE TABLE jobs (id serial PRIMARY KEY); INSERT INTO jobs DEFAULT VALUES;"
                     " CREATE TABLE runs (job int REFERENCES jobs); INSERT INTO runs VALUES (1)")

    def killed(_dst: psycopg.Connection) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "finish_cutover", killed)
    with pytest.raises(KeyboardInterrupt):
        run.move(run.Side(MoveDatabase("source", source.url)), run.Side(MoveDatabase("target", target.url)),
                 run.Options(yes=True), Report(io.StringIO(), live=False))
    monkeypatch.undo()
    before = _state(target)
    assert before["leftovers"]["triggers"] == ["paasport_move_guard"]  # the target still refuses writes

    checked = run_move("--from", source.url, "--to", target.url, "--check")

    assert checked.code == 0, checked
    assert "a run without --check completes the cutover" in checked.stdout
    assert _state(target) == before

    completed = run_move("--from", source.url, "--to", target.url)

    assert completed.code == 0, completed
    assert _state(target)["leftovers"] == CLEAN
    with target.connect() as dst:
        assert dst.execute("SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f'").fetchall() \
            == [("runs_job_fkey", True)]


def test_ctrl_c_at_the_question_says_that_nothing_changed():
    def interrupted(_question: str) -> str:
        raise KeyboardInterrupt

    sides = SimpleNamespace(name="source"), SimpleNamespace(name="target")
    options = run.Options(check=False, online=False, revert=False, yes=False, jobs=2)
    with pytest.raises(MoveError, match=r"^interrupted at the question: nothing was changed$"):
        run.confirm(options, *sides, interrupted)


def test_the_password_from_pgpassword_serves_every_step(
        heroku15: Server, chart17: Server, fixture_database: Make, new_database: Make):
    """A URL without a password and PGPASSWORD set, as libpq allows: the preflight's own sessions and its pg_dump
    both use it (pg_dump was given an environment without it: 'pg_dump failed: Password: ')."""
    source, target = fixture_database(heroku15), new_database(chart17)
    without = source.url.replace(f":{heroku15.password}@", "@")

    checked = run_move("--from", without, "--to", target.url, "--check", env={"PGPASSWORD": heroku15.password})

    assert checked.code == 0, checked
    assert "preflight passed:" in checked.stdout


@pytest.mark.parametrize("path", ["./nonexistent.dump", "backup.tar", "dumps/shop.sql"])
def test_a_dump_file_that_is_not_there_is_named_as_a_missing_file(path: str):
    missing = run_move("--from", path, "--to", "k8s")

    assert missing.code == 2, missing
    assert missing.stderr.strip() == (f"move: source {path}: no such file: give the path of a pg_dump archive, a "
                                      "stack's name or a postgres:// URL")
