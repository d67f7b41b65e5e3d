"""Changes that cannot be made safely in one `pulumi up`: resource hooks that stop them, with the steps to take.

The program sees only the new settings; a `before_update` resource hook also gets the resource's old inputs from
the state (Pulumi docs, "Resource hooks"; `pulumi.ResourceHookArgs`), and runs at `pulumi preview` too
(`on_dry_run`). An exception in a before-hook fails that resource's update before anything changes, and the
engine prints the exception's message.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_FACTORS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


class UnsafeChange(Exception):
    """A change that one `pulumi up` cannot make without losing data or serving capacity; says what to do."""


def quantity_bytes(quantity: str) -> float:
    """A Kubernetes storage quantity (e.g. "8Gi", "500M") in bytes; ValueError for anything else."""
    match = _QUANTITY.match(str(quantity))
    if not match:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity")
    return float(match.group(1)) * _FACTORS[match.group(2)]


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def check_autoscaler_handover(args: pulumi.ResourceHookArgs, *, namespace: str, handover: bool) -> None:
    """Stop turning the autoscaler on for a running Deployment until `spec.replicas` has another owner.

    With `spec.replicas` gone from the stack's Deployment, server-side apply resets it to its default, 1, until the
    autoscaler acts (Kubernetes docs, "Horizontal Pod Autoscaling" > "Migrating Deployments and StatefulSets to
    horizontal autoscaling"); handing the field to another field manager first keeps the count ("Server-Side
    Apply" > "Transferring ownership").
    """
    old = _get(dict(args.old_inputs or {}), "spec", "replicas")
    new = _get(dict(args.new_inputs or {}), "spec", "replicas")
    if old is None or new is not None or handover:
        return
    name = _get(dict(args.new_inputs or {}), "metadata", "name") or args.name
    raise UnsafeChange(
        f"turning the autoscaler on would drop Deployment {name} to 1 pod until the autoscaler acts (Kubernetes "
        f"resets a spec.replicas that no field manager owns). Steps: 1) hand spec.replicas to another field "
        f"manager: printf 'apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: {name}\\nspec:\\n  "
        f"replicas: {int(old)}\\n' | kubectl --namespace {namespace} apply --server-side "
        f"--field-manager=handover-to-hpa --validate=false -f - ; 2) pulumi config set hpa_handover true, then "
        f"pulumi up; 3) pulumi config set hpa_handover false.")


def check_chart_volume(args: pulumi.ResourceHookArgs) -> None:
    """Stop a new `postgres_storage_size` for a running PostgreSQL: the StatefulSet's volume template is immutable
    (Kubernetes refuses the Helm upgrade), and a volume cannot shrink."""
    old = _get(dict(args.old_inputs or {}), "values", "primary", "persistence", "size")
    new = _get(dict(args.new_inputs or {}), "values", "primary", "persistence", "size")
    if old is None or new is None or quantity_bytes(old) == quantity_bytes(new):
        return
    release = _get(dict(args.new_inputs or {}), "name") or args.name
    namespace = _get(dict(args.new_inputs or {}), "namespace") or "<namespace>"
    raise UnsafeChange(
        f"postgres_storage_size changed from {old} to {new}, but it sizes PostgreSQL's volume only when it is "
        f"created: a StatefulSet's volume template cannot change, and a volume cannot shrink. Set it back: "
        f"pulumi config set postgres_storage_size {old}. To grow the volume (its StorageClass must allow "
        f"expansion): kubectl --namespace {namespace} patch pvc data-{release}-0 -p "
        f"'{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{new}\"}}}}}}}}'. To shrink it: back up "
        f"(kubectl_backup_now) and restore into a new stack.")


def check_volume_shrink(args: pulumi.ResourceHookArgs) -> None:
    """Stop a smaller PersistentVolumeClaim: Kubernetes refuses to shrink one."""
    old = _get(dict(args.old_inputs or {}), "spec", "resources", "requests", "storage")
    new = _get(dict(args.new_inputs or {}), "spec", "resources", "requests", "storage")
    if old is None or new is None or quantity_bytes(new) >= quantity_bytes(old):
        return
    name = _get(dict(args.new_inputs or {}), "metadata", "name") or args.name
    raise UnsafeChange(
        f"PersistentVolumeClaim {name} would shrink from {old} to {new}, which Kubernetes refuses. Keep "
        f"backup_storage_size at {old} or more. For a smaller volume, start it over (its dumps are lost): "
        f"pulumi config set protect false and pulumi up on its own (the engine checks the saved protect flag "
        f"before it deletes), then backup_enabled false and pulumi up, then backup_storage_size {new} and "
        f"backup_enabled true and pulumi up, then protect true and pulumi up.")


def check_app_name(args: pulumi.ResourceHookArgs, *, namespace: str) -> None:
    """Stop a new `app_name` on a running stack: every object of the stack in the cluster is named after it, and
    Kubernetes renames nothing, so each would be replaced by a new one: PostgreSQL's chart as a new, empty
    database, the certificate issued anew (HTTPS fails until it is), the Secrets made again."""
    label = ("metadata", "labels", "app.kubernetes.io/name")
    old, new = _get(dict(args.old_inputs or {}), *label), _get(dict(args.new_inputs or {}), *label)
    if old is None or new is None or old == new:
        return
    raise UnsafeChange(
        f"app_name changed from {old} to {new}, but the objects of this stack in namespace {namespace} are named "
        f"after it and Kubernetes cannot rename one: each would be replaced, PostgreSQL's chart by a new, empty "
        f"database, the certificate by one issued anew (HTTPS fails until it is). Set it back: pulumi config set "
        f"app_name {old}. To run the app as {new}: create a stack for it (pulumi stack init, its own namespace, "
        f"app_name {new}) and pulumi up there, move the data with make move ARGS=\"--from <this stack> --to <the "
        f"new stack>\", point DNS at it, then retire this stack.")


def before_update(name: str, check: Any, **kwargs: Any) -> pulumi.ResourceHookBinding:
    """A binding that runs `check(args, **kwargs)` before each update, at preview too."""
    hook = pulumi.ResourceHook(name, lambda args: check(args, **kwargs), pulumi.ResourceHookOptions(on_dry_run=True))
    return pulumi.ResourceHookBinding(before_update=[hook])
