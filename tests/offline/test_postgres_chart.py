"""The PostgreSQL chart the k8s stack installs, rendered by the real, pinned helm with exactly the stack's values.

Each check is a function that returns the problems it finds; the tests assert none on the real render, and
feed each check a broken copy (or the chart a broken value) to show that it catches the defect.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
from kubernetes_validate import utils as kubernetes_validate

from offline import helm, pod_security
from offline import plan as offline_plan

RELEASE = "kubernetes:helm.sh/v3:Release"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
POLICY_NAME = "paasport-postgresql"
SECRET_NAME = "paasport-db"
TLS_SECRET_NAME = "paasport-db-tls"
CERTS = "/opt/bitnami/postgresql/certs"  # where the chart's copy-certs init container puts them (statefulset.yaml)
# The stack as it is, and with the Postgres exporter on (it adds a container, a port and a Service).
CONFIGS = {"default": (), "metrics": ("postgres_metrics=true",)}
KUBERNETES_VERSIONS = helm.kubernetes_versions()
Obj = dict[str, Any]


pytestmark = pytest.mark.usefixtures("shared_charts")


# --- the stack's plan and the chart's render -------------------------------------------------------------------


@cache
def stack(config: str) -> offline_plan.Plan:
    return offline_plan.run("k8s", list(CONFIGS[config]))


def plain(plan: offline_plan.Plan, type_: str, name: str | None = None) -> Obj:
    found = plan.find(type_, name)
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
    return offline_plan.reveal(found[0].inputs)


def release_inputs(config: str) -> Obj:
    return plain(stack(config), RELEASE)


@cache
def _render(config: str, kube_version: str | None) -> tuple[Obj, ...]:
    return tuple(helm.render_release(release_inputs(config), kube_version=kube_version))


def rendered(config: str, kube_version: str | None = None) -> list[Obj]:
    """A fresh copy each time: negative tests may change it."""
    return copy.deepcopy(list(_render(config, kube_version)))


def with_values(config: str, extra: Obj) -> list[Obj]:
    """The chart rendered with the stack's values plus `extra` (deep-merged), to break it on purpose."""
    inputs = release_inputs(config)

    def merge(base: Obj, more: Obj) -> Obj:
        return {**base, **{k: merge(base.get(k) or {}, v) if isinstance(v, dict) else v for k, v in more.items()}}

    return helm.render_release({**inputs, "values": merge(inputs["values"], extra)})


def the(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def pod_labels(objects: list[Obj]) -> dict[str, str]:
    return the(objects, "StatefulSet")["spec"]["template"]["metadata"]["labels"]


def app_env(plan: offline_plan.Plan) -> dict[str, str]:
    """PGHOST, PGPORT, ... as the app's Deployment sets them."""
    deployment = plain(plan, "kubernetes:apps/v1:Deployment", "paasport-web")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for c in containers for e in c.get("env") or []}


# --- the checks ----------------------------------------------------------------------------------------------


def schema_problems(objects: list[Obj], version: str) -> list[str]:
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: {error.message} at {list(error.path)}")
    return problems


def pod_security_problems(objects: list[Obj]) -> list[str]:
    problems = []
    for obj in objects:
        pod = pod_security.pod_of(obj)
        if pod is not None:
            metadata, spec = pod
            name = f"{obj['kind']} {obj['metadata']['name']}"
            problems += [f"{name}: {v}" for v in pod_security.violations(spec, metadata)]
    return problems


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions) selects a pod with `labels`."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if not {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
                "Exists": key in labels, "DoesNotExist": key not in labels}[op]:
            return False
    return True


def container_ports(objects: list[Obj]) -> dict[str | int, int]:
    """The pod's ports, by name and by number."""
    spec = the(objects, "StatefulSet")["spec"]["template"]["spec"]
    ports = [p for c in spec["containers"] for p in c.get("ports") or []]
    return {**{p["containerPort"]: p["containerPort"] for p in ports}, **{p["name"]: p["containerPort"] for p in ports
                                                                          if "name" in p}}


def network_policy_problems(policy: Obj, objects: list[Obj]) -> list[str]:
    """The stack's policy must select the chart's pods and admit their ports (and nothing else need select them)."""
    labels = pod_labels(objects)
    if not selects(policy["spec"]["podSelector"], labels):
        return [f"podSelector {policy['spec']['podSelector']} does not select the chart's pods, labelled {labels}"]
    ports = container_ports(objects)
    admitted = {ports.get(p["port"], p["port"]) for rule in policy["spec"].get("ingress") or []
                for p in rule.get("ports") or []}
    return [f"port {port} of the chart's pods is not admitted" for port in sorted(set(ports.values()) - admitted)]


def service_problems(db_host: str, app_port: int, objects: list[Obj], namespace: str) -> list[str]:
    """db_host must name a Service of the chart, in the namespace, that reaches the pod's port app_port."""
    name, host_namespace, *_ = db_host.split(".")
    problems = [f"db_host {db_host} is in namespace {host_namespace}, the chart in {namespace}"] \
        if host_namespace != namespace else []
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    if name not in services:
        return [*problems, f"no Service {name} in the chart (it has {sorted(services)})"]
    service = services[name]
    if not selects({"matchLabels": service["spec"].get("selector") or {}}, pod_labels(objects)):
        problems.append(f"Service {name} does not select the chart's pods")
    ports = container_ports(objects)
    by_port = {p["port"]: ports.get(p.get("targetPort", p["port"])) for p in service["spec"]["ports"]}
    if by_port.get(app_port) != 5432:
        problems.append(f"Service {name} does not forward port {app_port} to PostgreSQL's 5432 (ports: {by_port})")
    return problems


def secret_key_problems(secret: Obj, values: Obj, objects: list[Obj]) -> list[str]:
    """Every key the chart reads from the stack's Secret (by the values, and in the rendered pods) must exist."""
    name, keys = secret["metadata"]["name"], set((secret.get("stringData") or {}) | (secret.get("data") or {}))
    problems = [] if values["auth"].get("existingSecret") == name else [
        f"auth.existingSecret is {values['auth'].get('existingSecret')!r}, not the stack's Secret {name}"]
    wanted = {f"auth.secretKeys.{k}": v for k, v in (values["auth"].get("secretKeys") or {}).items()}
    spec = the(objects, "StatefulSet")["spec"]["template"]["spec"]
    mounts = {v["name"] for v in spec.get("volumes") or [] if (v.get("secret") or {}).get("secretName") == name}
    for c in spec["containers"] + (spec.get("initContainers") or []):
        paths = [m["mountPath"].rstrip("/") for m in c.get("volumeMounts") or [] if m["name"] in mounts]
        for env in c.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("name") == name:
                wanted[f"{c['name']} env {env['name']}"] = ref["key"]
            value = env.get("value") or ""
            for path in paths:
                if env["name"].endswith("_FILE") and value.startswith(path + "/"):
                    wanted[f"{c['name']} env {env['name']}"] = value[len(path) + 1:]
    if not any(k.startswith(c["name"]) for c in spec["containers"] for k in wanted):
        problems.append(f"the chart's pods read nothing from Secret {name}")
    return problems + [f"{who} reads key {key!r}, which Secret {name} lacks (it has {sorted(keys)})"
                       for who, key in wanted.items() if key not in keys]


def collision_problems(plan: offline_plan.Plan, objects: list[Obj]) -> list[str]:
    """No chart object may share kind and name with an object the stack creates itself: one install would fail."""
    own = {(r.type.rsplit(":", 1)[-1], offline_plan.reveal(r.inputs).get("metadata", {}).get("name"))
           for r in plan.resources if r.custom and r.type.startswith("kubernetes:") and "helm.sh" not in r.type}
    return [f"the chart and the stack both create {kind} {name}"
            for kind, name in sorted(own & {(o["kind"], o["metadata"]["name"]) for o in objects})]


# --- the chart as the stack installs it ---------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS)
def test_chart_renders_the_stack_release_with_its_exact_values(config):
    inputs = release_inputs(config)
    objects = rendered(config)
    assert inputs["chart"].endswith("/postgresql") and inputs["version"] == "16.7.27"
    assert offline_plan.SECRET not in str(inputs["values"])  # no redacted value: helm got the stack's very values
    assert {o["metadata"]["labels"]["helm.sh/chart"] for o in objects} == {"postgresql-16.7.27"}
    assert {o["metadata"].get("namespace") for o in objects} == {inputs["namespace"]}
    assert {o["metadata"]["labels"]["app.kubernetes.io/instance"] for o in objects} == {inputs["name"]}
    kinds = sorted(o["kind"] for o in objects)
    services = ["Service"] * (3 if config == "metrics" else 2)
    assert kinds == sorted(["PodDisruptionBudget", "ServiceAccount", "StatefulSet", *services])
    statefulset = the(objects, "StatefulSet")
    containers = {c["name"] for c in statefulset["spec"]["template"]["spec"]["containers"]}
    assert containers == ({"postgresql", "metrics"} if config == "metrics" else {"postgresql"})


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("config", CONFIGS)
def test_rendered_objects_validate_strictly_against_kubernetes_schemas(config, version):
    assert schema_problems(rendered(config, version), version) == []


@pytest.mark.parametrize("config", CONFIGS)
def test_chart_pods_pass_the_restricted_pod_security_standard_the_namespace_enforces(config):
    namespace = plain(stack(config), NAMESPACE)["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["pod-security.kubernetes.io/enforce-version"] == "latest"
    objects = rendered(config)
    assert [o["kind"] for o in objects if pod_security.pod_of(o)] == ["StatefulSet"]
    assert pod_security_problems(objects) == []


@pytest.mark.parametrize("config", CONFIGS)
def test_stack_network_policy_selects_the_chart_pods_and_admits_their_ports(config):
    policy = plain(stack(config), NETWORK_POLICY, POLICY_NAME)
    assert network_policy_problems(policy, rendered(config)) == []


@pytest.mark.parametrize("config", CONFIGS)
def test_db_host_names_the_chart_service_on_the_port_the_app_uses(config):
    plan = stack(config)
    db_host = offline_plan.reveal(plan.outputs)["db_host"]
    env = app_env(plan)
    assert env["PGHOST"] == db_host
    problems = service_problems(db_host, int(env["PGPORT"]), rendered(config), release_inputs(config)["namespace"])
    assert problems == []


@pytest.mark.parametrize("config", CONFIGS)
def test_secret_keys_the_chart_reads_exist_in_the_stack_secret(config):
    secret = plain(stack(config), SECRET, SECRET_NAME)
    assert secret_key_problems(secret, release_inputs(config)["values"], rendered(config)) == []


@pytest.mark.parametrize("config", CONFIGS)
def test_postgres_serves_tls_with_the_stack_certificate(config):
    assert tls_problems(plain(stack(config), SECRET, TLS_SECRET_NAME), rendered(config)) == []


def test_the_tls_key_is_a_secret_in_the_plan():
    """Never plain in the plan, so never in a render without --show-secrets (tests/offline/test_render.py)."""
    secret = plain(stack("default"), SECRET, TLS_SECRET_NAME)
    assert secret["stringData"]["tls.key"] == offline_plan.SECRET


@pytest.mark.parametrize("config", CONFIGS)
def test_chart_objects_do_not_collide_with_the_stack_own_objects(config):
    assert collision_problems(stack(config), rendered(config)) == []



def tls_problems(secret: Obj, objects: list[Obj]) -> list[str]:
    """PostgreSQL must serve TLS (apps written for Heroku require it) with the stack's certificate: the StatefulSet
    mounts the stack's kubernetes.io/tls Secret and reads keys it has; the chart makes no certificate of its own
    (tls.autoGenerated: genCA/genSignedCert anew on every render, kept only through helm's lookup)."""
    name, keys = secret["metadata"]["name"], set((secret.get("stringData") or {}) | (secret.get("data") or {}))
    problems = [] if secret.get("type") == "kubernetes.io/tls" else [f"Secret {name} is not kubernetes.io/tls"]
    problems += [f"the chart makes its own certificate in Secret {o['metadata']['name']}" for o in objects
                 if o["kind"] == "Secret" and o.get("type") == "kubernetes.io/tls"]
    spec = the(objects, "StatefulSet")["spec"]["template"]["spec"]
    (postgres,) = [c for c in spec["containers"] if c["name"] == "postgresql"]
    env = {e["name"]: e.get("value") for e in postgres.get("env") or []}
    if env.get("POSTGRESQL_ENABLE_TLS") != "yes":
        problems.append(f"POSTGRESQL_ENABLE_TLS is {env.get('POSTGRESQL_ENABLE_TLS')!r}: PostgreSQL serves no TLS")
    mounted = [v["secret"]["secretName"] for v in spec.get("volumes") or [] if v.get("secret")
               and v["secret"]["secretName"] != SECRET_NAME]
    if mounted != [name]:
        problems.append(f"the pod mounts certificates from {mounted}, not the stack's Secret {name}")
    for var in ("POSTGRESQL_TLS_CERT_FILE", "POSTGRESQL_TLS_KEY_FILE"):
        path = env.get(var) or ""
        if not path.startswith(f"{CERTS}/") or path.removeprefix(f"{CERTS}/") not in keys:
            problems.append(f"{var} is {path!r}, which Secret {name} lacks (it has {sorted(keys)})")
    return problems


# --- each check catches what it is there to catch -----------------------------------------------------------


def _typo(objects: list[Obj]) -> list[Obj]:
    the(objects, "StatefulSet")["spec"]["replica"] = 1  # not a field: strict validation must refuse it
    return objects


def _wrong_type(objects: list[Obj]) -> list[Obj]:
    the(objects, "Service", "paasport-postgresql")["spec"]["ports"][0]["port"] = "5432"
    return objects


@pytest.mark.parametrize("breakage", [_typo, _wrong_type])
def test_schema_check_catches_an_invalid_object(breakage):
    version = KUBERNETES_VERSIONS[-1]
    assert schema_problems(breakage(rendered("default", version)), version)


@pytest.mark.parametrize(("extra", "control"), [
    ({"primary": {"containerSecurityContext": {"allowPrivilegeEscalation": True}}}, "Privilege Escalation"),
    ({"primary": {"containerSecurityContext": {"runAsNonRoot": False}}}, "Running as Non-root"),
    ({"primary": {"containerSecurityContext": {"seccompProfile": {"type": "Unconfined"}}}}, "Seccomp"),
    ({"primary": {"containerSecurityContext": {"capabilities": {"drop": []}}}}, "Capabilities"),
    ({"primary": {"containerSecurityContext": {"enabled": False}}}, "Running as Non-root"),
    ({"volumePermissions": {"enabled": True}}, "Running as Non-root user"),  # its init container runs as root
    ({"primary": {"hostNetwork": True}}, "Host Namespaces"),
], ids=["privilege-escalation", "root-allowed", "unconfined", "capabilities-kept", "no-security-context",
        "volume-permissions", "host-network"])
def test_pod_security_check_catches_chart_values_that_break_restricted(extra, control):
    problems = pod_security_problems(with_values("default", extra))
    assert any(f": {control}: " in p for p in problems), problems


def _relabel(policy: Obj) -> Obj:
    policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] = "postgres"
    return policy


def _component(policy: Obj) -> Obj:
    policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] = "replica"
    return policy


def _expression(policy: Obj) -> Obj:
    policy["spec"]["podSelector"]["matchExpressions"] = [
        {"key": "app.kubernetes.io/instance", "operator": "NotIn", "values": ["paasport-postgresql"]}]
    return policy


def _port(policy: Obj) -> Obj:
    policy["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 5433}]
    return policy


@pytest.mark.parametrize("breakage", [_relabel, _component, _expression, _port])
def test_network_policy_check_catches_a_policy_that_misses_the_pods(breakage):
    policy = breakage(copy.deepcopy(plain(stack("default"), NETWORK_POLICY, POLICY_NAME)))
    assert network_policy_problems(policy, rendered("default"))


def test_network_policy_check_catches_a_policy_that_leaves_the_exporter_port_closed():
    policy = plain(stack("default"), NETWORK_POLICY, POLICY_NAME)  # no 9187 rule: the exporter is off there
    assert network_policy_problems(policy, rendered("metrics")) == ["port 9187 of the chart's pods is not admitted"]


@pytest.mark.parametrize(("db_host", "port"), [
    ("paasport-postgres.paasport.svc.cluster.local", 5432),  # not the chart's Service name
    ("paasport-postgresql-metrics.paasport.svc.cluster.local", 5432),  # a Service, but not PostgreSQL's port
    ("paasport-postgresql.other.svc.cluster.local", 5432),  # another namespace
    ("paasport-postgresql.paasport.svc.cluster.local", 5433),  # the app on another port
])
def test_service_check_catches_a_db_host_or_port_the_chart_does_not_serve(db_host, port):
    assert service_problems(db_host, port, rendered("metrics"), "paasport")


def test_service_check_catches_a_service_that_selects_other_pods():
    objects = rendered("default")
    the(objects, "Service", "paasport-postgresql")["spec"]["selector"]["app.kubernetes.io/component"] = "read"
    assert service_problems("paasport-postgresql.paasport.svc.cluster.local", 5432, objects, "paasport")


def test_secret_check_catches_a_key_the_secret_lacks():
    secret = plain(stack("default"), SECRET, SECRET_NAME)
    del secret["stringData"]["postgres-password"]
    problems = secret_key_problems(secret, release_inputs("default")["values"], rendered("default"))
    assert any("'postgres-password', which Secret paasport-db lacks" in p for p in problems), problems


def test_secret_check_catches_chart_values_that_read_another_key():
    values = copy.deepcopy(release_inputs("default")["values"])
    values["auth"]["secretKeys"]["userPasswordKey"] = "user-password"
    objects = with_values("default", {"auth": {"secretKeys": {"userPasswordKey": "user-password"}}})
    problems = secret_key_problems(plain(stack("default"), SECRET, SECRET_NAME), values, objects)
    # both the values and the rendered pod (POSTGRES_PASSWORD_FILE) now read the missing key
    assert sum("'user-password', which Secret paasport-db lacks" in p for p in problems) == 2, problems


def test_secret_check_catches_another_secret():
    values = {**release_inputs("default")["values"], "auth": {"existingSecret": "other"}}
    problems = secret_key_problems(plain(stack("default"), SECRET, SECRET_NAME), values,
                                   with_values("default", {"auth": {"existingSecret": "other"}}))
    assert problems[0].startswith("auth.existingSecret is 'other'")


def test_collision_check_catches_the_chart_network_policy_the_stack_switches_off():
    objects = with_values("default", {"primary": {"networkPolicy": {"enabled": True}}})  # the chart's default
    assert collision_problems(stack("default"), objects) == [
        "the chart and the stack both create NetworkPolicy paasport-postgresql"]


@pytest.mark.parametrize(("extra", "problem"), [
    ({"tls": {"enabled": False}}, "POSTGRESQL_ENABLE_TLS is 'no'"),
    ({"tls": {"autoGenerated": True, "certificatesSecret": ""}}, "the chart makes its own certificate"),
    ({"tls": {"certificatesSecret": "other"}}, "mounts certificates from ['other']"),
    ({"tls": {"certKeyFilename": "server.key"}}, f"POSTGRESQL_TLS_KEY_FILE is '{CERTS}/server.key'"),
], ids=["tls-off", "auto-generated", "another-secret", "another-key"])
def test_tls_check_catches_chart_values_without_the_stack_certificate(extra, problem):
    problems = tls_problems(plain(stack("default"), SECRET, TLS_SECRET_NAME), with_values("default", extra))
    assert any(problem in p for p in problems), problems
