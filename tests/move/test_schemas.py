"""Schemas real apps have, moved between real servers: names no identifier rule forbids, partitioned tables with
foreign keys, row-level security, and the other shapes a move must neither choke on nor copy in part."""

from __future__ import annotations

from collections.abc import Callable
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
