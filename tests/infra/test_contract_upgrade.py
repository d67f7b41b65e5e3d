"""`pulumi up` with the app contract over a stack made before it: what holds data keeps its URN and every input.

The program of commit BEFORE (the last one that hard-coded the actors app) runs from `git archive` in a folder of
its own, under the same offline plan, and the stateful resources of both plans are compared input by input (secrets
redacted on both sides). An input that differs would be an update of the namespace, the chart, a password, the
database Secret or the backup volume; a different URN a replacement. The Heroku app's config vars are the one
expected difference (an in-place update: FORCE_HTTPS now comes from app/app.json); its replace-on-change fields
(region, organization, space) must not move.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.support import REPO

BEFORE = "3c53d60"
STATEFUL_TYPES = ("kubernetes:core/v1:Namespace", "kubernetes:helm.sh/v3:Release",
                  "random:index/randomPassword:RandomPassword", "kubernetes:core/v1:PersistentVolumeClaim",
                  "heroku:app/app:App", "heroku:addon/addon:Addon")
STATEFUL_SECRETS = ("paasport-db",)  # the chart's Secret (a new Secret beside it holds DATABASE_URL)
# New random values that hold no data: the key of the digest that rolls the pods when a Secret changes (issue 25).
NEW_KEYS = ("paasport-secrets-digest",)
# The one change to the chart's values since BEFORE (fixtls): PostgreSQL serves TLS with the stack's certificate.
# An in-place `helm upgrade`, but tls.enabled changes the StatefulSet's pod (an init container, a volume, env), so an
# existing stack's PostgreSQL restarts once on that `pulumi up` (docs/upgrading.md).
CHART = "kubernetes:helm.sh/v3:Release::paasport-postgresql"
CHART_TLS_VALUES = {
    "tls": {"enabled": True, "certificatesSecret": "paasport-db-tls", "certFilename": "tls.crt",
            "certKeyFilename": "tls.key"},
    # The chart's copy-certs init container runs this image: from PostgreSQL's registry, as the exporter.
    "volumePermissions": {"image": {"registry": "docker.io", "repository": "bitnamilegacy/os-shell"}},
}
APP_REPLACE_ON_CHANGE = ("region", "organization", "space", "internalRouting", "name", "stack")

DUMP = f"""
import json, sys
from offline import plan as offline_plan
plan = offline_plan.run(sys.argv[1], sys.argv[2:])
print(json.dumps({{r.urn: offline_plan.reveal(r.inputs) for r in plan.resources
                   if (r.type in {STATEFUL_TYPES!r} and r.name not in {NEW_KEYS!r})
                   or (r.type == "kubernetes:core/v1:Secret" and r.name in {STATEFUL_SECRETS!r})}}, sort_keys=True))
"""

CASES = {"k8s": ("k8s", ()), "k8s-full": ("k8s", ("tls_issuer=", "acme_email=ops@example.com",
                                                  "backup_enabled=true")),
         "heroku": ("heroku", ("dyno_size=standard-1x",))}


@pytest.fixture(scope="module")
def before(tmp_path_factory):
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{BEFORE}^{{commit}}"],
                                                     capture_output=True).returncode != 0:
        pytest.skip(f"needs git and commit {BEFORE} (a shallow clone lacks it)")
    root = tmp_path_factory.mktemp("before")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BEFORE], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root


def stateful(root, stack: str, overrides: tuple[str, ...]) -> dict:
    result = subprocess.run([sys.executable, "-c", DUMP, stack, *overrides], cwd=root, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("case", CASES)
def test_the_contract_changes_nothing_that_holds_data(before, case):
    stack, overrides = CASES[case]
    old, new = stateful(before, stack, overrides), stateful(REPO, stack, overrides)
    assert sorted(old) == sorted(new)  # same URNs: nothing is replaced
    assert len(old) >= 2
    for urn, inputs in old.items():
        if urn.endswith("heroku:app/app:App::paasport"):
            assert {k: inputs.get(k) for k in APP_REPLACE_ON_CHANGE} == {
                k: new[urn].get(k) for k in APP_REPLACE_ON_CHANGE}, urn
        elif urn.endswith(CHART):
            assert {**inputs, "values": {**inputs["values"], **CHART_TLS_VALUES}} == new[urn], urn
        else:
            assert inputs == new[urn], urn


# Issue 27 renamed the workers' objects (`<app>-worker-<type>` to `<app>-<type>`) and named the cluster's objects
# after `app_name`. The program of RENAMED_FROM (the last commit before) plans an app with workers, and this one the
# same app: every resource of the old plan must be in the new one, under its URN or aliased from it, with the same
# inputs (what holds data and every other object: the default `app_name` keeps every name); a renamed worker's
# objects differ in their name alone. The image's USER is a number with its group, which the pods keep as before.
RENAMED_FROM = "0092967ec85b8d079cfe5054b86605070f21e6c0"
WORKERS_APP = {
    "Dockerfile": 'FROM python:3.13-slim\nUSER 10001:10001\nCMD ["python", "-m", "http.server"]\n',
    "Procfile": "web: python -m http.server $PORT\nrelease: python migrate.py\nworker: python worker.py\n"
                "mailer: python mailer.py\n",
    "app.json": json.dumps({"addons": ["heroku-postgresql"], "formation": {
        "worker": {"quantity": 2, "autoscaling": {"min_quantity": 2, "max_quantity": 4,
                                                  "triggers": [{"type": "cpu", "metadata": {"value": "70"}}]}},
        "mailer": {"quantity": 1}}}),
}
ALL = """
import json, sys
from offline import plan as offline_plan
plan = offline_plan.run(sys.argv[1], sys.argv[2:])
print(json.dumps({r.urn: {"inputs": offline_plan.reveal(r.inputs), "aliases": list(getattr(r, "aliases", ()))}
                  for r in plan.resources}, sort_keys=True))
"""


def everything(root, overrides: tuple[str, ...]) -> dict:
    result = subprocess.run([sys.executable, "-c", ALL, "k8s", *overrides], cwd=root, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def renamed_from(tmp_path_factory):
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(REPO), "cat-file", "-e", f"{RENAMED_FROM}^{{commit}}"], capture_output=True,
    ).returncode != 0:
        pytest.skip(f"needs git and commit {RENAMED_FROM} (a shallow clone lacks it)")
    root = tmp_path_factory.mktemp("renamed-from")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", RENAMED_FROM], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    app = tmp_path_factory.mktemp("workers-app")
    for name, text in WORKERS_APP.items():
        (app / name).write_text(text)
    return root, f"app_dir={app}"


def test_the_worker_rename_keeps_every_resource_and_its_data(renamed_from):
    root, app_dir = renamed_from
    old, new = everything(root, (app_dir,)), everything(REPO, (app_dir,))
    taken = {alias: urn for urn, reg in new.items() for alias in reg["aliases"]}
    renamed = {}
    for urn in old:
        assert urn in new or urn in taken, f"{urn} would be deleted, and its resource created anew"
        if urn not in new:
            renamed[urn] = taken[urn]
    assert sorted(u.rsplit("::", 1)[1] + " -> " + renamed[u].rsplit("::", 1)[1] for u in renamed) == [
        *["paasport-worker-mailer -> paasport-mailer"] * 3, *["paasport-worker-worker -> paasport-worker"] * 4]
    # Everything else is as it was, input for input: what holds data, and every other object (same names). The
    # image's build context is a path from infra/, which differs only because the two programs run from two folders.
    def placed(urn: str, inputs: dict) -> dict:
        return {k: v for k, v in inputs.items() if k not in ("context", "dockerfile")} if "docker-build" in urn \
            else inputs
    assert {u: placed(u, r["inputs"]) for u, r in old.items() if u in new} == {
        u: placed(u, new[u]["inputs"]) for u in old if u in new}
    for before, after in renamed.items():
        inputs, name = old[before]["inputs"], after.rsplit("::", 1)[1]
        if "metadata" not in inputs:
            continue  # the component
        expected = {**inputs, "metadata": {**inputs["metadata"], "name": name}}
        if "scaleTargetRef" in inputs["spec"]:
            expected["spec"] = {**inputs["spec"], "scaleTargetRef": {**inputs["spec"]["scaleTargetRef"], "name": name}}
        assert new[after]["inputs"] == expected, after
