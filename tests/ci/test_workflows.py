"""The GitHub Actions workflows: they parse, run what exists, and preview every stack or skip it with a notice."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
GATE = REPO / ".github" / "scripts" / "preview-gate"
# The repository secret each platform's preview needs; without it the job is skipped with a notice.
CREDENTIALS = {"k8s": "KUBECONFIG", "heroku": "HEROKU_API_KEY", "cluster": "KUBECONFIG"}
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    if True in workflow:  # YAML 1.1 reads the key `on` as a boolean
        workflow["on"] = workflow.pop(True)
    return workflow


def steps() -> list[tuple[str, dict, dict]]:
    return [(name, job, step) for path in WORKFLOWS for name, job in load(path)["jobs"].items()
            for step in job.get("steps", [])]


def stacks() -> dict[str, str]:
    """Each committed stack file's name and platform."""
    found = {}
    for path in REPO.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(path.read_text())["config"]
        found[path.name.removeprefix("Pulumi.").removesuffix(".yaml")] = config["paasport:platform"]
    return found


def test_ci_runs_on_pull_requests_and_pushes_to_main():
    assert WORKFLOWS
    ci = load(REPO / ".github" / "workflows" / "ci.yml")
    assert "pull_request" in ci["on"]
    assert ci["on"]["push"]["branches"] == ["main"]
    assert ci["permissions"] == {"contents": "read"}
    for name, job in ci["jobs"].items():
        assert job["runs-on"].startswith("ubuntu-") and job.get("timeout-minutes"), name


def test_a_job_runs_make_test():
    runs = [step["run"] for _, _, step in steps() if "run" in step]
    assert any("make test" in run or run.strip() == "bash .ci/run" for run in runs)
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_every_make_target_and_script_a_workflow_runs_exists():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z0-9_.$()/-]+):", makefile, flags=re.MULTILINE))
    for job, _, step in steps():
        for line in step.get("run", "").splitlines():
            words = shlex.split(line, comments=True)
            for i, word in enumerate(words):
                if word == "make":
                    target = next(w for w in words[i + 1:] if not w.startswith("-") and "=" not in w)
                    assert target in targets, f"{job}: make {target} is not a Makefile target"
                if word in ("bash", "sh") and i + 1 < len(words) and not words[i + 1].startswith("-"):
                    assert (REPO / words[i + 1]).is_file(), f"{job}: {words[i + 1]} does not exist"
        if "-r" in step.get("run", ""):
            for requirement in re.findall(r"-r\s+(\S+)", step["run"]):
                assert (REPO / requirement).is_file(), f"{job}: {requirement} does not exist"


def test_every_action_is_pinned_to_a_version():
    for job, _, step in steps():
        if "uses" in step:
            assert PINNED.match(step["uses"]), f"{job}: {step['uses']} is not pinned to a version or commit"


@pytest.mark.parametrize(("stack", "platform"), sorted(stacks().items()))
def test_each_stack_is_previewed_with_the_pulumi_action_behind_its_credential_gate(stack, platform):
    jobs = {name: job for path in WORKFLOWS for name, job in load(path)["jobs"].items()}
    previews = [(name, job, step) for name, job in jobs.items() for step in job.get("steps", [])
                if step.get("uses", "").startswith("pulumi/actions@")
                and step.get("with", {}).get("stack-name") == stack]
    assert len(previews) == 1, f"no single pulumi/actions preview of stack {stack}"
    name, job, step = previews[0]
    assert step["with"]["command"] == "preview"
    assert step["with"]["upsert"] is True  # a fresh local backend has no stack yet
    assert step["with"]["cloud-url"] == "${{ steps.gate.outputs.cloud-url }}"
    assert job["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    assert job["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    gate = next(s for s in job["steps"] if s.get("id") == "gate")
    assert gate["run"] == f"bash .github/scripts/preview-gate {stack} {CREDENTIALS[platform]}"
    assert gate["env"]["CREDENTIAL"] == f"${{{{ secrets.{CREDENTIALS[platform]} }}}}"
    # Everything after the gate runs only when it says so.
    after = job["steps"][job["steps"].index(gate) + 1:]
    assert after and all(s.get("if") == "steps.gate.outputs.run == 'true'" for s in after), name
    credential = {**job.get("env", {}), **step.get("env", {}),
                  **{k: v for s in after for k, v in s.get("env", {}).items()}}
    assert f"secrets.{CREDENTIALS[platform]}" in str(credential), f"{name} never hands the program its credential"


def test_the_pulumi_cli_matches_the_sdk_pin():
    sdk = re.search(r"^pulumi==(\S+)$", (REPO / "infra" / "requirements.txt").read_text(), flags=re.MULTILINE).group(1)
    assert load(REPO / ".github" / "workflows" / "ci.yml")["env"]["PULUMI_VERSION"] == sdk
    for _, _, step in steps():
        if step.get("uses", "").startswith("pulumi/actions@"):
            assert step["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}"


def gate(tmp_path: Path, **env: str) -> tuple[dict[str, str], str]:
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    base = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    result = subprocess.run(["bash", str(GATE), "k8s", "KUBECONFIG"], capture_output=True, text=True, timeout=30,
                            env={**base, "GITHUB_OUTPUT": str(outputs), "RUNNER_TEMP": str(tmp_path), **env},
                            check=True)
    return dict(line.split("=", 1) for line in outputs.read_text().splitlines()), result.stdout


def test_the_gate_skips_with_a_notice_when_the_credential_is_missing(tmp_path):
    outputs, stdout = gate(tmp_path, PULUMI_CONFIG_PASSPHRASE="pass")
    assert outputs["run"] == "false"
    assert stdout.startswith("::notice title=pulumi preview (k8s) skipped::") and "KUBECONFIG" in stdout


def test_the_gate_uses_a_local_file_backend_with_the_passphrase_and_pulumi_cloud_with_a_token(tmp_path):
    outputs, stdout = gate(tmp_path, CREDENTIAL="apiVersion: v1", PULUMI_CONFIG_PASSPHRASE="pass")
    assert outputs == {"run": "true", "cloud-url": f"file://{tmp_path}/pulumi-state"} and stdout == ""
    assert (tmp_path / "pulumi-state").is_dir()
    outputs, _ = gate(tmp_path, CREDENTIAL="apiVersion: v1", PULUMI_ACCESS_TOKEN="pul-123")
    assert outputs == {"run": "true", "cloud-url": ""}
    outputs, stdout = gate(tmp_path, CREDENTIAL="apiVersion: v1")
    assert outputs["run"] == "false" and "PULUMI_CONFIG_PASSPHRASE" in stdout
