"""A setting of another platform: the stack does not read it, so preview refuses it with one line naming the key,
the platforms that read it, this platform's setting for the same thing (if it has one) and the fix. Pulumi.yaml's
tags say which platforms read a key; they are checked against what each platform's program reads."""

from __future__ import annotations

import pytest

from infra import settings
from infra.settings import ConfigError
from offline import plan as offline_plan
from tests.infra.test_settings import config_problems, project_copy  # noqa: F401 (a fixture)
from tests.support import REPO

FIXTURE_APPS = sorted(p for p in (REPO / "tests" / "fixtures" / "apps").iterdir() if p.is_dir())


@pytest.mark.parametrize(("stack", "overrides", "secrets", "says"), [
    ("heroku", ["replicas=3"], [],
     "paasport:replicas (--config replicas=3) is a k8s setting; the heroku stack does not read it (its web dynos: "
     "dyno_quantity). Fix: drop --config replicas=3; for the same on heroku, give --config dyno_quantity=3."),
    ("heroku", ["hostname=shop.example.com"], [],
     "paasport:hostname (--config hostname=shop.example.com) is a k8s setting; the heroku stack does not read it (its "
     "custom domain: domain). Fix: drop --config hostname=shop.example.com; for the same on heroku, give --config "
     "domain=shop.example.com."),
    ("heroku", ["web_concurrency=4"], [],
     "paasport:web_concurrency (--config web_concurrency=4) is a k8s setting; the heroku stack does not read it (what "
     "sets its server processes: dyno_size). Fix: drop --config web_concurrency=4; for the same on heroku, give "
     "--config dyno_size=standard-2x."),
    ("k8s", ["dyno_size=eco"], [],
     "paasport:dyno_size (--config dyno_size=eco) is a heroku setting; the k8s stack does not read it. Fix: drop "
     "--config dyno_size=eco (set it on a heroku stack)."),
    ("k8s", ["dyno_quantity=3"], [],
     "paasport:dyno_quantity (--config dyno_quantity=3) is a heroku setting; the k8s stack does not read it (its web "
     "pods: replicas). Fix: drop --config dyno_quantity=3; for the same on k8s, give --config replicas=3."),
    ("k8s", ["linkerd_enabled=false"], [],
     "paasport:linkerd_enabled (--config linkerd_enabled=false) is a cluster setting; the k8s stack does not read it "
     "(meshing the app's pods: linkerd_inject). Fix: drop --config linkerd_enabled=false; for the same on k8s, give "
     "--config linkerd_inject=false."),
    ("cluster", ["hostname=shop.example.com"], [],
     "paasport:hostname (--config hostname=shop.example.com) is a k8s setting; the cluster stack does not read it. "
     "Fix: drop --config hostname=shop.example.com (set it on a k8s stack)."),
    ("cluster", ["app_dir=app"], [],
     "paasport:app_dir (--config app_dir=app) is a k8s and heroku setting; the cluster stack does not read it. Fix: "
     "drop --config app_dir=app (set it on a k8s or heroku stack)."),
    ("cluster", ["config_vars.MAIL_FROM=shop@example.com"], [],
     "paasport:config_vars (--config config_vars.MAIL_FROM=shop@example.com) is a k8s and heroku setting; the cluster "
     "stack does not read it. Fix: drop --config config_vars.MAIL_FROM=shop@example.com (set it on a k8s or heroku "
     "stack)."),
    ("heroku", ["kube_context=prod"], [],
     "paasport:kube_context (--config kube_context=prod) is a k8s and cluster setting; the heroku stack does not read "
     "it. Fix: drop --config kube_context=prod (set it on a k8s or cluster stack)."),
    # a secret's value never enters the message
    ("k8s", [], ["log_drain_url=syslog+tls://logs.example.com:6514"],
     "paasport:log_drain_url (--secret-config log_drain_url=…) is a heroku setting; the k8s stack does not read it. "
     "Fix: drop --secret-config log_drain_url=… (set it on a heroku stack)."),
], ids=["replicas-on-heroku", "hostname-on-heroku", "web_concurrency-on-heroku", "dyno_size-on-k8s",
        "dyno_quantity-on-k8s", "cluster-key-on-k8s", "hostname-on-cluster", "app_dir-on-cluster",
        "path-into-an-app-key-on-cluster", "k8s-and-cluster-key-on-heroku", "secret"])
def test_an_option_for_another_platform_is_refused_naming_who_reads_it_and_the_fix(stack, overrides, secrets, says):
    assert config_problems(stack, overrides, secrets) == [says]


def test_the_cli_refuses_a_setting_of_another_platform_in_one_line():
    from tests.support import offline_cli
    result = offline_cli("plan", "--stack", "heroku", "--config", "replicas=3")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "error: Invalid configuration of stack 'heroku' (options of offline.plan):",
        "  - paasport:replicas (--config replicas=3) is a k8s setting; the heroku stack does not read it (its web "
        "dynos: dyno_quantity). Fix: drop --config replicas=3; for the same on heroku, give --config dyno_quantity=3."]


def test_a_setting_of_another_platform_in_the_stack_file_is_refused_naming_the_file(project_copy):  # noqa: F811
    heroku = project_copy / "Pulumi.heroku.yaml"
    # One line each, though heroku's program checks web_concurrency's value too (for every app platform).
    heroku.write_text(heroku.read_text() + "  paasport:replicas: 3\n  paasport:hpa_enabled: true\n"
                      "  paasport:web_concurrency: many\n")
    assert config_problems("heroku") == [
        "paasport:hpa_enabled is a k8s setting; the heroku stack does not read it. Fix: remove it from "
        "Pulumi.heroku.yaml (set it on a k8s stack).",
        "paasport:replicas is a k8s setting; the heroku stack does not read it (its web dynos: dyno_quantity). Fix: "
        "remove it from Pulumi.heroku.yaml; for the same on heroku, set `paasport:dyno_quantity` there.",
        "paasport:web_concurrency is a k8s setting; the heroku stack does not read it (what sets its server processes: "
        "dyno_size). Fix: remove it from Pulumi.heroku.yaml; for the same on heroku, set `paasport:dyno_size` there."]
    # A copy for another app names its stack and the platform; a secret set there is named, never shown.
    (project_copy / "Pulumi.heroku-staging.yaml").write_text(
        heroku.read_text().replace("  paasport:hpa_enabled: true\n  paasport:web_concurrency: many\n", "")
        + "  paasport:registry_password:\n    secure: AAABAHunter2\n")
    assert config_problems("heroku-staging") == [
        "paasport:registry_password is a k8s setting; the heroku-staging stack (platform heroku) does not read it. "
        "Fix: remove it from Pulumi.heroku-staging.yaml (set it on a k8s stack).",
        "paasport:replicas is a k8s setting; the heroku-staging stack (platform heroku) does not read it (its web "
        "dynos: dyno_quantity). Fix: remove it from Pulumi.heroku-staging.yaml; for the same on heroku, set "
        "`paasport:dyno_quantity` there."]
    (project_copy / "Pulumi.cluster.yaml").write_text(
        "config:\n  paasport:platform: cluster\n  paasport:acme_email: ops@example.com\n  paasport:app_dir: app\n"
        "  paasport:domain: shop.example.com\n")
    assert config_problems("cluster") == [
        "paasport:app_dir is a k8s and heroku setting; the cluster stack does not read it. Fix: remove it from "
        "Pulumi.cluster.yaml (set it on a k8s or heroku stack).",
        "paasport:domain is a heroku setting; the cluster stack does not read it. Fix: remove it from "
        "Pulumi.cluster.yaml (set it on a heroku stack)."]


def test_a_setting_of_another_platform_outside_the_stack_file_is_named_as_such(project_copy, monkeypatch):  # noqa: F811
    # An ESC environment, say: the engine hands it over like the stack file's. One line: not also "set it as a
    # secret", which the stack would not read either.
    monkeypatch.setenv("PULUMI_CONFIG", '{"paasport:log_drain_url": "syslog+tls://logs.example.com:6514"}')
    assert config_problems("k8s") == [
        "paasport:log_drain_url (the stack's configuration, not Pulumi.k8s.yaml) is a heroku setting; the k8s stack "
        "does not read it. Fix: remove it where it is set (set it on a heroku stack)."]


def test_the_stack_files_the_fixture_apps_and_the_shared_settings_plan_without_a_refusal():
    for stack in ("k8s", "heroku", "cluster"):
        assert offline_plan.run(stack).resources
    for app in FIXTURE_APPS:
        for stack in ("k8s", "heroku"):
            assert offline_plan.run(stack, [f"app_dir={app}"]).resources, (stack, app.name)
    # Keys more than one platform reads, set on each of them.
    offline_plan.run("k8s", ["protect=false", "kube_context=prod", "ingress_class=ambassador", "app_name=shop",
                             "log_level=debug", "config_vars.MAIL_FROM=shop@example.com"])
    offline_plan.run("heroku", ["protect=false", "app_name=shop", "log_level=debug",
                                "config_vars.MAIL_FROM=shop@example.com"])
    offline_plan.run("cluster", ["protect=false", "kube_context=prod", "ingress_class=ambassador",
                                 "acme_email=ops@example.com"])


def test_a_changed_platform_refuses_what_the_stack_file_set_for_the_old_one():
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", ["platform=heroku"])
    lines = str(caught.value).splitlines()
    assert ("  - paasport:replicas is a k8s setting; the k8s stack (platform heroku) does not read it (its web dynos: "
            "dyno_quantity). Fix: remove it from Pulumi.k8s.yaml; for the same on heroku, set `paasport:dyno_quantity` "
            "there.") in lines


def test_pulumi_yaml_tags_name_exactly_the_platforms_that_read_each_key(monkeypatch):
    """Each tagged platform reads the key (a refused key would otherwise be one it needs), and what a platform reads
    beyond its tags is only what every stack checks without using it: the app's image and variables, the secrets."""
    read: dict[str, set[str]] = {}
    raw = settings.Reader.raw

    def recording(self, key):
        read.setdefault(self.stack, set()).add(key)
        return raw(self, key)

    monkeypatch.setattr(settings.Reader, "raw", recording)
    for stack in ("k8s", "heroku", "cluster"):
        offline_plan.run(stack)
    tags = settings.key_platforms()
    for platform in ("k8s", "heroku", "cluster"):
        assert not [key for key, readers in tags.items() if platform in readers and key not in read[platform]]
    assert {p: sorted(k for k in read[p] if p not in tags.get(k, (p,))) for p in read} == {
        "k8s": ["log_drain_url"],
        "heroku": ["image", "registry", "registry_password", "registry_username", "web_concurrency"],
        "cluster": ["config_vars", "image", "log_drain_url", "log_level", "registry", "registry_password",
                    "registry_username", "secret_config_vars", "web_concurrency"]}
    # Untagged: read by every platform.
    untagged = {k for k in settings.known_keys() if k not in tags and ":" not in k}
    assert untagged == {"platform", "protect"}
    assert all(untagged <= keys for keys in read.values())
    assert tags["acme_email"] == ("k8s", "cluster") and tags["app_name"] == ("k8s", "heroku")
    assert tags["secret_config_vars"] == ("k8s", "heroku") and tags["log_drain_url"] == ("heroku",)


def test_the_parity_table_gives_each_stack_the_options_its_platform_reads():
    from offline import parity
    options = ["replicas=3", "dyno_quantity=2", "config_vars.MAIL_FROM=a@example.com", "kubernetes:context=prod",
               "paasport:hostname=shop.example.com"]
    assert parity.for_platform("k8s", options) == [
        "replicas=3", "config_vars.MAIL_FROM=a@example.com", "kubernetes:context=prod",
        "paasport:hostname=shop.example.com"]
    assert parity.for_platform("heroku", options) == [
        "dyno_quantity=2", "config_vars.MAIL_FROM=a@example.com", "kubernetes:context=prod"]
