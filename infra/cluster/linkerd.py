"""Linkerd: its CRDs, its CNI plugin, the control plane, and the mTLS trust anchor and issuer it needs.

With Helm, Linkerd cannot generate its certificates; the trust anchor and the issuer certificate must be ECDSA
P-256, the anchor a root CA (root.linkerd.cluster.local), the issuer an intermediate CA signed by it
(identity.linkerd.cluster.local), as in https://linkerd.io/2/tasks/generate-certificates/. pulumi-tls makes
them here; both private keys live only in the stack's state, as Pulumi secrets.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from infra import charts
from infra.charts import ChartSource
from infra.cluster.namespace import namespace

CRDS_CHART, CNI_CHART, CHART = "linkerd-crds", "linkerd2-cni", "linkerd-control-plane"
CHARTS = (CRDS_CHART, CNI_CHART, CHART)
NAMESPACE, CNI_NAMESPACE = "linkerd", "linkerd-cni"
ISSUER_SECRET = "linkerd-identity-issuer"  # noqa: S105 (a name)
TRUST_DOMAIN = "cluster.local"
ANCHOR_HOURS = 10 * 8760  # the trust anchor: 10 years (the step example's --not-after=87600h)
ISSUER_HOURS = 8760  # the issuer: 1 year
ISSUER_RENEWAL_HOURS = 30 * 24  # `pulumi up --refresh` replaces the issuer once within 30 days of its expiry
_CA_USES = ["cert_signing", "crl_signing"]
_CONTROLLER = {"cpu": {"request": "100m", "limit": ""}, "memory": {"request": "50Mi", "limit": "250Mi"}}
_PROXY = {"cpu": {"request": "20m", "limit": ""}, "memory": {"request": "20Mi", "limit": "250Mi"}}
_CNI = {"cpu": {"request": "10m", "limit": ""}, "memory": {"request": "32Mi", "limit": "128Mi"},
        "ephemeral-storage": {"request": "", "limit": ""}}

# The labels `linkerd install` (not Helm: Release.Service "CLI") puts on the namespaces: linkerd-control-plane and
# linkerd2-cni 2026.8.3, templates/namespace.yaml and cni-plugin.yaml. With the CNI plugin no pod of the control
# plane needs linkerd-init's capabilities, so its namespace is `restricted` (the chart's own ternary says so).
CONTROL_PLANE_LABELS = {"linkerd.io/is-control-plane": "true", "config.linkerd.io/admission-webhooks": "disabled",
                        "linkerd.io/control-plane-ns": NAMESPACE}
CNI_LABELS = {"linkerd.io/cni-resource": "true", "config.linkerd.io/admission-webhooks": "disabled"}


def crds_values(gateway_api: bool) -> dict:
    """linkerd-crds 2026.8.3 values.yaml: `installGatewayAPI` (default false) adds the Gateway API CRDs (v1.1.1:
    HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, each `helm.sh/resource-policy: keep`) that the control plane's policy
    controller lists and watches (templates/destination-rbac.yaml, ClusterRole linkerd-policy). "Linkerd requires
    that the Gateway API be installed on your cluster before Linkerd can be installed"
    (https://linkerd.io/2/features/gateway-api/): without them the control plane never becomes ready. Off where
    the cluster already has its own (setting `linkerd_gateway_api`), since two owners of one CRD conflict."""
    return {"installGatewayAPI": gateway_api}


def values(trust_anchor: pulumi.Input[str]) -> dict:
    """linkerd-control-plane 2026.8.3 values.yaml keys: the CNI plugin instead of linkerd-init (`cniEnabled`), the
    trust anchors (one PEM bundle), and the requests of values-ha.yaml (without its three replicas). The issuer's
    certificate and key are not values: with the `kubernetes.io/tls` scheme the identity controller reads them from
    the Secret linkerd-identity-issuer (tls.crt, tls.key, ca.crt) and follows its updates, as in
    https://linkerd.io/2/tasks/automatically-rotating-control-plane-tls-credentials/; so the release's values
    hold no secret and stay readable in `pulumi preview --diff`."""
    return {
        "cniEnabled": True,
        "identityTrustDomain": TRUST_DOMAIN,
        "identityTrustAnchorsPEM": trust_anchor,
        "identity": {"issuer": {"scheme": "kubernetes.io/tls"}},
        "proxy": {"resources": _PROXY},
        "policyController": {"resources": _CONTROLLER},
        **{f"{part}Resources": _CONTROLLER for part in ("destination", "identity", "heartbeat", "proxyInjector",
                                                          "spValidator")},
    }


def cni_values() -> dict:
    """linkerd2-cni 2026.8.3 values.yaml keys."""
    return {"resources": _CNI, "repairController": {"enabled": False}}


def anchor_name(name: str, generation: int) -> str:
    """The resource name of trust anchor `generation`: the first keeps the name (and URN) it always had."""
    return f"{name}-trust-anchor" if generation == 1 else f"{name}-trust-anchor-{generation}"


class Certificates(pulumi.ComponentResource):
    """The trust anchors (root CAs) and the issuer (intermediate CA) of Linkerd's identity service.

    `anchors` lists the generations of trust anchor the stack keeps (setting `linkerd_trust_anchors`): every one is
    in the bundle the proxies trust, and the first signs the issuer. That is the order Linkerd's "Manually rotating
    control plane TLS credentials" (https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/)
    asks for: trust a bundle of the old and the new anchor and restart the proxies, then switch the issuer to one
    signed by the new anchor, then drop the old anchor from the bundle. `1,2`, then `2,1`, then `2` does it."""

    def __init__(self, name: str, *, anchors: tuple[int, ...] = (1,), protect: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:linkerd:Certificates", name, None, opts)
        # Deleting an anchor breaks the trust of every proxy that has no other: docs/kubernetes.md, "Rotate
        # Linkerd's certificates".
        kept = pulumi.ResourceOptions(parent=self, protect=protect)
        keys, certs = [], []
        for generation in anchors:
            anchor_key = tls.PrivateKey(anchor_name(name, generation), algorithm="ECDSA", ecdsa_curve="P256",
                                        opts=kept)
            anchor = tls.SelfSignedCert(
                anchor_name(name, generation), private_key_pem=anchor_key.private_key_pem,
                subject=tls.SelfSignedCertSubjectArgs(common_name=f"root.linkerd.{TRUST_DOMAIN}"),
                is_ca_certificate=True, validity_period_hours=ANCHOR_HOURS, allowed_uses=_CA_USES, opts=kept)
            keys.append(anchor_key)
            certs.append(anchor.cert_pem)
        child = pulumi.ResourceOptions(parent=self)
        issuer_key = tls.PrivateKey(f"{name}-issuer", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        request = tls.CertRequest(
            f"{name}-issuer", private_key_pem=issuer_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=f"identity.linkerd.{TRUST_DOMAIN}"), opts=child)
        issuer = tls.LocallySignedCert(
            f"{name}-issuer", cert_request_pem=request.cert_request_pem, ca_private_key_pem=keys[0].private_key_pem,
            ca_cert_pem=certs[0], is_ca_certificate=True, validity_period_hours=ISSUER_HOURS,
            early_renewal_hours=ISSUER_RENEWAL_HOURS, allowed_uses=_CA_USES, opts=child)
        self.issuer_anchor: pulumi.Output[str] = certs[0]
        self.trust_anchor: pulumi.Output[str] = pulumi.Output.all(*certs).apply(_bundle)
        self.issuer_cert: pulumi.Output[str] = issuer.cert_pem
        self.issuer_key: pulumi.Output[str] = pulumi.Output.secret(issuer_key.private_key_pem)
        self.register_outputs({"trust_anchor": self.trust_anchor, "issuer_cert": self.issuer_cert})


def _bundle(pems: list[str]) -> str:
    """PEM certificates one after the other, as identityTrustAnchorsPEM takes a bundle."""
    return "".join(pem if pem.endswith("\n") else pem + "\n" for pem in pems)


class Linkerd(pulumi.ComponentResource):
    """Linkerd's CRDs (with the Gateway API's, unless the cluster has its own: `gateway_api`), its CNI plugin
    (namespace `linkerd-cni`, the one `privileged` namespace: the plugin writes
    the node's CNI configuration through hostPath volumes), then the control plane (`linkerd`, `restricted`)."""

    def __init__(self, name: str, *, sources: dict[str, ChartSource], anchors: tuple[int, ...] = (1,),
                 gateway_api: bool, protect: bool, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:linkerd:Linkerd", name, None, opts)
        kept = pulumi.ResourceOptions(parent=self, protect=protect)
        certificates = Certificates(f"{name}-linkerd", anchors=anchors, protect=protect,
                                    opts=pulumi.ResourceOptions(parent=self))
        ns = namespace(NAMESPACE, level="restricted", labels=CONTROL_PLANE_LABELS,
                       annotations={"linkerd.io/inject": "disabled"}, opts=kept)
        cni_ns = namespace(CNI_NAMESPACE, level="privileged", labels=CNI_LABELS, opts=kept)
        crds = charts.install(f"{name}-linkerd-crds", sources[CRDS_CHART], namespace=ns.metadata.name,
                              values=crds_values(gateway_api), opts=kept)
        cni = charts.install(f"{name}-linkerd-cni", sources[CNI_CHART], namespace=cni_ns.metadata.name,
                             values=cni_values(), opts=pulumi.ResourceOptions(parent=self))
        issuer = k8s.core.v1.Secret(
            f"{name}-linkerd-identity-issuer", type="kubernetes.io/tls",
            metadata={"name": ISSUER_SECRET, "namespace": ns.metadata.name,
                      "labels": {"linkerd.io/control-plane-component": "identity",
                                 "linkerd.io/control-plane-ns": NAMESPACE}},
            string_data={"ca.crt": certificates.issuer_anchor, "tls.crt": certificates.issuer_cert,
                         "tls.key": certificates.issuer_key},
            opts=pulumi.ResourceOptions(parent=self))
        self.release = charts.install(
            f"{name}-linkerd", sources[CHART], namespace=ns.metadata.name, values=values(certificates.trust_anchor),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[crds, cni, issuer]))
        self.namespace = ns.metadata.name
        self.trust_anchor = certificates.trust_anchor
        self.register_outputs({"namespace": self.namespace, "trust_anchor": self.trust_anchor})
