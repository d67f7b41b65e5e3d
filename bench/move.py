"""`make bench-move`: the move against the single-stream `pg_dump -Fc | pg_restore` a user types today, side by side.

Two PostgreSQL servers on this machine (the installed one with its contrib extensions; the same build for both), a
source database of about SIZE_GB (the move tests' fixture, plus a table of a few million rows with an index):

1. Offline, ROUNDS rounds, the contenders alternated: the move (writes stopped from the start to the cutover,
   verification included) and `pg_dump -Fc | pg_restore` into an empty database with the same pg_dump and
   pg_restore (writes would have to stop for all of it). After each move, `--revert` gives the source its writes
   back for the next round.
2. Online at about 100 MB and about 1 GB, with a writer running flat out on the source the whole time (inserts,
   updates, deletes on one connection): the write stop of `--online`, and of the offline move under the same load;
   the writer's own count of acknowledged writes per second with the capture off and with the capture's triggers
   on (nothing else running; windows of WRITER_WINDOW_S alternated, medians), and during the online copy (the
   copy shares this machine's cores with the writer).

Prints a Markdown report (pasted into docs/performance.md) and writes bench/results/move.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from bench.run import machine
from devenv import REPO
from devenv.postgres import EmbeddedPostgres, recreate_database
from move import capture, catalog, run
from move.db import Database, find_tools
from move.progress import Report, size
from tests.move.helpers import build_fixture

RESULTS = REPO / "bench" / "results" / "move.json"
ROUNDS = 2
SIZE_GB = 1.0
ONLINE_SIZES_MB = (100, 1000)
ROW_BYTES = 220  # the big table's bytes per row on disk (heap and index), measured
WRITER_WINDOW_S = 4.0
WRITER_WINDOWS = 3  # of each kind, alternated: capture off, on, off, on, ...
DEBIAN = Path("/usr/lib/postgresql")


@dataclass
class Servers:
    source: EmbeddedPostgres
    target: EmbeddedPostgres


def _binaries() -> Path:
    """The installed PostgreSQL with its contrib extensions (the fixture's citext, hstore): the newest here."""
    found = sorted((d for d in DEBIAN.glob("*/bin") if (d / "postgres").exists()),
                   key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    if not found:
        sys.exit("bench-move: needs an installed PostgreSQL with contrib: sudo apt-get install postgresql")
    return found[-1]


def build_source(url: str, megabytes: float) -> int:
    """The fixture, and a table of `megabytes` worth of rows with an index; returns the database's size."""
    build_fixture(url)
    rows = int(megabytes * 1e6 / ROW_BYTES)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE ledger (id bigint PRIMARY KEY, account int NOT NULL, kind text NOT NULL,"
                     " amount numeric(12,2), created timestamptz NOT NULL, payload text)")
        conn.execute("INSERT INTO ledger SELECT g, g %% 10000, 'kind-' || (g %% 17), (g %% 100000) / 100.0,"
                     " timestamptz '2026-01-01' + g * interval '1 second', md5(g::text) || repeat('x', 60)"
                     " FROM generate_series(1, %s) g", [rows])
        conn.execute("CREATE INDEX ledger_account ON ledger (account, created)")
        conn.execute("VACUUM ANALYZE")
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def writer(url: str, base: int, stop: multiprocessing.synchronize.Event, out: str) -> None:
    """Writes flat out until `stop`: inserts of new keys from `base` on, updates, primary-key changes (to keys no
    insert uses) and deletes of the first 300,000 rows; the time of each acknowledged write goes to `out` (JSON)."""
    acked: list[float] = []
    rng = random.Random(base)  # noqa: S311 - which rows the writer touches
    conn = None
    while not stop.is_set():
        try:
            if conn is None or conn.broken or conn.closed:
                conn = psycopg.connect(url, autocommit=True)
            r, key = rng.random(), rng.randint(1, 300_000)
            if r < 0.4:
                conn.execute("INSERT INTO ledger VALUES (%s, 1, 'w', 1, now(), 'w')", [base + len(acked)])
            elif r < 0.8:
                conn.execute("UPDATE ledger SET amount = amount + 1 WHERE id = %s", [key])
            elif r < 0.9:
                conn.execute("UPDATE ledger SET id = -id WHERE id = %s", [key])
            else:
                conn.execute("DELETE FROM ledger WHERE id = %s", [key])
            acked.append(time.time())
        except psycopg.Error:
            time.sleep(0.01)
    Path(out).write_text(json.dumps(acked))


class Writer:
    """A `writer` in a process of its own; each one inserts keys of its own."""

    started = 0

    def __init__(self, url: str) -> None:
        Writer.started += 1
        self.stop = multiprocessing.Event()
        self.out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name  # noqa: SIM115
        self.process = multiprocessing.Process(target=writer, args=(url, Writer.started * 100_000_000, self.stop,
                                                                    self.out), daemon=True)
        self.process.start()

    def finish(self) -> list[float]:
        self.stop.set()
        self.process.join(60)
        acked = json.loads(Path(self.out).read_text())
        Path(self.out).unlink()
        return acked


def rate(acked: list[float], start: float, end: float) -> float:
    return sum(start <= t < end for t in acked) / (end - start) if end > start else 0.0


def quiet() -> Report:
    return Report(open("/dev/null", "w"), live=False)


def move_once(source: str, target: str, *, online: bool) -> run.Result:
    side_s, side_t = run.Side(Database("source", source)), run.Side(Database("target", target))
    result = run.move(side_s, side_t, run.Options(yes=True, online=online, jobs=2), quiet())
    run.revert(side_s, side_t, run.Options(yes=True, jobs=2), quiet())
    return result


def dump_restore(binaries: Path, source: str, target: str) -> float:
    """`pg_dump -Fc | pg_restore`, one stream, with the servers' own version of the tools; its seconds."""
    started = time.monotonic()
    dump = subprocess.Popen([str(binaries / "pg_dump"), "--format=custom", "--dbname", source],
                            stdout=subprocess.PIPE)
    restore = subprocess.run([str(binaries / "pg_restore"), "--no-owner", "--no-privileges", "--dbname", target],
                             stdin=dump.stdout, capture_output=True, check=False)
    dump.wait()
    if dump.returncode or restore.returncode:
        raise RuntimeError(f"pg_dump | pg_restore failed: {restore.stderr.decode()[-500:]}")
    return time.monotonic() - started


def offline(servers: Servers, binaries: Path, source: str, rounds: int) -> dict:
    rows = []
    for number in range(rounds):
        target = recreate_database(servers.target.url(), f"moved_{number}")
        moved = move_once(source, target, online=False)
        baseline_target = recreate_database(servers.target.url(), f"restored_{number}")
        baseline = dump_restore(binaries, source, baseline_target)
        rows.append({"move_stop_s": moved.stopped_s, "move_verify_s": moved.verify_s, "move_total_s": moved.seconds,
                     "dump_restore_s": baseline, "tables": moved.tables})
        phases = ", ".join(f"{name} {seconds:.1f}" for name, seconds in moved.phases.items())
        print(f"  round {number + 1}: move stopped writes {moved.stopped_s:.1f} s (verification {moved.verify_s:.1f}"
              f" s; {phases}); pg_dump | pg_restore {baseline:.1f} s", file=sys.stderr)
    return {"rounds": rows,
            "move_stop_s": statistics.median(r["move_stop_s"] for r in rows),
            "move_verify_s": statistics.median(r["move_verify_s"] for r in rows),
            "dump_restore_s": statistics.median(r["dump_restore_s"] for r in rows)}


def online(servers: Servers, megabytes: int) -> dict:
    source = recreate_database(servers.source.url(), f"online_{megabytes}")
    actual = build_source(source, megabytes)
    # the writer alone and with the capture's triggers on (nothing else running), windows alternated so that a
    # change in the machine's load falls on both
    windows: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    w = Writer(source)
    time.sleep(1)
    with psycopg.connect(source, autocommit=True) as conn:
        inventory = catalog.read(conn)
        for _ in range(WRITER_WINDOWS):
            for on in (False, True):
                if on:
                    capture.install(conn, inventory.tables)
                start = time.time()
                time.sleep(WRITER_WINDOW_S)
                windows[on].append((start, time.time()))
                if on:
                    capture.remove(conn)
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(catalog.MOVE_SCHEMA)))
    acked = w.finish()
    off, on = (statistics.median(rate(acked, a, b) for a, b in windows[kind]) for kind in (False, True))
    # the online move under the writer, then the offline one under the same load
    w = Writer(source)
    time.sleep(2)
    result = move_once(source, recreate_database(servers.target.url(), f"online_{megabytes}_t"), online=True)
    during = w.finish()
    copying = rate(during, result.events.get("capture", 0), result.events.get("stop", 0))
    w = Writer(source)
    time.sleep(2)
    offline_result = move_once(source, recreate_database(servers.target.url(), f"offline_{megabytes}_t"),
                               online=False)
    w.finish()
    print(f"  {size(actual)}: online stop {result.stopped_s:.2f} s, offline stop {offline_result.stopped_s:.1f} s; "
          f"writes/s off {off:,.0f}, capture on {on:,.0f}, during the copy {copying:,.0f}", file=sys.stderr)
    return {"bytes": actual, "online_stop_s": result.stopped_s, "online_verify_s": result.verify_s,
            "offline_stop_s": offline_result.stopped_s, "rounds": len(result.rounds),
            "writes_off": off, "writes_capture_on": on, "writes_during_copy": copying}


def report(results: dict) -> str:
    m, off = results["machine"], results["offline"]
    lines = [
        f"`make bench-move` on {results['date']}: {m['cores']} cores ({m['cpu']}), {m['platform']}, Python "
        f"{m['python']}, PostgreSQL {results['postgresql']} (source and target on this machine); the move's "
        f"pg_dump {results['tools']} (the schema), `pg_dump | pg_restore` the servers' own. Offline: medians of "
        f"{len(off['rounds'])} rounds, contenders alternated.",
        "",
        f"| {size(results['bytes'])} database | writes stopped, s | of which verification, s |",
        "| --- | ---: | ---: |",
        f"| `make move` | {off['move_stop_s']:.1f} | {off['move_verify_s']:.1f} |",
        f"| `pg_dump -Fc \\| pg_restore` | {off['dump_restore_s']:.1f} | 0 (none) |",
        "",
        f"The move stops writes for {off['move_stop_s'] / off['dump_restore_s']:.2f} of the time "
        "`pg_dump | pg_restore` alone takes, verification included.",
        "",
        "| size, under a writer flat out | `--online` stop, s | offline stop, s | writes/s without capture | "
        "with capture | during the online copy |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for o in results["online"]:
        lines.append(f"| {size(o['bytes'])} | {o['online_stop_s']:.2f} | {o['offline_stop_s']:.1f} | "
                     f"{o['writes_off']:,.0f} | {o['writes_capture_on']:,.0f} "
                     f"({o['writes_capture_on'] / o['writes_off']:.0%}) | {o['writes_during_copy']:,.0f} |")
    small, large = results["online"][0], results["online"][-1]
    lines += ["", "| goal | measured | target | |", "| --- | ---: | ---: | --- |"]
    goals = [
        ("offline write stop over `pg_dump \\| pg_restore`", off["move_stop_s"] / off["dump_restore_s"], "<= 1",
         off["move_stop_s"] <= off["dump_restore_s"]),
        (f"`--online` write stop at {size(small['bytes'])}, s", small["online_stop_s"], "<= 5",
         small["online_stop_s"] <= 5),
        (f"`--online` write stop at {size(large['bytes'])}, s", large["online_stop_s"], "<= 5",
         large["online_stop_s"] <= 5),
        ("difference between the two sizes, s", abs(large["online_stop_s"] - small["online_stop_s"]), "< 2",
         abs(large["online_stop_s"] - small["online_stop_s"]) < 2),
        ("writes/s with capture over without", min(o["writes_capture_on"] / o["writes_off"]
                                                     for o in results["online"]), ">= 0.5",
         all(o["writes_capture_on"] >= 0.5 * o["writes_off"] for o in results["online"])),
    ]
    for name, value, target, met in goals:
        lines.append(f"| {name} | {value:.2f} | {target} | {'met' if met else 'MISSED'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.move", description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=SIZE_GB, help="the offline comparison's database")
    parser.add_argument("--online-mb", default=",".join(map(str, ONLINE_SIZES_MB)),
                        help="the online sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    binaries = _binaries()
    top = Path(tempfile.mkdtemp(prefix="paasport-bench-move-"))
    top.chmod(0o755)
    # the two servers' data, about 10 GB by the end: removed however the run ends
    try:
        results = _measure(top, binaries, args)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(report(results))
    return 0


def _measure(top: Path, binaries: Path, args: argparse.Namespace) -> dict:
    with EmbeddedPostgres(top / "source", durable=False, binaries=binaries) as source_server, \
            EmbeddedPostgres(top / "target", durable=False, binaries=binaries) as target_server:
        servers = Servers(source_server, target_server)
        print(f"bench-move: building a {args.size_gb:g} GB source", file=sys.stderr)
        source = recreate_database(source_server.url(), "bench")
        total = build_source(source, args.size_gb * 1000)
        print("bench-move: offline, side by side", file=sys.stderr)
        offline_results = offline(servers, binaries, source, args.rounds)
        print("bench-move: online under a writer", file=sys.stderr)
        online_results = [online(servers, int(mb)) for mb in args.online_mb.split(",")]
        tools = find_tools(Database("source", source).server.major)
        return {"date": datetime.now(UTC).date().isoformat(), "machine": machine(), "bytes": total,
                "postgresql": Database("source", source).server.version, "tools": tools.major,
                "offline": offline_results, "online": online_results}


if __name__ == "__main__":
    sys.exit(main())
