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
# existing stack's PostgreSQL restarts once on that `pulumi up` (README, "Settings and later changes").
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
