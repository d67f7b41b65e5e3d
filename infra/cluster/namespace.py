"""A namespace of the platform, labelled with the Pod Security level its pods need."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

LEVELS = ("restricted", "baseline", "privileged")


def psa_labels(level: str) -> dict[str, str]:
    """Pod Security Admission labels: enforce, audit and warn at `level`
    (https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces)."""
    assert level in LEVELS, level
    return {f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")} | {
        "pod-security.kubernetes.io/enforce-version": "latest"}


def namespace(name: str, *, level: str, labels: dict[str, str] | None = None,
              annotations: dict[str, str] | None = None, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    """Namespace `name` whose pods must meet `level` (`privileged` only where a chart's pods need host access).

    Deleting a namespace deletes all in it, so it is protected when the stack protects its parts (`opts`).
    """
    return k8s.core.v1.Namespace(
        name, metadata={"name": name, "labels": {"app.kubernetes.io/part-of": "paasport-cluster",
                                                  **(labels or {}), **psa_labels(level)},
                        "annotations": annotations or {}},
        opts=opts)
