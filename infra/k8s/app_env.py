"""What the app's containers get on k8s: Heroku's runtime contract, so an app written for Heroku runs unchanged.

- PORT (the contract's `paasport.port`) and DYNO as `<process type>.<pod name>`: Heroku's form (type, a dot, an
  instance) that apps read to tell production and their process type; the instance is the pod's name, because
  Deployment pods have no index, and a `web.1` on every pod would make each believe it is the first.
- DATABASE_URL from a Secret, with libpq's PG* beside it, and the app's own names for the parts
  (`paasport.database_env`).
- The app's variables: app.json's values, the stack's `config_vars` over them, and from a Secret the stack's
  `secret_config_vars` and the generated secrets (`generator: secret`).
- The container's size from app.json's `formation.<type>.size`, a Heroku dyno size (infra.heroku.plans): memory
  limit that dyno's memory, request half of it; CPU request 100m per 512 MB, limit 1 CPU per 2.5 GB (at least 1).
- X-Forwarded-Proto and X-Forwarded-For come from Emissary: Envoy with `use_remote_address` (Emissary's Module
  default, true) and no trusted hops appends the client to X-Forwarded-For and sets X-Forwarded-Proto to the
  scheme the client used (Envoy docs, "HTTP header manipulation": x-forwarded-for, x-forwarded-proto), as
  Heroku's router does (devcenter.heroku.com/articles/http-routing#heroku-headers).
- 30 s from SIGTERM to SIGKILL (terminationGracePeriodSeconds), Heroku's (devcenter.heroku.com/articles/dynos).
- Writable paths the contract names, each an emptyDir; the root filesystem stays read-only unless the contract
  says `read_only_root: false` (the parity table and Checkov's CKV_K8S_22 then report it).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import AppSpec, Process, argv, process_argv
from infra.heroku.plans import DYNO_SIZES
from infra.k8s import workload

POD_NAME_VAR = "PAASPORT_POD_NAME"


def resources(size: str) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """Requests and limits of a Heroku dyno size; (None, None) for the stack's defaults."""
    if not size:
        return None, None
    memory = DYNO_SIZES[size].memory_mb
    return ({"cpu": f"{100 * max(1, memory // 512)}m", "memory": f"{memory // 2}Mi"},
            {"cpu": str(max(1, memory // 2560)), "memory": f"{memory}Mi"})


def volume_name(path: str) -> str:
    return "w" + path.strip("/").replace("/", "-").replace("_", "-").replace(".", "-").lower()[:60]


class AppSecrets(pulumi.ComponentResource):
    """One Secret with the stack's secret config vars and the generated secrets; `keys` are its keys."""

    def __init__(self, name: str, *, namespace: pulumi.Input[str], values: pulumi.Input[dict[str, str]],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:app_env:AppSecrets", name, None, opts)
        self.secret = k8s.core.v1.Secret(
            f"{name}-env", metadata={"name": f"{name}-env", "namespace": namespace}, type="Opaque",
            string_data=values, opts=pulumi.ResourceOptions(parent=self),
        )
        self.name: pulumi.Output[str] = self.secret.metadata.name
        self.register_outputs({"name": self.name})


@dataclass(frozen=True)
class AppRuntime:
    """The app's contract and the stack's values, turned into containers and volumes of any of its processes."""

    spec: AppSpec
    db: workload.DatabaseEnv | None
    plain: dict[str, str]  # app.json's values, then the stack's config vars and platform variables over them
    secret_name: pulumi.Input[str] | None = None
    secret_keys: tuple[str, ...] = ()

    def env(self, process: str) -> list[dict]:
        first = [{"name": POD_NAME_VAR, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
        # The kubelet expands $(NAME) in values; `$$` keeps an app's own `$(` literal.
        plain = {"PORT": str(self.spec.port), "DYNO": f"{process}.$({POD_NAME_VAR})",
                 **{k: v.replace("$(", "$$(") for k, v in self.plain.items()}}
        mapped = [{"name": n, **self.db.part(p)} for n, p in self.spec.database_env.items()] if self.db else []
        secrets = [{"name": key, "valueFrom": {"secretKeyRef": {"name": self.secret_name, "key": key}}}
                   for key in self.secret_keys]
        return workload.env(self.db, plain, first=first, secrets=[*mapped, *secrets])

    def container(self, name: str, image: pulumi.Input[str], process: Process | None, *, command: str | None,
                  limits: dict[str, str] | None = None, **fields) -> dict:
        """The hardened container of `process` (None: the release), running `command` (None: the image's CMD).

        The command goes in `args`, which replaces the image's CMD and keeps its ENTRYPOINT, as `docker run image
        command` does, which is how Dokku runs a Procfile command of a Dockerfile app."""
        requests, sized = resources(process.size if process else "")
        if command:
            # Web and workers are stopped by SIGTERM to PID 1; a release Job runs to its end.
            fields["args"] = process_argv(command) if process else argv(command)
        return workload.container(
            name, image, self.env(process.name if process else "release"),
            requests=requests, limits=sized or limits,
            mounts=[{"name": volume_name(p), "mountPath": p} for p in self.spec.writable_paths],
            read_only_root=self.spec.read_only_root, **fields)

    def volumes(self) -> list[dict]:
        return [{"name": volume_name(p), "emptyDir": {"sizeLimit": "1Gi"}} for p in self.spec.writable_paths]

