"""`python -m offline.plan`: the program under Pulumi's mocks, shown as a tree or JSON, the same bytes every run,
and nothing written into the checkout."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from offline import plan as offline_plan
from offline import types as t
from tests import support
from tests.support import REPO, heroku_plan, k8s_plan, offline_cli

# Each stack in each shape it takes: the committed stack files, every optional k8s object on, both Heroku modes.
PLANS = {
    "k8s": ("k8s", ()),
    "k8s, everything on": ("k8s", ("tls_issuer=", "acme_email=ops@example.com", "registry_username=u",
                                   "paasport:registry_password=p", "postgres_metrics=true",
                                   "render_dir=/srv/gitops/paasport", "kube_context=prod")),
    "heroku, build": ("heroku", ("paasport:log_drain_url=syslog+tls://logs.example.com:6514",
                                 "dyno_size=standard-1x")),
    "heroku, registry": ("heroku", ("deploy=registry", "paasport:log_drain_url=syslog+tls://logs.example.com:6514",
                                    "dyno_size=standard-1x")),
}


def test_json_plan_lists_resources_with_inputs_and_dependencies():
    result = offline_cli("plan", "--stack", "k8s", "--json", check=True)
    plan = json.loads(result.stdout)
    assert plan["stack"] == "k8s"
    by_name = {(r["type"], r["name"]): r for r in plan["resources"]}
    deployment = by_name[(t.DEPLOYMENT, "paasport-web")]
    assert "paasport-release" in deployment["depends_on"]
    assert deployment["inputs"]["metadata"]["name"] == "paasport-web"
    assert plan["outputs"]["db_password"] == "[secret]"
    assert plan["outputs"]["url"] == "https://paasport.example.com/"
    assert "plan-" not in result.stdout  # no generated password anywhere


def test_default_output_is_a_readable_tree_with_the_outputs():
    out = offline_cli("plan", "--stack", "k8s", check=True).stdout
    assert "+ paasport:web:WebApp  paasport" in out
    assert f"    + {t.DEPLOYMENT}  paasport-web" in out
    assert "\n  url: https://paasport.example.com/\n" in out.split("\nOutputs:\n", 1)[1]


def test_the_plan_prints_the_config_error_alone_and_exits_non_zero():
    result = offline_cli("plan", "--stack", "k8s", "--config", "replicas=0")
    assert result.returncode == 2
    # The value came from the option, which leaves Pulumi.k8s.yaml as it is: the line names the option.
    assert result.stderr.splitlines() == [
        "error: Invalid configuration of stack 'k8s' (Pulumi.k8s.yaml and command-line options):",
        "  - paasport:replicas (--config replicas) is '0', but must be between 1 and 1000. Fix: give --config "
        "replicas=2 instead."]


def test_the_program_warnings_start_with_warning():
    result = offline_cli("plan", "--stack", "heroku", check=True)
    assert result.stderr.splitlines() == [
        "warning: app/app.json healthchecks.web: Heroku's Common Runtime does not probe dynos; it restarts crashed "
        "ones and web dynos that do not bind $PORT within 60 s. The checks run on the k8s stack only."]


def test_the_cluster_tree_names_its_pem_output_instead_of_printing_it():
    tree = offline_cli("plan", "--stack", "cluster", check=True).stdout
    assert "-----BEGIN" not in tree
    (anchor,) = [line for line in tree.splitlines() if line.startswith("  linkerd_trust_anchor: ")]
    assert re.fullmatch(r"  linkerd_trust_anchor: a PEM certificate of CN=root\.linkerd\.cluster\.local, valid "
                        r"until \d{4}-\d\d-\d\d \(--json prints it\)", anchor), anchor
    whole = json.loads(offline_cli("plan", "--stack", "cluster", "--json", check=True).stdout)
    assert whole["outputs"]["linkerd_trust_anchor"].startswith("-----BEGIN CERTIFICATE-----\n")


def test_render_of_a_stack_without_kubernetes_objects_says_so(tmp_path):
    target = tmp_path / "manifests"
    result = offline_cli("plan", "--stack", "heroku", "--render", str(target))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"error: stack heroku (platform heroku) creates no Kubernetes objects, so there is nothing to render into "
        f"{target}. Fix: render a stack of platform k8s or cluster, e.g. --stack k8s.")
    assert not target.exists()


@pytest.mark.parametrize("which", ["k8s", "heroku, registry"])
def test_two_runs_print_byte_identical_json(which):
    # Separate processes: a protobuf Struct's key order differs from one process to the next.
    stack, overrides = PLANS[which]
    args = ["plan", "--stack", stack, *support.plan_args(overrides), "--json"]
    first, second = offline_cli(*args, check=True).stdout, offline_cli(*args, check=True).stdout
    assert first == second
    assert list(json.loads(first)["resources"][0]["inputs"]) == sorted(json.loads(first)["resources"][0]["inputs"])


@contextmanager
def writes_under(root: Path) -> Iterator[list[str]]:
    """Every file or directory this process creates, changes, moves or removes under `root` meanwhile (the audit
    events of open-for-writing, mkdir, rename, remove, utime), as '<event> <path>'."""
    found: list[str] = []
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def hook(event: str, args: tuple) -> None:
        if not active:
            return
        if event == "open":
            path, mode, flags = args
            if not ((isinstance(mode, str) and set(mode) & set("wax+")) or (mode is None and flags & writing)):
                return
            paths = [path]
        elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.utime", "os.chmod", "os.truncate"):
            paths = [args[0]]
        elif event in ("os.rename", "os.replace", "os.link", "os.symlink"):
            paths = [args[0], args[1]]
        else:
            return
        for path in paths:
            if isinstance(path, str | bytes | os.PathLike) and not isinstance(path, int):
                absolute = Path(os.getcwd(), os.fsdecode(path)).resolve()
                if absolute.is_relative_to(root):
                    found.append(f"{event} {absolute.relative_to(root)}")

    active = True
    sys.addaudithook(hook)  # hooks cannot be removed: this one goes quiet when the block ends
    try:
        yield found
    finally:
        active = False


def test_no_run_writes_into_the_checkout():
    with writes_under(REPO) as found:
        for stack, overrides in PLANS.values():
            support.plan(stack, overrides)
    assert found == []


def test_every_type_the_program_registers_is_in_the_one_table():
    registered = {r.type for stack, overrides in PLANS.values()
                  for r in (k8s_plan if stack == "k8s" else heroku_plan)(*overrides).resources
                  if not r.type.startswith("paasport:")}  # the program's own components
    table = {value for name, value in vars(t).items() if name.isupper() and isinstance(value, str)}
    assert registered - table == set()
    assert {t.ISSUER, t.HELM_CHART, t.K8S_PROVIDER, t.CONTAINER_RELEASE, t.BUILD_RELEASE} <= registered


def test_a_run_leaves_pickle_as_it_found_it():
    # pulumi.dynamic wraps pickle's dict saving for each dynamic resource and never unwraps it: without the plan
    # undoing it, a few hundred runs in one process (this test suite) end in a RecursionError while pickling.
    import pickle

    before = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict
    offline_plan.run("heroku", ["deploy=registry"])  # three dynamic resources
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before


def test_every_type_token_the_offline_tools_know_is_one_the_program_registers(tmp_path):
    """offline/types.py (and the mocks' branches keyed on it) name only what some stack registers: a token left from
    a provider the program no longer uses (pulumi-docker's RemoteImage, RegistryImage) is dead code."""
    from offline import types as t
    from tests.support import plan

    registered = set()
    for stack, overrides in (
            ("k8s", ("tls_issuer=", "acme_email=ops@example.com", f"render_dir={tmp_path}",
                     f"kubeconfig={tmp_path / 'kubeconfig'}", "registry_username=bot", "registry_password=token")),
            ("k8s", ()), ("heroku", ("dyno_size=standard-1x", "log_drain_url=syslog+tls://logs.example.com:6514")),
            ("heroku", ("deploy=registry",)), ("cluster", ())):
        (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
        registered |= {r.type for r in plan(stack, overrides).resources}
    known = {value for name, value in vars(t).items() if name.isupper() and isinstance(value, str)}
    assert not [token for token in known if token.startswith("docker:")]  # pulumi-docker is gone from the program
    assert known - registered == set()
