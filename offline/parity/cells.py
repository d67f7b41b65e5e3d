"""What a parity cell holds, and the plan readers every platform's detectors share.

A detector answers with a `Cell` (the platform gives the app the capability: how, through which resources), an
`Unused` (the platform has it and this app does not use it: why, and how the app would turn it on), a `Gap` of its
own (not available for this app, for a reason it derives), or None (the row's explanation for that platform)."""

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


@dataclass(frozen=True)
class Unused:
    """A capability the platform gives, which this app does not use (its contract says why), and how it would."""

    why: str
    how: str


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
    return (offline_plan.PROJECT_DIR / shown(plan)).resolve()


def shown(plan: Plan) -> str:
    """The app's directory as the stack names it (`paasport:app_dir`), for the cells' text."""
    return plan.config.get("paasport:app_dir", "app").rstrip("/") or "app"


def spec(plan: Plan) -> contract.AppSpec:
    """The contract of the app the plan deployed, read as the program read it (the plan ran, so it has none of
    the problems that stop a preview)."""
    found, problems = contract.read(app_dir(plan), shown(plan))
    if found is None:
        raise ValueError(f"the plan's app has contract problems: {problems}")
    return found


def image_command(directory: Path | None = None) -> list[str]:
    """The app image's start command: the app's Dockerfile's last CMD."""
    return contract.image_command(directory or APP_DIR)


def heroku_web_command(manifest: dict, directory: Path | None = None) -> list[str]:
    """The web process Heroku runs: heroku.yml's `run.web` (`manifest`), else the image's CMD."""
    web = (manifest.get("run") or {}).get("web")
    return shlex.split(contract.procfile_command(web)) if isinstance(web, str) else image_command(directory)


def shutdown(command: list[str], directory: Path | None = None, where: str = "app") -> Shutdown | None:
    """The graceful-shutdown timeout of the server `command` starts, read (never imported) from the file that
    sets it, named from `where` (the app's directory as the stack names it): gunicorn's `graceful_timeout` in its
    --config file, or `GRACEFUL_TIMEOUT_S` of `python -m actors.serve` (granian). None for a server it does not
    know, or a file without the setting."""
    app = directory or APP_DIR
    if command[:2] == ["/bin/sh", "-c"] and len(command) == 3:  # a shell command: its words
        try:
            command = shlex.split(command[2].removeprefix("exec "))
        except ValueError:
            return None
    if any(Path(word).name == "gunicorn" for word in command[:3]):
        conf = command[command.index("--config") + 1] if "--config" in command[:-1] else "gunicorn.conf.py"
        seconds = _literal(app / conf, "graceful_timeout")
        return Shutdown("gunicorn", seconds, f"{where}/{conf}") if seconds is not None else None
    if "actors.serve" in command:
        seconds = _literal(app / "actors" / "serve.py", "GRACEFUL_TIMEOUT_S")
        return Shutdown("granian", seconds, f"{where}/actors/serve.py") if seconds is not None else None
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


ADD_THE_ADDON = "add `heroku-postgresql` to app.json `addons`"


def unused_database(then: str) -> Unused:
    """A database capability of an app that has no database of the stack's."""
    return Unused("the app asks for no database (no `heroku-postgresql` add-on in an app.json)",
                  f"{ADD_THE_ADDON}; {then}")


def unused_release() -> Unused:
    return Unused("the app's Procfile has no `release:` line",
                  "add `release: <command>` to the Procfile (its migrations, say): it then runs once per deploy, "
                  "before the new processes start, and a failure stops the deploy")


def unused_move() -> Unused:
    return Unused("the app keeps no data in a database of the stack's (no `heroku-postgresql` add-on in an "
                  "app.json), so `make move` has nothing to copy: `pulumi up` a stack of the other platform and point "
                  "DNS at it",
                  f"{ADD_THE_ADDON}: `make move ARGS=\"--from <stack> --to <stack>\"` then copies its data; a "
                  "database of the app's own moves with `make move ARGS=\"--from postgres://... --to ...\"`")


def unused_metrics(also: str = "") -> Unused:
    return Unused(f"the app serves no metrics of its own (no `paasport.metrics_path` in an app.json){also}",
                  "serve Prometheus metrics on a path of the app's and set app.json `paasport.metrics_path`")


def stop_by_the_app(seconds: int) -> str:
    """What a platform's graceful stop asks of an app whose server's shutdown timeout paasport cannot read."""
    return (f"the app must stop accepting and finish its requests within {seconds} s of SIGTERM (paasport cannot "
            "read its server's shutdown timeout)")


def sslmode_uses_tls(mode: str) -> bool:
    """Whether a client with this PGSSLMODE connects with TLS to a server that offers it (libpq's modes; `no-verify`
    is node-postgres's: TLS without checking the certificate)."""
    return mode in ("prefer", "require", "verify-ca", "verify-full", "no-verify")
