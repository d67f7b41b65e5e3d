"""`python -m infra.plan --render DIR` writes manifests that validate against Kubernetes' schemas and pass Checkov."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

from tests.conftest import REPO, SCHEMAS_DIR

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
# Every optional object on: the ClusterIssuer, the autoscaler, the Postgres exporter.
OVERRIDES = ["acme_email=ops@example.com", "postgres_metrics=true"]
KUBERNETES_VERSIONS = sorted(set(kubernetes_validate.all_versions()), key=lambda v: tuple(map(int, v.split("."))))[-4:]


def plan_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.plan", "--stack", "k8s", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=True)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("rendered")
    plan_cli(*[f"--config={o}" for o in OVERRIDES], "--render", str(directory))
    return directory


def documents(directory: Path) -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(directory.glob("*.yaml"))}


CUSTOM_GROUPS = ("getambassador.io", "cert-manager.io")  # Emissary-ingress and cert-manager


def is_core(doc: dict) -> bool:
    return doc["apiVersion"].split("/")[0] not in CUSTOM_GROUPS


def test_render_writes_one_file_per_object_including_custom_resources_and_the_chart(rendered):
    docs = documents(rendered)
    kinds = sorted(d.get("kind", "helmChart") for d in docs.values())
    assert kinds == sorted(["Namespace", "Secret", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy",
                            "Job", "CronJob", "PersistentVolumeClaim", "Deployment", "Service",
                            "PodDisruptionBudget", "HorizontalPodAutoscaler", "Certificate", "ClusterIssuer", "Host",
                            "Mapping", "helmChart"])
    chart = docs["helmchart-paasport-postgresql.yaml"]["helmChart"]
    assert chart["version"] == "16.7.27" and chart["values"]["metrics"]["enabled"] is True


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_validate_strictly_against_kubernetes_schemas(rendered, version):
    core = {name: doc for name, doc in documents(rendered).items() if "kind" in doc and is_core(doc)}
    assert len(core) == 13
    for name, doc in core.items():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name} is invalid for Kubernetes {version}: {error.message} at {list(error.path)}")


def test_custom_resources_validate_against_the_shared_crd_schemas(rendered):
    if not SCHEMAS_DIR.is_dir():
        pytest.skip(f"needs the shared CRD schemas at {SCHEMAS_DIR} (absent outside the workplace)")
    custom = [doc for doc in documents(rendered).values() if "kind" in doc and not is_core(doc)]
    assert {d["kind"] for d in custom} == {"Certificate", "ClusterIssuer", "Host", "Mapping"}
    for doc in custom:
        group, version = doc["apiVersion"].split("/")
        schema = json.loads((SCHEMAS_DIR / "crds" / group / f"{doc['kind'].lower()}_{version}.json").read_text())
        jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)


def test_checkov_finds_no_failed_check(rendered):
    if not CHECKOV.is_file():
        pytest.skip(f"needs Checkov in {CHECKOV.parent.parent} (`make test` creates it)")
    result = subprocess.run([str(CHECKOV), "--config-file", str(REPO / ".checkov.yaml"), "-d", str(rendered)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_checkov_suppressions_each_carry_a_reason():
    text = (REPO / ".checkov.yaml").read_text()
    skipped = yaml.safe_load(text)["skip-check"]
    lines = text.splitlines()
    for check in skipped:
        index = lines.index(f"  - {check}")
        assert lines[index - 1].lstrip().startswith(f"# {check}"), f"{check} needs a one-line reason above it"


def test_rendered_secrets_are_redacted_unless_asked(rendered, tmp_path):
    secret = documents(rendered)["secret-paasport-db.yaml"]
    assert secret["stringData"] == {"password": "[secret]", "postgres-password": "[secret]"}
    plan_cli("--render", str(tmp_path), "--show-secrets")
    shown = documents(tmp_path)["secret-paasport-db.yaml"]["stringData"]
    assert shown["password"].startswith("plan-") and shown["password"] != shown["postgres-password"]


def test_json_plan_lists_resources_with_inputs_and_dependencies():
    result = plan_cli("--json")
    plan = json.loads(result.stdout)
    assert plan["stack"] == "k8s"
    by_name = {(r["type"], r["name"]): r for r in plan["resources"]}
    deployment = by_name[("kubernetes:apps/v1:Deployment", "paasport-web")]
    assert "paasport-release" in deployment["depends_on"]
    assert deployment["inputs"]["metadata"]["name"] == "paasport-web"
    assert plan["outputs"]["db_password"] == "[secret]"
    assert plan["outputs"]["url"] == "https://paasport.example.com/"
    assert "plan-" not in result.stdout  # no generated password anywhere


def test_default_output_is_a_readable_tree_with_the_outputs():
    out = plan_cli().stdout
    assert "+ paasport:web:WebApp  paasport" in out
    assert "    + kubernetes:apps/v1:Deployment  paasport-web" in out
    assert "Outputs:\n  url: https://paasport.example.com/" in out
