"""TLS on k8s: the certificate comes from an existing ClusterIssuer (`tls_issuer`) or from the stack's own namespaced
ACME Issuer (`acme_email`), whose HTTP-01 challenges Emissary routes to cert-manager's solver; never both, never
neither, and never a ClusterIssuer of the stack's own."""

from __future__ import annotations

import pytest

from infra.settings import ConfigError
from offline import plan as offline_plan
from offline import types as t
from tests.support import k8s_plan, obj, one, validate_custom_resource

ACME = ("tls_issuer=", "acme_email=ops@example.com")  # Pulumi.k8s.yaml names a ClusterIssuer; this swaps it


def test_certificate_and_host_agree_on_the_secret_and_mapping_targets_the_service():
    plan = k8s_plan()
    cert, host, mapping = obj(one(plan, t.CERTIFICATE)), obj(one(plan, t.HOST)), obj(one(plan, t.MAPPING))
    service = obj(one(plan, t.SERVICE))
    assert cert["spec"]["dnsNames"] == ["paasport.example.com"]
    assert host["spec"]["tlsSecret"]["name"] == cert["spec"]["secretName"]
    assert host["spec"]["hostname"] == mapping["spec"]["hostname"] == "paasport.example.com"
    assert host["spec"]["requestPolicy"]["insecure"]["action"] == "Redirect"
    assert mapping["spec"]["service"] == "paasport-web.paasport:80"
    assert (service["metadata"]["name"], service["metadata"]["namespace"]) == ("paasport-web", "paasport")
    assert service["spec"]["ports"][0]["port"] == 80
    assert mapping["spec"]["prefix"] == "/"
    assert mapping["spec"]["timeout_ms"] == 30000
    assert service["spec"]["type"] == "ClusterIP"
    assert one(plan, t.CERTIFICATE).urn in one(plan, t.HOST).dependencies


def test_tls_issuer_names_an_existing_cluster_issuer_and_the_stack_creates_no_issuer():
    plan = k8s_plan("tls_issuer=letsencrypt-staging")
    assert obj(one(plan, t.CERTIFICATE))["spec"]["issuerRef"] == {
        "name": "letsencrypt-staging", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert not plan.find(t.CLUSTER_ISSUER) and not plan.find(t.ISSUER)
    assert [r.name for r in plan.find(t.MAPPING)] == ["paasport-web"]  # no challenge route: not the stack's issuer


def test_acme_email_creates_a_namespaced_issuer_that_signs_the_certificate():
    plan = k8s_plan(*ACME, "acme_server=https://acme-staging-v02.api.letsencrypt.org/directory")
    issuer = obj(one(plan, t.ISSUER))
    assert issuer["metadata"] == {"name": "paasport-acme", "namespace": "paasport"}
    acme = issuer["spec"]["acme"]
    assert acme["email"] == "ops@example.com"
    assert acme["server"] == "https://acme-staging-v02.api.letsencrypt.org/directory"
    assert acme["privateKeySecretRef"] == {"name": "paasport-acme-account-key"}
    (solver,) = acme["solvers"]
    assert solver["http01"]["ingress"]["ingressClassName"] == "ambassador"
    # The solver pods run in the namespace, which enforces the restricted Pod Security level.
    assert solver["http01"]["ingress"]["podTemplate"]["spec"]["securityContext"] == {
        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    cert = one(plan, t.CERTIFICATE)
    assert obj(cert)["spec"]["issuerRef"] == {"name": "paasport-acme", "kind": "Issuer", "group": "cert-manager.io"}
    assert one(plan, t.ISSUER).urn in cert.dependencies


def test_the_acme_challenge_reaches_cert_managers_solver_through_emissary():
    plan = k8s_plan(*ACME)
    challenge = obj(one(plan, t.MAPPING, "paasport-acme-challenge"))["spec"]
    # Exactly this prefix: Emissary routes it even on a Host that redirects http to https (its "ACME hole-puncher").
    assert challenge["prefix"] == "/.well-known/acme-challenge/"
    assert challenge["hostname"] == obj(one(plan, t.HOST))["spec"]["hostname"] == "paasport.example.com"
    assert challenge["rewrite"] == ""  # the solver answers on the full path
    service = obj(one(plan, t.SERVICE, "paasport-acme-challenge"))
    assert challenge["service"] == "paasport-acme-challenge.paasport:80"
    assert service["spec"]["selector"] == {"acme.cert-manager.io/http01-solver": "true"}
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, 8089)]
    # No solver pod exists between challenges: Pulumi must not wait for endpoints.
    assert service["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


@pytest.mark.parametrize("overrides", [(), ACME, ("tls_issuer=other",), (*ACME, "acme_server=https://acme.example/d")])
def test_the_stack_never_creates_a_cluster_issuer(overrides):
    # Cluster-wide, it could collide with another stack's, and `pulumi destroy` would take it from them.
    assert not k8s_plan(*overrides).find(t.CLUSTER_ISSUER)


@pytest.mark.parametrize(("overrides", "says"), [
    (("acme_email=ops@example.com",), "is set, and so is tls_issuer"),
    (("tls_issuer=",), "is missing, and so is tls_issuer"),
])
def test_the_certificate_has_exactly_one_issuer(overrides, says):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", list(overrides))
    line = next(line for line in str(caught.value).splitlines() if "paasport:acme_email" in line)
    assert says in line


@pytest.mark.parametrize("overrides", [(), ACME])
def test_the_issuer_and_certificate_meet_cert_managers_crds(overrides):
    plan = k8s_plan(*overrides)
    documents = [obj(r) for r in plan.find(t.CERTIFICATE) + plan.find(t.ISSUER) + plan.find(t.MAPPING)
                 + plan.find(t.HOST)]
    assert len(documents) == (5 if overrides else 3)
    for document in documents:
        validate_custom_resource(document)
