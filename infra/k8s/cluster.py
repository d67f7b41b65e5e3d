"""The Kubernetes provider: explicit when config names a kubeconfig or context, or renders YAML for GitOps."""

from __future__ import annotations

import pulumi_kubernetes as k8s

from infra.k8s.settings import K8sSettings


def provider(settings: K8sSettings) -> k8s.Provider | None:
    """None means the ambient kubeconfig and context, as kubectl would use them. A kubeconfig's contents arrive
    as a secret (settings), so the provider's `kubeconfig` input is a secret in the state and the plan.

    Secrets change in place (`enable_secret_mutable`; the default provider gets the same from Pulumi.yaml's
    `kubernetes:enableSecretMutable`): otherwise pulumi-kubernetes replaces a Secret whose data changes
    (provider/pkg/provider/diff.go, forceNewProperties: `.stringData` and `.data` of a Secret unless
    enableSecretMutable), deleting it first when its name stays the same (provider.go, Diff: deleteBeforeReplace
    for a named, not autonamed object of the same name and namespace), so pods starting meanwhile would find no
    Secret (CreateContainerConfigError), and Linkerd's identity issuer would vanish for a moment."""
    ambient = isinstance(settings.kubeconfig, str) and not settings.kubeconfig
    if ambient and not (settings.kube_context or settings.render_dir):
        return None
    return k8s.Provider(
        "k8s",
        kubeconfig=None if ambient else settings.kubeconfig,
        context=settings.kube_context or None,
        # Writes manifests instead of applying them; Secrets land there in plain text.
        render_yaml_to_directory=settings.render_dir or None,
        enable_secret_mutable=True,
    )
