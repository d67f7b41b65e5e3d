"""TLS through cert-manager: a Certificate for the hostname, from the stack's own ACME Issuer or a named ClusterIssuer.

HTTP-01 challenges are solved through Emissary-ingress the way Emissary's guide "Using cert-manager" documents it
(emissary-ingress docs, howtos/cert-manager): cert-manager's solver Ingress is not served by Emissary, so a Mapping
of `/.well-known/acme-challenge/` sends the challenge to a Service that selects cert-manager's solver pods. The
Host's http->https redirect spares that Mapping: Emissary always routes a Mapping whose prefix is exactly
`/.well-known/acme-challenge/` ("the ACME hole-puncher", emissary `python/ambassador/src/ambassador/envoy/v3/
v3listener.py`).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.k8s.ingress import API_VERSION as EMISSARY_API_VERSION
from infra.k8s.settings import K8sSettings

ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
# cert-manager's solver pods carry this label and listen on this port (cert-manager `pkg/issuer/acme/http`).
SOLVER_SELECTOR = {"acme.cert-manager.io/http01-solver": "true"}
SOLVER_PORT = 8089


class Tls(pulumi.ComponentResource):
    """`secret_name` holds the hostname's certificate.

    With `acme_email`, the stack creates its own namespaced ACME `Issuer` (nothing cluster-wide that another
    stack could share or collide with), and the Mapping and Service that let the HTTP-01 challenge through
    Emissary. Otherwise `tls_issuer` names an existing ClusterIssuer, which the cluster's owner runs.
    """

    def __init__(self, name: str, *, namespace: pulumi.Input[str], settings: K8sSettings,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:tls:Tls", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k, app = settings, settings.app_name
        issuers: list[pulumi.Resource] = []
        if k.acme_email:
            issuer_ref = {"name": f"{app}-acme", "kind": "Issuer", "group": "cert-manager.io"}
            issuers.append(self._acme_issuer(f"{name}-acme", f"{app}-acme", namespace, k, child))
            self._challenge_route(f"{name}-acme-challenge", f"{app}-acme-challenge", namespace, k.hostname, child)
        else:
            issuer_ref = {"name": k.tls_issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"}
        secret_name = f"{app}-tls"
        self.certificate = k8s.apiextensions.CustomResource(
            f"{name}-tls",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": secret_name, "namespace": namespace},
            spec={"secretName": secret_name, "dnsNames": [k.hostname], "issuerRef": issuer_ref},
            opts=pulumi.ResourceOptions(parent=self, depends_on=issuers),
        )
        # Read through the Certificate so whatever uses the secret depends on it.
        self.secret_name: pulumi.Output[str] = self.certificate.id.apply(lambda _: secret_name)
        self.register_outputs({"secret_name": self.secret_name})

    @staticmethod
    def _acme_issuer(name: str, full: str, namespace: pulumi.Input[str], k: K8sSettings,
                     opts: pulumi.ResourceOptions) -> pulumi.Resource:
        """An ACME Issuer whose HTTP-01 solver pods meet the namespace's `restricted` Pod Security level."""
        solver_pod = {"spec": {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}}
        return k8s.apiextensions.CustomResource(
            name,
            api_version="cert-manager.io/v1",
            kind="Issuer",
            metadata={"name": full, "namespace": namespace},
            spec={"acme": {
                "email": k.acme_email,
                "server": k.acme_server,
                "privateKeySecretRef": {"name": f"{full}-account-key"},
                # cert-manager also creates a solver Ingress of this class; the Mapping below is what routes.
                "solvers": [{"http01": {"ingress": {"ingressClassName": k.ingress_class,
                                                    "podTemplate": solver_pod}}}],
            }},
            opts=opts,
        )

    @staticmethod
    def _challenge_route(name: str, full: str, namespace: pulumi.Input[str], hostname: str,
                         opts: pulumi.ResourceOptions) -> None:
        service = k8s.core.v1.Service(
            name,
            metadata={"name": full, "namespace": namespace,
                      # No solver pod exists between challenges: nothing to wait for.
                      "annotations": {"pulumi.com/skipAwait": "true"}},
            spec={"type": "ClusterIP", "selector": SOLVER_SELECTOR,
                  "ports": [{"name": "http", "port": 80, "targetPort": SOLVER_PORT, "protocol": "TCP"}]},
            opts=opts,
        )
        k8s.apiextensions.CustomResource(
            name,
            api_version=EMISSARY_API_VERSION,
            kind="Mapping",
            metadata={"name": full, "namespace": namespace},
            spec={"hostname": hostname, "prefix": ACME_CHALLENGE_PREFIX, "rewrite": "",
                  "service": pulumi.Output.concat(service.metadata.name, ".", namespace, ":80")},
            opts=opts,
        )
