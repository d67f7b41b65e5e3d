"""Plain helpers and constants for the tests (fixtures live in conftest.py).

The app side comes first; it uses only the standard library, httpx and devenv.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import httpx

from devenv import APP_DIR, REPO
from devenv.servers import APP_SERVER, Server
from devenv.servers import serving as devenv_serving

__all__ = ["APP_DIR", "APP_SERVER", "REPO"]

SHARED = REPO.parent / "shared"
DVDRENTAL_TAR = SHARED / "data" / "dvdrental.tar"
SCHEMAS_DIR = SHARED / "schemas"


def require_shared_charts() -> None:
    """Skip (pytest) where ../shared/charts, the packaged charts the offline renders use, is absent."""
    import pytest

    if not (SHARED / "charts").is_dir():
        pytest.skip(f"needs the packaged charts at {SHARED / 'charts'} (absent outside the workplace)")


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment a container would give: this venv's python first on PATH, no database settings
    of the caller's, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(overrides)
    return env


def serving(command: list[str] | str, env: dict[str, str], *, shell: bool = False):
    """Serve `command` from app/ (as the image and Heroku do) on a free port until the block ends."""
    return devenv_serving(command, env, cwd=APP_DIR, shell=shell)


def started_workers(server: Server) -> int:
    """How many worker processes the server has started so far (granian logs each one)."""
    return sum(line.get("message", "").startswith("Started worker-") for line in server.json_lines())


def wait_for_workers(server: Server, count: int, timeout: float = 15) -> None:
    """The server answers once its first worker is up; wait until `count` have started."""
    deadline = time.monotonic() + timeout
    while started_workers(server) < count:
        assert time.monotonic() < deadline, f"fewer than {count} workers started:\n{server.output}"
        time.sleep(0.05)


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` with `labels` in Prometheus text `text` (0.0 when there are none)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- infra and offline: the Pulumi program under the offline plan's mocks (tests/infra, tests/offline) ------------

import functools  # noqa: E402
import io  # noqa: E402
import subprocess  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import yaml  # noqa: E402

from infra.settings import SECRET_KEYS  # noqa: E402
from offline import plan as offline_plan  # noqa: E402

CRDS = SHARED / "crds" / "cert-manager-v1.19.6"  # cert-manager's own CRDs, at the version the stack is checked with
CRD_SCHEMAS = SCHEMAS_DIR / "crds"  # JSON schemas of Emissary's custom resources (and cert-manager's)


# The keys the program takes only as secrets: an override of one is set as `pulumi config set --secret` sets it.
_SECRET_KEYS = {*(f"paasport:{key}" for key in SECRET_KEYS), *SECRET_KEYS, "heroku:apiKey"}


def _is_secret(override: str) -> bool:
    return override.partition("=")[0] in _SECRET_KEYS


def plan(stack: str, overrides: Iterable[str] = ()) -> offline_plan.Plan:
    """The stack's plan with `KEY=VALUE` overrides, the secret keys among them set as secrets, as a user must."""
    overrides = list(overrides)
    return offline_plan.run(stack, [o for o in overrides if not _is_secret(o)], [o for o in overrides if _is_secret(o)])


def plan_args(overrides: Iterable[str]) -> list[str]:
    """`offline.plan`'s options for `KEY=VALUE` overrides: --secret-config for the secret keys, else --config."""
    return [f"--{'secret-config' if _is_secret(o) else 'config'}={o}" for o in overrides]


@functools.cache
def k8s_plan(*overrides: str) -> offline_plan.Plan:
    """The k8s stack's plan with `KEY=VALUE` overrides (cached: the program is deterministic)."""
    return plan("k8s", overrides)


@functools.cache
def heroku_plan(*overrides: str) -> offline_plan.Plan:
    """The heroku stack's plan with `KEY=VALUE` overrides (cached: the program is deterministic)."""
    return plan("heroku", overrides)


@dataclass(frozen=True)
class HerokuSide:
    """What the heroku stack would ship for an app: its plan, and the heroku.yml of the archive its Build uploads."""

    plan: offline_plan.Plan
    heroku_yml: dict[str, Any]


def heroku_shipped(*overrides: str) -> HerokuSide:
    """Plan the heroku stack with `KEY=VALUE` overrides and read heroku.yml from the archive its Build would upload.

    The archive goes to the user's cache, one path per stack, which any other plan of the heroku stack (another
    test, another checkout on this machine) rewrites: this plan gets a cache of its own."""
    with tempfile.TemporaryDirectory(prefix="paasport-public-cache-") as cache:
        saved = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = cache
        try:
            plan = offline_plan.run("heroku", list(overrides))
            [build] = plan.find("heroku:build/build:Build")
            archive = Path(offline_plan.reveal(build.inputs)["source"]["path"])
            assert archive.is_relative_to(cache), f"the Build's archive {archive} is not in XDG_CACHE_HOME"
            with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
                member = tar.extractfile("heroku.yml")
                assert member is not None, f"{archive} has no heroku.yml: Heroku would not know how to build the app"
                manifest = yaml.safe_load(member.read())
        finally:
            if saved is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = saved
    return HerokuSide(plan, manifest)


def one(plan: offline_plan.Plan, type_: str, name: str | None = None) -> offline_plan.Registration:
    """The one registration of `type_` (named `name`); fails naming what was found instead."""
    found = plan.find(type_, name)
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def obj(reg: offline_plan.Registration) -> dict[str, Any]:
    """A registration's inputs as plain data, secrets redacted."""
    return offline_plan.reveal(reg.inputs)


def pod_spec(plan: offline_plan.Plan, type_: str) -> dict[str, Any]:
    """The pod spec of the one workload of `type_` (a Deployment or Job)."""
    return obj(one(plan, type_))["spec"]["template"]["spec"]


def offline_cli(module: str, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    """`python -m offline.<module> ARGS` from the project root, as `make plan` and `make parity` run it."""
    return subprocess.run([sys.executable, "-m", f"offline.{module}", *args], cwd=REPO, capture_output=True,
                           text=True, timeout=300, check=check)


def custom_resource_schema(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The schema `doc` (a custom resource) must meet: cert-manager's from its v1.19.6 CRD (openAPIV3Schema),
    Emissary's from ../shared/schemas; None when the folder holding it is absent (outside the workplace)."""
    group, version = doc["apiVersion"].split("/")
    if group == "cert-manager.io":
        if not CRDS.is_dir():
            return None
        crd = yaml.safe_load((CRDS / f"cert-manager.io_{doc['kind'].lower()}s.yaml").read_text())
        (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
        return served["schema"]["openAPIV3Schema"]
    path = CRD_SCHEMAS / group / f"{doc['kind'].lower()}_{version}.json"
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def validate_custom_resource(doc: dict[str, Any]) -> None:
    """Raise jsonschema's ValidationError when `doc` breaks its CRD's schema; skip the test when it is absent."""
    import jsonschema
    import pytest

    schema = custom_resource_schema(doc)
    if schema is None:
        pytest.skip(f"needs the CRD schemas of {doc['apiVersion']} in {CRDS.parent.parent} (absent outside the "
                    "workplace)")
    jsonschema.validate(doc, _strict(schema), cls=jsonschema.Draft4Validator)


def _strict(schema: Any) -> Any:
    """`schema` with unknown fields refused, as `kubectl apply --validate=strict` refuses them: every object that
    lists its properties and does not preserve unknown fields gets `additionalProperties: false`."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {k: _strict(v) for k, v in schema.items()}
    if "properties" in strict and "additionalProperties" not in strict and not strict.get(
            "x-kubernetes-preserve-unknown-fields"):
        strict["additionalProperties"] = False
    return strict


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def answers(url: str, timeout: float = 30) -> bool:
    """Whether GET `url` answers 200 within `timeout` seconds (connection refusals are retried)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            time.sleep(0.1)
    return False
