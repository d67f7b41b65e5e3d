"""The Kubernetes provider: explicit when config names a kubeconfig or context, or renders YAML for GitOps."""

from __future__ import annotations

import pulumi_kubernetes as k8s

from infra.k8s.settings import K8sSettings


def provider(settings: K8sSettings) -> k8s.Provider | None:
    """None means the ambient kubeconfig and context, as kubectl would use them. A kubeconfig's contents arrive
    as a secret (settings), so the provider's `kubeconfig` input is a secret in the state and the plan."""
    ambient = isinstance(settings.kubeconfig, str) and not settings.kubeconfig
    if ambient and not (settings.kube_context or settings.render_dir):
        return None
    return k8s.Provider(
        "k8s",
        kubeconfig=None if ambient else settings.kubeconfig,
        context=settings.kube_context or None,
        # Writes manifests instead of applying them; Secrets land there in plain text.
        render_yaml_to_directory=settings.render_dir or None,
    )
