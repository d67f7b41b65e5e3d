"""`app_name` names what the k8s stack makes in the cluster, and the image; its default, `paasport`, keeps the names of
every stack made before it (tests/infra/test_urns.py: the URNs never follow it)."""

from __future__ import annotations

import json
import re

import pytest

from infra.settings import ConfigError
from offline import plan as offline_plan
from tests import support

# An app with every kind of object the stack makes: a release, a worker, a cron task, a generated secret and the
# database; the stack with its own ACME Issuer, a registry secret and backups.
APP = {
    "Dockerfile": 'FROM python:3.13-slim\nUSER 10001:10001\nCMD ["python", "-m", "http.server"]\n',
    "Procfile": "web: python -m http.server $PORT\nrelease: python migrate.py\nworker: python worker.py\n",
    "app.json": json.dumps({"addons": ["heroku-postgresql"], "env": {"SECRET_KEY": {"generator": "secret"}},
                            "formation": {"worker": {"quantity": 1}},
                            "cron": [{"command": "python report.py", "schedule": "0 4 * * *"}]}),
}
STACK = ("tls_issuer=", "acme_email=ops@example.com", "registry_username=u", "registry_password=p",
         "backup_enabled=true", "namespace=shop-prod")


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("named-app")
    for name, text in APP.items():
        (directory / name).write_text(text)
    return f"app_dir={directory}"


def objects(plan: offline_plan.Plan) -> dict[str, dict]:
    """Every Kubernetes object the plan creates (`Kind name`), the Helm release as its release name."""
    found = {}
    for reg in plan.resources:
        inputs = support.obj(reg)
        if reg.type == "kubernetes:helm.sh/v3:Release":
            found[f"Release {inputs['name']}"] = inputs
        elif isinstance(inputs.get("metadata"), dict) and reg.type.startswith("kubernetes:"):
            found[f"{reg.type.rsplit(':', 1)[1]} {inputs['metadata']['name']}"] = inputs
    return found


def names_and_labels(found: dict[str, dict]) -> str:
    """What the cluster shows of each object: its name, its labels and the names it refers to."""
    return json.dumps({key: {"labels": (inputs.get("metadata") or {}).get("labels"), "spec": inputs.get("spec")}
                       for key, inputs in found.items()}, sort_keys=True)


def test_with_app_name_every_object_and_the_image_carry_it(app_dir):
    plan = support.plan("k8s", (app_dir, *STACK, "app_name=shop"))
    found = objects(plan)
    assert sorted(found) == [
        "Certificate shop-tls", "CronJob shop-backup", "CronJob shop-cron-1fefacd146", "Deployment shop-web",
        "Deployment shop-worker", "HorizontalPodAutoscaler shop-web", "Host shop", "Issuer shop-acme",
        "Job shop-release-970ce7a67e", "Mapping shop-acme-challenge", "Mapping shop-web", "Namespace shop-prod",
        "NetworkPolicy shop-backup", "NetworkPolicy shop-cron", "NetworkPolicy shop-postgresql",
        "NetworkPolicy shop-release", "NetworkPolicy shop-run", "NetworkPolicy shop-web", "NetworkPolicy shop-worker",
        "PersistentVolumeClaim shop-backup", "PodDisruptionBudget shop-web", "Release shop-postgresql",
        "Secret shop-database-url", "Secret shop-db", "Secret shop-db-tls", "Secret shop-env", "Secret shop-registry",
        "Service shop-acme-challenge", "Service shop-web"]
    labels = {i["metadata"]["labels"]["app.kubernetes.io/name"] for i in found.values()
              if "app.kubernetes.io/name" in (i.get("metadata") or {}).get("labels", {})}
    assert labels == {"shop"}
    # No label or reference between objects (Secrets, Services, claims, the chart's own names) says paasport-…;
    # what does is the program's own: its annotations (paasport/…) and the init container's staging path.
    shown = names_and_labels(found).replace("/paasport-image-files", "")
    assert "paasport-" not in shown
    assert plan.outputs["image"].startswith("ghcr.io/example/shop@sha256:")
    assert plan.outputs["db_host"] == "shop-postgresql.shop-prod.svc.cluster.local"
    assert plan.outputs["kubectl_rollout"] == "kubectl --namespace shop-prod rollout status deployment/shop-web"
    assert plan.outputs["kubectl_backup_now"].startswith(
        "kubectl --namespace shop-prod create job --from=cronjob/shop-backup shop-backup-manual-")


def test_by_default_the_objects_keep_the_names_of_stacks_made_before(app_dir):
    found = objects(support.plan("k8s", (app_dir, *STACK)))
    assert sorted(found) == [
        "Certificate paasport-tls", "CronJob paasport-backup", "CronJob paasport-cron-1fefacd146",
        "Deployment paasport-web", "Deployment paasport-worker", "HorizontalPodAutoscaler paasport-web",
        "Host paasport", "Issuer paasport-acme", "Job paasport-release-687d2f8508", "Mapping paasport-acme-challenge",
        "Mapping paasport-web", "Namespace shop-prod", "NetworkPolicy paasport-backup", "NetworkPolicy paasport-cron",
        "NetworkPolicy paasport-postgresql", "NetworkPolicy paasport-release", "NetworkPolicy paasport-run",
        "NetworkPolicy paasport-web", "NetworkPolicy paasport-worker", "PersistentVolumeClaim paasport-backup",
        "PodDisruptionBudget paasport-web", "Release paasport-postgresql", "Secret paasport-database-url",
        "Secret paasport-db", "Secret paasport-db-tls", "Secret paasport-env", "Secret paasport-registry",
        "Service paasport-acme-challenge", "Service paasport-web"]


@pytest.mark.parametrize("value", ["Shop", "sh", "-shop", "shop-", "a" * 31, "shop_app"])
def test_a_name_kubernetes_or_heroku_would_refuse_is_refused_at_preview(app_dir, value):
    with pytest.raises(ConfigError, match=re.escape(f"paasport:app_name is '{value}', which is not an app name (a "
                                                    "lowercase letter first")):
        support.plan("k8s", (app_dir, f"app_name={value}"))
