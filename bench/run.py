"""`make bench`: the app as deployed against the original article's app, side by side, on one machine.

Every contender of a comparison is served at once, and wrk (https://github.com/wg/wrk) measures them
in turn, round after round, so that a noisy moment on a shared machine hits them all alike. Each
figure is the median over ROUNDS rounds of DURATION_S seconds (the spread of requests/s is shown);
CPU per request is read from the processes' own accounting in /proc (utime + stime of the server's
process tree, and of PostgreSQL's when the bench runs its own), divided by the requests answered.

Contenders: the app as deployed (`python -m actors.serve`: granian), the original (bench/naive_app.py),
the app on gunicorn's gthread worker (the server it had before), and Flask's hello world on each
server: the ceiling of a Flask app on this machine. pgbench gives the database's figure for the app's
query. Then the app against an `actor` table of 200 rows and of 1,000,000.

Goals (reported, never asserted): at least 10x the original's requests/s, a p99 at most 1/8 of its,
at most 0.45 ms of CPU per request (app and database), p50 at 1,000,000 actors within 1.5x of p50 at
200. Prints a Markdown report (pasted into docs/performance.md) and writes bench/results/latest.json.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import psycopg

from devenv import APP_DIR, REPO
from devenv.local import app_environment
from devenv.postgres import EmbeddedPostgres, PostgresNotFound, bin_dir, create_actor_table, recreate_database
from devenv.servers import APP_SERVER, ServerDidNotStart, serving

BENCH_DIR = REPO / "bench"
RESULTS = BENCH_DIR / "results" / "latest.json"
CONCURRENCY = 64
GROWTH_CONCURRENCY = 8
GROWTH_ROWS = (200, 1_000_000)
DURATION_S = 10
WARMUP_S = 2
ROUNDS = 3
# pgbench's clients flat out; then, at the app's pace, as many as the connections the app holds
PGBENCH_CLIENTS = 2
WRK_INSTALL = "wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu), `brew install wrk` (macOS)"
TICKS_PER_S = os.sysconf("SC_CLK_TCK")

NAIVE = [sys.executable, str(BENCH_DIR / "naive_app.py")]
HELLO = [*APP_SERVER, "--app", "hello_app:create_app"]
# gunicorn as the app had it: gthread workers, 2 threads each, 5 s keep-alive, no access log; it reads
# WEB_CONCURRENCY and PORT itself (https://docs.gunicorn.org/en/stable/settings.html)
GUNICORN = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--threads", "2", "--keep-alive", "5"]


class BenchError(Exception):
    """Something the bench needs is missing; the message says how to get it."""


@dataclass
class Contender:
    """A server to measure: its command, run from `cwd` with `env` (PORT added), and its runs so far."""

    command: list[str]
    env: dict[str, str]
    cwd: Path
    runs: list[dict] = field(default_factory=list)


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError(WRK_INSTALL)
    return wrk


def cpu_seconds(pid: int) -> float:
    """CPU time of process `pid` and all its descendants, live or reaped (utime, stime, cutime, cstime: proc(5))."""
    children: dict[int, list[int]] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        proc = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(proc)
        times[proc] = sum(int(ticks) for ticks in fields[11:15])
    total, todo = 0, [pid]
    while todo:
        proc = todo.pop()
        total += times.get(proc, 0)
        todo += children.get(proc, [])
    return total / TICKS_PER_S


@contextmanager
def postgres_server() -> Iterator[tuple[str, int | None]]:
    """An admin URL and the postmaster's pid: a throwaway embedded server, or $DATABASE_URL's (pid unknown)."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"], None
        return
    top = Path(tempfile.mkdtemp(prefix="paasport-bench-"))
    try:
        with EmbeddedPostgres(top / "data", durable=False) as server:
            pid = int((server.datadir / "postmaster.pid").read_text().split()[0])
            yield server.url(), pid
    finally:
        shutil.rmtree(top, ignore_errors=True)


def wrk_run(wrk: str, url: str, connections: int, seconds: int) -> dict:
    threads = str(min(connections, os.cpu_count() or 1))
    result = subprocess.run(
        [wrk, "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", str(BENCH_DIR / "report.lua"), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(wrk: str, url: str, connections: int, server_pid: int, db_pid: int | None) -> dict:
    """One wrk run of DURATION_S against `url`, with the CPU the server and the database spent meanwhile."""
    app_before, db_before = cpu_seconds(server_pid), cpu_seconds(db_pid) if db_pid else 0.0
    stats = wrk_run(wrk, url, connections, DURATION_S)
    app_cpu, db_cpu = cpu_seconds(server_pid) - app_before, (cpu_seconds(db_pid) - db_before) if db_pid else None
    requests = max(stats["requests"], 1)
    return {
        "rps": stats["requests"] / (stats["duration_us"] / 1e6),
        "p50_ms": stats["p50_us"] / 1000,
        "p99_ms": stats["p99_us"] / 1000,
        "errors": stats["non_2xx_3xx"] + stats["socket_errors"],
        "app_cpu_ms": app_cpu * 1000 / requests,
        "db_cpu_ms": db_cpu * 1000 / requests if db_cpu is not None else None,
    }


def compare(wrk: str, contenders: dict[str, Contender], connections: int, db_pid: int | None) -> dict[str, dict]:
    """Serve every contender at once; measure them in turn, ROUNDS times; the median of each figure."""
    with ExitStack() as stack:
        servers = {}
        for name, contender in contenders.items():
            servers[name] = stack.enter_context(serving(contender.command, contender.env, cwd=contender.cwd,
                                                        ready_path="/"))
            wrk_run(wrk, servers[name].url + "/", connections, WARMUP_S)
        for round_ in range(1, ROUNDS + 1):
            print(f"bench: round {round_} of {ROUNDS}: {', '.join(contenders)}", flush=True)
            for name, server in servers.items():
                contenders[name].runs.append(measure(wrk, server.url + "/", connections, server.process.pid, db_pid))
    return {name: summarise(contender.runs) for name, contender in contenders.items()}


def summarise(runs: list[dict]) -> dict:
    def median(key: str) -> float | None:
        values = [run[key] for run in runs if run[key] is not None]
        return statistics.median(values) if values else None

    rps = [run["rps"] for run in runs]
    summary = {key: median(key) for key in ("rps", "p50_ms", "p99_ms", "app_cpu_ms", "db_cpu_ms")}
    summary.update(rps_min=min(rps), rps_max=max(rps), errors=sum(run["errors"] for run in runs), runs=runs)
    return summary


def pgbench_app_query(database_url: str, db_pid: int | None, clients: int, rate: float | None = None) -> dict | None:
    """The app's query alone, prepared, from `clients` connections for DURATION_S (at most `rate` a second):
    queries/s and the database's CPU per query. None without pgbench or without the database's pid."""
    sys.path.insert(0, str(APP_DIR))
    from actors.sample import DEFAULT_COUNT, random_actors_sql

    pgbench = shutil.which("pgbench", path=f"{bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}")
    if pgbench is None or db_pid is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(random_actors_sql(DEFAULT_COUNT * 2).strip() + ";\n")
        script.flush()
        before = cpu_seconds(db_pid)
        result = subprocess.run(
            [pgbench, "--no-vacuum", "--protocol=prepared", f"--client={clients}", "--jobs=2",
             f"--time={DURATION_S}", f"--file={script.name}", *([f"--rate={rate:.0f}"] if rate else []), database_url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        spent = cpu_seconds(db_pid) - before
    done = int(re.search(r"number of transactions actually processed: (\d+)", result.stdout)[1])
    return {"qps": done / DURATION_S, "db_cpu_ms": spent * 1000 / done, "clients": clients, "rate": rate}


def goal(measured: float | None, *, at_least: float | None = None, at_most: float | None = None) -> dict:
    if measured is None:
        return {"measured": None, "goal": "", "met": False}
    met = measured >= at_least if at_least is not None else measured <= at_most
    return {"measured": round(measured, 2), "goal": f">= {at_least}" if at_least is not None else f"<= {at_most}",
            "met": met}  # fmt: skip


def evaluate(main: dict[str, dict], growth: dict[str, dict]) -> dict:
    app, naive, hello = main["paasport"], main["original"], main["hello world, granian"]
    cpu = app["app_cpu_ms"] + app["db_cpu_ms"] if app["db_cpu_ms"] is not None else None
    small, large = growth[f"{GROWTH_ROWS[0]:,} actors"], growth[f"{GROWTH_ROWS[1]:,} actors"]
    return {
        "req/s over the original's": goal(app["rps"] / naive["rps"], at_least=10),
        "original's p99 over ours": goal(naive["p99_ms"] / app["p99_ms"], at_least=8),
        "CPU ms per request, app + database": goal(cpu, at_most=0.45),
        "p50 at 1,000,000 actors over p50 at 200": goal(large["p50_ms"] / small["p50_ms"], at_most=1.5),
        "req/s over the server's hello world (ceiling)": goal(app["rps"] / hello["rps"], at_least=0.7),
    }


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {"cores": os.cpu_count(), "cpu": model[1] if model else platform.processor(),
            "platform": platform.platform(), "python": platform.python_version()}  # fmt: skip


def versions(wrk: str, database_url: str) -> dict:
    with psycopg.connect(database_url) as conn:
        [[server_version]] = conn.execute("SHOW server_version").fetchall()
    banner = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return {
        "postgresql": server_version.split()[0],
        "wrk": (banner.stdout or banner.stderr).split()[1],
        **{package: version(package) for package in ("granian", "gunicorn", "flask", "psycopg")},
    }


def number(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def report(results: dict) -> str:
    """The Markdown report: what docs/performance.md shows."""
    m, v = results["machine"], results["versions"]
    lines = [
        f"`make bench` on {results['date']}: {m['cores']} cores ({m['cpu']}), {m['platform']}, Python {m['python']},",
        f"PostgreSQL {v['postgresql']} on loopback, granian {v['granian']}, gunicorn {v['gunicorn']}, "
        f"Flask {v['flask']}, wrk {v['wrk']} on the same cores. Medians of {ROUNDS} rounds of {DURATION_S} s, "
        f"contenders alternated; latencies in ms, CPU in ms per request.",
        "",
        f"| {CONCURRENCY} connections | req/s | req/s spread | p50 | p99 | app CPU | DB CPU | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for section in ("main", "growth"):
        if section == "growth":
            lines += ["", f"| {GROWTH_CONCURRENCY} connections | req/s | req/s spread | p50 | p99 | app CPU | DB CPU |"
                      " errors |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for name, s in results[section].items():
            lines.append(
                f"| {name} | {number(s['rps'])} | {number(s['rps_min'])}-{number(s['rps_max'])} | "
                f"{number(s['p50_ms'], 1)} | {number(s['p99_ms'], 1)} | {number(s['app_cpu_ms'], 3)} | "
                f"{number(s['db_cpu_ms'], 3)} | {s['errors']} |"
            )
    hello, app = results["main"]["hello world, granian"], results["main"]["paasport"]
    lines += [
        "",
        "Where the time goes, in CPU ms per request: granian and Flask answering hello world "
        f"{number(hello['app_cpu_ms'], 3)}; the app {number(app['app_cpu_ms'], 3)}, and PostgreSQL "
        f"{number(app['db_cpu_ms'], 3)} for it.",
    ]
    for pace, query in results["pgbench"].items():
        if query:
            lines.append(
                f"The app's query alone (pgbench, prepared, {query['clients']} connections, {pace}): "
                f"{number(query['qps'])} queries/s, {number(query['db_cpu_ms'], 3)} ms of PostgreSQL CPU per query."
            )
    lines += ["", "| goal | measured | target | |", "| --- | ---: | ---: | --- |"]
    for name, g in results["goals"].items():
        lines.append(f"| {name} | {number(g['measured'], 2)} | {g['goal']} | {'met' if g['met'] else 'MISSED'} |")
    return "\n".join(lines)


def app_connections(env: dict[str, str]) -> int:
    """The most connections the app opens with `env`: its workers times each worker's pool, as its config reads them."""
    probe = "from actors import config; c = config.from_environ(); print(c.web_concurrency * c.pool_size)"
    return int(subprocess.run([sys.executable, "-c", probe], cwd=APP_DIR, env=env, capture_output=True, text=True,
                              check=True).stdout)


def run(wrk: str) -> dict:
    with postgres_server() as (admin_url, db_pid):
        dvdrental = recreate_database(admin_url, "paasport_bench") if db_pid else admin_url
        print("bench: loading the DVD rental data", flush=True)
        env = app_environment(dvdrental)
        subprocess.run([sys.executable, "-m", "actors.seed"], cwd=APP_DIR, env=env, check=True)
        hello_env = {**env, "PYTHONPATH": str(APP_DIR)}
        main = compare(wrk, {
            "paasport": Contender(APP_SERVER, env, APP_DIR),
            "original": Contender(NAIVE, env, BENCH_DIR),
            "paasport on gunicorn": Contender([*GUNICORN, "actors:create_app()"], env, APP_DIR),
            "hello world, granian": Contender(HELLO, hello_env, BENCH_DIR),
            "hello world, gunicorn": Contender([*GUNICORN, "hello_app:app"], env, BENCH_DIR),
        }, CONCURRENCY, db_pid)  # fmt: skip
        query = {
            "flat out": pgbench_app_query(dvdrental, db_pid, PGBENCH_CLIENTS),
            "at the app's pace": pgbench_app_query(dvdrental, db_pid, app_connections(env),
                                                   rate=main["paasport"]["rps"]),
        }
        growth_contenders = {}
        for rows in GROWTH_ROWS:
            url = recreate_database(admin_url, f"paasport_bench_{rows}")
            print(f"bench: generating {rows:,} actors", flush=True)
            create_actor_table(url, generated=rows)
            growth_contenders[f"{rows:,} actors"] = Contender(APP_SERVER, app_environment(url), APP_DIR)
        growth = compare(wrk, growth_contenders, GROWTH_CONCURRENCY, db_pid)
        return {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": machine(),
            "versions": versions(wrk, dvdrental),
            "settings": {"duration_s": DURATION_S, "warmup_s": WARMUP_S, "rounds": ROUNDS,
                         "web_concurrency": env["WEB_CONCURRENCY"]},
            "main": main,
            "pgbench": query,
            "growth": growth,
            "goals": evaluate(main, growth),
        }


def main() -> int:
    started = time.monotonic()
    try:
        results = run(find_wrk())
    except (BenchError, PostgresNotFound) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except (ServerDidNotStart, subprocess.CalledProcessError, psycopg.Error) as error:
        print(f"bench: stopped: {str(error).strip()}", file=sys.stderr)
        return 1
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report(results))
    print(f"\nbench: {time.monotonic() - started:.0f} s; wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
