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
- A dyno's filesystem: the image's, writable, thrown away at restart (devcenter.heroku.com/articles/dynos,
  "Ephemeral filesystem"). With the root filesystem read-only (the default), /tmp and each writable path the
  contract names is an emptyDir, which the kubelet mounts empty over the image's files there; so an init container
  of the same image, as hardened, first copies the image's files there into each volume (`image_files`). With
  `read_only_root: false` (the parity table and Checkov's CKV_K8S_22 then report it) nothing is mounted over them:
  the container's own writable layer is the dyno's filesystem.
- A config var change restarts every dyno on Heroku (devcenter.heroku.com/articles/config-vars), with the new
  values; Secrets change in place here (`kubernetes:enableSecretMutable`, Pulumi.yaml), so the pod templates carry
  a keyed digest of every Secret the app's containers read (`SecretDigest`), and a new value rolls them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.contract import AppSpec, Process, argv, process_argv
from infra.heroku.plans import DYNO_SIZES
from infra.k8s import workload
from infra.k8s.process import run_as

POD_NAME_VAR = "PAASPORT_POD_NAME"
DIGEST_ANNOTATION = "paasport/secrets-digest"
IMAGE_FILES = "image-files"  # the init container that copies the image's files into the writable volumes
STAGING = "/paasport-image-files"  # where it mounts them, apart from the image's own paths
# Bases whose images have no shell or cp (FROM scratch; distroless and Chainguard images but their debug/dev
# variants), so nothing can copy their files: the copy is left out, and a preview warning says what is hidden.
_NO_SHELL = re.compile(r"^(scratch|(gcr\.io/distroless/(?!.*debug)|cgr\.dev/chainguard/(?!.*-dev)).*)$")


def resources(size: str) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """Requests and limits of a Heroku dyno size; (None, None) for the stack's defaults."""
    if not size:
        return None, None
    memory = DYNO_SIZES[size].memory_mb
    return ({"cpu": f"{100 * max(1, memory // 512)}m", "memory": f"{memory // 2}Mi"},
            {"cpu": str(max(1, memory // 2560)), "memory": f"{memory}Mi"})


def volume_name(path: str) -> str:
    return "w" + path.strip("/").replace("/", "-").replace("_", "-").replace(".", "-").lower()[:60]


def image_base(directory: Path) -> str:
    """The base image of the Dockerfile's last stage, through `FROM <stage>` aliases; "" when an ARG picks it."""
    dockerfile = directory / "Dockerfile"
    if not dockerfile.is_file():
        return ""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8", errors="replace"))
    stages: dict[str, str] = {}
    base = ""
    for line in text.splitlines():
        words = [w for w in line.split() if not w.startswith("--")]
        if len(words) < 2 or words[0].upper() != "FROM":
            continue
        base = stages.get(words[1].lower(), words[1])
        if len(words) >= 4 and words[2].upper() == "AS":
            stages[words[3].lower()] = base
    return "" if "$" in base else base


def shell_less_base(directory: Path) -> str:
    """The Dockerfile's base when it is known to have no shell or cp to copy files with, else ""."""
    base = image_base(directory)
    return base if _NO_SHELL.match(base) else ""


def copy_script(volumes: list[tuple[str, str]]) -> str:
    """POSIX sh that copies the image's files under each (volume, path) into the volume, mounted at STAGING/volume.

    Entries one by one, so the volume's own directory keeps the kubelet's mode (writable by the app); `-p` keeps
    theirs. A file the app's user cannot read is left out with a line on stderr, as the app could not read it
    either; an image without cp stops the pod with a line that says so."""
    paths = ", ".join(path for _, path in volumes)
    return "\n".join([
        f'command -v cp >/dev/null 2>&1 || {{ echo "paasport: the image has no cp to copy its files under {paths} '
        "into the writable volumes of the pod. Fix: add cp (coreutils or busybox) to the image, or set app.json "
        'paasport.read_only_root to false." >&2; exit 1; }',
        'copy() { [ -d "$1" ] || return 0; cd "$1" || { echo "paasport: $1 is not in the pod: the user the app runs as '
        'cannot enter it" >&2; return 0; }; for f in * .[!.]* ..?*; do',
        '  if [ -e "$f" ] || [ -L "$f" ]; then cp -PpR "$f" "$2/" || echo "paasport: $1/$f is not in the pod: the '
        'user the app runs as cannot read it" >&2; fi',
        "done; }",
        *(f"copy {shlex.quote(path)} {STAGING}/{volume}" for volume, path in volumes),
        "",
    ])


class AppSecrets(pulumi.ComponentResource):
    """One Secret, `<app>-env`, with the stack's secret config vars and the generated secrets."""

    def __init__(self, name: str, *, app: str, namespace: pulumi.Input[str], values: pulumi.Input[dict[str, str]],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:app_env:AppSecrets", name, None, opts)
        self.secret = k8s.core.v1.Secret(
            f"{name}-env", metadata={"name": f"{app}-env", "namespace": namespace}, type="Opaque",
            string_data=values, opts=pulumi.ResourceOptions(parent=self),
        )
        self.name: pulumi.Output[str] = self.secret.metadata.name
        self.values = values
        self.register_outputs({"name": self.name})


class SecretDigest(pulumi.ComponentResource):
    """`value`: an HMAC-SHA256 of the contents of every Secret the app's containers read, keyed by a random key kept
    secret in the state, for their pod templates (DIGEST_ANNOTATION). A new value in any of them changes every
    template, which rolls the Deployments and runs the release again, as a config var change does on Heroku
    (a new release, which runs the release phase: devcenter.heroku.com/articles/release-phase). Keyed, so that
    whoever reads a pod template cannot test guesses of a secret against it."""

    def __init__(self, name: str, *, contents: list[pulumi.Input], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:app_env:SecretDigest", name, None, opts)
        key = random.RandomPassword(f"{name}-secrets-digest", length=32, special=False,
                                    opts=pulumi.ResourceOptions(parent=self))
        digest = pulumi.Output.all(key.result, *contents).apply(
            lambda parts: hmac.new(parts[0].encode(), json.dumps(parts[1:], sort_keys=True).encode(),
                                   hashlib.sha256).hexdigest()[:32])
        self.value: pulumi.Output[str] = pulumi.Output.unsecret(digest)
        self.register_outputs({"value": self.value})


@dataclass(frozen=True)
class AppRuntime:
    """The app's contract and the stack's values, turned into containers and volumes of any of its processes."""

    app: str  # the app's name (`app_name`), which its objects in the cluster carry
    spec: AppSpec
    db: workload.DatabaseEnv | None
    plain: dict[str, str]  # app.json's values, then the stack's config vars and platform variables over them
    secret_name: pulumi.Input[str] | None = None
    secret_keys: tuple[str, ...] = ()
    digest: pulumi.Input[str] | None = None  # SecretDigest.value

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
                  dyno: str = "release", limits: dict[str, str] | None = None, **fields) -> dict:
        """The hardened container of `process` (None: a one-off process, whose DYNO type is `dyno`), running
        `command` (None: the image's CMD).

        The command goes in `args`, which replaces the image's CMD and keeps its ENTRYPOINT, as `docker run image
        command` does, which is how Dokku runs a Procfile command of a Dockerfile app."""
        requests, sized = resources(process.size if process else "")
        if command:
            # Web and workers are stopped by SIGTERM to PID 1; one-off processes run to their end.
            fields["args"] = process_argv(command) if process else argv(command)
        return workload.container(
            name, image, self.env(process.name if process else dyno),
            requests=requests, limits=sized or limits,
            mounts=[{"name": v, "mountPath": p} for v, p in self.writable() if v != "tmp"],
            read_only_root=self.spec.read_only_root, tmp=self.spec.read_only_root, user=run_as(self.spec).ids,
            **fields)

    def writable(self) -> list[tuple[str, str]]:
        """(volume, path) of each writable volume the containers mount over the image's files: /tmp and the
        contract's writable paths; none with a writable root filesystem, which holds them itself."""
        if not self.spec.read_only_root:
            return []
        return [("tmp", "/tmp"), *((volume_name(p), p) for p in self.spec.writable_paths)]  # noqa: S108

    def pod(self, containers: list[dict], image: pulumi.Input[str], *, pull_secret: pulumi.Input[str] | None,
            **fields) -> dict:
        """The pod spec of any of the app's processes: `containers`, after the init container that puts the
        image's files into the writable volumes (none when the base image cannot copy them: `shell_less_base`)."""
        writable = self.writable()
        user = run_as(self.spec).ids
        init = [] if not writable or shell_less_base(self.spec.directory) else [workload.container(
            IMAGE_FILES, image, [], command=["/bin/sh", "-c", copy_script(writable)], tmp=False, shm=False,
            mounts=[{"name": v, "mountPath": f"{STAGING}/{v}"} for v, _ in writable], user=user)]
        return workload.pod_spec(containers, pull_secret=pull_secret, tmp=self.spec.read_only_root, user=user,
                                 volumes=[{"name": v, "emptyDir": {"sizeLimit": "1Gi"}} for v, _ in writable[1:]],
                                 **({"initContainers": init} if init else {}), **fields)

    def annotations(self) -> dict[str, pulumi.Input[str]]:
        """The pod template annotations that roll the app's pods when a Secret they read changes."""
        return {DIGEST_ANNOTATION: self.digest} if self.digest is not None else {}
