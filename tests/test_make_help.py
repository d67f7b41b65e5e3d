"""`make help` lists the Makefile's targets from their `## <target>: <what it does>` lines, and every target a
user may run (the .PHONY ones) has such a line, right above its rule."""

from __future__ import annotations

import os
import re
import subprocess

from tests.support import REPO

MAKEFILE = (REPO / "Makefile").read_text()

# The descriptions as a user should read them, written out: a changed line is a changed promise.
EXPECTED = {
    "local": "serve the app on http://localhost:5000 (or $PORT) with an embedded PostgreSQL (or $DATABASE_URL)",
    "test": "lint, then every test (real PostgreSQL, the app's real server, headless Chromium when installed)",
    "move": "move a client's database between stacks or servers "
            '(ARGS="--from SRC --to DST [--check] [--online] [--revert] [--yes]")',
    "plan": 'what a stack would create, offline (STACK=k8s, heroku or cluster; ARGS="--json" or "--render DIR")',
    "parity": 'what each platform gives the app, a row per capability (ARGS="--markdown" or "--json")',
    "bench": "the deployed app vs the original article's and vs hello world, and at 200 vs 1,000,000 actors "
             "(needs wrk)",
    "help": "list the targets below and what each does",
}


def make_help() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}  # not a sub-make of `make test`'s
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO, env=env, capture_output=True,
                            text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header == "make <target>, where <target> is one of:"
    rows = [re.fullmatch(r"  ([a-z-]+) +(\S.*)", line) for line in lines]
    assert all(rows), lines
    return {row[1]: row[2] for row in rows}


def test_make_help_lists_the_targets_with_their_descriptions():
    listed = make_help()
    assert {target: listed.get(target) for target in EXPECTED} == EXPECTED
    assert list(listed)[:3] == ["help", "local", "test"]  # in the Makefile's order: the README's two commands first


def test_every_phony_target_is_listed_and_every_listed_one_is_phony():
    (phony,) = re.findall(r"^\.PHONY: (.+)$", MAKEFILE, re.MULTILINE)
    assert set(make_help()) == set(phony.split())


def test_each_description_sits_right_above_its_targets_rule():
    # Plain `#` comments may come between; anything else would attach the line to the wrong target.
    lines = MAKEFILE.splitlines()
    described = [(i, m[1]) for i, line in enumerate(lines) if (m := re.match(r"## ([a-z-]+): ", line))]
    assert len(described) == len(make_help())
    for i, target in described:
        following = next(line for line in lines[i + 1:] if not line.startswith("#"))
        assert following.startswith(f"{target}:"), (target, following)


def _make(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "PG"))}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=120)


def test_a_password_in_args_is_not_echoed_by_make():
    # port 1: nothing listens, so the move stops at its first connection, with the URL's password hidden
    result = _make("move", "ARGS=--from postgres://app:Top5ecret@127.0.0.1:1/shop --to postgres://app:x@127.0.0.1:1/b")

    assert result.returncode == 2, result
    assert "Top5ecret" not in result.stdout + result.stderr
    assert result.stderr.startswith("move: source postgres://app:***@127.0.0.1:1/shop: cannot reach the server"), result


def test_a_dollar_in_args_reaches_the_command_as_typed():
    dry = _make("-n", "move", "ARGS=--from 'postgres://app:ab$cd@db/shop' --to k8s")

    assert dry.returncode == 0, dry
    assert "-m move --from 'postgres://app:ab$cd@db/shop' --to k8s" in dry.stdout, dry.stdout
