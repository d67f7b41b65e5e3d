"""`make bench`: the app as deployed against the original article's app, and against a table 5,000 times larger.

One run, one machine, one load generator (wrk). Prints a table and writes bench/results/latest.json.
Goals (reported, never asserted): deployed >= 10x the naive requests/s, p99 <= 1/5 of the naive p99,
and p50 with 1,000,000 actors <= 2x p50 with 200.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib.metadata import version
from pathlib import Path

import psycopg

from devenv.local import APP_DIR, REPO, app_environment
from devenv.postgres import EmbeddedPostgres, PostgresNotFound, recreate_database
from devenv.servers import ServerDidNotStart, serving

BENCH_DIR = REPO / "bench"
RESULTS = BENCH_DIR / "results" / "latest.json"
CONCURRENCY = (1, 8, 32)
DURATION_S = 5
WARMUP_S = 1
# This machine's neighbours come and go: each figure is the median of ROUNDS runs, and the contenders
# of one comparison take turns, so that a noisy moment hits both alike.
ROUNDS = 3
GROWTH_ROWS = (200, 1_000_000)
GROWTH_CONCURRENCY = 8
GUNICORN = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "actors:create_app()"]
NAIVE = [sys.executable, str(BENCH_DIR / "naive_app.py")]


class BenchError(Exception):
    """Something the bench needs is missing; the message says how to get it."""


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError(
            "wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu), `brew install wrk` (macOS)"
        )
    return wrk


@contextmanager
def postgres_server() -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """An admin URL: $DATABASE_URL's server when set (like `make local`), else a throwaway embedded one."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"], None
        return
    top = Path(tempfile.mkdtemp(prefix="paasport-bench-"))
    try:
        with EmbeddedPostgres(top / "data", durable=False) as server:
            yield server.url(), server
    finally:
        shutil.rmtree(top, ignore_errors=True)


def load_dvdrental(url: str) -> None:
    print("bench: loading the DVD rental data", flush=True)
    subprocess.run([sys.executable, "-m", "actors.seed"], cwd=APP_DIR, env=app_environment(url), check=True)


def generate_actors(url: str, rows: int) -> None:
    """An `actor` table like the DVD rental one with `rows` generated actors."""
    print(f"bench: generating {rows:,} actors", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE actor (actor_id serial PRIMARY KEY, first_name varchar(45) NOT NULL,"
            " last_name varchar(45) NOT NULL, last_update timestamp NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO actor (first_name, last_name)"
            " SELECT 'Actor' || n, 'Number' || n FROM generate_series(1, %s) n",
            [rows],
        )
        conn.execute("VACUUM ANALYZE actor")


def measure(wrk: str, url: str, connections: int) -> dict:
    """wrk against `url` for DURATION_S seconds (after a warm-up) with `connections` open connections."""
    threads = str(min(connections, os.cpu_count() or 1))
    base = [wrk, "-t", threads, "-c", str(connections), "-s", str(BENCH_DIR / "report.lua"), url]
    subprocess.run([*base[:-1], "-d", f"{WARMUP_S}s", url], capture_output=True, check=True)
    result = subprocess.run([*base[:-1], "-d", f"{DURATION_S}s", "--timeout", "10s", url],
                            capture_output=True, text=True, check=True)
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    seconds = stats["duration_us"] / 1e6
    return {
        "connections": connections,
        "requests": stats["requests"],
        "rps": round(stats["requests"] / seconds, 1),
        "p50_ms": stats["p50_us"] / 1000,
        "p99_ms": stats["p99_us"] / 1000,
        "errors": stats["non_2xx_3xx"] + stats["socket_errors"],
    }


def median_run(runs: list[dict]) -> dict:
    """The run with the median requests/s, so that its latencies belong to the same run."""
    return sorted(runs, key=lambda run: run["rps"])[len(runs) // 2]


def compare(wrk: str, contenders: dict[str, tuple[list[str], dict[str, str], Path]], levels: tuple[int, ...]) -> dict:
    """Serve every contender at once, then measure them in turn at each level, ROUNDS times."""
    with ExitStack() as stack:
        urls = {
            name: stack.enter_context(serving(command, env, cwd=cwd, ready_path="/")).url + "/"
            for name, (command, env, cwd) in contenders.items()
        }
        results: dict[str, list[dict]] = {name: [] for name in contenders}
        for connections in levels:
            runs: dict[str, list[dict]] = {name: [] for name in contenders}
            for _ in range(ROUNDS):
                for name, url in urls.items():
                    runs[name].append(measure(wrk, url, connections))
            for name in contenders:
                results[name].append(median_run(runs[name]))
        return results


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("inf")


def table(title: str, header: list[str], rows: list[list[object]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[object]) -> str:
        return "  ".join(str(cell).rjust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join([title, line(header), line(["-" * w for w in widths]), *map(line, rows)])


def report(results: dict) -> str:
    comparison = results["deployed_vs_naive"]
    rows = []
    for deployed, naive in zip(comparison["deployed"], comparison["naive"], strict=True):
        rows.append([
            deployed["connections"],
            naive["rps"], deployed["rps"], ratio(deployed["rps"], naive["rps"]),
            naive["p50_ms"], deployed["p50_ms"],
            naive["p99_ms"], deployed["p99_ms"], ratio(naive["p99_ms"], deployed["p99_ms"]),
            f"{naive['errors']}/{deployed['errors']}",
        ])
    first = table(
        "Deployed app (gunicorn, pool, index probes) vs the original (dev server, connection per request, "
        "ORDER BY random())",
        ["conns", "naive rps", "deployed rps", "x", "naive p50", "deployed p50", "naive p99", "deployed p99",
         "p99 /", "errors n/d"],
        rows,
    )
    growth = results["growth"]
    second = table(
        f"Deployed app as the actor table grows ({GROWTH_CONCURRENCY} connections)",
        ["actors", "rps", "p50 ms", "p99 ms", "errors"],
        [[f"{g['actors']:,}", g["rps"], g["p50_ms"], g["p99_ms"], g["errors"]] for g in growth["runs"]],
    )
    goals = results["goals"]
    verdicts = "\n".join(
        f"{'met ' if goal['met'] else 'MISSED'}  {name}: {goal['measured']} (goal {goal['goal']})"
        for name, goal in goals.items()
    )
    return f"{first}\n\n{second}\n\n{verdicts}"


def goal(measured: float, at_least: float | None = None, at_most: float | None = None) -> dict:
    met = measured >= at_least if at_least is not None else measured <= at_most
    return {"measured": measured, "goal": f">= {at_least}" if at_least is not None else f"<= {at_most}", "met": met}


def evaluate(comparison: dict, growth_runs: list[dict]) -> dict:
    """The goals, judged on the worst concurrency level."""
    pairs = list(zip(comparison["deployed"], comparison["naive"], strict=True))
    small, large = growth_runs
    return {
        "deployed_rps_over_naive": goal(min(ratio(d["rps"], n["rps"]) for d, n in pairs), at_least=10.0),
        "naive_p99_over_deployed": goal(min(ratio(n["p99_ms"], d["p99_ms"]) for d, n in pairs), at_least=5.0),
        "p50_1m_over_p50_200": goal(ratio(large["p50_ms"], small["p50_ms"]), at_most=2.0),
    }


def versions(wrk: str, database_url: str) -> dict:
    with psycopg.connect(database_url) as conn:
        [[server_version]] = conn.execute("SHOW server_version").fetchall()
    wrk_banner = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return {
        "python": platform.python_version(),
        "postgresql": server_version,
        "wrk": (wrk_banner.stdout or wrk_banner.stderr).split("\n")[0].strip(),
        **{package: version(package) for package in ("gunicorn", "flask", "psycopg", "psycopg-pool")},
    }


def main() -> int:
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
    print(f"\nbench: wrote {RESULTS.relative_to(REPO)}")
    return 0


def run(wrk: str) -> dict:
    with postgres_server() as (admin_url, _server):
        dvdrental = recreate_database(admin_url, "paasport_bench") if _server else admin_url
        load_dvdrental(dvdrental)
        env = app_environment(dvdrental)
        print(f"bench: {len(CONCURRENCY)} levels x {ROUNDS} rounds x {DURATION_S} s for each app", flush=True)
        comparison = compare(
            wrk, {"deployed": (GUNICORN, env, APP_DIR), "naive": (NAIVE, env, BENCH_DIR)}, CONCURRENCY
        )
        growth_envs = {}
        for rows in GROWTH_ROWS:
            url = recreate_database(admin_url, f"paasport_bench_{rows}")
            generate_actors(url, rows)
            growth_envs[rows] = (GUNICORN, app_environment(url), APP_DIR)
        growth = compare(wrk, growth_envs, (GROWTH_CONCURRENCY,))
        growth_runs = [{"actors": rows, **runs[0]} for rows, runs in growth.items()]
        return {
            "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
            "versions": versions(wrk, dvdrental),
            "settings": {"duration_s": DURATION_S, "warmup_s": WARMUP_S, "rounds": ROUNDS,
                         "web_concurrency": env["WEB_CONCURRENCY"]},
            "deployed_vs_naive": comparison,
            "growth": {"connections": GROWTH_CONCURRENCY, "runs": growth_runs},
            "goals": evaluate(comparison, growth_runs),
        }


if __name__ == "__main__":
    sys.exit(main())
