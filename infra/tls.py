"""TLS through cert-manager: a Certificate for the hostname, and the ACME ClusterIssuer when an e-mail is given."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s


class Tls(pulumi.ComponentResource):
    """`secret_name` holds the hostname's certificate, issued by the ClusterIssuer `issuer`."""

    def __init__(
        self,
        name: str,
        *,
        namespace: pulumi.Input[str],
        hostname: str,
        issuer: str = "letsencrypt-prod",
        acme_email: str = "",
        acme_server: str = "https://acme-v02.api.letsencrypt.org/directory",
        ingress_class: str = "ambassador",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:tls:Tls", name, None, opts)
        depends: list[pulumi.Resource] = []
        if acme_email:
            # Solves HTTP-01 through an Ingress of the Emissary class; Emissary lets challenges through over http.
            depends.append(k8s.apiextensions.CustomResource(
                issuer,
                api_version="cert-manager.io/v1",
                kind="ClusterIssuer",
                metadata={"name": issuer},
                spec={"acme": {
                    "email": acme_email,
                    "server": acme_server,
                    "privateKeySecretRef": {"name": f"{issuer}-account-key"},
                    "solvers": [{"http01": {"ingress": {"ingressClassName": ingress_class}}}],
                }},
                opts=pulumi.ResourceOptions(parent=self),
            ))
        secret_name = f"{name}-tls"
        self.certificate = k8s.apiextensions.CustomResource(
            secret_name,
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": secret_name, "namespace": namespace},
            spec={"secretName": secret_name, "dnsNames": [hostname],
                  "issuerRef": {"name": issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        # Read through the Certificate so whatever uses the secret depends on it.
        self.secret_name: pulumi.Output[str] = self.certificate.id.apply(lambda _: secret_name)
        self.register_outputs({"secret_name": self.secret_name})
