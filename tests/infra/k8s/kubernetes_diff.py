"""pulumi-kubernetes' Diff rules, written out from its source, as the judge of what the engine does when a
Kubernetes object's inputs change between two plans: update it in place, or replace it, deleting it first.

- `provider/pkg/provider/diff.go`, forceNewProperties: `.metadata.name` and `.metadata.namespace` of any kind; a
  Secret's `.type`, `.stringData` and `.data` when the provider's enableSecretMutable is false or the Secret is
  immutable; a Job's `.spec.completions`, `.spec.parallelism`, `.spec.selector`, `.spec.template`; a Deployment's
  `.spec.selector` (CronJob: none of its own).
- `provider/pkg/provider/provider.go`, Diff: `deleteBeforeReplace` when it replaces an object that is named
  (`metadata.name`), not autonamed (annotation `pulumi.com/autonamed`), under the same name and namespace.
- `provider.go` Configure: enableSecretMutable comes from the provider's own input, else the stack's
  `kubernetes:enableSecretMutable` (for the default provider), else PULUMI_K8S_ENABLE_SECRET_MUTABLE, else false.
- `provider.go` DiffConfig: a provider whose inputs change is replaced (and so are its resources) only when
  `renderYamlToDirectory` changes, or the active cluster (kubeconfig, context, cluster), or clusterIdentifier.

pulumi-kubernetes compares inputs by JSON patch; comparing each field's whole value gives the same verdict for the
fields above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offline import plan as offline_plan

_METADATA = (("metadata", "name"), ("metadata", "namespace"))
_SECRET = (("type",), ("stringData",), ("data",))
_KIND = {
    "Job": (("spec", "completions"), ("spec", "parallelism"), ("spec", "selector"), ("spec", "template")),
    "Deployment": (("spec", "selector"),),
}
PROVIDER_REPLACE_KEYS = ("renderYamlToDirectory", "kubeconfig", "context", "cluster", "clusterIdentifier")


@dataclass(frozen=True)
class Verdict:
    changed: bool
    replaces: tuple[str, ...]
    delete_before_replace: bool


def _get(obj: dict, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def force_new(kind: str, obj: dict, *, secret_mutable: bool) -> tuple[tuple[str, ...], ...]:
    fields = list(_METADATA)
    if kind == "Secret" and (not secret_mutable or obj.get("immutable")):
        fields += _SECRET
    fields += _KIND.get(kind, ())
    return tuple(fields)


def diff(old: dict, new: dict, *, secret_mutable: bool) -> Verdict:
    """What pulumi-kubernetes' Diff answers for an object whose inputs go from `old` to `new` (plain data)."""
    fields = force_new(new["kind"], new, secret_mutable=secret_mutable)
    replaces = tuple("." + ".".join(path) for path in fields if _get(old, path) != _get(new, path))
    meta_old, meta_new = old.get("metadata", {}), new.get("metadata", {})
    named = bool(meta_new.get("name"))
    autonamed = (meta_new.get("annotations") or {}).get("pulumi.com/autonamed") == "true"
    same = meta_old.get("name") == meta_new.get("name") and meta_old.get("namespace") == meta_new.get("namespace")
    return Verdict(old != new, replaces, bool(replaces) and named and not autonamed and same)


def secret_mutable(plan: offline_plan.Plan, reg: offline_plan.Registration) -> bool:
    """The enableSecretMutable of the provider that manages `reg` (Configure's order of precedence)."""
    if reg.provider:
        urn = reg.provider.rsplit("::", 1)[0]
        provider = next(r for r in plan.resources if r.urn == urn)
        value = offline_plan.reveal(provider.inputs).get("enableSecretMutable")
    else:
        value = plan.config.get("kubernetes:enableSecretMutable")
    return str(value).lower() == "true"


def plain(reg: offline_plan.Registration) -> dict:
    return offline_plan.reveal(reg.inputs, show_secrets=True)


def verdicts(old: offline_plan.Plan, new: offline_plan.Plan, type_: str) -> dict[str, Verdict]:
    """Each object of `type_` in both plans (by URN) and the engine's verdict on going from `old` to `new`."""
    before = {r.urn: r for r in old.find(type_)}
    return {reg.urn: diff(plain(before[reg.urn]), plain(reg), secret_mutable=secret_mutable(new, reg))
            for reg in new.find(type_) if reg.urn in before}


def pod_template(obj: dict) -> dict | None:
    """The pod template of a workload (Deployment, Job, CronJob), else None."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]
    return spec.get("template") if obj.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet") else None


def reads_secret(template: dict, name: str) -> bool:
    """Whether a pod of `template` reads Secret `name`: env secretKeyRef, envFrom, a volume, or to pull its image."""
    spec = template["spec"]
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    return (any(((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == name
                for c in containers for e in c.get("env", []))
            or any((e.get("secretRef") or {}).get("name") == name for c in containers for e in c.get("envFrom", []))
            or any((v.get("secret") or {}).get("secretName") == name for v in spec.get("volumes", []))
            or any(s.get("name") == name for s in spec.get("imagePullSecrets", [])))
