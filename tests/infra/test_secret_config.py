"""Secrets stay secrets: config_vars set with `--secret` are handled as secret_config_vars on both platforms (a
k8s Secret read through secretKeyRef; Heroku's sensitive_config_vars), never plain env, manifests or outputs."""

from __future__ import annotations

import json

import pytest

from infra.settings import ConfigError
from offline import plan as offline_plan
from offline import types as t

VALUE = "SECRETVALUE123"
SECRET_VARS = f'config_vars={{"X": "{VALUE}"}}'


def _leaks(plan: offline_plan.Plan, tmp_path) -> list[str]:
    files = offline_plan.render(plan, tmp_path)
    leaked = [p.name for p in files if VALUE in p.read_text()]
    if VALUE in json.dumps(offline_plan.to_json(plan), default=str):
        leaked.append("--json")
    return leaked


def test_config_vars_set_as_a_secret_stay_secret_on_k8s(tmp_path):
    plan = offline_plan.run("k8s", secrets=[SECRET_VARS])
    assert _leaks(plan, tmp_path) == []
    for type_ in (t.DEPLOYMENT, t.JOB):
        for reg in plan.find(type_):
            env = offline_plan.reveal(reg.inputs)["spec"]["template"]["spec"]["containers"][0]["env"]
            (x,) = [e for e in env if e["name"] == "X"]
            assert x["valueFrom"]["secretKeyRef"]["key"] == "X", reg.name
    (secret,) = [r for r in plan.find(t.SECRET) if r.name.endswith("-env")]
    assert offline_plan.reveal(secret.inputs, show_secrets=True)["stringData"]["X"] == VALUE


def test_config_vars_set_as_a_secret_are_sensitive_on_heroku():
    plan = offline_plan.run("heroku", secrets=[SECRET_VARS])
    (app,) = plan.find(t.HEROKU_APP)
    inputs = offline_plan.reveal(app.inputs)
    assert "X" not in inputs["configVars"]
    assert inputs["sensitiveConfigVars"]["X"] == "[secret]"
    assert VALUE not in json.dumps(offline_plan.to_json(plan), default=str)


def test_plain_config_vars_stay_plain():
    plan = offline_plan.run("heroku", ['config_vars={"X": "plain"}'])
    (app,) = plan.find(t.HEROKU_APP)
    assert offline_plan.reveal(app.inputs)["configVars"]["X"] == "plain"


@pytest.mark.parametrize(
    ("stack", "override", "key", "command"),
    [
        ("k8s", "registry_password=hunter2x", "paasport:registry_password",
         "pulumi config set --stack k8s --secret registry_password \"$REGISTRY_TOKEN\""),
        ("heroku", "heroku:apiKey=hunter2x", "heroku:apiKey",
         "pulumi config set --stack heroku --secret heroku:apiKey \"$(heroku auth:token)\""),
        ("heroku", "log_drain_url=syslog+tls://u:hunter2x@logs.example.com:6514", "paasport:log_drain_url",
         "pulumi config set --stack heroku --secret log_drain_url syslog+tls://logs.example.com:6514"),
        ("k8s", 'secret_config_vars={"SENTRY_DSN": "hunter2x"}', "paasport:secret_config_vars",
         "pulumi config set --stack k8s --secret secret_config_vars '{\"SENTRY_DSN\": \"...\"}'"),
    ],
)
def test_a_secret_in_plain_config_is_refused_with_the_secret_command(stack, override, key, command):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run(stack, [override])
    message = str(caught.value)
    assert f"{key} is a secret set in plain config" in message
    assert f"Fix: remove it from Pulumi.{stack}.yaml and run `{command}`." in message
    assert "hunter2x" not in message
    offline_plan.run(stack, secrets=[override])  # the same value set as a secret is taken
