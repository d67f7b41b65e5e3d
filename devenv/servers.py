"""The app's server command, and a web server run as a child process on a free loopback port (tests, bench)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devenv.postgres import free_port

# How the image, both stacks and `make local` start the app (app/Dockerfile CMD, app/Procfile `web:`), run from app/.
APP_SERVER = [sys.executable, "-m", "actors.serve"]


class ServerDidNotStart(RuntimeError):
    """The server exited or never answered its readiness path; the message holds what it printed."""


class Server:
    """A process serving HTTP on 127.0.0.1, with everything it printed so far."""

    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    def wait_until_ready(self, path: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}{path}", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerDidNotStart(f"the server did not answer {path}; it printed:\n{self.output}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM to the whole process group, as a platform stops a container; SIGKILL after `timeout`."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(5)
        return self.process.returncode


@contextmanager
def serving(
    command: list[str] | str, env: dict[str, str], *, cwd: Path, shell: bool = False, ready_path: str = "/healthz"
) -> Iterator[Server]:
    """Run `command` with PORT set to a free port until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        command,
        shell=shell,
        cwd=cwd,
        env={**env, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    server = Server(process, port)
    try:
        server.wait_until_ready(ready_path)
        yield server
    finally:
        server.stop()
