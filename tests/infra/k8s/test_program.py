"""The k8s stack under Pulumi's mock runtime: every resource, the fields that matter, and the order they roll in.

TLS (the issuers, the challenge route) is in test_tls.py; URNs and protection are program-wide (tests/infra).
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from offline import plan as offline_plan
from offline import types as t
from tests.support import k8s_plan, obj, one, pod_spec


def test_the_k8s_stack_creates_every_resource_of_the_issue():
    plan = k8s_plan()
    registered = {(r.type, r.name) for r in plan.resources}
    expected = {
        (t.NAMESPACE, "paasport"),
        (t.RANDOM_PASSWORD, "paasport-password"),
        (t.SECRET, "paasport-db"),
        (t.HELM_RELEASE, "paasport-postgresql"),
        (t.NETWORK_POLICY, "paasport-postgresql"),
        (t.BUILDX_IMAGE, "paasport"),
        (t.JOB, "paasport-release"),
        (t.DEPLOYMENT, "paasport-web"),
        (t.SERVICE, "paasport-web"),
        (t.PDB, "paasport-web"),
        (t.HPA, "paasport-web"),
        (t.NETWORK_POLICY, "paasport-web"),
        (t.CERTIFICATE, "paasport-tls"),
        (t.HOST, "paasport"),
        (t.MAPPING, "paasport-web"),
        (t.CRON_JOB, "paasport-backup"),
        (t.PVC, "paasport-backup"),
        (t.NETWORK_POLICY, "paasport-backup"),
    }
    assert expected <= registered, expected - registered


def test_each_concern_is_a_paasport_component_that_parents_its_resources():
    plan = k8s_plan()
    components = {r.urn: r for r in plan.resources if not r.custom}
    assert {r.type for r in components.values()} == {
        f"paasport:{m}:{t}" for m, t in [("namespace", "Namespace"), ("database", "Database"), ("image", "AppImage"),
                                        ("release", "ReleaseJob"), ("web", "WebApp"), ("tls", "Tls"),
                                        ("ingress", "Ingress"), ("backup", "DatabaseBackup"),
                                        ("app_env", "SecretDigest"), ("one_off", "OneOffRun")]
    }
    for reg in plan.resources:
        if reg.custom:
            assert reg.parent in components, f"{reg.type} {reg.name} is not parented by a component"


def test_namespace_enforces_restricted_pod_security_and_joins_linkerd():
    meta = obj(one(k8s_plan(), t.NAMESPACE))["metadata"]
    assert meta["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert meta["annotations"] == {"linkerd.io/inject": "enabled"}
    off = obj(one(k8s_plan("linkerd_inject=false"), t.NAMESPACE))["metadata"]
    assert "linkerd.io/inject" not in off.get("annotations", {})


def test_postgres_chart_is_pinned_and_reads_its_passwords_from_the_secret():
    plan = k8s_plan("postgres_storage_size=20Gi", "postgres_storage_class=fast-ssd")
    release = obj(one(plan, t.HELM_RELEASE))
    assert release["chart"] == "oci://registry-1.docker.io/bitnamicharts/postgresql"
    assert release["version"] == "16.7.27"
    assert release["name"] == "paasport-postgresql"
    values = release["values"]
    assert values["auth"]["existingSecret"] == "paasport-db"
    assert values["auth"]["secretKeys"] == {"userPasswordKey": "password", "adminPasswordKey": "postgres-password"}
    assert (values["auth"]["database"], values["auth"]["username"]) == ("dvdrental", "paasport")
    assert values["image"] == {"registry": "docker.io", "repository": "bitnamilegacy/postgresql",
                               "tag": "17.6.0-debian-12-r4"}
    assert values["primary"]["persistence"] == {"enabled": True, "size": "20Gi", "storageClass": "fast-ssd"}
    assert values["primary"]["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"},
                                              "limits": {"cpu": "1", "memory": "1Gi"}}
    assert values["metrics"]["enabled"] is False
    secret = obj(one(plan, t.SECRET, "paasport-db"))
    assert secret["stringData"] == {"password": "[secret]", "postgres-password": "[secret]"}


def test_only_the_app_the_release_job_and_the_backup_reach_postgres():
    spec = obj(one(k8s_plan(), t.NETWORK_POLICY, "paasport-postgresql"))["spec"]
    assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "paasport-postgresql"
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    peers = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: peer["podSelector"]["matchLabels"]
             for peer in rule["from"]}
    assert peers.keys() == {"web", "release", "backup", "run"}
    run = shlex.split(offline_plan.reveal(k8s_plan().outputs["kubectl_run"]))
    pods = {"web": obj(one(k8s_plan(), t.DEPLOYMENT))["spec"]["template"],
            "release": obj(one(k8s_plan(), t.JOB))["spec"]["template"],
            "backup": obj(one(k8s_plan(), t.CRON_JOB))["spec"]["jobTemplate"]["spec"]["template"],
            "run": json.loads(next(a for a in run if a.startswith("--overrides=")).removeprefix("--overrides="))}
    for component, template in pods.items():
        assert peers[component].items() <= template["metadata"]["labels"].items(), component
    off = obj(one(k8s_plan("backup_enabled=false"), t.NETWORK_POLICY, "paasport-postgresql"))["spec"]
    assert {p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in off["ingress"][0]["from"]} == {
        "web", "release", "run"}


@pytest.mark.parametrize("metrics", [False, True])
def test_network_policies_admit_the_linkerd_proxy_ports_only_while_the_namespace_is_meshed(metrics):
    # Meshed clients reach a meshed server on the proxy's inbound port 4143 (5432 is opaque), and Prometheus
    # and the kubelet reach its admin port 4191: a policy of the app's ports alone blocks the mesh.
    extra = ("postgres_metrics=true",) if metrics else ()

    def ports(linkerd: str, name: str) -> list[set[int]]:
        spec = obj(one(k8s_plan(f"linkerd_inject={linkerd}", *extra), t.NETWORK_POLICY, name))["spec"]
        return [{p["port"] for p in rule["ports"]} for rule in spec["ingress"]]

    database = [{5432, 4143, 4191}] + ([{9187, 4143, 4191}] if metrics else [])
    assert ports("true", "paasport-postgresql") == database
    assert ports("true", "paasport-web") == [{8000, 4143, 4191}]
    assert ports("false", "paasport-postgresql") == [{5432}] + ([{9187}] if metrics else [])
    assert ports("false", "paasport-web") == [{8000}]


def test_deployment_rolls_after_the_release_job_which_runs_after_the_database():
    plan = k8s_plan()
    deployment, job, release = one(plan, t.DEPLOYMENT), one(plan, t.JOB), one(plan, t.HELM_RELEASE)
    assert job.urn in deployment.dependencies
    assert release.urn in job.dependencies
    assert one(plan, t.SECRET, "paasport-db").urn in release.dependencies


def test_release_job_runs_the_seed_with_the_new_image_under_a_name_per_image():
    plan = k8s_plan()
    job = obj(one(plan, t.JOB))
    image = plan.outputs["image"]
    # paasport-release- and the first 10 hex digits of the image reference's SHA-256, written out: the plan's
    # image is ghcr.io/example/paasport@sha256:9f37..., a digest the mocks derive from the pushed tag.
    assert job["metadata"]["name"] == "paasport-release-687d2f8508"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    # app/Procfile's `release:` line, as arguments: the image's ENTRYPOINT (if any) stays, as with `docker run`.
    assert container["args"] == ["python", "-m", "actors.seed"] and "command" not in container
    assert container["image"] == image
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    other = obj(one(k8s_plan("image=ghcr.io/acme/paasport:2.0.0"), t.JOB))
    assert other["metadata"]["name"] == "paasport-release-972d9173b9"  # sha256("ghcr.io/acme/paasport:2.0.0")


@pytest.mark.parametrize("timeout", [60, 1800, 7200])
def test_pulumi_waits_for_the_release_job_longer_than_its_deadline_and_leaves_finished_jobs_alone(timeout):
    job = obj(one(k8s_plan(f"release_timeout_s={timeout}"), t.JOB))
    # The Job fails by its own deadline (all retries together) before Pulumi stops waiting, 120 s later, so
    # `pulumi up` reports the Job's failure, not a timeout of its own; pulumi-kubernetes would wait 10 minutes.
    assert job["spec"]["activeDeadlineSeconds"] == timeout
    assert job["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == str(timeout + 120)
    # A Job deleted behind Pulumi's back drops out of state at refresh, and the next `up` would seed again.
    assert "ttlSecondsAfterFinished" not in job["spec"]


@pytest.mark.parametrize("type_", [t.DEPLOYMENT, t.JOB])
def test_app_pods_are_hardened(type_):
    spec = pod_spec(k8s_plan(), type_)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] >= 10000
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["runAsUser"] >= 10000
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v["emptyDir"] for v in spec["volumes"]}
    assert mounts.keys() == {"/tmp", "/dev/shm"}
    assert volumes[mounts["/dev/shm"]]["medium"] == "Memory"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    env = {e["name"]: e for e in container["env"]}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "paasport-db", "key": "password"}
    assert "value" not in env["PGPASSWORD"]
    assert env["PGHOST"]["value"] == "paasport-postgresql.paasport.svc.cluster.local"
    assert {"PGPORT", "PGDATABASE", "PGUSER", "PGSSLMODE", "LOG_LEVEL", "WEB_CONCURRENCY"} <= env.keys()
    assert env["PORT"]["value"] == "8000"


def test_deployment_probes_rolls_and_spreads():
    deployment = obj(one(k8s_plan(), t.DEPLOYMENT))
    spec = deployment["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    template = spec["template"]
    assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert template["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    (container,) = template["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    spread = template["spec"]["topologySpreadConstraints"]
    assert "kubernetes.io/hostname" in {c["topologyKey"] for c in spread}


def test_autoscaler_owns_replicas_when_on_and_fixed_replicas_when_off():
    on = k8s_plan("hpa_min_replicas=3", "hpa_max_replicas=7", "hpa_cpu_percent=60")
    hpa = obj(one(on, t.HPA))["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 7)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert hpa["scaleTargetRef"]["name"] == "paasport-web"
    assert "replicas" not in obj(one(on, t.DEPLOYMENT))["spec"]
    off = k8s_plan("hpa_enabled=false", "replicas=4")
    assert not off.find(t.HPA)
    assert obj(one(off, t.DEPLOYMENT))["spec"]["replicas"] == 4


def test_app_image_is_built_from_app_and_pushed_to_the_registry():
    plan = k8s_plan()
    # pulumi-docker-build, not pulumi-docker's Image, whose build fails on Docker's containerd image store
    # (pulumi/pulumi-docker#967).
    image = obj(one(plan, t.BUILDX_IMAGE))
    assert (image["tags"], image["push"], image["platforms"]) == (
        ["ghcr.io/example/paasport:latest"], True, ["linux/amd64"])
    # Providers run in the program directory, infra/: app/ is ../app from there (tests/infra/test_paths.py).
    assert (image["context"]["location"], image["dockerfile"]["location"]) == ("../app", "../app/Dockerfile")
    assert "registries" not in image  # a public registry, or the ambient `docker login`
    # The pods run the pushed tag pinned to its digest, so a new build rolls them.
    deployment_image = pod_spec(plan, t.DEPLOYMENT)["containers"][0]["image"]
    assert deployment_image == plan.outputs["image"]
    assert re.fullmatch(r"ghcr\.io/example/paasport@sha256:[0-9a-f]{64}", deployment_image)
    assert pod_spec(plan, t.JOB)["containers"][0]["image"] == deployment_image


def test_a_prebuilt_image_is_used_as_is_and_nothing_is_built():
    plan = k8s_plan("image=ghcr.io/acme/paasport:1.2.3")
    assert not plan.find(t.BUILDX_IMAGE)
    assert pod_spec(plan, t.DEPLOYMENT)["containers"][0]["image"] == "ghcr.io/acme/paasport:1.2.3"


def test_registry_credentials_become_a_secret_pull_secret():
    plan = k8s_plan("registry_username=bot", "paasport:registry_password=hunter2hunter2")
    pull = one(plan, t.SECRET, "paasport-registry")
    assert obj(pull)["type"] == "kubernetes.io/dockerconfigjson"
    assert obj(pull)["stringData"] == {".dockerconfigjson": "[secret]"}
    assert pod_spec(plan, t.DEPLOYMENT)["imagePullSecrets"] == [{"name": "paasport-registry"}]
    # The build pushes with the same credentials (a secret, so the plan shows none of them).
    image = one(plan, t.BUILDX_IMAGE)
    assert offline_plan.reveal(image.inputs, True)["registries"] == [
        {"address": "ghcr.io", "username": "bot", "password": "hunter2hunter2"}]
    assert "hunter2hunter2" not in str(offline_plan.to_json(plan))


def test_outputs_tell_where_the_app_is_and_how_to_operate_it():
    outputs = offline_plan.reveal(k8s_plan().outputs)
    assert outputs["url"] == "https://paasport.example.com/"
    assert outputs["namespace"] == "paasport"
    assert outputs["db_host"] == "paasport-postgresql.paasport.svc.cluster.local"
    assert outputs["image"].startswith("ghcr.io/example/paasport@sha256:")
    assert outputs["kubectl_scale"].startswith("kubectl --namespace paasport scale deployment/paasport-web")
    assert "rollout undo deployment/paasport-web" in outputs["kubectl_rollback"]
    assert "rollout status" in outputs["kubectl_rollout"] and " logs " in outputs["kubectl_logs"]
    assert outputs["db_password"] == "[secret]"


def _plain_strings(value, found: list[str]) -> list[str]:
    """Every string in `value` that is not inside a secret."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return found
    if isinstance(value, dict):
        for v in value.values():
            _plain_strings(v, found)
    elif isinstance(value, list):
        for v in value:
            _plain_strings(v, found)
    elif isinstance(value, str):
        found.append(value)
    return found


def test_the_db_password_is_never_a_plain_input_or_output():
    plan = k8s_plan()
    passwords = [offline_plan.reveal(r.outputs["result"], show_secrets=True)
                 for r in plan.find(t.RANDOM_PASSWORD) if r.name != "paasport-secrets-digest"]
    assert len(passwords) == 2 and all(passwords)
    plain: list[str] = []
    for reg in plan.resources:
        _plain_strings(reg.inputs, plain)
        if not reg.type.startswith("random:"):
            _plain_strings(reg.outputs, plain)
    _plain_strings(plan.outputs, plain)
    for password in passwords:
        assert not any(password in s for s in plain)
    assert offline_plan.reveal(plan.outputs["db_password"], show_secrets=True) in passwords


def test_render_dir_renders_through_an_explicit_provider_and_a_locally_templated_chart():
    plan = k8s_plan("render_dir=/srv/gitops/paasport", "kube_context=prod")
    provider = obj(one(plan, t.K8S_PROVIDER))
    assert provider["renderYamlToDirectory"] == "/srv/gitops/paasport"
    assert provider["context"] == "prod"
    assert not plan.find(t.HELM_RELEASE)
    chart = obj(one(plan, t.HELM_CHART))
    assert (chart["chart"], chart["version"]) == ("oci://registry-1.docker.io/bitnamicharts/postgresql", "16.7.27")
    assert not k8s_plan().find(t.K8S_PROVIDER)


def test_backup_cron_job_dumps_the_database_with_its_own_image_into_a_volume_of_its_own():
    plan = k8s_plan("backup_schedule=30 1 * * 0", "backup_keep=4", "backup_storage_size=20Gi",
                    "postgres_storage_class=fast-ssd")
    cron = obj(one(plan, t.CRON_JOB))
    spec = cron["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == ("30 1 * * 0", "Etc/UTC", "Forbid")
    template = spec["jobTemplate"]["spec"]["template"]
    assert template["metadata"]["annotations"] == {"linkerd.io/inject": "disabled"}  # a meshed Job never ends
    pod = template["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/bitnamilegacy/postgresql:17.6.0-debian-12-r4"  # pg_dump = server version
    assert container["command"][:2] == ["/bin/sh", "-c"] and "pg_dump --format=custom" in container["command"][2]
    env = {e["name"]: e for e in container["env"]}
    assert env["BACKUP_KEEP"]["value"] == "4"
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "paasport-db", "key": "password"}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts[env["BACKUP_DIR"]["value"]]]["persistentVolumeClaim"] == {"claimName": "paasport-backup"}
    claim = obj(one(plan, t.PVC))["spec"]
    assert claim["resources"]["requests"]["storage"] == "20Gi" and claim["storageClassName"] == "fast-ssd"
    # The app's hardening: non-root, no token, read-only root, nothing to escalate.
    assert pod["automountServiceAccountToken"] is False and pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # Nothing may connect to the backup pods.
    deny = obj(one(plan, t.NETWORK_POLICY, "paasport-backup"))["spec"]
    assert deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    # Checkov's CKV_K8S_43 (images by digest) is suppressed because the dump runs exactly the chart's image.
    assert cron["metadata"]["annotations"]["checkov.io/skip1"].startswith("CKV_K8S_43=")
    chart_image = obj(one(plan, t.HELM_RELEASE))["values"]["image"]
    assert container["image"] == "{registry}/{repository}:{tag}".format(**chart_image)


def test_backup_script_keeps_only_the_newest_dumps(tmp_path):
    import os
    import subprocess

    from infra.k8s.backup import SCRIPT

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"  # writes what it was asked to, as pg_dump --file would
    fake.write_text('#!/bin/sh\nfor a; do case "$a" in --file=*) echo dump > "${a#--file=}";; esac; done\n')
    fake.chmod(0o755)
    out = tmp_path / "backups"
    out.mkdir()
    for day in range(1, 6):
        (out / f"dvdrental-2025010{day}T030000Z.dump").write_text("old")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "BACKUP_DIR": str(out), "BACKUP_KEEP": "3",
           "PGDATABASE": "dvdrental"}
    result = subprocess.run(["/bin/sh", "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    kept = sorted(p.name for p in out.iterdir())
    assert len(kept) == 3 and kept[:2] == ["dvdrental-20250104T030000Z.dump", "dvdrental-20250105T030000Z.dump"]
    assert (out / kept[2]).read_text() == "dump\n" and not (out / ".partial.dump").exists()


def test_backups_can_be_turned_off():
    plan = k8s_plan("backup_enabled=false")
    assert not plan.find(t.CRON_JOB) and not plan.find(t.PVC)
    assert "kubectl_backup_now" not in plan.outputs
    assert offline_plan.reveal(k8s_plan().outputs)["kubectl_backup_now"] == (
        "kubectl --namespace paasport create job --from=cronjob/paasport-backup "
        "paasport-backup-manual-$(date -u +%Y%m%d-%H%M%S)")


def test_each_run_of_kubectl_backup_now_names_a_job_of_its_own(tmp_path):
    import subprocess
    import time

    # The defect: one fixed Job name, so the second run failed with AlreadyExists.
    (tmp_path / "kubectl").write_text('#!/bin/sh\nfor last; do :; done\necho "$last"\n')
    (tmp_path / "kubectl").chmod(0o755)
    command = offline_plan.reveal(k8s_plan().outputs)["kubectl_backup_now"]
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    names = []
    for _ in range(2):
        names.append(subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True,
                                    check=True).stdout.strip())
        time.sleep(1.1)
    assert names[0] != names[1]
    assert all(re.fullmatch(r"paasport-backup-manual-\d{8}-\d{6}", n) and len(n) <= 63 for n in names), names


def test_a_preview_shows_the_image_unknown_until_up_pushes_it():
    """With build_on_preview off the provider builds nothing at preview and reports no digest: the ref is unknown
    then, never a digest that `pulumi up` would not deploy; the digest up pushes passes through."""
    import asyncio

    import pulumi

    from infra.k8s.image import pushed_digest

    class Built:
        def __init__(self, digest: str) -> None:
            self.digest = pulumi.Output.from_input(digest)

    async def known(digest: str) -> tuple[bool, str | None]:
        output = pushed_digest(Built(digest))
        return await output.is_known(), await output.future()

    assert asyncio.run(known("")) == (False, None)
    assert asyncio.run(known("sha256:" + "a" * 64)) == (True, "sha256:" + "a" * 64)
    image = obj(one(k8s_plan(), t.BUILDX_IMAGE))
    assert image["buildOnPreview"] is False
