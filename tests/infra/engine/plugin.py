"""Run the program's dynamic providers as the engine does: the plugin's launcher, a separate process, gRPC.

The engine starts the `pulumi-python` provider plugin with the program directory (infra/) as working directory
(pulumi/pulumi `pkg/resource/plugin/plugin.go`, `cmd.Dir = pwd`), Pulumi.yaml's runtime options as
`PULUMI_RUNTIME_<OPTION>` variables and the project as `PULUMI_PROJECT` (`pkg/resource/plugin/provider_plugin.go`).
Its binary is a launcher that starts `python -u -m pulumi.dynamic` from the virtualenv Pulumi.yaml names; `launch`
here does what it does (see there), and that process prints its port and serves `ResourceProvider`
(`sdk/python/lib/pulumi/dynamic/__main__.py`). The engine then calls `Configure` with the stack's
whole config (`pkg/resource/deploy/target.go`, GetPackageConfig: dynamic providers get every key, namespaced),
and `Check`, `Diff`, `Create`, `Update`, `Read`, `Delete` with the resource's properties, `__provider` included;
`Update`, `Diff`, `Read` and `Delete` get the saved outputs as the old properties.

`Plugin` is that plugin, spoken to with Pulumi's own generated stubs; `PluginError` is a call it refused, with the
details the CLI would print.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from infra.paths import PROGRAM_DIR, PROJECT_DIR

PROJECT = "paasport"
# Pulumi.yaml's runtime options as the engine passes them.
RUNTIME_ENV = {"PULUMI_RUNTIME_TOOLCHAIN": "pip", "PULUMI_RUNTIME_VIRTUALENV": ".venv", "PULUMI_PROJECT": PROJECT}


class PluginError(Exception):
    """A gRPC call the plugin failed; `details` is what the CLI shows as the error."""

    def __init__(self, method: str, details: str) -> None:
        super().__init__(f"{method}: {details}")
        self.details = details


class PluginExited(Exception):
    """The launcher or the plugin stopped before it served."""


class LauncherRefused(Exception):
    """The launcher found no Python where the virtualenv option points; the message names the path."""


def launch_command(args: list[str], environ: dict[str, str], cwd: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment with which the launcher starts the plugin for `args`, given the engine's
    environment and the launcher's working directory (`cwd`, infra/).

    Mirrors Pulumi's own launcher, the shell script `pulumi-resource-pulumi-python` (pulumi/pulumi
    `sdk/python/dist/`, unchanged since #18126): the virtualenv is `PULUMI_RUNTIME_VIRTUALENV`, or `.venv` for the
    `uv` toolchain when that is unset; one trailing slash is dropped and a relative path is taken from the working
    directory, not from the project root as the language host takes it. Without `<virtualenv>/bin/python` it
    refuses (exit 1, naming the path and whether the directory exists). Otherwise it puts `<virtualenv>/bin` first
    on PATH, drops PYTHONHOME and runs that Python with `-u -m pulumi.dynamic`. With no virtualenv it runs
    `$PULUMI_PYTHON_CMD` (default `python3`) from PATH instead. The `poetry` toolchain without a virtualenv, where
    the script asks `poetry env info --path`, is not reproduced: Pulumi.yaml uses pip."""
    module = ["-u", "-m", "pulumi.dynamic", *args]
    toolchain = environ.get("PULUMI_RUNTIME_TOOLCHAIN", "")
    venv = environ.get("PULUMI_RUNTIME_VIRTUALENV") or (".venv" if toolchain == "uv" else "")
    if not venv:
        if toolchain == "poetry":
            raise LauncherRefused("the poetry toolchain without a virtualenv option is not reproduced here")
        return [environ.get("PULUMI_PYTHON_CMD") or "python3", *module], dict(environ)
    venv = venv.removesuffix("/")
    if not venv.startswith("/"):
        venv = f"{cwd}/{venv}"
    python = f"{venv}/bin/python"
    if not os.path.isfile(python):
        found = "is a directory without it" if os.path.isdir(venv) else "does not exist"
        raise LauncherRefused(f"no {python}: the virtualenv option of Pulumi.yaml, taken from the plugin's working "
                              f"directory {cwd}, names {venv}, which {found}. Make it a virtualenv with "
                              f"{cwd}/requirements.txt installed.")
    env = {k: v for k, v in environ.items() if k != "PYTHONHOME"}
    env["PATH"] = f"{venv}/bin:{environ['PATH']}" if environ.get("PATH") else f"{venv}/bin"
    return [python, *module], env


def _working_directory() -> str:
    """The working directory as a shell's `$PWD` gives it: PWD when it names this directory, else the real path."""
    pwd = os.environ.get("PWD", "")
    try:
        if pwd.startswith("/") and os.path.samefile(pwd, os.curdir):
            return pwd
    except OSError:
        pass
    return os.getcwd()


def launch(args: list[str]) -> NoReturn:
    """The launcher's process: becomes the plugin (exec, as the engine's child), or exits 1 with the refusal."""
    try:
        argv, env = launch_command(args, dict(os.environ), _working_directory())
    except LauncherRefused as refusal:
        print(refusal, file=sys.stderr)
        sys.exit(1)
    os.execvpe(argv[0], argv, env)  # noqa: S606 - the plugin takes over this process, its argv built above


# How `running` starts `launch` as a process of its own: the test's Python, isolated (-I) from the working
# directory and the environment, importing this file from the checkout.
_LAUNCHER = (f"import sys; sys.path.insert(0, {str(PROJECT_DIR)!r}); "
             "from tests.infra.engine.plugin import launch; launch(sys.argv[1:])")


def _struct(props: dict[str, Any]) -> Any:
    return asyncio.run(rpc.serialize_properties(props, {}))


def _props(struct: Any) -> dict[str, Any]:
    return rpc.deserialize_properties(struct, True)


class Plugin:
    """One running plugin process; each method is the engine's call of that name."""

    def __init__(self, stub: provider_pb2_grpc.ResourceProviderStub) -> None:
        self.stub = stub

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=120)
        except grpc.RpcError as error:
            raise PluginError(method, error.details()) from None

    def info(self) -> str:
        return self._call("GetPluginInfo", empty_pb2.Empty()).version

    def configure(self, config: dict[str, str], secret_keys: tuple[str, ...] = ()) -> None:
        """The stack's config, `project:key` → value; secret keys arrive marked secret, as the engine marks them."""
        args = {k: rpc.wrap_rpc_secret(v) if k in secret_keys else v for k, v in config.items()}
        self._call("Configure", provider_pb2.ConfigureRequest(args=_struct(args), variables=config,
                                                              acceptSecrets=True))

    def check(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        response = self._call("Check", provider_pb2.CheckRequest(urn=urn, olds=_struct(olds), news=_struct(news)))
        assert not response.failures, response.failures
        return _props(response.inputs)

    def diff(self, urn: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> provider_pb2.DiffResponse:
        return self._call("Diff", provider_pb2.DiffRequest(urn=urn, id=id_, olds=_struct(olds), news=_struct(news)))

    def create(self, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._call("Create", provider_pb2.CreateRequest(urn=urn, properties=_struct(props)))
        return response.id, _props(response.properties)

    def update(self, urn: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        response = self._call("Update", provider_pb2.UpdateRequest(urn=urn, id=id_, olds=_struct(olds),
                                                                   news=_struct(news)))
        return _props(response.properties)

    def read(self, urn: str, id_: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._call("Read", provider_pb2.ReadRequest(urn=urn, id=id_, properties=_struct(props)))
        return response.id, _props(response.properties)

    def delete(self, urn: str, id_: str, props: dict[str, Any]) -> None:
        self._call("Delete", provider_pb2.DeleteRequest(urn=urn, id=id_, properties=_struct(props)))


@contextmanager
def running(home: Path, virtualenv: str = ".venv", env: dict[str, str] | None = None,
            cwd: Path = PROGRAM_DIR) -> Iterator[Plugin]:
    """The plugin as the engine starts it: the launcher (`launch`), in `cwd` (the program directory), with the
    runtime options in the environment (`virtualenv` as Pulumi.yaml would have it) and nothing else of this
    process's but PATH; `home` is its HOME (no ~/.netrc unless a test writes one)."""
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), **RUNTIME_ENV,
                   "PULUMI_RUNTIME_VIRTUALENV": virtualenv, **(env or {})}
    # Its own process group, stopped as a whole with whatever the plugin starts.
    process = subprocess.Popen([sys.executable, "-I", "-c", _LAUNCHER, "127.0.0.1:0"], cwd=cwd, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        port = _first_line(process, timeout=120)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            yield Plugin(provider_pb2_grpc.ResourceProviderStub(channel))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> int:
    """The port the plugin prints first; PluginExited with its stderr if it ends (or stays silent) instead."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout)
    line = process.stdout.readline() if ready else b""
    if not line.strip():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=30)
        raise PluginExited(f"the plugin exited ({code}) before serving: {process.stderr.read().decode().strip()}")
    return int(line)
