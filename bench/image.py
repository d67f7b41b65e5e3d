"""`make image`: the app's image as built now against the image as it was (bench/Dockerfile.before), side by side.

Both are built by buildah on the same local base (tests/containers.py: Debian trixie + python3, standing in for
python:3.12-slim-trixie) and run by podman/runc as the k8s stack's web Deployment says, against a real PostgreSQL.
For each image: its size and what it adds above the base; from `podman run` to the first 200 on /readyz (the
runtime's share included: vfs copies the whole root filesystem for each container), and from the server's own
process start (its PID 1's start time in /proc) to that 200; the memory (PSS) of each of its processes idle and
under wrk's load (CONNECTIONS, as `make bench`); the packages it holds that a runtime image should not.
Medians of RUNS starts. Goals (reported, never asserted): added layers at most 90 MB, server start at most 1 s.
Prints a Markdown report (pasted into docs/performance.md) and writes bench/results/image.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.run import CONCURRENCY, WRK_INSTALL, machine
from devenv import APP_DIR, REPO
from devenv.postgres import create_actor_table
from tests import containers
from tests.support import k8s_plan

BEFORE = REPO / "bench" / "Dockerfile.before"  # app/Dockerfile before the image work (commit 3c53d60)
RESULTS = REPO / "bench" / "results" / "image.json"
RUNS = 5
LOAD_SECONDS = 10
GOAL_ADDED_MB = 90
GOAL_SERVER_START_S = 1.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
VENV_FORBIDDEN = ("pip", "setuptools", "wheel")
FORBIDDEN = re.compile(r"^((gcc|g\+\+|cpp)(-\d+)?|make|curl|wget|git|openssh-.*|python3-pip|perl|perl-modules-.*)$")


def boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def process_start(pid: int) -> float:
    """When process `pid` started, in seconds since boot (proc(5): stat field 22, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[19]) / TICKS_PER_S


def memory(container: containers.Container) -> list[dict]:
    """PSS and RSS (MB) of each process of the container, from /proc/<pid>/smaps_rollup."""
    found = []
    for pid in container.host_pids():
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        kb = dict(re.findall(r"^(\w+):\s+(\d+) kB", rollup, re.MULTILINE))
        found.append({"pid": pid, "command": cmdline, "pss_mb": int(kb["Pss"]) / 1024, "rss_mb": int(kb["Rss"]) / 1024})
    return found


def start_once(image: containers.Image, cluster: containers.Cluster, web: dict) -> dict:
    """One container start: seconds from `podman run` and from the server's process start to the first 200."""
    with cluster.run(image, web) as pod:
        url = pod.url("http", "/readyz")
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=1) as http:
            while time.monotonic() < deadline:
                try:
                    if http.get(url).status_code == 200:
                        answered, answered_boot = time.monotonic(), boottime()
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.005)
            else:
                raise RuntimeError(f"no 200 on /readyz within 60 s:\n{pod.logs()[-2000:]}")
        return {"from_run_s": answered - pod.started_at, "server_s": answered_boot - process_start(pod.pid())}


def memory_under_load(image: containers.Image, cluster: containers.Cluster, web: dict, wrk: str) -> dict:
    with cluster.run(image, web) as pod:
        pod.wait_http("http", "/readyz", timeout=60)
        url = pod.url("http", "/api/actors")
        httpx.get(url, timeout=10)
        time.sleep(2)
        idle = memory(pod)
        samples: list[list[dict]] = []
        load = subprocess.Popen([wrk, "-t", "2", "-c", str(CONCURRENCY), "-d", f"{LOAD_SECONDS}s", url],
                                stdout=subprocess.PIPE, text=True)
        sampler_done = threading.Event()

        def sample() -> None:
            while not sampler_done.wait(1):
                samples.append(memory(pod))

        sampler = threading.Thread(target=sample)
        sampler.start()
        output = load.communicate()[0]
        sampler_done.set()
        sampler.join()
        peak = max(samples, key=lambda procs: sum(p["pss_mb"] for p in procs)) if samples else []
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
        return {"idle": idle, "loaded": peak, "rps": float(rate[1]) if rate else None}


def contents(image: containers.Image) -> dict:
    with image.mounted() as root:
        packages = re.findall(r"^Package: (\S+)", (root / "var/lib/dpkg/status").read_text(), re.MULTILINE)
        venv = sorted(path.name.split("-")[0] for path in root.glob("opt/venv/lib/python3*/site-packages/*.dist-info"))
    unwanted = sorted(p for p in packages if FORBIDDEN.match(p)) + [f"{d} (venv)" for d in venv if d in VENV_FORBIDDEN]
    return {"packages": len(packages), "forbidden": unwanted, "venv": venv}


def measure(image: containers.Image, base: str, target: dict, wrk: str, starts: list[dict]) -> dict:
    return {
        "size_mb": image.size_bytes() / 1e6,
        "added_mb": image.added_bytes(base) / 1e6,
        "from_run_s": statistics.median(s["from_run_s"] for s in starts),
        "server_s": statistics.median(s["server_s"] for s in starts),
        "starts": starts,
        **memory_under_load(image, **target, wrk=wrk),
        **contents(image),
    }


def run(wrk: str) -> dict:
    base = containers.ensure_base_image()
    print("image: building the image as it was and as it is", flush=True)
    images = {
        "before": containers.build_image(APP_DIR, "localhost/paasport-app:before", dockerfile=BEFORE),
        "now": containers.build_image(APP_DIR, "localhost/paasport-app:bench"),
    }
    top = Path(tempfile.mkdtemp(prefix="paasport-image-bench-"))
    try:
        with containers.PostgresServer(top / "data") as server:
            # the Service's name and port lead to this server (Cluster: DATABASE_URL and PGPORT where it listens)
            cluster = containers.Cluster(k8s_plan(), server)
            admin = server.admin_url(cluster.database)
            create_actor_table(admin, [(f"ACTOR{n}", f"NUMBER{n}") for n in range(1, 201)])
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'ALTER TABLE actor OWNER TO "{cluster.user}"')
            target = {"cluster": cluster, "web": cluster.manifest(containers.DEPLOYMENT, "web")}
            # starts alternated, so that a noisy moment on a shared machine hits both images alike
            starts: dict[str, list[dict]] = {name: [] for name in images}
            for round_ in range(1, RUNS + 1):
                print(f"image: start {round_} of {RUNS}: {', '.join(images)}", flush=True)
                for name, image in images.items():
                    starts[name].append(start_once(image, **target))
            results = {}
            for name, image in images.items():
                print(f"image: {name}: memory idle and under {LOAD_SECONDS} s of load", flush=True)
                results[name] = measure(image, base, target, wrk, starts[name])
    finally:
        shutil.rmtree(top, ignore_errors=True)
    versions = {tool: subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
                for tool in ("buildah", "podman", "runc")}
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": machine(), "tools": versions,
            "images": results}


def number(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def per_worker(processes: list[dict]) -> str:
    """The main process and each worker's PSS, e.g. "31 + 2 x 45"."""
    if not processes:
        return "n/a"
    main, *workers = processes
    figures = [f"{main['pss_mb']:.0f}"] + [f"{w['pss_mb']:.0f}" for w in workers]
    return " + ".join(figures) + f" = {sum(p['pss_mb'] for p in processes):.0f}"


def report(results: dict) -> str:
    m, before, now = results["machine"], results["images"]["before"], results["images"]["now"]
    tools = ", ".join(line.splitlines()[0] for line in results["tools"].values())
    lines = [
        f"`make image` on {results['date']}: {m['cores']} cores ({m['cpu']}), {tools}; vfs storage, runc. Both images "
        "on the same local base (Debian trixie + python3); run as the k8s stack's web Deployment says; medians of "
        f"{RUNS} starts; memory is PSS in MB, the main process + each worker, idle and at the peak of "
        f"{LOAD_SECONDS} s of wrk at {CONCURRENCY} connections.",
        "",
        "| image | size MB | added above base MB | podman run to first 200 s | server start to first 200 s | "
        "memory idle | memory loaded | req/s | packages | of them unwanted |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |",
    ]
    for name, r in (("before", before), ("now", now)):
        lines.append(
            f"| {name} | {number(r['size_mb'])} | {number(r['added_mb'])} | {number(r['from_run_s'], 2)} | "
            f"{number(r['server_s'], 2)} | {per_worker(r['idle'])} | {per_worker(r['loaded'])} | {number(r['rps'])} | "
            f"{r['packages']} | {', '.join(r['forbidden']) or 'none'} |"
        )
    overhead = now["from_run_s"] - now["server_s"]
    lines += [
        "",
        f"now / before: size {now['size_mb'] / before['size_mb']:.2f}, added layers "
        f"{now['added_mb'] / before['added_mb']:.2f}, server start {now['server_s'] / before['server_s']:.2f}. "
        f"The runtime's own share of a start (podman run to the server's first instruction): {overhead:.2f} s.",
        "",
        "| goal | measured | target | |",
        "| --- | ---: | ---: | --- |",
        f"| added layers, MB | {number(now['added_mb'])} | <= {GOAL_ADDED_MB} | "
        f"{'met' if now['added_mb'] <= GOAL_ADDED_MB else 'MISSED'} |",
        f"| server start to first 200 on /readyz, s | {number(now['server_s'], 2)} | <= {GOAL_SERVER_START_S} | "
        f"{'met' if now['server_s'] <= GOAL_SERVER_START_S else 'MISSED'} |",
        f"| unwanted packages (compiler, curl, ssh, pip, perl) | {len(now['forbidden'])} | 0 | "
        f"{'met' if not now['forbidden'] else 'MISSED'} |",
    ]
    return "\n".join(lines)


def main() -> int:
    wrk = shutil.which("wrk")
    if wrk is None:
        print(f"image: {WRK_INSTALL}", file=sys.stderr)
        return 2
    if containers.missing_tools():
        print(f"image: needs {', '.join(containers.missing_tools())}: sudo {containers.INSTALL}", file=sys.stderr)
        return 2
    started = time.monotonic()
    results = run(wrk)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    print(report(results))
    print(f"\nimage: {time.monotonic() - started:.0f} s; results in {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
