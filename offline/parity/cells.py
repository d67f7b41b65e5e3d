"""What a parity cell holds, and the plan readers every platform's detectors share."""

from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import contract
from offline import plan as offline_plan
from offline import types as t

Plan = offline_plan.Plan
Registration = offline_plan.Registration
APP_DIR = offline_plan.PROJECT_DIR / "app"


@dataclass(frozen=True)
class Cell:
    """A capability the stack provides: how, through which resources, and which settings control it."""

    what: str
    resources: tuple[str, ...]
    settings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gap:
    """Why a platform (as this stack uses it) lacks a capability, and what to do instead."""

    reason: str
    workaround: str


def label(reg: Registration) -> str:
    """`Kind name` of a registration, as the table names it."""
    if reg.type in t.CHARTS:
        return f"Helm {'release' if reg.type.endswith('Release') else 'chart'} {reg.name}"
    return f"{reg.type.rsplit(':', 1)[-1]} {reg.name}"


def all_of(plan: Plan, *types: str) -> list[Registration]:
    return [r for r in plan.resources if r.type in types]


def first(plan: Plan, *types: str) -> Registration | None:
    found = all_of(plan, *types)
    return found[0] if found else None


def inputs(reg: Registration) -> dict[str, Any]:
    return offline_plan.reveal(reg.inputs)


@dataclass(frozen=True)
class Shutdown:
    """How the app's web server stops at SIGTERM: it stops accepting and finishes requests within `seconds`."""

    server: str  # gunicorn, granian
    seconds: int
    source: str  # the file that sets it, from the project root


def app_dir(plan: Plan) -> Path:
    """The app the plan deployed (`paasport:app_dir`, from the project directory when relative)."""
    return (offline_plan.PROJECT_DIR / plan.config.get("paasport:app_dir", "app")).resolve()


def image_command(directory: Path | None = None) -> list[str]:
    """The app image's start command: the app's Dockerfile's last CMD."""
    return contract.image_command(directory or APP_DIR)


def heroku_web_command(manifest: dict, directory: Path | None = None) -> list[str]:
    """The web process Heroku runs: heroku.yml's `run.web` (`manifest`), else the image's CMD."""
    web = (manifest.get("run") or {}).get("web")
    return shlex.split(contract.procfile_command(web)) if isinstance(web, str) else image_command(directory)


def shutdown(command: list[str], directory: Path | None = None) -> Shutdown | None:
    """The graceful-shutdown timeout of the server `command` starts, read (never imported) from the file that
    sets it: gunicorn's `graceful_timeout` in its --config file, or `GRACEFUL_TIMEOUT_S` of `python -m actors.serve`
    (granian). None for a server it does not know, or a file without the setting."""
    app = directory or APP_DIR
    if command[:2] == ["/bin/sh", "-c"] and len(command) == 3:  # a shell command: its words
        try:
            command = shlex.split(command[2].removeprefix("exec "))
        except ValueError:
            return None
    if any(Path(word).name == "gunicorn" for word in command[:3]):
        conf = command[command.index("--config") + 1] if "--config" in command[:-1] else "gunicorn.conf.py"
        seconds = _literal(app / conf, "graceful_timeout")
        return Shutdown("gunicorn", seconds, f"app/{conf}") if seconds is not None else None
    if "actors.serve" in command:
        seconds = _literal(app / "actors" / "serve.py", "GRACEFUL_TIMEOUT_S")
        return Shutdown("granian", seconds, "app/actors/serve.py") if seconds is not None else None
    return None


def _literal(path: Path, name: str) -> int | None:
    """A module-level `name = <int literal>` of `path`."""
    if not path.is_file():
        return None
    for node in ast.parse(path.read_text()).body:
        if (isinstance(node, ast.Assign) and any(getattr(target, "id", None) == name for target in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, int)):
            return node.value.value
    return None
