"""offline/pod_security.py against pods written out here: one that passes, and one violating pod per control."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from offline import pod_security

Spec = dict[str, Any]


def compliant() -> tuple[dict, Spec]:
    """(metadata, spec) of a pod the restricted profile admits: an init container and a container, both hardened."""
    hardened = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                "runAsNonRoot": True, "runAsUser": 1001, "seccompProfile": {"type": "RuntimeDefault"},
                "procMount": "Default", "seLinuxOptions": {"type": "container_t"},
                "appArmorProfile": {"type": "RuntimeDefault"}}
    probe = {"httpGet": {"path": "/healthz", "port": 8000}}
    spec = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
        "initContainers": [{"name": "init", "image": "x", "securityContext": copy.deepcopy(hardened)}],
        "containers": [{"name": "app", "image": "x", "securityContext": copy.deepcopy(hardened),
                        "ports": [{"containerPort": 8000}], "livenessProbe": probe, "readinessProbe": probe,
                        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}}}],
        "volumes": [{"name": n, t: {}} for n, t in (("cfg", "configMap"), ("tmp", "emptyDir"), ("sec", "secret"),
                                                    ("data", "persistentVolumeClaim"), ("tok", "projected"))],
    }
    return {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}}, spec


def _container(spec: Spec) -> Spec:
    return spec["containers"][0]


def _init_sc(spec: Spec) -> Spec:
    return spec["initContainers"][0]["securityContext"]


# One change per control, each making the compliant pod violate exactly that control.
VIOLATIONS: dict[str, Callable[[dict, Spec], None]] = {
    "HostProcess": lambda m, s: _init_sc(s).update(windowsOptions={"hostProcess": True}),
    "Host Namespaces": lambda m, s: s.update(hostPID=True),
    "Privileged Containers": lambda m, s: _init_sc(s).update(privileged=True),
    "HostPath Volumes": lambda m, s: s["volumes"].append({"name": "host", "hostPath": {"path": "/"}}),
    "Host Ports": lambda m, s: _container(s)["ports"].append({"containerPort": 80, "hostPort": 80}),
    "Host Probes / Lifecycle Hooks": lambda m, s: _container(s).update(
        startupProbe={"tcpSocket": {"port": 8000, "host": "169.254.169.254"}}),
    "AppArmor": lambda m, s: m["annotations"].update({"container.apparmor.security.beta.kubernetes.io/app":
                                                      "unconfined"}),
    "SELinux": lambda m, s: s["securityContext"].update(seLinuxOptions={"type": "spc_t"}),
    "/proc Mount Type": lambda m, s: _container(s)["securityContext"].update(procMount="Unmasked"),
    "Sysctls": lambda m, s: s["securityContext"]["sysctls"].append({"name": "kernel.msgmax", "value": "1"}),
    "Volume Types": lambda m, s: s["volumes"].append({"name": "nfs", "nfs": {"server": "n", "path": "/"}}),
    "Privilege Escalation": lambda m, s: _container(s)["securityContext"].pop("allowPrivilegeEscalation"),
    "Running as Non-root": lambda m, s: _init_sc(s).update(runAsNonRoot=False),
    "Running as Non-root user": lambda m, s: s["securityContext"].update(runAsUser=0),
    "Seccomp": lambda m, s: _container(s)["securityContext"].update(seccompProfile={"type": "Unconfined"}),
    "Capabilities": lambda m, s: _init_sc(s)["capabilities"].update(add=["SYS_ADMIN"]),
}


def test_every_control_of_the_checker_has_a_violating_pod_here():
    assert set(VIOLATIONS) == set(pod_security.CONTROLS)


def test_a_hardened_pod_passes():
    metadata, spec = compliant()
    assert pod_security.violations(spec, metadata) == []


@pytest.mark.parametrize("control", VIOLATIONS)
def test_each_control_catches_its_violation_and_only_that(control):
    metadata, spec = compliant()
    VIOLATIONS[control](metadata, spec)
    found = pod_security.violations(spec, metadata)
    assert found, f"{control} was not caught"
    assert {v.split(": ", 1)[0] for v in found} == {control}, found


@pytest.mark.parametrize(("control", "change"), [
    ("Running as Non-root", lambda s: (s["securityContext"].pop("runAsNonRoot"),
                                       _container(s)["securityContext"].pop("runAsNonRoot"))),
    ("Seccomp", lambda s: (s["securityContext"].pop("seccompProfile"),
                           _container(s)["securityContext"].pop("seccompProfile"))),
    ("Capabilities", lambda s: _container(s)["securityContext"].pop("capabilities")),
    ("Privilege Escalation", lambda s: s["ephemeralContainers"].append({"name": "debug", "image": "x"})),
], ids=["non-root-unset", "seccomp-unset", "capabilities-unset", "ephemeral-container"])
def test_a_field_left_unset_where_restricted_requires_it_is_caught(control, change):
    _, spec = compliant()
    spec["ephemeralContainers"] = []
    change(spec)
    assert any(v.startswith(f"{control}: ") for v in pod_security.violations(spec)), control


def test_pod_level_settings_cover_containers_that_leave_them_unset():
    _, spec = compliant()
    for c in spec["containers"] + spec["initContainers"]:
        c["securityContext"].pop("runAsNonRoot")
        c["securityContext"].pop("seccompProfile")
    assert pod_security.violations(spec) == []


def test_windows_pods_and_user_namespaces_get_the_exemptions_the_admission_controller_gives():
    _, spec = compliant()
    for c in spec["containers"] + spec["initContainers"]:
        for key in ("allowPrivilegeEscalation", "seccompProfile", "capabilities"):
            c["securityContext"].pop(key)
    spec["securityContext"].pop("seccompProfile")
    assert {v.split(": ")[0] for v in pod_security.violations(spec)} == {"Privilege Escalation", "Seccomp",
                                                                         "Capabilities"}
    assert pod_security.violations({**spec, "os": {"name": "windows"}}) == []
    _, spec = compliant()
    spec["securityContext"].update(runAsNonRoot=False, runAsUser=0)
    assert pod_security.violations({**spec, "hostUsers": False}) == []


@pytest.mark.parametrize(("obj", "has_pod"), [
    ({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}, True),
    ({"kind": "StatefulSet", "spec": {"template": {"metadata": {}, "spec": {"containers": []}}}}, True),
    ({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}, True),
    ({"kind": "Service", "spec": {"ports": []}}, False),
])
def test_pod_of_finds_the_pod_an_object_makes(obj, has_pod):
    assert (pod_security.pod_of(obj) is not None) == has_pod
