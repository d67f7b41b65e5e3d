"""Schemas real apps have, moved between real servers: names no identifier rule forbids, partitioned tables with
foreign keys, row-level security, and the other shapes a move must neither choke on nor copy in part."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from tests.move.helpers import assert_same_contents, contents, run_move

if TYPE_CHECKING:
    from tests.move.conftest import Database, Server


def test_names_with_spaces_quotes_and_unicode_and_a_partitioned_tables_foreign_key_move(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute('''
            CREATE SCHEMA "My Schema";
            CREATE TABLE "My Schema"."Weird ""Table"" Name" ("Id" int PRIMARY KEY, "Column With Spaces" text);
            CREATE TABLE "My Schema"."ünï ""child""" ("Id" int PRIMARY KEY,
                "parent Id" int REFERENCES "My Schema"."Weird ""Table"" Name");
            CREATE TABLE ledger (id int, at date, customer int REFERENCES "My Schema"."Weird ""Table"" Name",
                PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
            CREATE TABLE ledger_2024 PARTITION OF ledger FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            INSERT INTO "My Schema"."Weird ""Table"" Name" VALUES (1, 'one'), (2, 'two');
            INSERT INTO "My Schema"."ünï ""child""" VALUES (10, 1), (11, NULL);
            INSERT INTO ledger VALUES (1, '2024-05-01', 2);
        ''')

    run = run_move("--from", source.url, "--to", target.url, "--yes")

    assert run.code == 0, run
    assert "verified: 3 tables (rows and checksums)" in run.stdout, run
    with source.connect(admin=True) as src, target.connect(admin=True) as dst:
        assert_same_contents(contents(dst), contents(src))
        # the foreign keys are there, validated once the target took the writes
        assert sorted(dst.execute("SELECT conrelid::regclass::text, convalidated FROM pg_constraint"
                                  " WHERE contype = 'f' AND conparentid = 0").fetchall()) \
            == [('"My Schema"."ünï ""child"""', True), ("ledger", True)]


SCORES = ("CREATE EXTENSION pg_trgm WITH SCHEMA heroku_ext;"
          " CREATE TABLE names (id int PRIMARY KEY, name text); INSERT INTO names VALUES (1, 'abd');"
          " CREATE FUNCTION like_abc(t text) RETURNS real LANGUAGE sql IMMUTABLE AS $$ SELECT similarity(t, 'abc') $$;"
          " CREATE MATERIALIZED VIEW scores AS SELECT id, like_abc(name) AS score FROM names")


def test_a_materialized_view_that_finds_an_extension_through_the_databases_search_path(
        heroku15: Server, chart15: Server, new_database: Callable[[Server], Database]):
    """On Heroku, extensions live in heroku_ext and the database's search_path finds them: an app's function that
    calls one unqualified works there, and refreshing a materialized view over it must work on the target too."""
    source, target = new_database(heroku15), new_database(chart15)
    with source.connect() as conn:
        conn.execute(SCORES)

    run = run_move("--from", source.url, "--to", target.url, "--yes")

    assert run.code == 0, run
    with target.connect() as dst:
        assert dst.execute("SELECT id, round(score::numeric, 3) FROM scores").fetchall() == [(1, Decimal("0.333"))]


def test_a_materialized_view_that_a_newer_target_cannot_refresh_is_named_with_the_fix(
        heroku15: Server, chart17: Server, new_database: Callable[[Server], Database]):
    """PostgreSQL 17 refreshes with search_path = pg_catalog, pg_temp, whatever the database says: the same view
    does not refresh there, for the app neither; the move says which and why, and the source takes writes again."""
    source, target = new_database(heroku15), new_database(chart17)
    with source.connect() as conn:
        conn.execute(SCORES)

    run = run_move("--from", source.url, "--to", target.url, "--yes")

    assert run.code == 2, run
    assert re.fullmatch(r"move: materialized view public\.scores does not refresh on the target \(function "
                        r"similarity\(text, unknown\) does not exist\): .+ \(PostgreSQL 17 and newer refresh with "
                        r"search_path = pg_catalog, pg_temp\): qualify the names .+, then run the same command "
                        r"again\n", run.stderr), run
    assert run.lines[-1][1] == "the source takes writes again"


def test_an_index_over_a_function_that_finds_an_extension_through_the_databases_search_path(
        heroku15: Server, chart15: Server, new_database: Callable[[Server], Database]):
    """The immutable wrapper of an extension's function that an index uses (unaccent's, similarity's) calls it
    unqualified: on Heroku the database's search_path finds it in heroku_ext, and so it must on the target."""
    source, target = new_database(heroku15), new_database(chart15)
    with source.connect() as conn:
        conn.execute(SCORES + "; CREATE INDEX names_like_abc ON names (like_abc(name))")

    run = run_move("--from", source.url, "--to", target.url, "--yes")

    assert run.code == 0, run
    with target.connect() as dst:
        assert dst.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'names'::regclass"
                           " AND indexprs IS NOT NULL").fetchall() == [("names_like_abc",)]
