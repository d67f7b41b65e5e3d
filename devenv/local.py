"""`make local`: the app on an embedded PostgreSQL, served as the image serves it (`python -m actors.serve`).

Like `heroku local`: the database persists under .local/ in the repo, the data is loaded on the
first run (the seed command is a no-op after that), and Ctrl-C stops the app and the database.
An external DATABASE_URL in the environment is used instead of the embedded server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from devenv import APP_DIR, REPO
from devenv.postgres import EmbeddedPostgres, PostgresNotFound, tools_env
from devenv.servers import APP_SERVER

DATADIR = REPO / ".local" / "pgdata"
DATABASE = "actors"
SHARED_ARCHIVE = REPO.parent / "shared" / "data" / "dvdrental.tar"


def app_environment(database_url: str) -> dict[str, str]:
    """This process's environment for the app on `database_url`: PORT 5000, 2 workers, the shared archive."""
    env = {**tools_env(), "DATABASE_URL": database_url}
    env.setdefault("PORT", "5000")
    env.setdefault("WEB_CONCURRENCY", "2")
    if "SEED_ARCHIVE" not in env and SHARED_ARCHIVE.is_file():
        env["SEED_ARCHIVE"] = str(SHARED_ARCHIVE)
    return env


def serve(env: dict[str, str]) -> int:
    """Load the data if needed, then run the server until it exits or we are told to stop."""
    seed = subprocess.run([sys.executable, "-m", "actors.seed"], cwd=APP_DIR, env=env, check=False)
    if seed.returncode != 0:
        return seed.returncode
    print(f"local: serving on http://localhost:{env['PORT']} (Ctrl-C stops the app and the database)", flush=True)
    # In a process group of its own, the server hears of Ctrl-C from this process alone, as one SIGTERM to its main
    # process, which is how Kubernetes and Heroku stop it. The terminal's SIGINT reaching its processes as well
    # would be a second, different signal at the same moment: granian's processes sleep in a wait that only a
    # signal to their main thread ends, and two at once may both be taken by another thread (actors.serve,
    # `worker_app`), which left `make local` waiting 20 s for a worker to be killed.
    server = subprocess.Popen(APP_SERVER, cwd=APP_DIR, env=env, process_group=0)

    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal closed

    def forward(_signum: int, _frame: object) -> None:
        for signum in stops:  # one SIGTERM, however often Ctrl-C is pressed while the app finishes its requests
            signal.signal(signum, signal.SIG_IGN)
        server.send_signal(signal.SIGTERM)

    for signum in stops:
        signal.signal(signum, forward)
    return server.wait()


def main() -> int:
    try:
        return run()
    except PostgresNotFound as error:
        print(f"local: {error}", file=sys.stderr)
        return 2


def run() -> int:
    if os.environ.get("DATABASE_URL"):
        print("local: using DATABASE_URL from the environment", flush=True)
        return serve(app_environment(os.environ["DATABASE_URL"]))
    server = EmbeddedPostgres(DATADIR)
    print(f"local: starting the embedded PostgreSQL in {DATADIR.relative_to(REPO)}", flush=True)
    server.start()
    try:
        return serve(app_environment(server.ensure_database(DATABASE)))
    finally:
        print("local: stopping the embedded PostgreSQL", flush=True)
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
