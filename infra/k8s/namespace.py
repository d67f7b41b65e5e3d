"""The app's namespace: Pod Security Admission at `restricted`, optional Linkerd proxy injection."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.k8s import changes, workload
from infra.k8s.settings import K8sSettings

# Enforce, audit and warn at the strictest Pod Security Standard for every pod in the namespace.
PSA_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")} | {
    "pod-security.kubernetes.io/enforce-version": "latest"
}


class Namespace(pulumi.ComponentResource):
    """A namespace whose pods must meet the `restricted` profile and, when `linkerd_inject`, join the Linkerd mesh.

    It holds the database and backup volumes, so `protect` keeps Pulumi from deleting or replacing it (a new
    `namespace` name replaces it). Its `app.kubernetes.io/name` label is the app's name (`app_name`): a hook stops
    an update that would rename the stack's objects (`changes.check_app_name`).
    """

    def __init__(self, name: str, *, settings: K8sSettings, protect: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:namespace:Namespace", name, None, opts)
        annotations = {"linkerd.io/inject": "enabled"} if settings.linkerd_inject else {}
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata={"name": settings.namespace,
                      "labels": {**workload.labels(settings.app_name, "namespace"), **PSA_LABELS},
                      "annotations": annotations},
            opts=pulumi.ResourceOptions(parent=self, protect=protect, hooks=changes.before_update(
                f"{name}-app-name", changes.check_app_name, namespace=settings.namespace)),
        )
        self.name: pulumi.Output[str] = self.namespace.metadata.name
        self.register_outputs({"name": self.name})
