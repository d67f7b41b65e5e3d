"""PostgreSQL from the Bitnami Helm chart, its generated credentials, and a NetworkPolicy that admits only the app."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.k8s import changes, workload
from infra.k8s.settings import K8sSettings

PORT = 5432
EXPORTER_PORT = 9187
# Keys of the Secret (names, not passwords): the app user's and the admin's, as the chart's auth.secretKeys.
PASSWORD_KEY = "password"  # noqa: S105
ADMIN_PASSWORD_KEY = "postgres-password"  # noqa: S105
URL_KEY = "url"
# Pods that connect to PostgreSQL (the backup's only while backups are on).
CLIENTS = ("web", "release", "backup")


def chart_values(name: str, settings: K8sSettings, secret_name: pulumi.Input[str]) -> dict:
    """The chart's values; every key exists in bitnami/charts `bitnami/postgresql/values.yaml` at 16.7.27."""
    pg = settings.postgres
    return {
        "fullnameOverride": f"{name}-postgresql",
        # The chart refuses images it does not ship by default (e.g. bitnamilegacy/*) unless told otherwise.
        "global": {"security": {"allowInsecureImages": True}},
        "image": {"registry": pg.image_registry, "repository": pg.image_repository, "tag": pg.image_tag},
        "auth": {
            "database": pg.database,
            "username": pg.user,
            "existingSecret": secret_name,
            "secretKeys": {"userPasswordKey": PASSWORD_KEY, "adminPasswordKey": ADMIN_PASSWORD_KEY},
        },
        "primary": {
            "persistence": {"enabled": True, "size": pg.storage_size,
                            **({"storageClass": pg.storage_class} if pg.storage_class else {})},
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            # The NetworkPolicy below replaces the chart's, which admits any pod by default.
            "networkPolicy": {"enabled": False},
            # Checkov reads these on the StatefulSet (metadata only: no pod restarts). Changing any of them on a
            # running database would restart it, or lock it out of its files.
            "annotations": {
                "checkov.io/skip1": "CKV_K8S_43=the image is pinned by postgres_image_tag, as the chart runs it",
                "checkov.io/skip2": "CKV_K8S_15=a pinned tag does not move, so IfNotPresent pulls the same image",
                "checkov.io/skip3": "CKV_K8S_40=the chart's UID 1001 owns the database files on the volume",
            },
        },
        "metrics": {"enabled": pg.metrics, "image": {
            "registry": pg.image_registry, "repository": f"{pg.image_repository.rsplit('/', 1)[0]}/postgres-exporter"}},
    }


class Database(pulumi.ComponentResource):
    """A single-primary PostgreSQL whose passwords are Pulumi secrets from birth, stored only in a Secret.

    With `protect`, Pulumi refuses to delete or replace the chart, its passwords and their Secret: a change that
    would (a new chart reference, database name or user) stops `pulumi up` until `paasport:protect` is false.
    """

    def __init__(self, name: str, *, namespace: pulumi.Input[str], settings: K8sSettings, protect: bool,
                 workers: tuple[str, ...] = (), opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=protect)
        fullname = f"{name}-postgresql"
        passwords = {
            key: pulumi.Output.secret(
                random.RandomPassword(f"{name}-{key}", length=32, special=False, opts=kept).result)
            for key in (PASSWORD_KEY, ADMIN_PASSWORD_KEY)
        }
        self.secret = k8s.core.v1.Secret(
            f"{name}-db", metadata={"name": f"{name}-db", "namespace": namespace}, type="Opaque",
            string_data=passwords, opts=kept,
        )
        self.chart = self._chart(fullname, namespace, settings, chart_values(name, settings, self.secret.metadata.name),
                                 pulumi.ResourceOptions(parent=self, depends_on=[self.secret], protect=protect))
        pod_labels = {"app.kubernetes.io/instance": fullname, "app.kubernetes.io/name": "postgresql"}
        meshed = settings.linkerd_inject
        clients = [*(c for c in CLIENTS if c != "backup" or settings.backup.enabled), *workers]
        ingress = [{"from": [{"podSelector": {"matchLabels": workload.selector(name, c)}} for c in clients],
                    "ports": workload.ports(PORT, meshed=meshed)}]
        if settings.postgres.metrics:
            ingress.append({"ports": workload.ports(EXPORTER_PORT, meshed=meshed)})
        k8s.networking.v1.NetworkPolicy(
            fullname,
            metadata={"name": fullname, "namespace": namespace},
            spec={"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Ingress"], "ingress": ingress},
            opts=child,
        )
        self.host: pulumi.Output[str] = pulumi.Output.concat(fullname, ".", namespace, ".svc.cluster.local")
        # Heroku's DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/NAME), in a Secret of its own: the chart's
        # Secret above stays as it was. The password is letters and digits (special=False): nothing to escape.
        pg = settings.postgres
        url = pulumi.Output.secret(pulumi.Output.concat(
            "postgres://", pg.user, ":", passwords[PASSWORD_KEY], "@", self.host, f":{PORT}/", pg.database))
        self.url_secret = k8s.core.v1.Secret(
            f"{name}-database-url", metadata={"name": f"{name}-database-url", "namespace": namespace},
            type="Opaque", string_data={URL_KEY: url}, opts=child,
        )
        self.url_secret_name: pulumi.Output[str] = self.url_secret.metadata.name
        self.secret_name: pulumi.Output[str] = self.secret.metadata.name
        self.password: pulumi.Output[str] = passwords[PASSWORD_KEY]
        self.register_outputs({"host": self.host, "secret_name": self.secret_name, "password": self.password})

    @staticmethod
    def _chart(fullname: str, namespace: pulumi.Input[str], settings: K8sSettings, values: dict,
               opts: pulumi.ResourceOptions) -> pulumi.Resource:
        pg = settings.postgres
        repository = {"repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=pg.chart_repository)} \
            if pg.chart_repository else {}
        if settings.render_dir:
            # helm.v3.Release cannot be rendered to YAML (pulumi-kubernetes#1716); v4.Chart templates client-side.
            v4_repository = {"repository_opts": k8s.helm.v4.RepositoryOptsArgs(repo=pg.chart_repository)} \
                if pg.chart_repository else {}
            return k8s.helm.v4.Chart(fullname, chart=pg.chart, version=pg.chart_version, name=fullname,
                                     namespace=namespace, values=values, opts=opts, **v4_repository)
        return k8s.helm.v3.Release(
            fullname, chart=pg.chart, version=pg.chart_version, name=fullname, namespace=namespace, values=values,
            atomic=True, cleanup_on_fail=True, timeout=600, max_history=10, **repository,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                hooks=changes.before_update(f"{fullname}-volume-size", changes.check_chart_volume))),
        )
