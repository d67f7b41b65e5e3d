"""The app's namespace: Pod Security Admission at `restricted`, optional Linkerd proxy injection."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

# Enforce, audit and warn at the strictest Pod Security Standard for every pod in the namespace.
PSA_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")} | {
    "pod-security.kubernetes.io/enforce-version": "latest"
}


class Namespace(pulumi.ComponentResource):
    """A namespace whose pods must meet the `restricted` profile and, by default, join the Linkerd mesh."""

    def __init__(
        self,
        name: str,
        *,
        namespace: str,
        linkerd_inject: bool = True,
        labels: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:namespace:Namespace", name, None, opts)
        annotations = {"linkerd.io/inject": "enabled"} if linkerd_inject else {}
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata={"name": namespace, "labels": {**(labels or {}), **PSA_LABELS}, "annotations": annotations},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name: pulumi.Output[str] = self.namespace.metadata.name
        self.register_outputs({"name": self.name})
