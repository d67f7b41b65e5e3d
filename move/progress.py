"""What the move tells its user: one line per step, the preflight's block, and on a terminal a progress bar per
table (bytes, rate and time left, drawn by rich), else a line per table copied."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def counted(n: int, noun: str) -> str:
    """`n` and `noun`, plural unless `n` is 1: "1 table", "1,204 rows"."""
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def size(n: float) -> str:
    """Bytes as people read them: 1.2 GB, 340 MB."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n} TB"  # pragma: no cover


class Report:
    """Lines to `stream` (stdout: stderr carries only the one line of a refusal, `move: ...`); bars while tables
    copy when `stream` is a terminal."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self._lock = threading.Lock()
        self._console = Console(file=self.stream, highlight=False, soft_wrap=True)
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._total: TaskID | None = None

    def say(self, text: str) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.console.print(text, markup=False)
            else:
                print(text, file=self.stream, flush=True)

    def block(self, title: str, lines: list[str]) -> None:
        self.say("\n".join([title, *(f"  {line}" for line in lines)]))

    def start_tables(self, total_bytes: int) -> None:
        if not self.live:
            return
        self._progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), TimeRemainingColumn(), console=self._console,
                                  transient=False)
        self._progress.start()
        self._total = self._progress.add_task("all tables", total=max(total_bytes, 1))

    def table_started(self, name: str, total_bytes: int) -> None:
        if self._progress is not None:
            self._tasks[name] = self._progress.add_task(name, total=max(total_bytes, 1))

    def table_advance(self, name: str, n: int) -> None:
        if self._progress is not None and name in self._tasks:
            self._progress.advance(self._tasks[name], n)
            self._progress.advance(self._total, n)

    def table_done(self, name: str, rows: int) -> None:
        if self._progress is not None and name in self._tasks:
            task = self._tasks[name]
            self._progress.update(task, completed=self._progress.tasks[task].total,
                                  description=f"{name}: {rows:,} rows, verified")
        else:
            self.say(f"  {name}: {rows:,} rows copied and verified")

    def end_tables(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()
