"""cert-manager with its CRDs, and the cluster's Let's Encrypt ClusterIssuers (staging and production)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra import charts
from infra.charts import ChartSource
from infra.cluster.namespace import namespace

# cert-manager's chart as an OCI artifact (https://cert-manager.io/docs/installation/helm/).
CHART = "cert-manager"
CHARTS = (CHART,)
NAMESPACE = "cert-manager"
# The names the k8s stack's `tls_issuer` takes (Pulumi.k8s.yaml: letsencrypt-prod), and their ACME directories
# (https://letsencrypt.org/docs/staging-environment/).
ISSUERS = {
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "letsencrypt-prod": "https://acme-v02.api.letsencrypt.org/directory",
}
_REQUESTS = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}


def values() -> dict:
    """cert-manager v1.21.1 values.yaml keys. `crds.enabled` installs the CRDs as templates of this release, and
    `crds.keep` (the default) marks them `helm.sh/resource-policy: keep`, so that removing the release never
    deletes every Certificate in the cluster."""
    return {
        "crds": {"enabled": True, "keep": True},
        "resources": _REQUESTS,
        "webhook": {"resources": _REQUESTS},
        "cainjector": {"resources": _REQUESTS},
        "startupapicheck": {"resources": _REQUESTS},
    }


def cluster_issuer(server: str, email: str, ingress_class: str, secret: str) -> dict:
    """An ACME ClusterIssuer's spec: HTTP-01 challenges answered through the ingress class Emissary serves
    (https://cert-manager.io/docs/configuration/acme/http01/); `secret` holds the ACME account key."""
    return {"acme": {"server": server, "email": email, "privateKeySecretRef": {"name": secret},
                     "solvers": [{"http01": {"ingress": {"ingressClassName": ingress_class}}}]}}


class CertManager(pulumi.ComponentResource):
    """cert-manager in namespace `cert-manager` at `restricted`, then one ClusterIssuer per Let's Encrypt
    environment, registered to `acme_email`. The ClusterIssuers depend on the release: helm.v3.Release waits for
    the webhook to be ready, which must admit them."""

    def __init__(self, name: str, *, sources: dict[str, ChartSource], acme_email: str, ingress_class: str,
                 protect: bool, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:tls:CertManager", name, None, opts)
        ns = namespace(NAMESPACE, level="restricted", opts=pulumi.ResourceOptions(parent=self, protect=protect))
        self.release = charts.install(f"{name}-cert-manager", sources[CHART], namespace=ns.metadata.name,
                                      values=values(), opts=pulumi.ResourceOptions(parent=self, protect=protect))
        self.issuers = {
            issuer: k8s.apiextensions.CustomResource(
                issuer, api_version="cert-manager.io/v1", kind="ClusterIssuer", metadata={"name": issuer},
                spec=cluster_issuer(server, acme_email, ingress_class, f"{issuer}-account-key"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]))
            for issuer, server in ISSUERS.items()}
        self.namespace = ns.metadata.name
        self.register_outputs({"namespace": self.namespace, "cluster_issuers": list(self.issuers)})
