"""Item 5 of issue 16: a kubeconfig's contents hold the cluster's credentials. Pulumi.yaml offers "path or
contents"; contents are taken only from a secret and stay one in the provider's inputs (hence the state), and
plain contents are refused with the way to set them."""

from __future__ import annotations

import pytest

from infra.settings import ConfigError
from offline import plan as offline_plan
from offline import types as t

CONTENTS = """apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://k8s.example.com:6443"}
users:
- name: admin
  user: {token: S3CRET-TOKEN}
contexts:
- name: prod
  context: {cluster: prod, user: admin}
current-context: prod
"""


def test_multi_line_contents_set_as_a_secret_reach_the_provider_as_a_secret():
    plan = offline_plan.run("k8s", secrets=[f"kubeconfig={CONTENTS}"])
    (provider,) = plan.find(t.K8S_PROVIDER)
    assert offline_plan.reveal(provider.inputs)["kubeconfig"] == "[secret]"
    assert offline_plan.reveal(provider.inputs, show_secrets=True)["kubeconfig"] == CONTENTS
    assert "S3CRET-TOKEN" not in offline_plan.tree(plan)
    assert "S3CRET-TOKEN" not in str(offline_plan.to_json(plan))


@pytest.mark.parametrize("contents", [CONTENTS, '{"apiVersion": "v1", "kind": "Config"}'])
def test_contents_in_plain_config_are_refused_with_the_secret_command(contents):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", [f"kubeconfig={contents}"])
    message = str(caught.value)
    assert "paasport:kubeconfig holds a kubeconfig's contents in plain config" in message
    assert "Fix: run `pulumi config set --stack k8s --secret kubeconfig -- \"$(cat ~/.kube/config)\"`" in message
    assert "S3CRET-TOKEN" not in message
