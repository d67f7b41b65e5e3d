"""The cluster stack offline: every chart it installs rendered by the real helm, and the checks on what it renders.

Each check returns the problems it finds (empty when all is well), so that a test asserts none on the real stacks
and shows, on a copy with a defect put back, that the check catches it:
  schema_problems        built-in objects strictly valid on a Kubernetes version; custom resources valid against
                         the CRDs of the same render
  pod_security_problems  each pod passes its namespace's Pod Security level, and no namespace is more permissive
                         than its most demanding pod needs
  fit_problems           the k8s stack's needs met by the cluster stack (CRDs served, ClusterIssuer and
                         IngressClass names, Linkerd's CNI, metrics-server, no cluster-wide name claimed twice)
`footprint` sums what the platform requests, per component (`python -m offline.cluster --markdown`).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate import utils as kubernetes_validate

from offline import helm, pod_security
from offline import plan as offline_plan

Obj = dict[str, Any]
KUBERNETES_VERSIONS = helm.kubernetes_versions()
# Kinds that exist only at cluster scope: two stacks that create one of the same name fight over it.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "ClusterIssuer",
                  "IngressClass", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                  "PriorityClass", "StorageClass", "PersistentVolume"}


@dataclass(frozen=True)
class Rendered:
    """One object a stack would create: by the program itself (`release` None) or by a chart's release."""

    obj: Obj
    release: str | None  # the release's resource name
    component: str  # the ComponentResource type it belongs to, e.g. paasport:linkerd:Linkerd
    namespace: str  # where it lands (a chart's object without one lands in the release's namespace)


def _component(plan: offline_plan.Plan, reg: offline_plan.Registration) -> str:
    parents = {r.urn: r for r in plan.resources}
    parent = parents.get(reg.parent)
    return parent.type if parent is not None else reg.parent.rsplit("::", 1)[0].rsplit("$", 1)[-1]


@cache
def _render_release(inputs_key: str, kube_version: str | None) -> tuple[Obj, ...]:
    inputs = json.loads(inputs_key)
    return tuple(helm.render_release(inputs, kube_version=kube_version))


def objects(plan: offline_plan.Plan, kube_version: str | None = None) -> list[Rendered]:
    """Every Kubernetes object of `plan`: its own (as the provider would apply them) and each chart's, rendered by
    the real helm with the stack's values (secrets as "[secret]") for a cluster of `kube_version`. A fresh copy."""
    found = []
    for reg in plan.resources:
        manifest = offline_plan.kubernetes_manifest(reg)
        if manifest is None:
            continue
        component = _component(plan, reg)
        if "helmChart" in manifest:
            chart = manifest["helmChart"]
            for obj in _render_release(json.dumps(chart, sort_keys=True), kube_version):
                namespace = (obj.get("metadata") or {}).get("namespace") or chart["namespace"]
                found.append(Rendered(copy.deepcopy(obj), reg.name, component, namespace))
        else:
            namespace = (manifest.get("metadata") or {}).get("namespace") or ""
            found.append(Rendered(manifest, None, component, namespace))
    return found


def _name(obj: Obj) -> str:
    return f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name')}"


# --- schemas -------------------------------------------------------------------------------------------------


def crds(rendered: Iterable[Rendered]) -> dict[tuple[str, str], Obj]:
    """The CustomResourceDefinitions among `rendered`, by (group, kind)."""
    return {(r.obj["spec"]["group"], r.obj["spec"]["names"]["kind"]): r.obj for r in rendered
            if r.obj.get("kind") == "CustomResourceDefinition"}


def served_version(definitions: dict[tuple[str, str], Obj], api_version: str, kind: str) -> Obj | None:
    """The CRD version that serves `kind` at `api_version` (group/version), else None."""
    group, _, version = api_version.rpartition("/")
    crd = definitions.get((group, kind))
    if crd is None:
        return None
    return next((v for v in crd["spec"]["versions"] if v["name"] == version and v.get("served")), None)


def _strict(schema: Any) -> Any:
    """A CRD's structural schema as the API server's strict field validation applies it: an object with
    `properties` and no `additionalProperties` refuses other fields, unless x-kubernetes-preserve-unknown-fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) if k in ("properties", "items", "additionalProperties", "allOf", "anyOf", "oneOf", "not")
           or isinstance(v, dict | list) else v for k, v in schema.items()}
    if "properties" in out:
        out["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
    if (schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def custom_resource_problems(obj: Obj, definitions: dict[tuple[str, str], Obj]) -> list[str]:
    """`obj` against the openAPIV3Schema of the CRD version that serves it (apiVersion, kind and metadata are the
    API server's; the rest must match the schema, unknown fields refused)."""
    version = served_version(definitions, obj.get("apiVersion", ""), obj.get("kind", ""))
    if version is None:
        return [f"{_name(obj)}: no CRD in the render serves {obj.get('kind')} at {obj.get('apiVersion')}"]
    schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    schema.setdefault("properties", {}).update({"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                                 "metadata": {"type": "object"}})
    validator = jsonschema.Draft7Validator(schema)
    return [f"{_name(obj)}: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(obj)]


def schema_problems(rendered: list[Rendered], version: str,
                    definitions: dict[tuple[str, str], Obj] | None = None) -> list[str]:
    """Built-in kinds strictly valid on Kubernetes `version`; custom kinds valid against `definitions` (by default
    the CRDs among `rendered`)."""
    definitions = crds(rendered) if definitions is None else definitions
    problems = []
    for r in rendered:
        try:
            kubernetes_validate.validate(r.obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problems += custom_resource_problems(r.obj, definitions)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{_name(r.obj)}: {error.message} at {list(error.path)}")
    return problems


# --- Pod Security --------------------------------------------------------------------------------------------


def namespace_levels(rendered: list[Rendered]) -> dict[str, str]:
    """The enforced Pod Security level of each namespace the stack creates."""
    return {r.obj["metadata"]["name"]: (r.obj["metadata"].get("labels") or {}).get(
        "pod-security.kubernetes.io/enforce", "privileged")
        for r in rendered if r.obj.get("kind") == "Namespace"}


def pod_security_problems(rendered: list[Rendered], levels: dict[str, str] | None = None) -> list[str]:
    """Every pod must pass its namespace's level, and each namespace's level must be the strictest that all of its
    pods pass: `privileged` only where a pod needs it (the CNI plugin, a node agent)."""
    levels = namespace_levels(rendered) if levels is None else levels
    order = pod_security.LEVELS
    needs: dict[str, str] = {}
    problems = []
    for r in rendered:
        pod = pod_security.pod_of(r.obj)
        if pod is None:
            continue
        metadata, spec = pod
        level = pod_security.level(spec, metadata)
        needs[r.namespace] = max(needs.get(r.namespace, "restricted"), level, key=order.index)
        enforced = levels.get(r.namespace)
        if enforced is None:
            problems.append(f"{_name(r.obj)} is in namespace {r.namespace!r}, which the stack does not label")
        elif order.index(level) > order.index(enforced):
            found = pod_security.violations(spec, metadata)
            problems.append(f"{_name(r.obj)} in {r.namespace} ({enforced}) needs {level}: {'; '.join(found)}")
    for namespace, enforced in levels.items():
        need = needs.get(namespace, "restricted")
        if order.index(enforced) > order.index(need):
            problems.append(f"namespace {namespace} enforces {enforced}, but its pods pass {need}")
    return problems


# --- the two stacks together ---------------------------------------------------------------------------------


def _custom(rendered: list[Rendered], kind: str) -> list[Obj]:
    return [r.obj for r in rendered if r.obj.get("kind") == kind]


def fit_problems(app: list[Rendered], cluster: list[Rendered]) -> list[str]:
    """What the app stack's objects (`app`, the k8s stack's) need of the cluster stack's (`cluster`)."""
    definitions = crds(cluster)
    builtin = set(helm.cluster_apis())
    problems = []
    for r in app:
        api, kind = r.obj.get("apiVersion", ""), r.obj.get("kind", "")
        if f"{api}/{kind}" not in builtin and served_version(definitions, api, kind) is None:
            problems.append(f"the k8s stack creates {kind} ({api}), which no CRD of the cluster stack serves")
    issuers = {o["metadata"]["name"]: o for o in _custom(cluster, "ClusterIssuer")}
    for certificate in _custom(app, "Certificate"):
        ref = certificate["spec"]["issuerRef"]
        if ref.get("kind") == "ClusterIssuer" and ref["name"] not in issuers:
            problems.append(f"Certificate {certificate['metadata']['name']} names ClusterIssuer {ref['name']!r}; "
                            f"the cluster stack creates {sorted(issuers) or 'none'}")
    problems += acme_solver_problems([*_custom(app, "Issuer"), *issuers.values()], cluster)
    problems += _linkerd_problems(app, cluster)
    if _custom(app, "HorizontalPodAutoscaler") and not [
            o for o in _custom(cluster, "APIService") if o["metadata"]["name"] == "v1beta1.metrics.k8s.io"]:
        problems.append("the k8s stack's HorizontalPodAutoscaler reads metrics.k8s.io, which the cluster stack "
                        "does not serve (metrics-server)")
    claimed = {(r.obj.get("kind"), r.obj["metadata"]["name"]) for r in cluster if r.obj.get("kind") in CLUSTER_SCOPED}
    problems += [f"both stacks create {kind} {name}" for kind, name in sorted(
        {(r.obj.get("kind"), r.obj["metadata"]["name"]) for r in app if r.obj.get("kind") in CLUSTER_SCOPED}
        & claimed)]
    return problems


def _linkerd_problems(app: list[Rendered], cluster: list[Rendered]) -> list[str]:
    """Meshed pods in a `restricted` namespace pass only without linkerd-init's NET_ADMIN and NET_RAW: the control
    plane must inject with the CNI plugin (https://linkerd.io/2/features/cni/), whose DaemonSet must run."""
    meshed = [o["metadata"]["name"] for o in _custom(app, "Namespace")
              if (o["metadata"].get("annotations") or {}).get("linkerd.io/inject") == "enabled"
              and (o["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce") == "restricted"]
    if not meshed:
        return []
    config = [o for o in _custom(cluster, "ConfigMap") if o["metadata"]["name"] == "linkerd-config"]
    if not config:
        return [f"namespace {meshed} asks Linkerd to inject its pods, but the cluster stack installs no Linkerd"]
    values = yaml.safe_load(config[0]["data"]["values"])
    problems = []
    if not values.get("cniEnabled"):
        problems.append(f"namespace {meshed} enforces restricted and is meshed, but Linkerd injects linkerd-init "
                        "(cniEnabled is false): its pods would be refused")
    if not [o for o in _custom(cluster, "DaemonSet") if o["metadata"]["name"] == "linkerd-cni"]:
        problems.append(f"namespace {meshed} is meshed through the CNI plugin, but no linkerd-cni DaemonSet runs")
    return problems


# --- what the platform's controllers read ----------------------------------------------------------------------

_READ_VERBS = {"get", "list", "watch", "*"}
_EMISSARY = "paasport:ingress:Emissary"
_CERT_MANAGER_GATEWAY = ("cert-manager's Gateway API support, which runs only with its config gatewayAPI.enabled, off "
                         "by default (cert-manager v1.21.1 values.yaml `config`; https://cert-manager.io/docs/usage/"
                         "gateway/)")
# What a ClusterRole or Role of the platform reads although its controller does without it: (component, API group,
# resource or "*") and the upstream reason. Any other API a rule reads must be served, or the controller that
# lists it waits for it (Linkerd's policy controller and the Gateway API: https://linkerd.io/2/features/gateway-api/).
OPTIONAL_APIS = {
    (_EMISSARY, "networking.internal.knative.dev", "*"):
        "Knative Ingresses, which Emissary watches only with AMBASSADOR_KNATIVE_SUPPORT=true (emissary v4.1.0 "
        "cmd/entrypoint/interesting_types.go, env.go IsKnativeEnabled)",
    (_EMISSARY, "networking.x-k8s.io", "*"):
        "the v1alpha1 Gateway API: Emissary lists the API server's types first and watches only those served "
        "(interesting_types.go, GetInterestingTypes)",
    (_EMISSARY, "gateway.getambassador.io", "*"): "granted by the chart's RBAC; no type of that group is among "
                                                  "those Emissary 4.1.0 watches (interesting_types.go)",
    (_EMISSARY, "extensions", "*"): "extensions/v1beta1 Ingresses, gone since Kubernetes 1.22: Emissary watches the "
                                    "newest Ingress version served (interesting_types.go)",
    ("paasport:linkerd:Linkerd", "extensions", "*"):
        "the injector's rules name extensions beside apps and batch, which serve the same workloads "
        "(linkerd-control-plane 2026.8.3 templates/proxy-injector-rbac.yaml)",
    ("paasport:metrics:Metrics", "", "ingresses"):
        "the chart grants ingresses of the core group beside networking.k8s.io's, where they are (prometheus 29.27.0 "
        "templates/clusterrole.yaml); no core resource of that name exists",
    ("paasport:tls:CertManager", "gateway.networking.k8s.io", "gateways"): _CERT_MANAGER_GATEWAY,
    ("paasport:tls:CertManager", "gateway.networking.k8s.io", "listenersets"): _CERT_MANAGER_GATEWAY,
    ("paasport:tls:CertManager", "gateway.networking.k8s.io", "httproutes"): _CERT_MANAGER_GATEWAY,
}


# The kubelet authorizes its own API as subresources of nodes, which the API server has no path for
# (https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/#kubelet-authorization).
KUBELET_SUBRESOURCES = frozenset(("", f"nodes/{sub}") for sub in ("metrics", "stats", "log", "spec", "proxy",
                                                                  "checkpoint", "healthz", "pods", "configz"))


@cache
def builtin_resources() -> frozenset[tuple[str, str]]:
    """(API group, resource) of every built-in API, subresources as "pods/log": the paths of the official
    Kubernetes Python client (`kubernetes`, generated from the API server's OpenAPI document), whose major version
    follows the newest Kubernetes version checked."""
    import kubernetes.client.api  # a test dependency, needed only here

    paths = set()
    for module in Path(kubernetes.client.api.__file__).parent.glob("*_api.py"):
        paths |= set(re.findall(r"resource_path='(/apis?/[^']+)'", module.read_text()))
    found = set()
    for path in paths:
        parts = path.strip("/").split("/")
        group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
        if rest[:1] == ["watch"]:
            rest = rest[1:]
        if rest[:2] == ["namespaces", "{namespace}"]:
            rest = rest[2:]
        if not rest or rest[0].startswith("{"):
            continue
        found.add((group, rest[0]))
        if len(rest) >= 3 and rest[1].startswith("{"):
            found.add((group, f"{rest[0]}/{rest[2]}"))
    return frozenset(found) | KUBELET_SUBRESOURCES


def served_resources(rendered: Iterable[Rendered]) -> set[tuple[str, str]]:
    """(API group, resource) served by what the render installs: each CRD's plural (and its status and scale
    subresources), and each APIService's group (any resource: an aggregated API serves its own)."""
    served = set()
    for r in rendered:
        if r.obj.get("kind") == "CustomResourceDefinition":
            spec = r.obj["spec"]
            plural = spec["names"]["plural"]
            served |= {(spec["group"], plural), (spec["group"], f"{plural}/status"), (spec["group"], f"{plural}/scale")}
        elif r.obj.get("kind") == "APIService" and (r.obj.get("spec") or {}).get("group"):
            served.add((r.obj["spec"]["group"], "*"))
    return served


def rbac_api_problems(rendered: list[Rendered], cluster_has: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Every API group and resource that a ClusterRole or Role of the platform reads (get, list or watch) must be
    built in, or served by a CRD or APIService of the render, or by the cluster itself (`cluster_has`), unless its
    controller does without it (OPTIONAL_APIS). A controller whose informer lists a type nobody serves never syncs."""
    served = builtin_resources() | served_resources(rendered) | set(cluster_has)
    groups = {group for group, resource in served if resource == "*"}
    problems = []
    for r in rendered:
        if r.obj.get("kind") not in ("ClusterRole", "Role"):
            continue
        for rule in r.obj.get("rules") or []:
            if not _READ_VERBS & set(rule.get("verbs") or []):
                continue
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    if group == "*" or group in groups or (group, resource) in served or (
                            resource == "*" and any(g == group for g, _ in served)):
                        continue
                    if any((r.component, group, key) in OPTIONAL_APIS for key in (resource, "*")):
                        continue
                    problems.append(f"{_name(r.obj)} ({r.component}) reads {resource} of API group "
                                    f"{group or 'core'!r}, which neither Kubernetes nor the stack serves")
    return sorted(set(problems))


# --- ACME HTTP-01 through Emissary's Ingress support -----------------------------------------------------------

EMISSARY_CONTROLLER = "getambassador.io/ingress-controller"  # emissary fetch/ingress.py IngressClassProcessor
# Emissary's environment that narrows what it watches (emissary v4.1.0 cmd/entrypoint/env.go and
# interesting_types.go): one namespace only (and no IngressClasses at all), a field or label selector, or an id.
_NARROWING_ENV = ("AMBASSADOR_SINGLE_NAMESPACE", "AMBASSADOR_FIELD_SELECTOR", "AMBASSADOR_LABEL_SELECTOR")


def _role_rules(rendered: list[Rendered], role: Obj) -> list[Obj]:
    """A ClusterRole's rules, with those an aggregationRule gathers from the ClusterRoles its selectors match."""
    selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
    rules = list(role.get("rules") or [])
    for other in _custom(rendered, "ClusterRole"):
        labels = other["metadata"].get("labels") or {}
        if other is not role and any(all(labels.get(k) == v for k, v in (s.get("matchLabels") or {}).items())
                                     for s in selectors):
            rules += other.get("rules") or []
    return rules


def _grants(rules: list[Obj], group: str, resource: str, verbs: set[str]) -> bool:
    return all(any((group in (rule.get("apiGroups") or []) or "*" in (rule.get("apiGroups") or []))
                   and (resource in (rule.get("resources") or []) or "*" in (rule.get("resources") or []))
                   and (verb in (rule.get("verbs") or []) or "*" in (rule.get("verbs") or []))
                   for rule in rules) for verb in verbs)


def ingress_class_problems(rendered: list[Rendered], class_name: str, who: str) -> list[str]:
    """`who` (an ACME solver) hands its challenge to an Ingress of class `class_name`: the class must be one whose
    controller is Emissary's, and Emissary must serve such Ingresses. Emissary (fetch/ingress.py) routes an Ingress
    whose spec.ingressClassName names an IngressClass of controller getambassador.io/ingress-controller, with its
    own ambassador id, and it watches Ingresses and IngressClasses cluster-wide unless its environment narrows it
    (cmd/entrypoint/interesting_types.go: no IngressClasses at all with AMBASSADOR_SINGLE_NAMESPACE)."""
    classes = {o["metadata"]["name"]: o for o in _custom(rendered, "IngressClass")}
    ingress_class = classes.get(class_name)
    if ingress_class is None:
        return [f"{who} solves HTTP-01 through IngressClass {class_name!r}; the cluster stack's Emissary serves "
                f"{sorted(classes) or 'none'}"]
    controller = (ingress_class.get("spec") or {}).get("controller")
    if controller != EMISSARY_CONTROLLER:
        return [f"{who} solves HTTP-01 through IngressClass {class_name!r}, whose controller is {controller!r}, not "
                f"Emissary's {EMISSARY_CONTROLLER!r}"]
    deployments = [r.obj for r in rendered if r.component == _EMISSARY and r.obj.get("kind") == "Deployment"]
    if not deployments:
        return [f"{who} solves HTTP-01 through IngressClass {class_name!r}, but no Emissary Deployment runs"]
    problems = []
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        account = pod.get("serviceAccountName", "default")
        namespace = deployment["metadata"].get("namespace") or next(
            (r.namespace for r in rendered if r.obj is deployment), "")
        rules = [rule for binding in _custom(rendered, "ClusterRoleBinding")
                 if any(s.get("kind") == "ServiceAccount" and s.get("name") == account
                        and s.get("namespace") == namespace for s in binding.get("subjects") or [])
                 for role in _custom(rendered, "ClusterRole") if role["metadata"]["name"] == binding["roleRef"]["name"]
                 for rule in _role_rules(rendered, role)]
        for resource in ("ingresses", "ingressclasses"):
            if not _grants(rules, "networking.k8s.io", resource, {"get", "list", "watch"}):
                problems.append(f"Deployment {deployment['metadata']['name']} may not get, list and watch {resource} "
                                "cluster-wide (a ClusterRole bound to its service account): Emissary would not see "
                                f"the solver's Ingress of class {class_name!r}")
        env = {e["name"]: e.get("value") for c in pod.get("containers") or [] for e in c.get("env") or []}
        for name in _NARROWING_ENV:
            if env.get(name):
                problems.append(f"Deployment {deployment['metadata']['name']} sets {name}={env[name]!r}: Emissary then "
                                f"leaves out Ingresses of class {class_name!r} that cert-manager creates elsewhere")
        ambassador_id = env.get("AMBASSADOR_ID") or "default"
        if ambassador_id != "default":
            problems.append(f"Deployment {deployment['metadata']['name']} sets AMBASSADOR_ID={ambassador_id!r}: "
                            "Emissary then ignores the solver's Ingress, which carries no getambassador.io/"
                            "ambassador-id annotation")
    return problems


def acme_solver_problems(issuers: Iterable[Obj], cluster: list[Rendered]) -> list[str]:
    """Each HTTP-01 solver of `issuers` (Issuers, ClusterIssuers) that names an IngressClass must reach Emissary."""
    problems = []
    for issuer in issuers:
        for solver in (issuer.get("spec") or {}).get("acme", {}).get("solvers", []):
            class_name = ((solver.get("http01") or {}).get("ingress") or {}).get("ingressClassName")
            if class_name is not None:
                problems += ingress_class_problems(cluster, class_name,
                                                   f"{issuer['kind']} {issuer['metadata']['name']}")
    return problems


# --- footprint -----------------------------------------------------------------------------------------------

_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3,
          "Ti": 1024**4}


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity ("250m", "1.5Gi", 2) as a number (cores, bytes)."""
    text = str(value)
    number = text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return float(number) * _UNITS[text[len(number):]]


# A small cluster: three nodes of 2 vCPU and 4 GiB. What a pod may request of each is less: GKE reserves 6% of the
# first core and 1% of the second, 25% of the first 4 GiB of memory, and 100 MiB for eviction
# (https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes#memory_and_cpu_reservations).
NODES = 3
NODE_CPU = 2 - 0.06 - 0.01
NODE_MEMORY = 4 * 1024**3 - 1024**3 - 100 * 1024**2


@dataclass
class Usage:
    """What one component requests: CPU (cores), memory and volumes (bytes), and its pods."""

    cpu: float = 0.0
    memory: float = 0.0
    volumes: float = 0.0
    pods: int = 0
    unrequested: list[str] | None = None  # containers without a CPU or memory request


def _pod_requests(spec: Obj) -> tuple[float, float, list[str]]:
    """The scheduler's request of a pod: its containers' sum, or its largest init container if more
    (https://kubernetes.io/docs/concepts/workloads/pods/init-containers/#resource-sharing-within-containers)."""
    def requests(container: Obj) -> tuple[float, float]:
        req = (container.get("resources") or {}).get("requests") or {}
        return quantity(req.get("cpu", 0)), quantity(req.get("memory", 0))

    containers = [requests(c) for c in spec.get("containers") or []]
    inits = [requests(c) for c in spec.get("initContainers") or []]
    cpu = max(sum(c for c, _ in containers), max((c for c, _ in inits), default=0))
    memory = max(sum(m for _, m in containers), max((m for _, m in inits), default=0))
    missing = [c["name"] for c in spec.get("containers") or []
               if not {"cpu", "memory"} <= set((c.get("resources") or {}).get("requests") or {})]
    return cpu, memory, missing


def footprint(rendered: list[Rendered], nodes: int = NODES) -> dict[str, Usage]:
    """Requests per component of the long-running pods (Deployments, StatefulSets, a DaemonSet's pod on each of
    `nodes`) and their volumes; Jobs and helm hooks run to completion and are left out."""
    usage: dict[str, Usage] = {}
    for r in rendered:
        kind, spec = r.obj.get("kind"), r.obj.get("spec") or {}
        if kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            if kind == "PersistentVolumeClaim":
                u = usage.setdefault(r.component, Usage(unrequested=[]))
                u.volumes += quantity(spec["resources"]["requests"]["storage"])
            continue
        if "helm.sh/hook" in ((r.obj.get("metadata") or {}).get("annotations") or {}):
            continue
        replicas = nodes if kind == "DaemonSet" else spec.get("replicas", 1)
        cpu, memory, missing = _pod_requests(spec["template"]["spec"])
        u = usage.setdefault(r.component, Usage(unrequested=[]))
        u.cpu += replicas * cpu
        u.memory += replicas * memory
        u.pods += replicas
        u.unrequested += [f"{_name(r.obj)}/{c}" for c in missing]
        for claim in spec.get("volumeClaimTemplates") or []:
            u.volumes += replicas * quantity(claim["spec"]["resources"]["requests"]["storage"])
    return usage


def fits(usage: dict[str, Usage], nodes: int = NODES) -> list[str]:
    """Why the requests do not fit `nodes` small nodes (empty when they do)."""
    cpu, memory = sum(u.cpu for u in usage.values()), sum(u.memory for u in usage.values())
    problems = []
    if cpu > nodes * NODE_CPU:
        problems.append(f"CPU requests {cpu:.2f} cores exceed {nodes} x {NODE_CPU:.2f} allocatable")
    if memory > nodes * NODE_MEMORY:
        problems.append(f"memory requests {memory / 1024**3:.2f} GiB exceed {nodes} x "
                        f"{NODE_MEMORY / 1024**3:.2f} GiB allocatable")
    return problems


def markdown(usage: dict[str, Usage], nodes: int = NODES) -> str:
    """The footprint as docs/kubernetes.md shows it."""
    gib = 1024**3
    lines = ["| component | pods | CPU requested | memory requested | volumes |", "| --- | ---: | ---: | ---: | ---: |"]
    for component, u in sorted(usage.items()):
        lines.append(f"| `{component}` | {u.pods} | {u.cpu * 1000:.0f}m | {u.memory / 1024**2:.0f} Mi | "
                     f"{u.volumes / gib:.0f} Gi |")
    cpu, memory = sum(u.cpu for u in usage.values()), sum(u.memory for u in usage.values())
    volumes, pods = sum(u.volumes for u in usage.values()), sum(u.pods for u in usage.values())
    lines.append(f"| **total** | {pods} | {cpu * 1000:.0f}m | {memory / 1024**2:.0f} Mi | {volumes / gib:.0f} Gi |")
    lines.append(f"| {nodes} nodes of 2 vCPU / 4 GiB, allocatable | | {nodes * NODE_CPU * 1000:.0f}m | "
                 f"{nodes * NODE_MEMORY / 1024**2:.0f} Mi | |")
    lines.append("")
    lines.append(f"The platform requests {cpu / (nodes * NODE_CPU):.0%} of the CPU and "
                 f"{memory / (nodes * NODE_MEMORY):.0%} of the memory that {nodes} such nodes can give to pods.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="cluster", help="the cluster stack (Pulumi.STACK.yaml)")
    parser.add_argument("--markdown", action="store_true", help="print the footprint as docs/kubernetes.md's table")
    args = parser.parse_args(argv)
    try:
        usage = footprint(objects(offline_plan.run(args.stack)))
    except (offline_plan.pulumi.RunError, helm.HelmError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    problems = fits(usage)
    if args.markdown:
        print(markdown(usage))
    else:
        print(text(usage))
    for problem in problems:
        print(f"does not fit {NODES} small nodes: {problem}", file=sys.stderr)
    return 1 if problems else 0


def text(usage: dict[str, Usage], nodes: int = NODES) -> str:
    """The footprint for the terminal: a line per component, the totals, and whether it fits `nodes` small nodes
    (the verdict `make footprint` promises)."""
    lines = [f"{component}: {_amounts(u)}" + (f"; no request: {', '.join(u.unrequested)}" if u.unrequested else "")
             for component, u in sorted(usage.items())]
    total = Usage(cpu=sum(u.cpu for u in usage.values()), memory=sum(u.memory for u in usage.values()),
                  volumes=sum(u.volumes for u in usage.values()), pods=sum(u.pods for u in usage.values()))
    lines.append(f"total: {_amounts(total)}")
    nodes_are = (f"{nodes} small nodes (2 vCPU / 4 GiB; {nodes * NODE_CPU * 1000:.0f}m CPU and "
                 f"{nodes * NODE_MEMORY / 1024**2:.0f} Mi allocatable to pods)")
    share = (f"{total.cpu / (nodes * NODE_CPU):.0%} of their CPU and {total.memory / (nodes * NODE_MEMORY):.0%} of "
             "their memory")
    lines.append(f"{'does not fit' if fits(usage, nodes) else 'fits'} {nodes_are}: it requests {share}")
    return "\n".join(lines)


def _amounts(u: Usage) -> str:
    return f"{u.pods} pods, {u.cpu * 1000:.0f}m CPU, {u.memory / 1024**2:.0f} Mi, {u.volumes / 1024**3:.0f} Gi"


if __name__ == "__main__":
    sys.exit(main())
