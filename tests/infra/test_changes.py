"""Changing settings between two `pulumi up` runs: compare the two plans, URN by URN.

Model of what the engine does with a pair (old plan, new plan):
- a URN of the old plan missing from the new one is deleted;
- a URN in both whose inputs differ in a field its provider treats as replace-on-change is replaced. The fields
  (written out here, from the providers, not from the program):
  Kubernetes: an object's metadata.name and metadata.namespace; a PVC's spec.storageClassName, spec.accessModes
  and spec.volumeName (immutable after creation); a Deployment's spec.selector (immutable in apps/v1); a Helm
  release's name and namespace (a chart, version or values change is an in-place `helm upgrade`).
  random: every input of RandomPassword (all ForceNew in terraform-provider-random).
  Heroku (heroku/terraform-provider-heroku resource_heroku_app.go): App region, organization, space and
  internal_routing are ForceNew; name and stack update in place. Addon: app_id is ForceNew; plan updates in place
  (`heroku addons:upgrade`).
A stateful resource (what holds data) deleted or replaced while `paasport:protect` is on must carry Pulumi's
`protect` in the OLD plan: that is what makes the real engine refuse the change and stop `pulumi up`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.settings import ConfigError
from offline import plan as offline_plan

NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
RELEASE = "kubernetes:helm.sh/v3:Release"
PASSWORD = "random:index/randomPassword:RandomPassword"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
APP = "heroku:app/app:App"
ADDON = "heroku:addon/addon:Addon"
FORMATION = "heroku:formation/formation:Formation"
FEATURE = "heroku:app/feature:Feature"

STATEFUL = {
    "k8s": {(NAMESPACE, "paasport"), (RELEASE, "paasport-postgresql"), (PASSWORD, "paasport-password"),
            (PASSWORD, "paasport-postgres-password"), (SECRET, "paasport-db"), (PVC, "paasport-backup")},
    "heroku": {(APP, "paasport"), (ADDON, "paasport-postgres")},
}
META = ("metadata.name", "metadata.namespace")
REPLACE_ON_CHANGE = {
    NAMESPACE: META, SECRET: (*META, "type"),
    PVC: (*META, "spec.storageClassName", "spec.accessModes", "spec.volumeName"),
    DEPLOYMENT: (*META, "spec.selector"),
    RELEASE: ("name", "namespace"),
    PASSWORD: ("length", "special", "upper", "lower", "numeric", "minSpecial", "overrideSpecial", "keepers"),
    APP: ("region", "organization", "space", "internalRouting"),
    ADDON: ("appId",),
}


@cache
def plan(stack: str, overrides: tuple[str, ...]) -> offline_plan.Plan:
    return offline_plan.run(stack, list(overrides))


def field(inputs: dict[str, Any], path: str) -> Any:
    value: Any = offline_plan.reveal(inputs)
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def changes(old: offline_plan.Plan, new: offline_plan.Plan) -> dict[str, str]:
    """URN -> "deleted" or "replaced (<field>)" for every resource the engine would delete or replace."""
    after = {r.urn: r for r in new.resources}
    found: dict[str, str] = {}
    for reg in old.resources:
        if reg.urn not in after:
            found[reg.urn] = "deleted"
            continue
        for path in REPLACE_ON_CHANGE.get(reg.type, ()):
            if field(reg.inputs, path) != field(after[reg.urn].inputs, path):
                found[reg.urn] = f"replaced ({path})"
                break
    # A replaced App gets a new id, so its add-on (app_id is ForceNew) is replaced too.
    if any(v != "deleted" and "heroku:app/app:App::" in u for u, v in found.items()):
        for reg in old.find(ADDON):
            found.setdefault(reg.urn, "replaced (appId)")
    return found


def stateful(plan_: offline_plan.Plan, stack: str) -> list[offline_plan.Registration]:
    return [r for r in plan_.resources if (r.type, r.name) in STATEFUL[stack]]


def assert_state_is_safe(stack: str, old_config: tuple[str, ...], new_config: tuple[str, ...]) -> dict[str, str]:
    old, new = plan(stack, old_config), plan(stack, new_config)
    protect_on = "protect=false" not in old_config
    changed = changes(old, new)
    for reg in stateful(old, stack):
        assert reg.protect is protect_on, f"{reg.type} {reg.name}: protect should follow paasport:protect"
        if reg.urn in changed and protect_on:
            # The engine refuses to delete or replace a protected resource: `pulumi up` stops, nothing is lost.
            assert reg.protect, f"{reg.type} {reg.name} would be {changed[reg.urn]} without protection"
    return {u: v for u, v in changed.items() if any(u == r.urn for r in stateful(old, stack))}


def desired_pods(plan_: offline_plan.Plan) -> tuple[int, int | None]:
    """(what the Deployment declares, or 1 if it declares nothing (the API default); the autoscaler's minimum)."""
    spec = field(plan_.find(DEPLOYMENT)[0].inputs, "spec")
    hpa = plan_.find(HPA)
    return spec.get("replicas", 1), (field(hpa[0].inputs, "spec.minReplicas") if hpa else None)


def assert_k8s_capacity_holds(old_config: tuple[str, ...], new_config: tuple[str, ...]) -> None:
    old, new = plan("k8s", old_config), plan("k8s", new_config)
    for p in (old, new):
        deployment = offline_plan.reveal(p.find(DEPLOYMENT)[0].inputs)
        assert deployment["spec"]["strategy"] == {
            "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
        pdb = offline_plan.reveal(p.find(PDB)[0].inputs)["spec"]
        assert pdb == {"maxUnavailable": 1, "selector": deployment["spec"]["selector"]}
    old_declared, old_min = desired_pods(old)
    new_declared, new_min = desired_pods(new)
    old_running = old_min if old_min is not None else old_declared
    new_running = new_min if new_min is not None else new_declared
    # What the Deployment holds the moment the change is applied, before any autoscaler acts. Dropping
    # spec.replicas under server-side apply resets it to the default 1 (Kubernetes docs, Horizontal Pod
    # Autoscaling > Migrating Deployments and StatefulSets to horizontal autoscaling).
    old_has = "replicas" in field(old.find(DEPLOYMENT)[0].inputs, "spec")
    new_has = "replicas" in field(new.find(DEPLOYMENT)[0].inputs, "spec")
    # With the handover acknowledged (hpa_handover), another field manager keeps the count; without it, the
    # resource hook refuses the update (tests above), so this model is only reached with it.
    handover = "hpa_handover=true" in new_config
    during = (old_declared if handover else 1) if old_has and not new_has else (
        new_declared if new_has else old_running)
    assert during >= min(old_running, new_running), (
        f"capacity drops to {during} pods during the change (old {old_running}, new {new_running})")


def assert_heroku_capacity_holds(old_config: tuple[str, ...], new_config: tuple[str, ...]) -> None:
    new = plan("heroku", new_config)
    formation = new.find(FORMATION)[0]
    preboot = [r for r in new.find(FEATURE) if field(r.inputs, "name") == "preboot"]
    if preboot:  # a resize or rescale starts new dynos first: preboot must be on before the formation changes
        assert preboot[0].urn in formation.dependencies


K8S = "k8s"
HEROKU = "heroku"


# The changes a user is most likely to try, each by name.
@pytest.mark.parametrize(("old", "new"), [
    (("hpa_enabled=false", "replicas=2"), ("hpa_enabled=false", "replicas=5")),
    (("hpa_enabled=false", "replicas=5"), ("hpa_enabled=false", "replicas=2")),
    (("hpa_min_replicas=2", "hpa_max_replicas=5"), ("hpa_min_replicas=3", "hpa_max_replicas=8")),
    (("hpa_min_replicas=3", "hpa_max_replicas=8"), ("hpa_min_replicas=2", "hpa_max_replicas=4")),
], ids=["scale-up", "scale-down", "autoscaler-range-up", "autoscaler-range-down"])
def test_scaling_keeps_state_and_capacity(old, new):
    assert assert_state_is_safe(K8S, old, new) == {}
    assert_k8s_capacity_holds(old, new)


def test_turning_the_autoscaler_on_stops_with_the_handover_steps():
    old, new = plan(K8S, ("hpa_enabled=false", "replicas=4")), plan(K8S, ("hpa_enabled=true",))
    [refusal] = offline_plan.before_update(old, new)
    assert refusal.startswith("paasport-web-autoscaler-handover: turning the autoscaler on would drop Deployment "
                              "paasport-web to 1 pod")
    # The steps hand the running count (4) to another field manager, then acknowledge it.
    assert "replicas: 4" in refusal
    assert "kubectl --namespace paasport apply --server-side --field-manager=handover-to-hpa" in refusal
    assert "pulumi config set hpa_handover true" in refusal


def test_turning_the_autoscaler_on_after_the_handover_goes_ahead():
    old = plan(K8S, ("hpa_enabled=false", "replicas=4"))
    assert offline_plan.before_update(old, plan(K8S, ("hpa_enabled=true", "hpa_handover=true"))) == []


def test_a_new_stack_with_the_autoscaler_needs_no_handover():
    # Hooks guard updates only: creating the Deployment is not an update.
    empty = offline_plan.Plan(stack=K8S, resources=[], outputs={})
    assert offline_plan.before_update(empty, plan(K8S, ("hpa_enabled=true",))) == []


def test_turning_the_autoscaler_off_keeps_state():
    old, new = ("hpa_enabled=true",), ("hpa_enabled=false", "replicas=5")
    assert assert_state_is_safe(K8S, old, new) == {}
    assert_k8s_capacity_holds(old, new)


@pytest.mark.parametrize(("old", "new"), [
    ((), ("backup_storage_size=16Gi",)),
    ((), ("postgres_chart_version=16.7.28",)),
    ((), ("postgres_image_tag=17.6.0-debian-12-r5",)),
    ((), ("hostname=app.example.org",)),
    ((), ("backup_enabled=false",)),
], ids=["backup-volume-grows", "chart-upgrade", "image-upgrade", "hostname", "backups-off"])
def test_k8s_changes_in_place_or_refused_by_protect(old, new):
    changed = assert_state_is_safe(K8S, old, new)
    if "backup_enabled=false" in new:  # the backup volume would be deleted: protected, so `pulumi up` stops
        assert set(changed.values()) == {"deleted"} and len(changed) == 1
    else:
        assert changed == {}


@pytest.mark.parametrize(("change", "hook", "says"), [
    ("postgres_storage_size=4Gi", "paasport-postgresql-volume-size",
     "postgres_storage_size changed from 8Gi to 4Gi, but it sizes PostgreSQL's volume only when it is created"),
    ("postgres_storage_size=16Gi", "paasport-postgresql-volume-size",
     "kubectl --namespace paasport patch pvc data-paasport-postgresql-0"),
    ("backup_storage_size=4Gi", "paasport-backup-volume-size",
     "PersistentVolumeClaim paasport-backup would shrink from 8Gi to 4Gi, which Kubernetes refuses"),
    # Protection comes off in a `pulumi up` of its own: the engine checks the saved flag before it deletes.
    ("backup_storage_size=4Gi", "paasport-backup-volume-size",
     "pulumi config set protect false and pulumi up on its own (the engine checks the saved protect flag before "
     "it deletes), then backup_enabled false and pulumi up"),
])
def test_a_volume_change_kubernetes_refuses_stops_with_steps(change, hook, says):
    [refusal] = offline_plan.before_update(plan(K8S, ()), plan(K8S, (change,)))
    assert refusal.startswith(f"{hook}: ")
    assert says in refusal


def test_a_new_app_name_on_a_running_stack_stops_with_the_steps():
    """Every object of the stack is named after app_name, and Kubernetes renames nothing: a new name would replace
    them all, the database chart by an empty one (issue 27)."""
    [refusal] = offline_plan.before_update(plan(K8S, ()), plan(K8S, ("app_name=shop",)))
    assert refusal.startswith("paasport-app-name: app_name changed from paasport to shop, but the objects of this "
                              "stack in namespace paasport are named after it")
    assert "PostgreSQL's chart by a new, empty database" in refusal
    assert "Set it back: pulumi config set app_name paasport." in refusal
    assert 'make move ARGS="--from <this stack> --to <the new stack>"' in refusal


def test_a_stack_made_with_an_app_name_keeps_going_with_it():
    empty = offline_plan.Plan(stack=K8S, resources=[], outputs={})
    named = plan(K8S, ("app_name=shop",))
    assert offline_plan.before_update(empty, named) == []  # a new stack: nothing to rename
    assert offline_plan.before_update(named, plan(K8S, ("app_name=shop", "replicas=4", "hpa_enabled=false"))) == []
    # The name given as the default's own is no change either.
    assert offline_plan.before_update(plan(K8S, ()), plan(K8S, ("app_name=paasport",))) == []


def test_a_larger_backup_volume_goes_ahead():
    assert offline_plan.before_update(plan(K8S, ()), plan(K8S, ("backup_storage_size=16Gi",))) == []


@pytest.mark.parametrize("change", ["namespace=paasport-prod", "postgres_storage_class=fast", "database_user=app2"])
def test_k8s_stateful_replacements_are_protected_and_allowed_with_protect_off(change):
    changed = assert_state_is_safe(K8S, (), (change,))
    if change.startswith(("namespace", "postgres_storage_class")):
        assert changed, "this change replaces what holds data"
    assert_state_is_safe(K8S, ("protect=false",), (change, "protect=false"))


@pytest.mark.parametrize(("old", "new", "replaced"), [
    (("region=us",), ("region=eu",), {"paasport": "replaced (region)", "paasport-postgres": "replaced (appId)"}),
    ((), ("team=acme",), {"paasport": "replaced (organization)", "paasport-postgres": "replaced (appId)"}),
    ((), ("app_name=paasport-renamed",), {}),
    ((), ("postgres_plan=standard-0",), {}),
    ((), ("deploy=registry",), {}),
    (("deploy=registry",), ("deploy=build",), {}),
    ((), ("domain=app.example.org",), {}),
], ids=["region", "team", "app-rename", "postgres-plan", "build-to-registry", "registry-to-build", "domain"])
def test_heroku_changes_replace_only_what_protect_guards(old, new, replaced):
    changed = assert_state_is_safe(HEROKU, old, new)
    names = {plan(HEROKU, old).name_of(u): v for u, v in changed.items()}
    assert names == replaced


@pytest.mark.parametrize(("old", "new"), [
    (("dyno_size=basic",), ("dyno_size=standard-1x",)),
    (("dyno_size=standard-1x", "dyno_quantity=3"), ("dyno_size=standard-1x", "dyno_quantity=1")),
    (("dyno_size=standard-1x",), ("dyno_size=standard-2x", "dyno_quantity=2")),
], ids=["basic-to-standard", "fewer-dynos", "standard-resize"])
def test_heroku_scaling_keeps_state_and_preboots_first(old, new):
    assert assert_state_is_safe(HEROKU, old, new) == {}
    assert_heroku_capacity_holds(old, new)


def test_regression_preboot_is_enabled_before_the_formation_changes():
    new = plan(HEROKU, ("dyno_size=standard-1x",))
    preboot = next(r for r in new.find(FEATURE) if field(r.inputs, "name") == "preboot")
    assert preboot.urn in new.find(FORMATION)[0].dependencies


# Generated pairs: any two valid configs of one stack, from the same kinds of values as the input tests.
K8S_CHOICES = {
    "replicas": ["1", "2", "5"], "hpa_min_replicas": ["1", "2", "3"], "hpa_max_replicas": ["5", "8"],
    "namespace": ["paasport", "paasport-b"], "postgres_storage_size": ["8Gi", "16Gi"],
    "postgres_storage_class": ["", "fast"], "backup_enabled": ["true", "false"],
    "hostname": ["paasport.example.com", "b.example.com"], "postgres_chart_version": ["16.7.27", "16.7.28"],
    "linkerd_inject": ["true", "false"], "protect": ["true", "false"], "database_name": ["dvdrental", "other"],
    "web_concurrency": ["1", "4"], "hpa_enabled": ["true", "false"], "hpa_handover": ["false", "true"],
    "backup_storage_size": ["4Gi", "8Gi", "20Gi"], "app_name": ["", "shop"],
}
HEROKU_CHOICES = {
    "region": ["us", "eu"], "team": ["", "acme"], "app_name": ["paasport-example", "paasport-b"],
    "dyno_size": ["standard-1x", "standard-2x", "performance-m"], "dyno_quantity": ["1", "2", "4"],
    "postgres_plan": ["essential-0", "standard-0"], "deploy": ["build", "registry"], "preboot": ["true", "false"],
    "domain": ["", "app.example.com"], "protect": ["true", "false"], "runtime_metrics": ["true", "false"],
}


@st.composite
def pairs(draw, choices: dict[str, list[str]]):
    def config() -> tuple[str, ...]:
        keys = draw(st.lists(st.sampled_from(sorted(choices)), max_size=5, unique=True))
        return tuple(sorted(f"{k}={draw(st.sampled_from(choices[k]))}" for k in keys))
    old = config()
    protect = next((c for c in old if c.startswith("protect=")), None)
    new = tuple(c for c in config() if not c.startswith("protect=")) + ((protect,) if protect else ())
    return old, new  # protect is set before the change, as a user would


PAIRS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


@settings(PAIRS, max_examples=20)
@given(pairs(K8S_CHOICES))
def test_generated_k8s_changes_keep_state_protected_and_capacity(pair):
    old, new = pair
    try:
        plan(K8S, old), plan(K8S, new)
    except ConfigError:
        return  # refused before anything changes
    assert_state_is_safe(K8S, old, new)
    if offline_plan.before_update(plan(K8S, old), plan(K8S, new)):
        return  # a resource hook stops `pulumi up` with the steps before anything changes
    assert_k8s_capacity_holds(old, new)


@settings(PAIRS, max_examples=20)
@given(pairs(HEROKU_CHOICES))
def test_generated_heroku_changes_keep_state_protected_and_capacity(pair):
    old, new = pair
    try:
        plan(HEROKU, old), plan(HEROKU, new)
    except ConfigError:
        return
    assert_state_is_safe(HEROKU, old, new)
    assert_heroku_capacity_holds(old, new)
