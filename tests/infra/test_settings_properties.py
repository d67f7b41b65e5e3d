"""Generated stack configurations: each one gives a plan, or one ConfigError whose every line names a key and a fix.

Keys come from Pulumi.yaml (and the secret keys its header lists), values of every kind: valid ones, wrong types,
empty, whitespace, unicode, control characters, very long strings, nested JSON, and pairs that conflict. Each value
arrives through one of the channels Pulumi hands config over: a plain value (a stack file or `pulumi config set`)
or a secret (`pulumi config set --secret`: the program reads the same string). Secret values carry a marker that
must never appear in a message. Never a traceback, never a Pulumi-internal error.
"""

from __future__ import annotations

import json
import re

import pulumi
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from infra.settings import ConfigError, key_platforms
from offline import plan as offline_plan
from tests.support import REPO

PROJECT = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
KEYS: dict[str, str] = {key: spec.get("type", "object") for key, spec in PROJECT["config"].items()}
# The secret keys have no default, so they are listed in Pulumi.yaml's header comment, not under `config`.
SECRET_KEYS = tuple(re.findall(r"^#\s{2,}(\w+)\s+\[", (REPO / "Pulumi.yaml").read_text(), flags=re.M))
# The keys each platform's stack reads (Pulumi.yaml's tags); one it does not read is refused for that alone
# (tests/infra/test_settings_platforms.py), so the generated configs here draw from these.
# (Not `platform`, which each generated config sets to the stack's.)
READ_BY = {p: sorted(k for k in {*KEYS, *SECRET_KEYS} if p in key_platforms().get(k, (p,)) and k != "platform")
           for p in ("k8s", "heroku")}
MARKER = "S3CRETMARK"
# A problem names a paasport:<key>, or the one provider setting Pulumi.yaml sets (kubernetes:enableSecretMutable).
LINE = re.compile(r"^  - (paasport:\w+|kubernetes:enableSecretMutable) .+ Fix: .+\.$")
SETTINGS = settings(deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_key_lists_are_read_from_pulumi_yaml():
    assert SECRET_KEYS == ("registry_password", "log_drain_url", "secret_config_vars")
    assert {"platform", "hostname", "app_name", "config_vars", "protect"} <= set(KEYS)
    assert KEYS["replicas"] == "integer" and KEYS["hpa_enabled"] == "boolean" and KEYS["config_vars"] == "object"


# Values a user plausibly writes for each kind of key, valid or not.
TEXTS = st.one_of(
    st.sampled_from(["", " ", "paasport", "paasport.example.com", "ghcr.io/acme", "Not_A_Host", "a b", "-x-",
                     "https://example.com/x.zip", "/abs/path", "relative/path", "8Gi", "0", "-1", "1e3", "true",
                     "ops@example.com", "0 3 * * *", "oci://registry-1.docker.io/bitnamicharts/postgresql",
                     "ünïcødé", "名前", "emoji-🚀", "line\nbreak", "tab\there", "nul\x00byte", "x" * 5000,
                     "{\"a\": {\"b\": [1, 2]}}", "[1, 2, 3]", "null", "None", "'quoted'", "${HOME}", "$(id)"]),
    st.text(max_size=40),
)
NUMBERS = st.one_of(st.integers(min_value=-5, max_value=2000).map(str),
                    st.sampled_from(["", "two", "2.5", " 3 ", "1e2", "0x10", "99999999999999999999", "٣"]))
FLAGS = st.sampled_from(["true", "false", "True", "FALSE", "", "yes", "1", "maybe", "null"])
OBJECTS = st.one_of(
    st.dictionaries(st.sampled_from(["WEB_THREADS", "FEATURE_X", "DATABASE_URL", "LOG_LEVEL", "PORT", "bad name",
                                     "lower_ok", "ÜBER", "_X", "9LIVES", ""]),
                    st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none(),
                              st.lists(st.integers(), max_size=2),
                              st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
                    max_size=4).map(json.dumps),
    st.sampled_from(["", "{}", "[]", "not json", "\"a string\"", "42", "{\"A\": {\"nested\": {\"deep\": 1}}}",
                     "{\"A\": \"" + "v" * 5000 + "\"}"]),
)
CHOICES = {
    "platform": ["k8s", "heroku", "openshift", "", "K8S"],
    "log_level": ["debug", "info", "warning", "error", "INFO", "trace", ""],
    "dyno_size": ["eco", "basic", "standard-1x", "performance-2xl", "hobby", "", "Standard-1X"],
    "postgres_plan": ["essential-0", "standard-0", "premium-4", "mini", "hobby-dev", ""],
    "region": ["us", "eu", "tokyo", "", "US"],
    "deploy": ["build", "registry", "git", ""],
}


def value_of(key: str) -> st.SearchStrategy[str]:
    kind = KEYS.get(key, "object" if key == "secret_config_vars" else "string")
    typed = {"integer": NUMBERS, "boolean": FLAGS, "object": OBJECTS}.get(kind, TEXTS)
    if key in CHOICES:
        typed = st.one_of(st.sampled_from(CHOICES[key]), typed)
    # Every key also gets values of every other kind (wrong types).
    return st.one_of(typed, typed, typed, TEXTS, NUMBERS, FLAGS, OBJECTS)


def with_marker(value: str, key: str) -> str:
    """A secret's value that carries MARKER, keeping its shape (a JSON object stays one)."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value + MARKER
    if isinstance(parsed, dict):
        return json.dumps({name: f"{var}{MARKER}" for name, var in parsed.items()} or {"A": MARKER})
    return value + MARKER


@st.composite
def configs(draw, platform: str):
    """(plain overrides, secret overrides) over a random subset of every key, with conflicting pairs on purpose."""
    keys = draw(st.lists(st.sampled_from(READ_BY[platform]), max_size=8, unique=True))
    pairs = {
        "k8s": [("tls_issuer", "letsencrypt-prod", "acme_email", "ops@example.com"),
                ("hpa_min_replicas", "9", "hpa_max_replicas", "3"),
                ("registry_username", "bot", "image", "")],
        "heroku": [("dyno_size", "eco", "domain", "app.example.com"),
                   ("dyno_size", "basic", "dyno_quantity", "3"),
                   ("config_vars", '{"FEATURE_X": "1"}', "secret_config_vars", '{"FEATURE_X": "2"}')],
    }[platform]
    plain, secret = {"platform": platform}, {}
    for key in keys:
        value = draw(value_of(key))
        if key in SECRET_KEYS or draw(st.booleans()):
            secret[key] = with_marker(value, key)
        else:
            plain[key] = value
    if draw(st.integers(0, 3)) == 0:  # a conflicting pair
        a, a_value, b, b_value = draw(st.sampled_from(pairs))
        for key, value in ((a, a_value), (b, b_value)):
            secret.pop(key, None) if key not in SECRET_KEYS else None
            (secret if key in SECRET_KEYS else plain)[key] = value + (MARKER if key in SECRET_KEYS and value
                                                                      and not value.startswith("{") else "")
    return plain, secret


def outcome(stack: str, plain: dict[str, str], secret: dict[str, str]) -> tuple[str, str]:
    """("plan", "") or ("refused", message); anything else fails the test."""
    try:
        offline_plan.run(stack, [f"{k}={v}" for k, v in plain.items()], [f"{k}={v}" for k, v in secret.items()])
    except ConfigError as error:
        return "refused", str(error)
    return "plan", ""


def assert_clear(message: str, stack: str) -> None:
    lines = message.splitlines()
    assert lines[0] == f"Invalid configuration of stack {stack!r} (Pulumi.{stack}.yaml):", message
    assert len(lines) > 1, message
    for line in lines[1:]:
        assert LINE.match(line), f"not one problem naming a paasport:<key> and its Fix: {line!r}"
        key = LINE.match(line)[1].removeprefix("paasport:")
        assert key in KEYS or key in SECRET_KEYS, line
    assert MARKER not in message, f"a secret value leaked into the message:\n{message}"
    assert "Traceback" not in message


def check(stack: str, plain: dict[str, str], secret: dict[str, str]) -> None:
    try:
        result, message = outcome(stack, plain, secret)
    except pulumi.RunError as error:  # a provider check (e.g. a path) is acceptable only if it says which input
        pytest.fail(f"not a ConfigError: {type(error).__name__}: {error}")
    if result == "refused":
        assert_clear(message, stack)


# Cases that found faults, kept as examples (see the regressions below for the plain form).
@settings(SETTINGS, max_examples=80)
@given(configs("k8s"))
@example(({"platform": "k8s"}, {"hostname": "Bad Host" + MARKER}))
@example(({"platform": "k8s", "hpa_min_replicas": "9"}, {"hpa_max_replicas": "3" + MARKER}))
@example(({"platform": "k8s"}, {"kubeconfig": "relative/kubeconfig" + MARKER}))
@example(({"platform": "k8s", "acme_email": "ops@example.com"}, {"tls_issuer": "issuer" + MARKER.lower()}))
def test_every_generated_k8s_config_plans_or_names_the_key_and_the_fix(config):
    check("k8s", *config)


@settings(SETTINGS, max_examples=80)
@given(configs("heroku"))
@example(({"platform": "heroku"}, {"secret_config_vars": json.dumps({"DATABASE_URL": "postgres://a:b@c/d" + MARKER})}))
@example(({"platform": "heroku"}, {"secret_config_vars": json.dumps({"LOG_LEVEL": MARKER})}))
@example(({"platform": "heroku", "config_vars": '{"FEATURE_X": "1"}'},
          {"secret_config_vars": json.dumps({"FEATURE_X": MARKER})}))
@example(({"platform": "heroku", "dyno_size": "eco"}, {"domain": "app.example.com" + MARKER.lower()}))
@example(({"platform": "heroku"}, {"config_vars": "not json " + MARKER}))
def test_every_generated_heroku_config_plans_or_names_the_key_and_the_fix(config):
    check("heroku", *config)


@st.composite
def one_setting(draw):
    stack = draw(st.sampled_from(["k8s", "heroku"]))
    # The project's keys: kubernetes:enableSecretMutable's one refusal says to remove it, in either channel.
    key = draw(st.sampled_from([k for k in READ_BY[stack] if k in KEYS and ":" not in k and k != "secret_config_vars"]))
    return stack, key, draw(value_of(key))


@settings(SETTINGS, max_examples=35)
@given(one_setting())
@example(("heroku", "config_vars", json.dumps({"DATABASE_URL": "postgres://a:b@c/d"})))
@example(("heroku", "config_vars", json.dumps({"LOG_LEVEL": "debug"})))
@example(("k8s", "hostname", "Not_A_Host"))
@example(("k8s", "replicas", "0"))
def test_a_value_refused_in_one_channel_is_refused_in_all_with_the_same_message(case):
    """Plain and secret: the same verdict and the same problems, except that a secret's value is never quoted."""
    stack, key, value = case
    plain_result, plain_message = outcome(stack, {key: value}, {})
    secret_result, secret_message = outcome(stack, {}, {key: value})
    assert plain_result == secret_result, (plain_message, secret_message)
    if plain_result == "refused":
        def problems(message: str) -> list[str]:
            # Drop the quoted value and the channel's own Fix command; what remains is the rule that refused it.
            return [re.sub(r"is (a value \(its value is not shown: it is a secret\)|'.*?'|\S+),", "is V,",
                           line.split(" Fix: ")[0]) for line in message.splitlines()[1:]]
        assert problems(plain_message) == problems(secret_message)
        assert "--secret" in secret_message


@pytest.mark.parametrize("plain_key, secret_key", [("config_vars", "secret_config_vars")])
@pytest.mark.parametrize("name", ["DATABASE_URL", "LOG_LEVEL", "PORT", "WEB_CONCURRENCY", "database_url"])
def test_both_config_var_maps_refuse_the_vars_the_stack_sets_itself(plain_key, secret_key, name):
    for key, channel in ((plain_key, "plain"), (secret_key, "secret")):
        value = json.dumps({name: "x" + MARKER})
        result, message = outcome("heroku", {key: value} if channel == "plain" else {},
                                  {key: value} if channel == "secret" else {})
        assert result == "refused"
        assert f"paasport:{key} sets {name}, which the stack sets itself" in message
        if channel == "secret":
            assert MARKER not in message


def test_a_var_in_both_maps_is_refused_without_showing_the_secret():
    result, message = outcome("heroku", {"config_vars": '{"SENTRY_DSN": "plain"}'},
                              {"secret_config_vars": json.dumps({"SENTRY_DSN": "https://k@" + MARKER})})
    assert result == "refused"
    assert "paasport:secret_config_vars sets SENTRY_DSN, which config_vars sets too" in message
    assert MARKER not in message


# tests/infra regressions: the faults the generated cases found, as plain tests.
@pytest.mark.parametrize(("stack", "key", "value", "says"), [
    ("k8s", "hostname", "Bad Host", "is a value (its value is not shown: it is a secret), which is not an RFC 1123"),
    ("k8s", "kubeconfig", "relative/kubeconfig", "is a value (its value is not shown: it is a secret), a relative"),
    ("k8s", "replicas", "zero", "is a value (its value is not shown: it is a secret), not a whole number"),
    ("heroku", "domain", "nodot", "is a value (its value is not shown: it is a secret), which is not a host"),
    ("heroku", "config_vars", "not json", "is a value (its value is not shown: it is a secret), which is not a JSON"),
])
def test_regression_a_plain_key_set_as_a_secret_is_checked_but_never_quoted(stack, key, value, says):
    result, message = outcome(stack, {}, {key: value + MARKER})
    assert result == "refused"
    line = next(line for line in message.splitlines() if f"paasport:{key} " in line)
    assert says in line
    assert f"Fix: run `pulumi config set --stack {stack} --secret {key} " in line
    assert MARKER not in message


@pytest.mark.parametrize(("stack", "plain", "secret", "hidden_key"), [
    ("k8s", {"hpa_min_replicas": "9"}, {"hpa_max_replicas": "3"}, "hpa_max_replicas"),
    ("k8s", {"hpa_max_replicas": "3"}, {"hpa_min_replicas": "9"}, "hpa_min_replicas"),
    ("k8s", {"acme_email": "ops@example.com"}, {"tls_issuer": "my-issuer"}, "tls_issuer"),
    ("heroku", {"dyno_size": "eco"}, {"domain": "app.example.com"}, "domain"),
    ("heroku", {"dyno_quantity": "3"}, {"dyno_size": "basic"}, "dyno_size"),
])
def test_regression_a_message_about_one_key_never_quotes_another_keys_secret(stack, plain, secret, hidden_key):
    result, message = outcome(stack, plain, secret)
    assert result == "refused"
    for line in message.splitlines()[1:]:
        assert secret[hidden_key] not in line.split(" Fix: ")[0], line


def test_the_offline_plan_takes_secret_overrides_as_the_cli_does():
    _project, config, secret_keys = offline_plan.load_config("k8s", ["replicas=3"], ["registry_password=tok"])
    assert config["paasport:registry_password"] == "tok"
    assert secret_keys == ["paasport:registry_password"]
    assert "paasport:replicas" not in secret_keys
