"""`python -m offline.plan --render DIR` writes manifests that validate against Kubernetes' schemas and pass Checkov."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

from offline import helm
from tests.support import REPO, offline_cli, require_shared_charts, validate_custom_resource

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
# Every optional object on: the stack's own ACME Issuer and its challenge route, the autoscaler (Pulumi.k8s.yaml),
# the Postgres exporter.
OVERRIDES = ["tls_issuer=", "acme_email=ops@example.com", "postgres_metrics=true"]
KUBERNETES_VERSIONS = helm.kubernetes_versions()


def plan_cli(*args: str) -> subprocess.CompletedProcess:
    return offline_cli("plan", "--stack", "k8s", *args, check=True)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    require_shared_charts()
    directory = tmp_path_factory.mktemp("rendered")
    plan_cli(*[f"--config={o}" for o in OVERRIDES], "--render", str(directory))
    return directory


def documents(directory: Path) -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(directory.glob("*.yaml"))}


CUSTOM_GROUPS = ("getambassador.io", "cert-manager.io")  # Emissary-ingress and cert-manager


def is_core(doc: dict) -> bool:
    return doc["apiVersion"].split("/")[0] not in CUSTOM_GROUPS


def test_render_writes_one_file_per_object_including_custom_resources_and_the_charts(rendered):
    docs = documents(rendered)
    assert sorted(docs) == [
        "certificate-paasport-tls.yaml", "cronjob-paasport-backup.yaml", "deployment-paasport-web.yaml",
        "horizontalpodautoscaler-paasport-web.yaml", "host-paasport.yaml", "issuer-paasport-acme.yaml",
        "job-paasport-release.yaml", "mapping-paasport-acme-challenge.yaml", "mapping-paasport-web.yaml",
        "namespace-paasport.yaml", "networkpolicy-paasport-backup.yaml", "networkpolicy-paasport-postgresql.yaml",
        "networkpolicy-paasport-release.yaml", "networkpolicy-paasport-run.yaml", "networkpolicy-paasport-web.yaml",
        "persistentvolumeclaim-paasport-backup.yaml",
        # the chart's objects, as helm templates them with the stack's values (the exporter adds its Service)
        "poddisruptionbudget-paasport-postgresql.yaml", "poddisruptionbudget-paasport-web.yaml",
        "secret-paasport-database-url.yaml", "secret-paasport-db-tls.yaml", "secret-paasport-db.yaml",
        "service-paasport-acme-challenge.yaml", "service-paasport-postgresql-hl.yaml",
        "service-paasport-postgresql-metrics.yaml", "service-paasport-postgresql.yaml", "service-paasport-web.yaml",
        "serviceaccount-paasport-postgresql.yaml", "statefulset-paasport-postgresql.yaml",
    ]
    assert all(doc["metadata"]["namespace"] == "paasport" for doc in docs.values() if doc["kind"] != "Namespace")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_validate_strictly_against_kubernetes_schemas(rendered, version):
    core = {name: doc for name, doc in documents(rendered).items() if is_core(doc)}
    assert len(core) == 23  # with the DATABASE_URL Secret (issue 19), PostgreSQL's TLS Secret (fixtls), the one-off
    # pods' NetworkPolicy (issue 25)
    for name, doc in core.items():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name} is invalid for Kubernetes {version}: {error.message} at {list(error.path)}")


def test_custom_resources_validate_against_their_crds(rendered):
    custom = [doc for doc in documents(rendered).values() if not is_core(doc)]
    assert sorted(d["kind"] for d in custom) == ["Certificate", "Host", "Issuer", "Mapping", "Mapping"]
    for doc in custom:
        validate_custom_resource(doc)  # cert-manager's v1.19.6 CRDs; Emissary's schemas


def test_checkov_finds_no_failed_check(rendered):
    if not CHECKOV.is_file():
        pytest.skip(f"needs Checkov in {CHECKOV.parent.parent} (`make test` creates it)")
    result = subprocess.run([str(CHECKOV), "--config-file", str(REPO / ".checkov.yaml"), "-d", str(rendered)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_rendered_secrets_are_redacted_unless_asked(rendered, tmp_path):
    secret = documents(rendered)["secret-paasport-db.yaml"]
    assert secret["stringData"] == {"password": "[secret]", "postgres-password": "[secret]"}
    assert documents(rendered)["secret-paasport-db-tls.yaml"]["stringData"] == {"tls.crt": "[secret]",
                                                                               "tls.key": "[secret]"}
    assert not [p.name for p in rendered.iterdir() if "PRIVATE KEY" in p.read_text()]
    plan_cli("--render", str(tmp_path), "--show-secrets")
    shown = documents(tmp_path)["secret-paasport-db.yaml"]["stringData"]
    assert shown["password"].startswith("plan-") and shown["password"] != shown["postgres-password"]
    assert "PRIVATE KEY" in documents(tmp_path)["secret-paasport-db-tls.yaml"]["stringData"]["tls.key"]


def test_render_refuses_a_directory_with_an_earlier_render_in_it(rendered):
    """A stale manifest (say the backup CronJob of a render with backups on) would be applied with the new ones."""
    before = sorted(p.name for p in rendered.iterdir())
    result = offline_cli("plan", "--stack", "k8s", "--config", "backup_enabled=false", "--render", str(rendered))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {rendered} is not an empty directory: render into a new one (an old manifest there would be "
        "applied with the new ones)"]
    assert sorted(p.name for p in rendered.iterdir()) == before
