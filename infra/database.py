"""PostgreSQL from the Bitnami Helm chart, its generated credentials, and a NetworkPolicy that admits only the app."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

CHART = "oci://registry-1.docker.io/bitnamicharts/postgresql"
PORT = 5432
EXPORTER_PORT = 9187
# Keys of the Secret (names, not passwords): the app user's and the admin's, as the chart's auth.secretKeys.
PASSWORD_KEY = "password"  # noqa: S105
ADMIN_PASSWORD_KEY = "postgres-password"  # noqa: S105


class Database(pulumi.ComponentResource):
    """A single-primary PostgreSQL whose passwords are Pulumi secrets from birth, stored only in a Secret.

    Every values key below exists in the Bitnami chart's values.yaml for the 16.x line (checked at 16.7.x).
    """

    def __init__(
        self,
        name: str,
        *,
        namespace: pulumi.Input[str],
        database: str,
        user: str,
        client_selectors: list[dict[str, str]],
        chart_version: str,
        image_registry: str = "docker.io",
        image_repository: str = "bitnamilegacy/postgresql",
        image_tag: str = "17.6.0-debian-12-r4",
        storage_size: str = "8Gi",
        storage_class: str = "",
        metrics: bool = False,
        template_locally: bool = False,
        requests: dict[str, str] | None = None,
        limits: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        fullname = f"{name}-postgresql"
        passwords = {
            key: pulumi.Output.secret(
                random.RandomPassword(f"{name}-{key}", length=32, special=False, opts=child).result
            )
            for key in (PASSWORD_KEY, ADMIN_PASSWORD_KEY)
        }
        self.secret = k8s.core.v1.Secret(
            f"{name}-db",
            metadata={"name": f"{name}-db", "namespace": namespace},
            type="Opaque",
            string_data=passwords,
            opts=child,
        )
        exporter_repository = f"{image_repository.rsplit('/', 1)[0]}/postgres-exporter"
        values = {
            "fullnameOverride": fullname,
            # The chart refuses images it does not ship by default (e.g. bitnamilegacy/*) unless told otherwise.
            "global": {"security": {"allowInsecureImages": True}},
            "image": {"registry": image_registry, "repository": image_repository, "tag": image_tag},
            "auth": {
                "database": database,
                "username": user,
                "existingSecret": self.secret.metadata.name,
                "secretKeys": {"userPasswordKey": PASSWORD_KEY, "adminPasswordKey": ADMIN_PASSWORD_KEY},
            },
            "primary": {
                "persistence": {"enabled": True, "size": storage_size,
                                **({"storageClass": storage_class} if storage_class else {})},
                "resources": {"requests": requests or {"cpu": "250m", "memory": "256Mi"},
                              "limits": limits or {"cpu": "1", "memory": "1Gi"}},
                # The NetworkPolicy below replaces the chart's, which admits any pod by default.
                "networkPolicy": {"enabled": False},
            },
            "metrics": {"enabled": metrics, "image": {"registry": image_registry, "repository": exporter_repository}},
        }
        chart_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.secret])
        if template_locally:
            # helm.v3.Release cannot be rendered to YAML (pulumi-kubernetes#1716); v4.Chart templates client-side.
            self.chart: pulumi.Resource = k8s.helm.v4.Chart(
                fullname, chart=CHART, version=chart_version, name=fullname, namespace=namespace, values=values,
                opts=chart_opts,
            )
        else:
            self.chart = k8s.helm.v3.Release(
                fullname, chart=CHART, version=chart_version, name=fullname, namespace=namespace, values=values,
                atomic=True, cleanup_on_fail=True, timeout=600, max_history=10, opts=chart_opts,
            )
        pod_labels = {"app.kubernetes.io/instance": fullname, "app.kubernetes.io/name": "postgresql"}
        ingress = [{"from": [{"podSelector": {"matchLabels": s}} for s in client_selectors],
                    "ports": [{"protocol": "TCP", "port": PORT}]}]
        if metrics:
            ingress.append({"ports": [{"protocol": "TCP", "port": EXPORTER_PORT}]})
        self.network_policy = k8s.networking.v1.NetworkPolicy(
            fullname,
            metadata={"name": fullname, "namespace": namespace},
            spec={"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Ingress"], "ingress": ingress},
            opts=child,
        )
        self.host: pulumi.Output[str] = pulumi.Output.concat(fullname, ".", namespace, ".svc.cluster.local")
        self.secret_name: pulumi.Output[str] = self.secret.metadata.name
        self.password: pulumi.Output[str] = passwords[PASSWORD_KEY]
        self.register_outputs({"host": self.host, "secret_name": self.secret_name, "password": self.password})
