"""`python -m actors.serve`: the web server of every environment (the image, Heroku's web dyno, `make local`).

granian (https://github.com/emmett-framework/granian) serves the app over WSGI, HTTP/1.1, from
WEB_CONCURRENCY worker processes of WEB_THREADS request threads each, on 0.0.0.0:$PORT, as Heroku
defines those variables (https://devcenter.heroku.com/articles/dyno-startup-behavior#port-binding).
It measured best among the servers `make bench` puts side by side (docs/performance.md).

At SIGTERM (Kubernetes and Heroku both send it, then SIGKILL 30 s later) each worker stops accepting
connections, closes its idle keep-alive ones (a browser's, or those a proxy such as Linkerd or Emissary
pools) and finishes the requests in flight; a worker still busy GRACEFUL_TIMEOUT_S later is killed.
Ctrl-C in a terminal stops it the same way (`worker_app`). A worker that crashes is replaced. Nothing
is written outside /tmp (the metrics files), so the image runs with a read-only root filesystem.

A bad setting prints one line, `actors: configuration error: ...`, and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

from actors import config, logs

# inside Heroku's 30 s router limit and both platforms' 30 s between SIGTERM and SIGKILL
GRACEFUL_TIMEOUT_S = 20
# request line and headers together; more gets a 431 (gunicorn's limits were 4094 and 8190 bytes)
MAX_REQUEST_HEAD_BYTES = 8192
APP_FACTORY = "actors:create_app"


def metrics_directory() -> tuple[str, bool]:
    """PROMETHEUS_MULTIPROC_DIR emptied (files of an earlier run would be counted again), or a new one
    under the temporary directory; and whether it is ours to remove at exit."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not given:
        return tempfile.mkdtemp(prefix="actors-metrics-"), True
    Path(given).mkdir(parents=True, exist_ok=True)
    for stale in Path(given).glob("*.db"):
        stale.unlink()
    return given, False


def worker_app(target: str) -> object:
    """The WSGI app of `target` (MODULE:FACTORY), made in each worker process with SIGINT blocked there.

    granian calls it in the worker before it serves (its `serve(target_loader=...)`, granian/server/mp.py
    WorkerProcess.wrap_target), so every thread the worker starts afterwards inherits the blocked signal.

    At the stop signal granian already closes idle keep-alive connections and lets busy ones finish their response:
    each connection's task calls hyper's `graceful_shutdown()` (granian src/workers.rs, since "Disable connections
    keepalive on shutdown signal", #612), which closes an idle HTTP/1 connection at once (hyper
    src/proto/h1/conn.rs, disable_keep_alive). A signal to granian's main process alone, as Kubernetes sends it to
    PID 1, stops the workers in well under a second with such connections open. Ctrl-C, though, signals the whole
    process group: each worker gets SIGINT from the terminal and, a moment later, SIGTERM from granian's main
    process. Python runs signal handlers only in the main thread (docs.python.org/3/library/signal.html, "Signals
    and threads"), which a WSGI worker keeps asleep in `threading.Event.wait()` (granian/server/mp.py,
    `_spawn_wsgi_worker`), woken only by a signal delivered to that thread. A process-directed signal may be
    delivered to any of the worker's threads (Rust runtime, connection pool); with two different ones at once, in
    about half of the stops measured here both went to another thread and no handler ever ran: the worker served
    on until it was killed GRACEFUL_TIMEOUT_S later ("Killing worker-1 after it refused to gracefully stop"),
    whether connections were open or not. With SIGINT blocked, a worker gets only the SIGTERM that granian's main
    process sends it, as under Kubernetes, and stops at once."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    module, _, factory = target.partition(":")
    return getattr(importlib.import_module(module), factory)()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; 0 after a clean stop, 2 for a bad setting."""
    parser = argparse.ArgumentParser(prog="python -m actors.serve", description="Serve the app (settings: README).")
    parser.add_argument(
        "--app", default=APP_FACTORY, metavar="MODULE:FACTORY",
        help=f"the WSGI app factory to serve (default {APP_FACTORY}; the bench serves a hello world with it)",
    )
    args = parser.parse_args(argv)
    if not all(args.app.partition(":")[::2]):
        print(f"actors: configuration error: --app {args.app!r} is not MODULE:FACTORY: write it as {APP_FACTORY} "
              "does", file=sys.stderr)
        return 2
    try:
        settings = config.from_environ()
    except config.ConfigError as error:
        print(f"actors: configuration error: {error}", file=sys.stderr)
        return 2
    try:  # granian binds later, in Rust, where a failure is a long traceback
        socket.create_server(("0.0.0.0", settings.port)).close()  # noqa: S104 - the address the server binds
    except OSError as error:
        reason = os.strerror(error.errno or 0)
        print(f"actors: configuration error: PORT={settings.port} cannot be used ({reason}): set PORT to a free port",
              file=sys.stderr)
        return 2
    # prometheus_client reads the variable when the workers import it, after this
    try:
        directory, ours = metrics_directory()
    except OSError as error:
        print(f"actors: configuration error: PROMETHEUS_MULTIPROC_DIR cannot be used ({os.strerror(error.errno or 0)}):"
              " set it to a writable directory, or unset it", file=sys.stderr)
        return 2
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory

    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    server = Granian(
        args.app,
        interface=Interfaces.WSGI,
        address="0.0.0.0",  # noqa: S104 - behind the platform's router, which is the only way in
        port=settings.port,
        workers=settings.web_concurrency,
        blocking_threads=settings.threads,
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=HTTP1Settings(max_buffer_size=MAX_REQUEST_HEAD_BYTES),
        log_level=LogLevels(settings.log_level.lower()),
        log_dictconfig=logs.logging_config(settings.log_level),
        workers_kill_timeout=GRACEFUL_TIMEOUT_S,
        respawn_failed_workers=True,
    )
    try:
        server.serve(target_loader=worker_app)  # granian calls worker_app(args.app) in each worker
    finally:
        if ours:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
