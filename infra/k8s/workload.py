"""The app's hardened pod template, shared by the web Deployment and the release Job so both run alike."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

APP_UID = 10001  # the UID and GID of the stack's own containers, and of an app's without a usable USER
# Linkerd's proxy: meshed clients reach a meshed pod on the proxy's inbound port (transport-header mode, Linkerd's
# default since 2025, and always for opaque ports such as 5432); Prometheus and the kubelet reach its admin port.
# Source: Linkerd docs, "Network policies" (linkerd.io/2/reference/network-policies) and "Ports" (proxy-configuration).
LINKERD_INBOUND_PORT = 4143
LINKERD_ADMIN_PORT = 4191
# The PGSSLMODE of the stack's clients: libpq's prefer encrypts without verifying the self-signed certificate
# (infra/k8s/postgres.py); node-postgres reads it otherwise (infra/node_postgres.py).
SSLMODE = "prefer"


@dataclass(frozen=True)
class DatabaseEnv:
    """Where the app finds PostgreSQL: libpq settings, the password (and DATABASE_URL) from Kubernetes Secrets."""

    host: pulumi.Input[str]
    database: str
    user: str
    secret_name: pulumi.Input[str]
    password_key: str = "password"  # noqa: S105 (a key name)
    port: int = 5432
    sslmode: str = SSLMODE
    url_secret_name: pulumi.Input[str] | None = None  # holds DATABASE_URL under `url_key`
    url_key: str = "url"

    def password_ref(self) -> dict:
        return {"secretKeyRef": {"name": self.secret_name, "key": self.password_key}}

    def url_ref(self) -> dict | None:
        return {"secretKeyRef": {"name": self.url_secret_name, "key": self.url_key}} if self.url_secret_name else None

    def part(self, part: str) -> dict:
        """One part of the database (infra.contract.DATABASE_PARTS) as an env entry's value or valueFrom."""
        if part == "password":
            return {"valueFrom": self.password_ref()}
        if part == "url":
            return {"valueFrom": self.url_ref()}
        return {"value": {"host": self.host, "port": str(self.port), "name": self.database, "user": self.user}[part]}


def labels(app: str, component: str) -> dict[str, str]:
    """Recommended labels; `name` + `component` select a workload's pods."""
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": app,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector(app: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component}


def ports(*numbers: int, meshed: bool) -> list[dict]:
    """NetworkPolicy ports for a server on `numbers`; a meshed server also takes traffic on the Linkerd proxy's."""
    mesh = (LINKERD_INBOUND_PORT, LINKERD_ADMIN_PORT) if meshed else ()
    return [{"protocol": "TCP", "port": n} for n in (*numbers, *mesh)]


def env(db: DatabaseEnv | None, extra: dict[str, str], *, first: list[dict] | None = None,
        secrets: list[dict] | None = None) -> list[dict]:
    """Container env: `first` (entries later ones refer to), libpq settings, `extra`, then what comes from Secrets:
    the password (by secretKeyRef, never a literal), DATABASE_URL, and `secrets`."""
    libpq = {"PGHOST": db.host, "PGPORT": str(db.port), "PGDATABASE": db.database, "PGUSER": db.user,
             "PGSSLMODE": db.sslmode} if db else {}
    refs = [{"name": "PGPASSWORD", "valueFrom": db.password_ref()}] if db else []
    if db and db.url_secret_name:
        refs.append({"name": "DATABASE_URL", "valueFrom": db.url_ref()})
    return [*(first or []), *({"name": k, "value": v} for k, v in {**libpq, **extra}.items()), *refs,
            *(secrets or [])]


def container(
    name: str,
    image: pulumi.Input[str],
    env_list: list[dict],
    *,
    command: list[str] | None = None,
    requests: dict[str, str] | None = None,
    limits: dict[str, str] | None = None,
    mounts: list[dict] | None = None,
    read_only_root: bool = True,
    tmp: bool = True,
    shm: bool = True,
    user: tuple[int, int | None] = (APP_UID, APP_UID),
    **fields,
) -> dict:
    """A container that cannot escalate, has no capabilities, and writes only to /tmp and /dev/shm (unless not
    `tmp`, `shm`) and `mounts` (and its root filesystem only when the app's contract says `read_only_root: false`);
    as `user`, (UID, GID), a GID of None leaving the group to the image (infra/k8s/process.py)."""
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "Always",
        **({"command": command} if command else {}),
        "env": env_list,
        "resources": {"requests": requests or {"cpu": "100m", "memory": "256Mi"},
                      "limits": limits or {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {
            "runAsNonRoot": True,
            **_ids(user),
            "readOnlyRootFilesystem": read_only_root,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [*([{"name": "tmp", "mountPath": "/tmp"}] if tmp else []),  # noqa: S108
                         *([{"name": "shm", "mountPath": "/dev/shm"}] if shm else []),  # noqa: S108
                         *(mounts or [])],
        **fields,
    }


def _ids(user: tuple[int, int | None]) -> dict[str, int]:
    uid, gid = user
    return {"runAsUser": uid, **({"runAsGroup": gid} if gid is not None else {})}


def pod_spec(containers: list[dict], *, pull_secret: pulumi.Input[str] | None = None,
             volumes: list[dict] | None = None, tmp: bool = True, user: tuple[int, int | None] = (APP_UID, APP_UID),
             **fields) -> dict:
    """A pod without a service-account token, as `user` (UID, GID; its volumes' group the GID), under the runtime's
    seccomp profile; its /tmp volume unless not `tmp`."""
    return {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            **_ids(user),
            **({"fsGroup": user[1]} if user[1] is not None else {}),
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        "volumes": [
            *([{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}] if tmp else []),
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            *(volumes or []),
        ],
        **({"imagePullSecrets": [{"name": pull_secret}]} if pull_secret is not None else {}),
        **fields,
    }
