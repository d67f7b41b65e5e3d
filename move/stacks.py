"""A stack as a move's source or target: its database, found the way the stack made it, and its app, stopped and
started the platform's own way.

The stack's secrets and outputs come from the Pulumi CLI (`pulumi config --json --show-secrets` and `pulumi stack
output --json --show-secrets`, run in the project directory; the config keys of this project print without their
`paasport:` namespace: pulumi/pulumi `pkg/cmd/pulumi/config/config.go`, prettyKeyForProject and configValueJSON).
- Heroku (`platform: heroku`): the add-on's `DATABASE_URL` from the app's config vars, through the Platform API
  with the stack's `heroku:apiKey` (else HEROKU_API_KEY, else `heroku login`'s, as the stack's own steps find it;
  HEROKU_API_URL points elsewhere than api.heroku.com). Stopping the app is Heroku's maintenance mode and every
  process type but web scaled to 0 (what `pg:copy`'s guide asks for); starting gives back what was recorded.
- Kubernetes (`platform: k8s`): the chart's Service through a `kubectl port-forward` that lives as long as the
  move, with the app user's credentials from the stack's outputs (`db_user`, `db_password`, `db_name`, `db_host`).
  Stopping the app scales the namespace's Deployments to 0 and suspends its CronJobs (a Deployment at 0 replicas is
  left alone by its HorizontalPodAutoscaler); starting gives back the recorded replicas.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from infra.heroku.release_api import HerokuApiError, api_request
from infra.paths import PROJECT_DIR
from infra.settings import ConfigError, stack_file_config
from move.db import Database, MoveError
from move.run import Side

PORT_FORWARD_WAIT_S = 30
_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> ")


def _cli(*args: str) -> Any:
    """A Pulumi CLI call's JSON answer."""
    if shutil.which("pulumi") is None:
        raise MoveError("a stack as source or target needs the Pulumi CLI (https://www.pulumi.com/docs/install/); "
                        "or give the database as a postgres:// URL")
    result = subprocess.run(["pulumi", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise MoveError(f"`pulumi {' '.join(args)}` failed: {lines[-1] if lines else result.returncode}")
    return json.loads(result.stdout or "{}")


def _config(stack: str) -> dict[str, Any]:
    """The stack's settings (secrets decrypted), the project's keys without their namespace."""
    values = {}
    for key, entry in _cli("config", "--stack", stack, "--json", "--show-secrets").items():
        values[key] = entry.get("objectValue", entry.get("value"))
    return values


def _outputs(stack: str) -> dict[str, Any]:
    outputs = _cli("stack", "output", "--stack", stack, "--json", "--show-secrets")
    if not outputs:
        raise MoveError(f"stack {stack} has no outputs: deploy it first (`pulumi up --stack {stack}`)")
    return outputs


@contextlib.contextmanager
def resolve(name: str, label: str) -> Iterator[Side]:
    """The stack `name` (a Pulumi.<name>.yaml of this project) as a side of the move, for as long as the block."""
    stack_file = PROJECT_DIR / f"Pulumi.{name}.yaml"
    if not re.fullmatch(r"[\w.-]+", name) or not stack_file.is_file():
        raise MoveError(f"{label} {name!r} is neither a postgres:// URL nor a stack: no {stack_file.name} in "
                        f"{PROJECT_DIR}")
    try:
        platform = stack_file_config(stack_file).get("paasport:platform")
    except ConfigError as error:  # one line naming the file, and the line and column of a YAML error
        raise MoveError(str(error)) from None
    if platform == "heroku":
        config = _config(name)
        app = HerokuApp(name, _outputs(name)["app_name"], config.get("heroku:apiKey"))
        yield Side(Database(label, app.database_url()), app)
    elif platform == "k8s":
        config, outputs = _config(name), _outputs(name)
        missing = [k for k in ("namespace", "db_host", "db_name", "db_user", "db_password") if k not in outputs]
        if missing:
            raise MoveError(f"stack {name} has no database outputs ({', '.join(missing)}): the app has no "
                            "heroku-postgresql add-on, or the stack predates `make move`: run `pulumi up --stack "
                            f"{name}` first")
        with Kubectl.for_stack(config, outputs["namespace"]) as kubectl:
            service = outputs["db_host"].split(".")[0]
            app = KubernetesApp(name, kubectl, config.get("hostname", ""), service)
            port = kubectl.port_forward(f"service/{service}", 5432)
            query = urlencode({"sslmode": "require"})
            url = (f"postgresql://{outputs['db_user']}:{outputs['db_password']}@127.0.0.1:{port}/"
                   f"{outputs['db_name']}?{query}")
            yield Side(Database(label, url), app)
    else:
        raise MoveError(f"{label} {name}: stack {name} is platform {platform!r}, which runs no app database: give a "
                        "k8s or heroku stack, or a postgres:// URL")


# ------------------------------------------------------------------------------------------------------ Heroku

class HerokuApp:
    """A Heroku app through the Platform API."""

    def __init__(self, stack: str, app: str, api_key: str | None) -> None:
        self.stack, self.app = stack, app
        self.props = {"configured_api_key": api_key, "api_url": os.environ.get("HEROKU_API_URL")}
        self.description = f"Heroku app {app} (stack {stack})"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            return api_request(self.props, method, f"/apps/{self.app}{path}", body=body)
        except HerokuApiError as error:
            raise MoveError(f"stack {self.stack}: {error}") from None

    def database_url(self) -> str:
        url = (self._call("GET", "/config-vars") or {}).get("DATABASE_URL")
        if not url:
            raise MoveError(f"stack {self.stack}: Heroku app {self.app} has no DATABASE_URL: it has no "
                            "heroku-postgresql add-on")
        # Heroku Postgres takes TLS only ("Heroku Postgres" Dev Center: connecting from outside Heroku)
        return url if "sslmode=" in (urlsplit(url).query or "") else url + ("&" if "?" in url else "?") + \
            "sslmode=require"

    def stop(self) -> dict[str, Any]:
        """Maintenance mode on, every process type but web at 0; returns what they were."""
        before = {"maintenance": bool((self._call("GET", "") or {}).get("maintenance")),
                  "formation": {f["type"]: f["quantity"] for f in self._call("GET", "/formation") or []}}
        self._call("PATCH", "", {"maintenance": True})
        stopped = [{"type": t, "quantity": 0} for t, q in before["formation"].items() if t != "web" and q]
        if stopped:
            self._call("PATCH", "/formation", {"updates": stopped})
        return before

    def start(self, before: dict[str, Any] | None, *, serve: bool = True) -> None:
        """The process types as `before` had them; maintenance off to serve, else as it was."""
        formation = (before or {}).get("formation", {})
        updates = [{"type": t, "quantity": q} for t, q in formation.items() if t != "web" and q]
        if updates:
            self._call("PATCH", "/formation", {"updates": updates})
        self._call("PATCH", "", {"maintenance": False if serve else bool((before or {}).get("maintenance"))})

    def empty_hint(self) -> str:
        return f"heroku pg:reset DATABASE_URL --app {self.app} --confirm {self.app}"

    def dns_step(self) -> str | None:
        custom = [d for d in self._call("GET", "/domains") or [] if d.get("kind") == "custom" and d.get("cname")]
        if not custom:
            return f"DNS: nothing to change for Heroku app {self.app} (it has no custom domain)"
        return "DNS: " + "; ".join(f"point {d['hostname']} (CNAME, or ALIAS at the apex) at {d['cname']}"
                                   for d in custom)


# ------------------------------------------------------------------------------------------------- Kubernetes

class Kubectl:
    """kubectl against the stack's cluster (its `kubeconfig` and `kube_context` settings) and namespace."""

    def __init__(self, base: list[str], namespace: str) -> None:
        self.base, self.namespace = base, namespace
        self._forwards: list[subprocess.Popen] = []

    @classmethod
    @contextlib.contextmanager
    def for_stack(cls, config: dict[str, Any], namespace: str) -> Iterator[Kubectl]:
        if shutil.which("kubectl") is None:
            raise MoveError("a k8s stack as source or target needs kubectl (https://kubernetes.io/docs/tasks/tools/) "
                            "with access to its cluster")
        base = ["kubectl"]
        with tempfile.TemporaryDirectory(prefix="paasport-move-kube-") as work:
            kubeconfig = config.get("kubeconfig") or ""
            if "\n" in kubeconfig:  # the contents, a secret: to a file only this user reads
                path = Path(work) / "config"
                path.write_text(kubeconfig)
                path.chmod(0o600)
                kubeconfig = str(path)
            if kubeconfig:
                base += ["--kubeconfig", kubeconfig]
            if config.get("kube_context"):
                base += ["--context", config["kube_context"]]
            kubectl = cls(base, namespace)
            try:
                yield kubectl
            finally:
                kubectl.close()

    def run(self, *args: str) -> str:
        result = subprocess.run([*self.base, "--namespace", self.namespace, *args], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            raise MoveError(f"kubectl {' '.join(args)} failed: {lines[-1] if lines else result.returncode}")
        return result.stdout

    def port_forward(self, resource: str, port: int) -> int:
        """Forward a free local port to `resource`'s `port` for as long as this kubectl lives; the local port."""
        process = subprocess.Popen([*self.base, "--namespace", self.namespace, "port-forward", resource, f":{port}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._forwards.append(process)
        deadline = time.monotonic() + PORT_FORWARD_WAIT_S
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if match := _FORWARDING.search(line):
                return int(match.group(1))
            if not line and process.poll() is not None:
                error = process.stderr.read().strip().splitlines()
                raise MoveError(f"kubectl port-forward {resource} failed: {error[-1] if error else 'it exited'}")
        raise MoveError(f"kubectl port-forward {resource} did not start within {PORT_FORWARD_WAIT_S} s")

    def close(self) -> None:
        for process in self._forwards:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)


class KubernetesApp:
    """The app's workloads in the stack's namespace."""

    def __init__(self, stack: str, kubectl: Kubectl, hostname: str, database: str) -> None:
        self.stack, self.kubectl, self.hostname, self.database = stack, kubectl, hostname, database
        self.description = f"the app in namespace {kubectl.namespace} (stack {stack})"

    def _items(self, kind: str) -> list[dict[str, Any]]:
        return json.loads(self.kubectl.run("get", kind, "--output", "json")).get("items", [])

    def stop(self) -> dict[str, Any]:
        """Deployments to 0 replicas, CronJobs suspended; returns what they were."""
        before = {"deployments": {d["metadata"]["name"]: d["spec"].get("replicas", 1)
                                  for d in self._items("deployments")},
                  "cronjobs": {c["metadata"]["name"]: bool(c["spec"].get("suspend"))
                               for c in self._items("cronjobs")}}
        for name, replicas in before["deployments"].items():
            if replicas:
                self.kubectl.run("scale", f"deployment/{name}", "--replicas=0")
        for name, suspended in before["cronjobs"].items():
            if not suspended:
                self.kubectl.run("patch", f"cronjob/{name}", "--type=merge", "--patch", '{"spec":{"suspend":true}}')
        return before

    def start(self, before: dict[str, Any] | None, *, serve: bool = True) -> None:
        del serve  # the replicas and schedules as they were
        for name, replicas in (before or {}).get("deployments", {}).items():
            if replicas:
                self.kubectl.run("scale", f"deployment/{name}", f"--replicas={replicas}")
        for name, suspended in (before or {}).get("cronjobs", {}).items():
            if not suspended:
                self.kubectl.run("patch", f"cronjob/{name}", "--type=merge", "--patch", '{"spec":{"suspend":false}}')

    def empty_hint(self) -> str:
        # the chart's container has the app user's credentials in its environment (bitnami/postgresql 16.7.27,
        # templates/primary/statefulset.yaml: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DATABASE)
        return (f"kubectl --namespace {self.kubectl.namespace} exec statefulset/{self.database} -- sh -c "
                "'PGPASSWORD=\"$POSTGRES_PASSWORD\" psql -h 127.0.0.1 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DATABASE\" "
                "-c \"DROP SCHEMA public CASCADE; CREATE SCHEMA public\"'")

    def dns_step(self) -> str | None:
        services = json.loads(subprocess.run(
            [*self.kubectl.base, "get", "services", "--all-namespaces", "--selector",
             "app.kubernetes.io/name=emissary-ingress", "--output", "json"],
            capture_output=True, text=True, check=False).stdout or "{}").get("items", [])
        addresses = [i.get("ip") or i.get("hostname") for s in services
                     for i in s.get("status", {}).get("loadBalancer", {}).get("ingress", []) or []]
        where = addresses[0] if addresses else "the ingress's address (kubectl get services -n emissary)"
        return f"DNS: point {self.hostname or 'the app hostname'} at {where}"
