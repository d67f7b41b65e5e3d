"""The `restricted` Pod Security Standard, as a function from a pod to its violations.

The namespace enforces `pod-security.kubernetes.io/enforce: restricted` at version `latest`; no cluster is at
hand offline, and no maintained Python package or registry-shipped binary applies that exact profile (Checkov's
checks, for one, are not the PSA profile). So this module spells out the controls of
https://kubernetes.io/docs/concepts/security/pod-security-standards/ (Baseline, then Restricted, which includes
all of Baseline), with the allowed values that page gives, as of Kubernetes 1.37. Where the page defers to the
built-in admission controller, the behaviour follows its reference implementation, k8s.io/pod-security-admission
(policy/check_*.go): init and ephemeral containers count like containers; `spec.os.name: windows` exempts
Privilege Escalation, Seccomp and Capabilities; `spec.hostUsers: false` relaxes the two non-root controls.
The optional "Non-root groups" control is not enforced by the admission controller, and not here either.

Baseline (each value listed is allowed; anything else is a violation):
  HostProcess            spec.securityContext.windowsOptions.hostProcess, and each container's: undefined, false
  Host Namespaces        spec.hostNetwork, spec.hostPID, spec.hostIPC: undefined, false
  Privileged Containers  containers[*].securityContext.privileged: undefined, false
  Capabilities           (baseline: a default set; superseded by the stricter Restricted control below)
  HostPath Volumes       spec.volumes[*].hostPath: undefined
  Host Ports             containers[*].ports[*].hostPort: undefined, 0
  Host Probes / Lifecycle Hooks  containers[*].{liveness,readiness,startup}Probe.{httpGet,tcpSocket}.host,
                         containers[*].lifecycle.{postStart,preStop}.{httpGet,tcpSocket}.host: undefined, ""
  AppArmor               spec.securityContext.appArmorProfile.type, containers[*]...: undefined, RuntimeDefault,
                         Localhost; annotations container.apparmor.security.beta.kubernetes.io/*: undefined,
                         runtime/default, localhost/*
  SELinux                seLinuxOptions.type (pod, containers): undefined, "", container_t, container_init_t,
                         container_kvm_t, container_engine_t; seLinuxOptions.user and .role: undefined, ""
  /proc Mount Type       containers[*].securityContext.procMount: undefined, Default
  Seccomp                (baseline: not Unconfined; superseded by the stricter Restricted control below)
  Sysctls                spec.securityContext.sysctls[*].name: the safe set in SAFE_SYSCTLS
Restricted:
  Volume Types           each spec.volumes[*] is one of ALLOWED_VOLUMES (a hostPath is left to HostPath Volumes)
  Privilege Escalation   containers[*].securityContext.allowPrivilegeEscalation: false (set, in every container)
  Running as Non-root    spec.securityContext.runAsNonRoot: true, or every container's true; none false
  Running as Non-root user  spec.securityContext.runAsUser and containers[*]'s: undefined or non-zero
  Seccomp                spec.securityContext.seccompProfile.type: RuntimeDefault or Localhost, or every
                         container's one of those; none anything else
  Capabilities           containers[*].securityContext.capabilities.drop: includes ALL;
                         capabilities.add: undefined, empty, NET_BIND_SERVICE
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Pod = tuple[dict[str, Any], dict[str, Any]]  # (metadata, spec)

SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat",
})
ALLOWED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                             "persistentVolumeClaim", "projected", "secret"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container the admission controller looks at: init, regular and ephemeral."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("securityContext") or {}


def _windows(spec: dict[str, Any]) -> bool:
    return (spec.get("os") or {}).get("name") == "windows"


def _user_namespace(spec: dict[str, Any]) -> bool:
    return spec.get("hostUsers") is False


def _host_process(_: dict, spec: dict) -> list[str]:
    setters = [("pod", _sc(spec))] + [(c["name"], _sc(c)) for c in containers(spec)]
    return [f"{who} sets windowsOptions.hostProcess" for who, sc in setters
            if (sc.get("windowsOptions") or {}).get("hostProcess") not in (None, False)]


def _host_namespaces(_: dict, spec: dict) -> list[str]:
    return [f"{key}={spec[key]}" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) not in (None, False)]


def _privileged(_: dict, spec: dict) -> list[str]:
    return [f"{c['name']} is privileged" for c in containers(spec) if _sc(c).get("privileged") not in (None, False)]


def _host_path(_: dict, spec: dict) -> list[str]:
    return [f"volume {v.get('name')} is a hostPath" for v in spec.get("volumes") or [] if v.get("hostPath") is not None]


def _host_ports(_: dict, spec: dict) -> list[str]:
    return [f"{c['name']} uses hostPort {p['hostPort']}" for c in containers(spec) for p in c.get("ports") or []
            if p.get("hostPort") not in (None, 0)]


def _host_probes(_: dict, spec: dict) -> list[str]:
    found = []
    for c in containers(spec):
        handlers = {probe: c.get(probe) for probe in ("livenessProbe", "readinessProbe", "startupProbe")}
        handlers |= {f"lifecycle.{hook}": (c.get("lifecycle") or {}).get(hook) for hook in ("postStart", "preStop")}
        for where, handler in handlers.items():
            for kind in ("httpGet", "tcpSocket"):
                host = ((handler or {}).get(kind) or {}).get("host")
                if host not in (None, ""):
                    found.append(f"{c['name']} {where}.{kind}.host={host}")
    return found


def _app_armor(meta: dict, spec: dict) -> list[str]:
    setters = [("pod", _sc(spec))] + [(c["name"], _sc(c)) for c in containers(spec)]
    found = [f"{who} appArmorProfile.type={kind}" for who, sc in setters
             if (kind := (sc.get("appArmorProfile") or {}).get("type")) not in (None, *APPARMOR_TYPES)]
    found += [f"annotation {key}={value}" for key, value in (meta.get("annotations") or {}).items()
              if key.startswith(APPARMOR_ANNOTATION) and value not in ("", "runtime/default")
              and not str(value).startswith("localhost/")]
    return found


def _se_linux(_: dict, spec: dict) -> list[str]:
    found = []
    for who, sc in [("pod", _sc(spec))] + [(c["name"], _sc(c)) for c in containers(spec)]:
        options = sc.get("seLinuxOptions") or {}
        if options.get("type", "") not in SELINUX_TYPES:
            found.append(f"{who} seLinuxOptions.type={options['type']}")
        found += [f"{who} sets seLinuxOptions.{key}" for key in ("user", "role") if options.get(key)]
    return found


def _proc_mount(_: dict, spec: dict) -> list[str]:
    return [f"{c['name']} procMount={mount}" for c in containers(spec)
            if (mount := _sc(c).get("procMount")) not in (None, "Default")]


def _sysctls(_: dict, spec: dict) -> list[str]:
    return [f"sysctl {s.get('name')}" for s in _sc(spec).get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS]


def _volume_types(_: dict, spec: dict) -> list[str]:
    found = []
    for volume in spec.get("volumes") or []:
        kinds = [k for k, v in volume.items() if k != "name" and v is not None]
        if "hostPath" in kinds:
            continue  # HostPath Volumes reports it
        if not kinds or any(k not in ALLOWED_VOLUMES for k in kinds):
            found.append(f"volume {volume.get('name')} is {'/'.join(kinds) or 'of no type'}")
    return found


def _privilege_escalation(_: dict, spec: dict) -> list[str]:
    if _windows(spec):
        return []
    return [f"{c['name']} does not set allowPrivilegeEscalation=false" for c in containers(spec)
            if _sc(c).get("allowPrivilegeEscalation") is not False]


def _non_root(_: dict, spec: dict) -> list[str]:
    if _user_namespace(spec):
        return []
    pod = _sc(spec).get("runAsNonRoot")
    found = ["pod sets runAsNonRoot=false"] if pod is False else []
    for c in containers(spec):
        own = _sc(c).get("runAsNonRoot")
        if own is False:
            found.append(f"{c['name']} sets runAsNonRoot=false")
        elif own is None and pod is not True:
            found.append(f"{c['name']} does not set runAsNonRoot=true (nor does the pod)")
    return found


def _non_root_user(_: dict, spec: dict) -> list[str]:
    if _user_namespace(spec):
        return []
    setters = [("pod", _sc(spec))] + [(c["name"], _sc(c)) for c in containers(spec)]
    return [f"{who} sets runAsUser=0" for who, sc in setters if sc.get("runAsUser") == 0]


def _seccomp(_: dict, spec: dict) -> list[str]:
    if _windows(spec):
        return []
    pod = (_sc(spec).get("seccompProfile") or {}).get("type")
    found = [f"pod seccompProfile.type={pod}"] if pod is not None and pod not in SECCOMP_TYPES else []
    for c in containers(spec):
        own = (_sc(c).get("seccompProfile") or {}).get("type")
        if own is not None and own not in SECCOMP_TYPES:
            found.append(f"{c['name']} seccompProfile.type={own}")
        elif own is None and pod not in SECCOMP_TYPES:
            found.append(f"{c['name']} sets no seccompProfile (nor does the pod)")
    return found


def _capabilities(_: dict, spec: dict) -> list[str]:
    if _windows(spec):
        return []
    found = []
    for c in containers(spec):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"{c['name']} does not drop ALL capabilities")
        found += [f"{c['name']} adds {cap}" for cap in caps.get("add") or [] if cap != "NET_BIND_SERVICE"]
    return found


CONTROLS: dict[str, Callable[[dict, dict], list[str]]] = {
    "HostProcess": _host_process,
    "Host Namespaces": _host_namespaces,
    "Privileged Containers": _privileged,
    "HostPath Volumes": _host_path,
    "Host Ports": _host_ports,
    "Host Probes / Lifecycle Hooks": _host_probes,
    "AppArmor": _app_armor,
    "SELinux": _se_linux,
    "/proc Mount Type": _proc_mount,
    "Sysctls": _sysctls,
    "Volume Types": _volume_types,
    "Privilege Escalation": _privilege_escalation,
    "Running as Non-root": _non_root,
    "Running as Non-root user": _non_root_user,
    "Seccomp": _seccomp,
    "Capabilities": _capabilities,
}


def violations(spec: dict[str, Any], metadata: dict[str, Any] | None = None) -> list[str]:
    """What keeps a pod (its spec, and metadata for the AppArmor annotations) out of a `restricted` namespace."""
    return [f"{control}: {detail}" for control, check in CONTROLS.items() for detail in check(metadata or {}, spec)]


def pod_of(obj: dict[str, Any]) -> Pod | None:
    """The pod an object makes (a Pod's own, a workload's template, a CronJob's job's template), else None."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        return obj.get("metadata") or {}, spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif kind not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"):
        return None
    template = spec.get("template") or {}
    return template.get("metadata") or {}, template.get("spec") or {}


# The controls of the Baseline profile (the first part of the table above); Restricted adds the others.
BASELINE = ("HostProcess", "Host Namespaces", "Privileged Containers", "HostPath Volumes", "Host Ports",
            "Host Probes / Lifecycle Hooks", "AppArmor", "SELinux", "/proc Mount Type", "Sysctls")
LEVELS = ("restricted", "baseline", "privileged")


# Baseline's own Capabilities control: adding anything beyond this default set is refused.
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})


def _baseline_only(spec: dict[str, Any]) -> list[str]:
    """Baseline's Seccomp (not Unconfined) and Capabilities (the default set) controls, which Restricted's
    stricter ones supersede in `violations`."""
    found = []
    for obj in (spec, *containers(spec)):
        if (_sc(obj).get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"Seccomp: {obj.get('name', 'the pod')} is Unconfined")
    for c in containers(spec):
        found += [f"Capabilities: {c['name']} adds {cap}" for cap in (_sc(c).get("capabilities") or {}).get("add") or []
                  if cap not in BASELINE_CAPABILITIES]
    return found


def level(spec: dict[str, Any], metadata: dict[str, Any] | None = None) -> str:
    """The strictest Pod Security level the pod passes: restricted, baseline, or privileged (no restriction)."""
    failed = {v.split(":", 1)[0] for v in violations(spec, metadata)}
    if not failed:
        return "restricted"
    return "privileged" if failed & set(BASELINE) or _baseline_only(spec) else "baseline"
