"""The cluster stack, rendered by the real, pinned helm with exactly its values, and judged with the k8s stack.

Each check of offline/cluster.py passes on the stacks as they are; each is also fed the defect it exists for
(a broken object, a value put back, a setting turned off) to show that it catches it.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pulumi.runtime import rpc

from infra import contract
from infra.cluster import linkerd
from infra.settings import ConfigError
from offline import cluster as oc
from offline import plan as offline_plan
from offline import types as t
from tests.support import REPO, SHARED, offline_cli

Obj = dict


pytestmark = pytest.mark.usefixtures("shared_charts")


@cache
def plan(*overrides: str) -> offline_plan.Plan:
    return offline_plan.run("cluster", list(overrides))


@cache
def k8s(*overrides: str) -> offline_plan.Plan:
    return offline_plan.run("k8s", list(overrides))


def rendered(kube_version: str | None = None, *overrides: str) -> list[oc.Rendered]:
    return oc.objects(plan(*overrides), kube_version)


def find(objects: list[oc.Rendered], kind: str, name: str | None = None) -> list[Obj]:
    return [r.obj for r in objects if r.obj.get("kind") == kind and (name is None or r.obj["metadata"]["name"] == name)]


# --- what the stack installs -----------------------------------------------------------------------------------

# Each chart at the version the stack pins, into the namespace written here (not read from the code).
RELEASES = {
    "paasport-emissary-crds": ("oci://ghcr.io/emissary-ingress/emissary-crds-chart", "4.1.0", "emissary"),
    "paasport-emissary": ("oci://ghcr.io/emissary-ingress/emissary-ingress", "4.1.0", "emissary"),
    "paasport-cert-manager": ("oci://quay.io/jetstack/charts/cert-manager", "v1.21.1", "cert-manager"),
    "paasport-linkerd-crds": ("linkerd-crds", "2026.8.3", "linkerd"),
    "paasport-linkerd-cni": ("linkerd2-cni", "2026.8.3", "linkerd-cni"),
    "paasport-linkerd": ("linkerd-control-plane", "2026.8.3", "linkerd"),
    "paasport-metrics-server": ("metrics-server", "3.13.1", "metrics-server"),
    "paasport-prometheus": ("oci://ghcr.io/prometheus-community/charts/prometheus", "29.27.0", "monitoring"),
    "paasport-grafana": ("oci://ghcr.io/grafana-community/helm-charts/grafana", "12.11.1", "monitoring"),
    "paasport-fluent-bit": ("oci://ghcr.io/fluent/helm-charts/fluent-bit", "0.58.1", "logging"),
    "paasport-opensearch": ("opensearch", "3.6.0", "opensearch"),
    "paasport-opensearch-dashboards": ("opensearch-dashboards", "3.6.0", "opensearch"),
}
LEVELS = {"emissary": "restricted", "cert-manager": "restricted", "linkerd": "restricted",
          "linkerd-cni": "privileged", "metrics-server": "restricted", "monitoring": "restricted",
          "logging": "privileged", "opensearch": "restricted"}


def test_the_stack_installs_each_chart_pinned_into_its_namespace():
    releases = {r.name: offline_plan.reveal(r.inputs) for r in plan().find(t.HELM_RELEASE)}
    assert {name: (i["chart"], i["version"], i["namespace"]) for name, i in releases.items()} == RELEASES
    repositories = {name: (i.get("repositoryOpts") or {}).get("repo") for name, i in releases.items()}
    assert {name for name, repo in repositories.items() if repo} == {
        "paasport-linkerd-crds", "paasport-linkerd-cni", "paasport-linkerd", "paasport-metrics-server",
        "paasport-opensearch", "paasport-opensearch-dashboards"}


def test_every_chart_renders_with_the_stack_values():
    objects = rendered()
    by_release = {}
    for r in objects:
        by_release.setdefault(r.release, []).append(r.obj["kind"])
    assert set(by_release) - {None} == set(RELEASES)
    assert by_release["paasport-emissary-crds"].count("CustomResourceDefinition") >= 10
    assert "DaemonSet" in by_release["paasport-linkerd-cni"]
    assert "IngressClass" in by_release["paasport-emissary"]
    assert "APIService" in by_release["paasport-metrics-server"]


@pytest.mark.parametrize("version", oc.KUBERNETES_VERSIONS)
def test_every_object_is_strictly_valid_and_every_custom_resource_matches_its_crd(version):
    assert oc.schema_problems(rendered(version), version) == []


def test_the_k8s_stack_objects_are_valid_against_the_cluster_stack_crds():
    version = oc.KUBERNETES_VERSIONS[-1]
    definitions = oc.crds(rendered())
    for overrides in ((), ("tls_issuer=", "acme_email=ops@example.com")):
        assert oc.schema_problems(oc.objects(k8s(*overrides)), version, definitions) == []


def test_listeners_for_80_and_443_and_the_ingress_class():
    listeners = {o["spec"]["port"]: o["spec"] for o in find(rendered(), "Listener")}
    service = find(rendered(), "Service", "paasport-emissary")[0]
    # The Service's ports 80 and 443 lead to the ports the Listeners open.
    assert {p["port"]: p["targetPort"] for p in service["spec"]["ports"]} == {80: 8080, 443: 8443}
    assert {port: s["protocol"] for port, s in listeners.items()} == {8080: "HTTP", 8443: "HTTPS"}
    assert all(s["hostBinding"] == {"namespace": {"from": "ALL"}} for s in listeners.values())
    (ingress_class,) = find(rendered(), "IngressClass")
    assert ingress_class["metadata"]["name"] == "ambassador"
    assert ingress_class["spec"]["controller"] == "getambassador.io/ingress-controller"


def test_cluster_issuers_for_lets_encrypt_staging_and_production_registered_to_acme_email():
    issuers = {o["metadata"]["name"]: o["spec"]["acme"] for o in find(rendered(), "ClusterIssuer")}
    assert {name: (a["server"], a["email"]) for name, a in issuers.items()} == {
        "letsencrypt-staging": ("https://acme-staging-v02.api.letsencrypt.org/directory", "ops@example.com"),
        "letsencrypt-prod": ("https://acme-v02.api.letsencrypt.org/directory", "ops@example.com"),
    }
    # Created once cert-manager (and its webhook, which admits them) is installed.
    release = plan().find(t.HELM_RELEASE, "paasport-cert-manager")[0].urn
    assert all(release in r.dependencies for r in plan().find(t.CLUSTER_ISSUER))


# --- what the controllers read is served ------------------------------------------------------------------------

GATEWAY_API_CRDS = ["grpcroutes.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io",
                    "tcproutes.gateway.networking.k8s.io", "tlsroutes.gateway.networking.k8s.io"]
LINKERD_POLICY_NEEDS = [
    f"ClusterRole linkerd-policy (paasport:linkerd:Linkerd) reads {resource} of API group "
    "'gateway.networking.k8s.io', which neither Kubernetes nor the stack serves"
    for resource in ("grpcroutes", "httproutes", "tcproutes", "tlsroutes")]


def test_every_api_a_platform_role_reads_is_built_in_or_installed_by_the_stack():
    # The defect: linkerd-crds without installGatewayAPI, so Linkerd's policy controller waited for routes nobody
    # served, and the control plane never came up.
    objects = rendered()
    assert oc.rbac_api_problems(objects) == []
    gateway = sorted(r.obj["metadata"]["name"] for r in objects if r.obj["kind"] == "CustomResourceDefinition"
                     and r.obj["spec"]["group"] == "gateway.networking.k8s.io")
    assert gateway == GATEWAY_API_CRDS
    assert {r.release for r in objects if r.obj["metadata"]["name"] in GATEWAY_API_CRDS} == {"paasport-linkerd-crds"}
    # helm keeps them when the release goes or the setting turns off: other tools may use them by then
    assert {r.obj["metadata"]["annotations"]["helm.sh/resource-policy"] for r in objects
            if r.obj["metadata"]["name"] in GATEWAY_API_CRDS} == {"keep"}


def test_a_cluster_with_its_own_gateway_api_keeps_it_and_the_check_says_what_it_must_serve():
    objects = rendered(None, "linkerd_gateway_api=false")
    values = offline_plan.reveal(plan("linkerd_gateway_api=false").find(t.HELM_RELEASE, "paasport-linkerd-crds")[0]
                                 .inputs)["values"]
    assert values == {"installGatewayAPI": False}
    assert not [r for r in objects if r.obj["metadata"]["name"] in GATEWAY_API_CRDS]
    assert oc.rbac_api_problems(objects) == LINKERD_POLICY_NEEDS
    # the cluster's own CRDs serve them
    assert oc.rbac_api_problems(objects, cluster_has=[("gateway.networking.k8s.io", r) for r in (
        "grpcroutes", "httproutes", "tcproutes", "tlsroutes")]) == []


def test_the_api_check_catches_an_api_nothing_serves():
    objects = rendered()
    role = next(r for r in objects if r.obj["kind"] == "ClusterRole" and r.obj["metadata"]["name"] == "linkerd-policy")
    role.obj["rules"].append({"apiGroups": ["policy.linkerd.io"], "resources": ["meshtlsauthentications", "widgets"],
                              "verbs": ["list"]})
    role.obj["rules"].append({"apiGroups": ["apps"], "resources": ["deployment"], "verbs": ["watch"]})
    role.obj["rules"].append({"apiGroups": ["example.com"], "resources": ["things"], "verbs": ["create"]})  # no read
    assert oc.rbac_api_problems(objects) == [
        "ClusterRole linkerd-policy (paasport:linkerd:Linkerd) reads deployment of API group 'apps', which neither "
        "Kubernetes nor the stack serves",
        "ClusterRole linkerd-policy (paasport:linkerd:Linkerd) reads widgets of API group 'policy.linkerd.io', which "
        "neither Kubernetes nor the stack serves"]


def test_the_built_in_apis_come_from_the_kubernetes_client():
    builtin = oc.builtin_resources()
    assert {("", "pods"), ("", "pods/log"), ("", "namespaces/finalize"), ("apps", "deployments/scale"),
            ("networking.k8s.io", "ingresses"), ("networking.k8s.io", "ingressclasses"),
            ("discovery.k8s.io", "endpointslices"), ("", "nodes/metrics")} <= builtin
    assert not {("", "ingresses"), ("extensions", "ingresses"), ("gateway.networking.k8s.io", "httproutes"),
                ("apps", "deployment")} & builtin


# --- ACME HTTP-01 through Emissary -----------------------------------------------------------------------------


def test_the_render_has_emissary_ingress_class_as_helm_renders_it_on_a_cluster(tmp_path):
    # The defect: `--render` ran helm without the cluster's API versions, so the capability-gated IngressClass was
    # missing from the manifests.
    offline_plan.render(plan(), tmp_path / "render")
    ingress_class = yaml.safe_load((tmp_path / "render" / "ingressclass-ambassador.yaml").read_text())
    assert ingress_class == {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                             "metadata": {"name": "ambassador"},
                             "spec": {"controller": "getambassador.io/ingress-controller"}}


def test_the_cluster_issuers_solve_through_an_ingress_class_emissary_serves():
    objects = rendered()
    issuers = find(objects, "ClusterIssuer")
    assert [i["spec"]["acme"]["solvers"] for i in issuers] == [
        [{"http01": {"ingress": {"ingressClassName": "ambassador"}}}]] * 2
    assert oc.acme_solver_problems(issuers, objects) == []


def _emissary_env(objects: list[oc.Rendered], name: str, value: str) -> None:
    container = find(objects, "Deployment", "paasport-emissary")[0]["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": name, "value": value})


def _drop_ingress_rbac(objects: list[oc.Rendered]) -> None:
    for rule in find(objects, "ClusterRole", "paasport-emissary-watch")[0]["rules"]:
        if "networking.k8s.io" in rule["apiGroups"] and "ingresses" in rule["resources"]:
            rule["resources"].remove("ingresses")


@pytest.mark.parametrize(("breakage", "says"), [
    (lambda o: find(o, "IngressClass")[0]["spec"].update(controller="k8s.io/ingress-nginx"),
     "ClusterIssuer letsencrypt-prod solves HTTP-01 through IngressClass 'ambassador', whose controller is "
     "'k8s.io/ingress-nginx', not Emissary's 'getambassador.io/ingress-controller'"),
    (lambda o: o.remove(next(r for r in o if r.obj["kind"] == "IngressClass")),
     "ClusterIssuer letsencrypt-prod solves HTTP-01 through IngressClass 'ambassador'; the cluster stack's "
     "Emissary serves none"),
    (lambda o: _emissary_env(o, "AMBASSADOR_SINGLE_NAMESPACE", "true"),
     "Deployment paasport-emissary sets AMBASSADOR_SINGLE_NAMESPACE='true': Emissary then leaves out Ingresses of "
     "class 'ambassador' that cert-manager creates elsewhere"),
    (lambda o: _emissary_env(o, "AMBASSADOR_ID", "edge"),
     "Deployment paasport-emissary sets AMBASSADOR_ID='edge': Emissary then ignores the solver's Ingress, which "
     "carries no getambassador.io/ambassador-id annotation"),
    (lambda o: _drop_ingress_rbac(o),
     "Deployment paasport-emissary may not get, list and watch ingresses cluster-wide (a ClusterRole bound to its "
     "service account): Emissary would not see the solver's Ingress of class 'ambassador'"),
], ids=["other-controller", "no-ingress-class", "single-namespace", "ambassador-id", "no-ingress-rbac"])
def test_the_solver_check_catches_an_ingress_class_emissary_would_not_serve(breakage, says):
    objects = rendered()
    breakage(objects)
    problems = oc.acme_solver_problems(find(objects, "ClusterIssuer"), objects)
    assert problems[0] == says and len(problems) == 2  # one for each ClusterIssuer


# --- Pod Security --------------------------------------------------------------------------------------------


def test_each_namespace_enforces_the_level_its_pods_need_and_only_the_cni_and_log_agent_are_privileged():
    objects = rendered()
    assert oc.namespace_levels(objects) == LEVELS
    assert oc.pod_security_problems(objects) == []


def test_pod_security_check_catches_a_pod_its_namespace_refuses():
    levels = {**LEVELS, "linkerd-cni": "restricted"}  # the defect: the CNI plugin's namespace at restricted
    problems = oc.pod_security_problems(rendered(), levels)
    assert problems and all("linkerd-cni" in p and "HostPath Volumes" in p for p in problems)


def test_pod_security_check_catches_a_namespace_more_permissive_than_its_pods_need():
    levels = {**LEVELS, "emissary": "privileged"}
    assert oc.pod_security_problems(rendered(), levels) == [
        "namespace emissary enforces privileged, but its pods pass restricted"]


def test_pod_security_check_catches_chart_values_that_break_restricted(monkeypatch):
    from infra.cluster import ingress
    monkeypatch.setattr(ingress, "_RESTRICTED_CONTAINER", {"allowPrivilegeEscalation": False})
    problems = oc.pod_security_problems(oc.objects(offline_plan.run("cluster")))
    assert problems and all("Deployment paasport-emissary in emissary (restricted) needs baseline" in p
                            for p in problems)
    assert "Capabilities" in problems[0]


# --- schemas: the checks catch what they exist for ---------------------------------------------------------------


def _listener(objects: list[oc.Rendered]) -> oc.Rendered:
    return next(r for r in objects if r.obj["kind"] == "Listener")


def test_schema_check_catches_a_custom_resource_field_its_crd_does_not_have():
    objects = rendered()
    listener = _listener(objects)
    listener.obj["spec"]["hostBindings"] = listener.obj["spec"].pop("hostBinding")
    assert oc.schema_problems(objects, oc.KUBERNETES_VERSIONS[-1]) == [
        "Listener emissary-listener-8080: 'hostBinding' is a required property at ['spec']",
        "Listener emissary-listener-8080: Additional properties are not allowed ('hostBindings' was unexpected) at "
        "['spec']"]


def test_schema_check_catches_a_custom_resource_of_a_wrong_type_or_version():
    objects = rendered()
    _listener(objects).obj["spec"]["port"] = "8080"
    assert "'8080' is not of type 'integer'" in " ".join(oc.schema_problems(objects, oc.KUBERNETES_VERSIONS[-1]))
    objects = rendered()
    _listener(objects).obj["apiVersion"] = "getambassador.io/v2"  # served only with enableLegacyVersions
    assert oc.schema_problems(objects, oc.KUBERNETES_VERSIONS[-1]) == [
        "Listener emissary-listener-8080: no CRD in the render serves Listener at getambassador.io/v2"]


def test_schema_check_catches_a_built_in_object_with_an_unknown_field():
    objects = rendered()
    deployment = next(r for r in objects if r.obj["kind"] == "Deployment")
    deployment.obj["spec"]["replica"] = 2
    problems = oc.schema_problems(objects, oc.KUBERNETES_VERSIONS[-1])
    assert len(problems) == 1 and "replica" in problems[0]


# --- the two stacks fit --------------------------------------------------------------------------------------


def test_the_k8s_stack_finds_what_it_needs_in_the_cluster_stack():
    for overrides in ((), ("tls_issuer=", "acme_email=ops@example.com"), ("hpa_enabled=false",)):
        assert oc.fit_problems(oc.objects(k8s(*overrides)), rendered()) == []


def test_fit_check_catches_crds_the_cluster_stack_does_not_install():
    cluster = [r for r in rendered() if r.release != "paasport-emissary-crds"]
    problems = oc.fit_problems(oc.objects(k8s()), cluster)
    assert problems == [f"the k8s stack creates {kind} (getambassador.io/v3alpha1), which no CRD of the cluster "
                        "stack serves" for kind in ("Host", "Mapping")]


def test_fit_check_catches_a_cluster_issuer_name_that_does_not_exist():
    problems = oc.fit_problems(oc.objects(k8s("tls_issuer=letsencrypt-production")), rendered())
    assert problems == ["Certificate paasport-tls names ClusterIssuer 'letsencrypt-production'; the cluster stack "
                        "creates ['letsencrypt-prod', 'letsencrypt-staging']"]


def test_fit_check_catches_ingress_classes_that_disagree():
    app = oc.objects(k8s("tls_issuer=", "acme_email=ops@example.com", "ingress_class=nginx"))
    assert oc.fit_problems(app, rendered()) == [
        "Issuer paasport-acme solves HTTP-01 through IngressClass 'nginx'; the cluster stack's Emissary serves "
        "['ambassador']"]
    cluster = oc.objects(plan("ingress_class=emissary", "app_stacks="))
    assert oc.fit_problems(oc.objects(k8s()), cluster) == []  # its own issuers and class agree
    assert oc.fit_problems(app, cluster)[0].endswith("Emissary serves ['emissary']")


def test_fit_check_catches_linkerd_without_its_cni(monkeypatch):
    values = linkerd.values
    monkeypatch.setattr(linkerd, "values", lambda anchor: {**values(anchor), "cniEnabled": False})
    cluster = oc.objects(offline_plan.run("cluster"))
    assert oc.fit_problems(oc.objects(k8s()), cluster) == [
        "namespace ['paasport'] enforces restricted and is meshed, but Linkerd injects linkerd-init (cniEnabled "
        "is false): its pods would be refused"]
    without_daemon_set = [r for r in rendered() if r.release != "paasport-linkerd-cni"]
    assert oc.fit_problems(oc.objects(k8s()), without_daemon_set) == [
        "namespace ['paasport'] is meshed through the CNI plugin, but no linkerd-cni DaemonSet runs"]


def test_fit_check_catches_parts_turned_off():
    cluster = oc.objects(plan("linkerd_enabled=false", "metrics_server_enabled=false", "app_stacks="))
    assert oc.fit_problems(oc.objects(k8s()), cluster) == [
        "namespace ['paasport'] asks Linkerd to inject its pods, but the cluster stack installs no Linkerd",
        "the k8s stack's HorizontalPodAutoscaler reads metrics.k8s.io, which the cluster stack does not serve "
        "(metrics-server)"]


def test_fit_check_catches_a_cluster_wide_name_both_stacks_claim():
    app = oc.objects(k8s("namespace=linkerd"))
    assert "both stacks create Namespace linkerd" in oc.fit_problems(app, rendered())


# --- bad input: one message at preview -------------------------------------------------------------------------


def problems_of(*overrides: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("cluster", list(overrides))
    return [line.strip("- ") for line in str(caught.value).splitlines()[1:]]


def test_a_setting_that_turns_off_a_part_the_k8s_stack_needs_is_refused():
    assert problems_of("emissary_enabled=false", "cert_manager_enabled=false", "linkerd_enabled=false",
                       "metrics_server_enabled=false") == [
        "paasport:emissary_enabled is false, but stack k8s (Pulumi.k8s.yaml) routes the app through Emissary's "
        "Host and Mapping. Fix: in Pulumi.cluster.yaml set `paasport:emissary_enabled: true` (or run `pulumi config "
        "set --stack cluster emissary_enabled true`).",
        "paasport:cert_manager_enabled is false, but stack k8s (Pulumi.k8s.yaml) asks cert-manager for its "
        "Certificate (if the cluster has its own, leave k8s out of app_stacks). Fix: in Pulumi.cluster.yaml set "
        "`paasport:cert_manager_enabled: true` (or run `pulumi config set --stack cluster cert_manager_enabled "
        "true`).",
        "paasport:linkerd_enabled is false, but stack k8s (Pulumi.k8s.yaml) has linkerd_inject true: it asks "
        "Linkerd to mesh its pods, with no Linkerd to do it. Fix: in Pulumi.cluster.yaml set "
        "`paasport:linkerd_enabled: true` (or run `pulumi config set --stack cluster linkerd_enabled true`).",
        "paasport:metrics_server_enabled is false, but stack k8s (Pulumi.k8s.yaml) has hpa_enabled true: its "
        "autoscaler reads CPU from metrics-server (if the cluster has its own, as k3s does, leave k8s out of "
        "app_stacks). Fix: in Pulumi.cluster.yaml set "
        "`paasport:metrics_server_enabled: true` (or run `pulumi config set --stack cluster metrics_server_enabled "
        "true`).",
    ]
    # Without app stacks to serve, every part may be off.
    assert offline_plan.run("cluster", ["app_stacks=", "emissary_enabled=false", "cert_manager_enabled=false",
                                        "linkerd_enabled=false", "metrics_server_enabled=false",
                                        "metrics_enabled=false", "logs_enabled=false"]).resources == []


def test_two_stacks_claiming_one_namespace_or_disagreeing_on_names_are_refused(tmp_path, monkeypatch):
    from infra.cluster import settings
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.k8s.yaml").write_text((REPO / "Pulumi.k8s.yaml").read_text().replace(
        "paasport:namespace: paasport", "paasport:namespace: cert-manager").replace(
        "tls_issuer: letsencrypt-prod", "tls_issuer: letsencrypt"))
    monkeypatch.setattr(settings, "PROJECT_DIR", tmp_path)
    assert problems_of("ingress_class=emissary") == [
        "paasport:app_stacks names stack k8s (Pulumi.k8s.yaml), whose tls_issuer 'letsencrypt' is none of this "
        "stack's ClusterIssuers (letsencrypt-staging, letsencrypt-prod); fix its tls_issuer. Fix: in "
        "Pulumi.cluster.yaml set `paasport:app_stacks: k8s` (or run `pulumi config set --stack cluster app_stacks "
        "k8s`).",
        "paasport:ingress_class is 'emissary', but stack k8s (Pulumi.k8s.yaml) has ingress_class 'ambassador': both "
        "name the IngressClass Emissary serves. Fix: in Pulumi.cluster.yaml set `paasport:ingress_class: "
        "ambassador` (or run `pulumi config set --stack cluster ingress_class ambassador`).",
        "paasport:app_stacks names stack k8s (Pulumi.k8s.yaml), whose namespace 'cert-manager' is also this stack's "
        "namespace for cert-manager: two stacks would own it; give that stack another namespace. Fix: in "
        "Pulumi.cluster.yaml set `paasport:app_stacks: k8s` (or run `pulumi config set --stack cluster app_stacks "
        "k8s`).",
    ]
    assert problems_of("app_stacks=staging")[0].startswith(
        "paasport:app_stacks names stack 'staging', but there is no Pulumi.staging.yaml beside Pulumi.yaml")


@pytest.mark.parametrize(("override", "says"), [
    ("acme_email=ops", "paasport:acme_email is 'ops', which is not an e-mail address"),
    ("acme_email=", "paasport:acme_email is missing; Let's Encrypt registers the cluster's ClusterIssuers to it"),
    ("linkerd_chart_version=latest", "paasport:linkerd_chart_version is 'latest', which is not a chart version"),
    # Empty would drop the pin: helm installs the latest chart.
    ("linkerd_chart_version=", "paasport:linkerd_chart_version is empty, which is not a chart version like 1.2.3"),
    ("emissary_charts=charts", "paasport:emissary_charts is 'charts', neither an oci:// or https:// source nor an "
                               "absolute path"),
])
def test_bad_settings_get_one_clear_message(override, says):
    (problem,) = problems_of(override)
    assert problem.startswith(says) and "Fix: " in problem


def test_a_local_chart_directory_must_hold_every_package(tmp_path):
    (tmp_path / "linkerd-crds-2026.8.3.tgz").symlink_to(SHARED / "charts" / "linkerd-crds-2026.8.3.tgz")
    (problem,) = problems_of(f"linkerd_charts={tmp_path}")
    assert problem.startswith("paasport:linkerd_charts is the directory ")
    assert ("which holds no linkerd2-cni-2026.8.3.tgz, linkerd-control-plane-2026.8.3.tgz (`helm pull` them there"
            in problem)
    (problem,) = problems_of(f"linkerd_charts={tmp_path}", "linkerd_chart_version=2026.8.4")
    assert "holds no linkerd-crds-2026.8.4.tgz, linkerd2-cni-2026.8.4.tgz" in problem


def test_an_air_gapped_cluster_installs_from_a_local_directory(tmp_path):
    for chart in ("linkerd-crds", "linkerd2-cni", "linkerd-control-plane"):
        (tmp_path / f"{chart}-2026.8.3.tgz").symlink_to(SHARED / "charts" / f"{chart}-2026.8.3.tgz")
    local = plan(f"linkerd_charts={tmp_path}")
    charts = {r.name: offline_plan.reveal(r.inputs) for r in local.find(t.HELM_RELEASE) if "linkerd" in r.name}
    assert {name: (i["chart"], i.get("repositoryOpts")) for name, i in charts.items()} == {
        "paasport-linkerd-crds": (f"{tmp_path}/linkerd-crds-2026.8.3.tgz", None),
        "paasport-linkerd-cni": (f"{tmp_path}/linkerd2-cni-2026.8.3.tgz", None),
        "paasport-linkerd": (f"{tmp_path}/linkerd-control-plane-2026.8.3.tgz", None),
    }
    assert oc.pod_security_problems(oc.objects(local)) == []


# --- secrets and state -----------------------------------------------------------------------------------------


def linkerd_tls(p: offline_plan.Plan, type_: str) -> list[offline_plan.Registration]:
    """Linkerd's pulumi-tls registrations of `type_` (the log store has certificates of its own)."""
    return [r for r in p.find(type_) if r.name.startswith("paasport-linkerd")]


def _private_keys(p: offline_plan.Plan) -> list[str]:
    keys = [offline_plan.reveal(r.outputs, True)["privateKeyPem"] for r in linkerd_tls(p, t.TLS_PRIVATE_KEY)]
    assert len(keys) == 2 and all("PRIVATE KEY" in k for k in keys)
    return keys


def test_linkerd_keys_are_secrets_never_plain_in_the_plan_or_the_render(tmp_path):
    p = plan()
    for r in linkerd_tls(p, t.TLS_PRIVATE_KEY):
        assert rpc.is_rpc_secret(r.outputs["privateKeyPem"])
    secret = p.find(t.SECRET, "paasport-linkerd-identity-issuer")[0]
    assert rpc.is_rpc_secret(secret.inputs["stringData"])
    text = repr(offline_plan.to_json(p)) + offline_plan.tree(p)
    offline_plan.render(p, tmp_path / "render")
    text += "".join(f.read_text() for f in (tmp_path / "render").iterdir())
    assert "PRIVATE KEY" not in text
    for key in _private_keys(p):
        assert key.splitlines()[1] not in text


def test_the_secret_check_catches_a_key_in_plain_text(tmp_path):
    # The defect: a render that writes secret values (what --show-secrets asks for) holds the issuer's key.
    p = plan()
    offline_plan.render(p, tmp_path / "render", show_secrets=True)
    text = "".join(f.read_text() for f in (tmp_path / "render").iterdir())
    issuer_key = _private_keys(p)[0 if "issuer" in linkerd_tls(p, t.TLS_PRIVATE_KEY)[0].name else 1]
    assert "PRIVATE KEY" in text and issuer_key.splitlines()[1] in text


def test_linkerd_certificates_are_the_ecdsa_p256_anchor_and_issuer_linkerd_requires():
    p = plan()
    keys = [offline_plan.reveal(r.inputs) for r in linkerd_tls(p, t.TLS_PRIVATE_KEY)]
    assert [(k["algorithm"], k["ecdsaCurve"]) for k in keys] == [("ECDSA", "P256")] * 2
    anchor = offline_plan.reveal(linkerd_tls(p, t.TLS_SELF_SIGNED_CERT)[0].inputs)
    issuer = offline_plan.reveal(linkerd_tls(p, t.TLS_LOCALLY_SIGNED_CERT)[0].inputs)
    request = offline_plan.reveal(linkerd_tls(p, t.TLS_CERT_REQUEST)[0].inputs)
    assert (anchor["subject"]["commonName"], anchor["isCaCertificate"], anchor["validityPeriodHours"]) == (
        "root.linkerd.cluster.local", True, 87600)
    assert (request["subject"]["commonName"], issuer["isCaCertificate"], issuer["validityPeriodHours"],
            issuer["earlyRenewalHours"]) == ("identity.linkerd.cluster.local", True, 8760, 720)
    # What the control plane receives: the anchor in its values, the issuer signed by it in the Secret.
    values = offline_plan.reveal(p.find(t.HELM_RELEASE, "paasport-linkerd")[0].inputs)["values"]
    data = offline_plan.reveal(p.find(t.SECRET, "paasport-linkerd-identity-issuer")[0].inputs, True)["stringData"]
    root = x509.load_pem_x509_certificate(values["identityTrustAnchorsPEM"].encode())
    leaf = x509.load_pem_x509_certificate(data["tls.crt"].encode())
    leaf.verify_directly_issued_by(root)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey) and leaf.public_key().curve.name == "secp256r1"
    assert data["ca.crt"] == values["identityTrustAnchorsPEM"] and values["identity"]["issuer"]["scheme"] == (
        "kubernetes.io/tls")


def _trust(*overrides: str) -> tuple[dict[str, x509.Certificate], list[x509.Certificate], x509.Certificate, str]:
    """The stack's anchors by resource name, the bundle the control plane trusts, the issuer, its Secret's ca.crt."""
    p = plan(*overrides)
    anchors = {r.name: x509.load_pem_x509_certificate(r.outputs["certPem"].encode())
               for r in linkerd_tls(p, t.TLS_SELF_SIGNED_CERT)}
    values = offline_plan.reveal(p.find(t.HELM_RELEASE, "paasport-linkerd")[0].inputs)["values"]
    data = offline_plan.reveal(p.find(t.SECRET, "paasport-linkerd-identity-issuer")[0].inputs, True)["stringData"]
    bundle = x509.load_pem_x509_certificates(values["identityTrustAnchorsPEM"].encode())
    return anchors, bundle, x509.load_pem_x509_certificate(data["tls.crt"].encode()), data["ca.crt"]


def _pem(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding
    return cert.public_bytes(Encoding.PEM).decode()


def test_trust_anchor_rotation_trusts_both_then_switches_the_issuer_then_drops_the_old_one():
    # The defect: one anchor, always the stack's own, so the bundle Linkerd's manual rotation needs could not be
    # set, and `--replace` of the anchor made a new one nobody trusted yet.
    old, new = "paasport-linkerd-trust-anchor", "paasport-linkerd-trust-anchor-2"
    anchors, bundle, issuer, ca = _trust()
    assert list(anchors) == [old] and bundle == [anchors[old]]
    # 1. Trust both; the old anchor still signs the issuer, and keeps its URN.
    anchors, bundle, issuer, ca = _trust("linkerd_trust_anchors=1,2")
    assert sorted(anchors) == [old, new] and bundle == [anchors[old], anchors[new]]
    assert anchors[old] != anchors[new]
    issuer.verify_directly_issued_by(anchors[old])
    assert ca == _pem(anchors[old])
    # 2. Switch the issuer to the new anchor; both still trusted.
    anchors, bundle, issuer, ca = _trust("linkerd_trust_anchors=2,1")
    assert bundle == [anchors[new], anchors[old]]
    issuer.verify_directly_issued_by(anchors[new])
    assert ca == _pem(anchors[new])
    # 3. Drop the old one.
    anchors, bundle, issuer, ca = _trust("linkerd_trust_anchors=2")
    assert list(anchors) == [new] and bundle == [anchors[new]]
    issuer.verify_directly_issued_by(anchors[new])
    assert sorted(r.name for r in linkerd_tls(plan("linkerd_trust_anchors=2"), t.TLS_PRIVATE_KEY)) == [
        "paasport-linkerd-issuer", "paasport-linkerd-trust-anchor-2"]


@pytest.mark.parametrize(("value", "says"), [
    ("2,2", "paasport:linkerd_trust_anchors is '2,2', which names a generation twice"),
    ("new", "paasport:linkerd_trust_anchors is 'new', which is not comma-separated generation numbers"),
    ("", "paasport:linkerd_trust_anchors is empty, but the issuer needs a trust anchor to sign it"),
])
def test_bad_trust_anchor_generations_get_one_clear_message(value, says):
    (problem,) = problems_of(f"linkerd_trust_anchors={value}")
    assert problem.startswith(says) and "Fix: " in problem


def test_what_holds_the_cluster_state_is_protected():
    protected = sorted(f"{r.type.rsplit(':', 1)[1]} {r.name}" for r in plan().resources if r.protect)
    assert protected == [
        "Namespace cert-manager", "Namespace emissary", "Namespace linkerd", "Namespace linkerd-cni",
        "Namespace metrics-server", "Namespace monitoring", "Namespace opensearch",
        "PrivateKey paasport-linkerd-trust-anchor", "PrivateKey paasport-opensearch-tls-ca",
        "RandomPassword paasport-opensearch-admin", "RandomPassword paasport-opensearch-dashboards",
        "RandomPassword paasport-opensearch-dashboards-cookie", "RandomPassword paasport-opensearch-fluentbit",
        "Release paasport-cert-manager", "Release paasport-emissary-crds", "Release paasport-linkerd-crds",
        "Release paasport-opensearch", "Release paasport-prometheus", "SelfSignedCert paasport-linkerd-trust-anchor",
        "SelfSignedCert paasport-opensearch-tls-ca"]
    assert not [r for r in plan("protect=false", "app_stacks=").resources if r.protect]


# --- footprint -------------------------------------------------------------------------------------------------


def test_the_platform_fits_three_small_nodes_and_every_container_requests_resources():
    usage = oc.footprint(rendered())
    assert oc.fits(usage) == []
    assert {c: u.unrequested for c, u in usage.items()} == {c: [] for c in usage}
    assert set(usage) == {"paasport:ingress:Emissary", "paasport:tls:CertManager", "paasport:linkerd:Linkerd",
                          "paasport:metricsserver:MetricsServer", "paasport:metrics:Metrics", "paasport:logs:Logs"}


def test_footprint_counts_replicas_daemon_sets_and_init_containers():
    pod = {"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                          {"name": "b", "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}],
           "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "1Mi"}}}]}
    objects = [oc.Rendered({"kind": "Deployment", "metadata": {"name": "d"},
                            "spec": {"replicas": 2, "template": {"spec": pod}}}, "r", "c", "n"),
               oc.Rendered({"kind": "DaemonSet", "metadata": {"name": "s"}, "spec": {"template": {"spec": pod}}},
                           "r", "c", "n"),
               oc.Rendered({"kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {
                   "replicas": 1, "template": {"spec": {"containers": [{"name": "x"}]}},
                   "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "8Gi"}}}}]}},
                   "r", "c", "n")]
    (usage,) = oc.footprint(objects).values()
    assert (usage.pods, usage.cpu, usage.memory, usage.volumes) == (6, 5.0, 5 * 128 * 1024**2, 8 * 1024**3)
    assert usage.unrequested == ["StatefulSet db/x"]
    assert oc.fits({"c": oc.Usage(cpu=6.0, memory=1.0)}) == ["CPU requests 6.00 cores exceed 3 x 1.93 allocatable"]


@pytest.mark.parametrize(("cpu", "memory", "verdict"), [
    (1.5, 3 * 1024**3, "fits 3 small nodes (2 vCPU / 4 GiB; 5790m CPU and 8916 Mi allocatable to pods): it requests "
                       "26% of their CPU and 34% of their memory"),
    (6.0, 1024**3, "does not fit 3 small nodes (2 vCPU / 4 GiB; 5790m CPU and 8916 Mi allocatable to pods): it "
                   "requests 104% of their CPU and 11% of their memory"),
], ids=["fits", "too much CPU"])
def test_the_footprint_text_ends_with_the_totals_and_the_verdict(cpu, memory, verdict):
    usage = {"b": oc.Usage(cpu=cpu - 0.5, memory=memory - 1024**3, volumes=8 * 1024**3, pods=2, unrequested=[]),
             "a": oc.Usage(cpu=0.5, memory=1024**3, pods=1, unrequested=["Deployment x/y"])}
    assert oc.text(usage).splitlines() == [
        "a: 1 pods, 500m CPU, 1024 Mi, 0 Gi; no request: Deployment x/y",
        f"b: 2 pods, {(cpu - 0.5) * 1000:.0f}m CPU, {(memory - 1024**3) / 1024**2:.0f} Mi, 8 Gi",
        f"total: 3 pods, {cpu * 1000:.0f}m CPU, {memory / 1024**2:.0f} Mi, 8 Gi",
        verdict]


def test_make_footprint_prints_the_totals_and_the_verdict_its_makefile_comment_promises():
    makefile = (REPO / "Makefile").read_text()
    assert "## footprint: what the cluster stack's platform requests, per component, and whether it fits 3 small " \
           "nodes" in makefile
    result = offline_cli("cluster")
    assert result.returncode == 0, result.stderr
    *components, total, verdict = result.stdout.splitlines()
    amounts = [re.fullmatch(r"\S+: (\d+) pods, (\d+)m CPU, (\d+) Mi, (\d+) Gi", line) for line in components]
    assert all(amounts), components
    counted = re.fullmatch(r"total: (\d+) pods, (\d+)m CPU, (\d+) Mi, (\d+) Gi", total)
    assert counted, total
    # the sums of the lines above, each of which was rounded on its own
    for column, slack in ((1, 0), (2, len(amounts)), (3, len(amounts)), (4, len(amounts))):
        assert abs(int(counted[column]) - sum(int(m[column]) for m in amounts)) <= slack, (total, components)
    assert re.fullmatch(r"fits 3 small nodes \(2 vCPU / 4 GiB; 5790m CPU and 8916 Mi allocatable to pods\): it "
                        r"requests \d+% of their CPU and \d+% of their memory", verdict), verdict


def test_the_docs_show_the_footprint_of_a_run():
    page = (REPO / "docs" / "kubernetes.md").read_text()
    block = re.search(r"<!-- footprint:start -->\n(.*?)\n<!-- footprint:end -->", page, re.DOTALL)
    assert block, "docs/kubernetes.md has no footprint block"
    assert oc.markdown(oc.footprint(rendered())) in block.group(1)


def test_the_cluster_plan_renders_offline_from_the_make_target(tmp_path):
    assert offline_plan.main(["--stack", "cluster", "--render", str(tmp_path / "out")]) == 0
    files = list((tmp_path / "out").iterdir())
    assert len(files) >= 100 and not [f for f in files if "PRIVATE KEY" in f.read_text()]


def test_renders_are_copies_so_that_a_broken_one_leaves_the_others_whole():
    # The negative tests above break a render in place; the cached render must not see it.
    first, second = rendered(), rendered()
    find(first, "Deployment", "paasport-emissary")[0]["spec"]["replicas"] = 9
    assert find(second, "Deployment", "paasport-emissary")[0]["spec"]["replicas"] == 2


def test_the_cluster_stack_never_reads_the_app(monkeypatch: pytest.MonkeyPatch):
    """The cluster stack prepares a cluster for any app: it plans without the app's contract, and an app_dir given to
    it is refused as a setting it does not read."""
    def unreadable(*_args: object) -> None:
        raise AssertionError("the cluster stack read the app's contract")

    monkeypatch.setattr(contract, "read", unreadable)
    assert offline_plan.run("cluster", []).find(t.HELM_RELEASE)
    with pytest.raises(ConfigError) as refused:
        offline_plan.run("cluster", ["app_dir=/nonexistent"])
    assert ("paasport:app_dir (--config app_dir=/nonexistent) is a k8s and heroku setting; the cluster stack does not "
            "read it. Fix: drop --config app_dir=/nonexistent (set it on a k8s or heroku stack).") in str(refused.value)
