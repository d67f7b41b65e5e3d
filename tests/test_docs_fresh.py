"""The docs (README.md and the docs/ pages it links) and the stack files' comments name what the program has: each
list below is compared with the program itself (its modules, the k8s plan's outputs and resource types), so a part
added or removed without its line in the docs fails here."""

from __future__ import annotations

import re

from offline import types as t
from tests.support import REPO, k8s_plan

DOCS = REPO / "docs"


def _section(page: str, heading: str) -> str:
    """The text under `heading` of docs/`page`, up to the next heading."""
    return (DOCS / page).read_text().split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]


def _repository_row(path: str) -> str:
    (row,) = [line for line in (DOCS / "repository.md").read_text().splitlines() if line.startswith(f"| `{path}` |")]
    return row


def test_the_repository_table_names_every_module_of_each_platform():
    for package in ("infra/k8s", "infra/cluster", "move"):
        row = _repository_row(f"{package}/")
        modules = {p.stem for p in (REPO / package).glob("*.py") if p.stem != "__init__"}
        modules |= {p.name for p in (REPO / package).iterdir() if p.is_dir() and p.name != "__pycache__"}
        missing = [m for m in sorted(modules) if
                 f"`{m}`" not in row and f"`{m}.py`" not in row and f"`{m}/`" not in row]
        assert missing == [], package


def test_the_k8s_outputs_table_lists_every_output_of_the_stack():
    table = _section("kubernetes.md", "## Outputs")
    listed = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert listed == set(k8s_plan("backup_enabled=true").outputs)


def test_the_contract_table_names_the_objects_the_web_process_becomes():
    (row,) = [line for line in (DOCS / "app-contract.md").read_text().splitlines()
              if line.startswith("| `Procfile` `web:` |")]
    plan = k8s_plan()
    assert plan.find(t.HOST) and plan.find(t.MAPPING)
    assert not plan.find("kubernetes:networking.k8s.io/v1:Ingress")
    assert "Ingress;" not in row and "Host and Mapping" in row


def test_the_cluster_stack_file_names_every_part():
    header = "".join(line for line in (REPO / "Pulumi.cluster.yaml").read_text().splitlines(keepends=True)
                     if line.startswith("#"))
    parts = [m.group(1) for m in re.finditer(r"^  (\w+)_enabled:", (REPO / "Pulumi.yaml").read_text(), re.MULTILINE)
             if "[cluster]" in (REPO / "Pulumi.yaml").read_text().split(f"  {m.group(1)}_enabled:", 1)[1][:300]]
    named = {"emissary": "Emissary", "cert_manager": "cert-manager", "linkerd": "Linkerd",
             "metrics_server": "metrics-server", "metrics": "Prometheus", "logs": "Fluent Bit"}
    assert sorted(parts) == sorted(named)
    assert [part for part in parts if named[part] not in header] == []


def test_comments_name_only_app_files_that_exist():
    for path in (REPO / "devenv").glob("*.py"):
        for name in re.findall(r"\bapp/([\w.-]+\.\w+)", path.read_text()):
            assert (REPO / "app" / name).exists(), f"{path.name} names app/{name}, which does not exist"
