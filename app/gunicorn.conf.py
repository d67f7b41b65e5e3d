"""gunicorn settings for every environment: the container, Heroku dynos and `make local`.

All values come from the environment through `actors.config`, so a bad value stops start-up
with one clear line instead of a traceback.
"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Metrics from all workers are merged through files in this directory (see actors/metrics.py).
# prometheus_client reads the variable when first imported, so it is set before importing the app.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="actors-metrics-")

from gunicorn.workers.gthread import ThreadWorker  # noqa: E402

from actors import config as app_config  # noqa: E402 - needs the path above
from actors.logs import logging_config  # noqa: E402

try:
    settings = app_config.from_environ()
except app_config.ConfigError as error:
    print(f"actors: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2) from None



class StopListeningThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, but at SIGTERM it closes its listening sockets at once, so new
    connections are refused (and retried elsewhere) while in-flight requests finish; the stock
    worker keeps them open, and the kernel queues connections nobody will serve."""

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        self.set_accept_enabled(False)
        for listener in self.sockets:
            listener.close()


bind = f"0.0.0.0:{settings.port}"
workers = settings.web_concurrency
worker_class = StopListeningThreadWorker
threads = settings.threads
# Heroku's router gives up after 30 s and both platforms send SIGKILL 30 s after SIGTERM:
# a stuck request is killed, and a graceful stop finishes, well inside those limits.
timeout = 25
graceful_timeout = 20
keepalive = 5
# The heartbeat file lives in memory, so the root filesystem can stay read-only.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - a tmpfs made for this
# gunicorn's control socket wants a writable home directory; nothing here uses it.
control_socket_disable = True
# The app logs each request itself, as JSON with its request id.
accesslog = None
logconfig_dict = logging_config(settings.log_level)
# Heroku and Emissary both sit in front of the app and set X-Forwarded-*.
forwarded_allow_ips = "*"
limit_request_line = 4094
limit_request_fields = 100


def on_starting(server):
    """Start from empty metrics: files of an earlier run would be counted again."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    """Drop a dead worker's live gauges; its counters stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
