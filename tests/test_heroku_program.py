"""The heroku stack under Pulumi's mock runtime: every resource in both deploy modes, their order, secrets, cost."""

from __future__ import annotations

import pytest

from infra import plan as infra_plan
from infra.heroku_plans import DYNO_SIZES, POSTGRES_PLANS, monthly_cost_usd
from tests.infra_helpers import heroku_plan, obj, one

APP = "heroku:app/app:App"
ADDON = "heroku:addon/addon:Addon"
BUILD = "heroku:build/build:Build"
FORMATION = "heroku:formation/formation:Formation"
DOMAIN = "heroku:domain/domain:Domain"
DRAIN = "heroku:drain/drain:Drain"
FEATURE = "heroku:app/feature:Feature"
RELEASE = "pulumi-python:dynamic/heroku:ContainerRelease"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
REGISTRY_IMAGE = "docker:index/registryImage:RegistryImage"
REGISTRY = ("deploy=registry",)


def test_build_mode_creates_app_postgres_build_formation_and_domain():
    registered = {(r.type, r.name) for r in heroku_plan().resources if r.custom}
    assert registered == {(APP, "paasport"), (ADDON, "paasport-postgres"), (BUILD, "paasport"),
                          (FORMATION, "paasport-web"), (DOMAIN, "paasport"), (FEATURE, "paasport-log-runtime-metrics")}


def test_registry_mode_builds_pushes_and_releases_both_images_instead_of_a_build():
    plan = heroku_plan(*REGISTRY)
    registered = {(r.type, r.name) for r in plan.resources if r.custom}
    assert registered == {(APP, "paasport"), (ADDON, "paasport-postgres"), (FORMATION, "paasport-web"),
                          (DOMAIN, "paasport"), (REMOTE_IMAGE, "paasport-web"), (REMOTE_IMAGE, "paasport-release"),
                          (REGISTRY_IMAGE, "paasport-web-push"), (REGISTRY_IMAGE, "paasport-release-push"),
                          (RELEASE, "paasport"), (FEATURE, "paasport-log-runtime-metrics")}
    web = obj(one(plan, REMOTE_IMAGE, "paasport-web"))
    assert web["name"] == "registry.heroku.com/paasport-example/web:latest"
    assert (web["build"]["context"], web["build"]["dockerfile"]) == ("app", "Dockerfile")
    assert web["build"]["platform"] == "linux/amd64"
    release_image = obj(one(plan, REMOTE_IMAGE, "paasport-release"))
    assert release_image["name"] == "registry.heroku.com/paasport-example/release:latest"
    assert release_image["build"]["buildArgs"] == {"WEB_IMAGE": web["name"]}
    for process in ("web", "release"):
        push = one(plan, REGISTRY_IMAGE, f"paasport-{process}-push")
        assert obj(push)["name"] == f"registry.heroku.com/paasport-example/{process}:latest"
        auth = infra_plan.reveal(push.inputs["authConfig"], show_secrets=True)
        assert (auth["address"], auth["username"]) == ("registry.heroku.com", "_")
        assert obj(push)["authConfig"]["password"] == "[secret]"
    release = obj(one(plan, RELEASE))
    image_ids = {p: one(plan, REMOTE_IMAGE, f"paasport-{p}").outputs["imageId"] for p in ("web", "release")}
    assert release["images"] == image_ids
    assert release["app"] == "paasport-example"
    assert release["api_url"] == "https://api.heroku.com"
    assert release["api_key"] == "[secret]"


def test_every_resource_belongs_to_a_paasport_heroku_component():
    for overrides in ((), REGISTRY):
        plan = heroku_plan(*overrides)
        components = {r.urn: r for r in plan.resources if not r.custom}
        assert all(r.type.startswith("paasport:heroku_") for r in components.values())
        assert all(r.parent in components for r in plan.resources if r.custom)


def test_app_runs_the_container_stack_in_the_configured_region_with_acm_for_the_domain():
    app = obj(one(heroku_plan("region=eu", "team=acme"), APP))
    assert (app["name"], app["stack"], app["region"]) == ("paasport-example", "container", "eu")
    assert app["acm"] is True
    assert app["organization"]["name"] == "acme"
    without_domain = heroku_plan("domain=")
    assert obj(one(without_domain, APP))["acm"] is False
    assert not without_domain.find(DOMAIN)
    assert "organization" not in obj(one(heroku_plan(), APP))


def test_heroku_resources_take_the_app_uuid_not_its_name():
    plan = heroku_plan("paasport:log_drain_url=syslog+tls://logs.example.com:6514")
    uuid = one(plan, APP).outputs["uuid"]
    for type_ in (ADDON, BUILD, FORMATION, DOMAIN, DRAIN):
        assert obj(one(plan, type_))["appId"] == uuid, type_


def test_postgres_plan_comes_from_config_and_defaults_to_the_smallest():
    assert obj(one(heroku_plan(), ADDON))["plan"] == "heroku-postgresql:essential-0"
    assert min(POSTGRES_PLANS, key=POSTGRES_PLANS.get) == "essential-0"
    assert obj(one(heroku_plan("postgres_plan=standard-0"), ADDON))["plan"] == "heroku-postgresql:standard-0"


@pytest.mark.parametrize("overrides", [(), REGISTRY])
def test_the_addon_comes_before_the_build_or_release_and_the_formation_after_it(overrides):
    plan = heroku_plan(*overrides)
    addon = one(plan, ADDON)
    shipped = one(plan, RELEASE if overrides else BUILD)
    assert addon.urn in shipped.dependencies
    assert shipped.urn in one(plan, FORMATION).dependencies
    if overrides:
        pushes = {r.urn for r in plan.find(REGISTRY_IMAGE)}
        assert pushes <= set(shipped.dependencies)


def test_build_uploads_the_reproducible_archive_and_names_its_content_hash():
    plan = heroku_plan()
    source = obj(one(plan, BUILD))["source"]
    assert source["path"] == ".build/heroku/app-source.tar.gz"
    assert "checksum" not in source  # the provider rejects one next to `path` and checksums the file itself
    assert source["version"].startswith("sha256:")
    assert plan.outputs["build_version"] == source["version"]


def test_formation_scales_web_with_the_configured_size_and_quantity():
    formation = obj(one(heroku_plan("dyno_size=standard-2x", "dyno_quantity=3"), FORMATION))
    assert (formation["type"], formation["size"], formation["quantity"]) == ("web", "standard-2x", 3)


@pytest.mark.parametrize("size", sorted(DYNO_SIZES))
def test_web_concurrency_matches_the_dyno_size(size):
    overrides = [f"dyno_size={size}"] + (["domain="] if not DYNO_SIZES[size].acm else [])
    config = obj(one(heroku_plan(*overrides), APP))["configVars"]
    workers = int(config["WEB_CONCURRENCY"])
    assert workers == DYNO_SIZES[size].web_concurrency
    assert workers >= 1 and workers * 256 <= DYNO_SIZES[size].memory_mb  # >= 256 MB per worker, as the buildpack


def test_config_vars_carry_the_app_settings_and_require_tls_to_postgres():
    config = obj(one(heroku_plan("log_level=warning", "seed_archive=https://example.com/dvd.tar"), APP))["configVars"]
    assert config["LOG_LEVEL"] == "warning"
    assert config["PGSSLMODE"] == "require"
    assert config["SEED_ARCHIVE"] == "https://example.com/dvd.tar"
    assert config["WEB_THREADS"] == "4"  # from config_vars in Pulumi.heroku.yaml
    assert "DATABASE_URL" not in config  # the add-on attaches it


def test_secrets_stay_secret():
    plan = heroku_plan("paasport:log_drain_url=syslog+tls://logs.example.com:6514/tok3n",
                       'paasport:secret_config_vars={"SENTRY_DSN": "https://s3cr3t@sentry.example.com/1"}')
    drain = one(plan, DRAIN)
    assert obj(drain)["sensitiveUrl"] == "[secret]" and "url" not in obj(drain)
    app = obj(one(plan, APP))
    assert app["sensitiveConfigVars"] == {"SENTRY_DSN": "[secret]"}
    revealed = infra_plan.reveal(one(plan, APP).inputs["sensitiveConfigVars"], show_secrets=True)
    assert revealed == {"SENTRY_DSN": "https://s3cr3t@sentry.example.com/1"}
    text = str(infra_plan.to_json(plan))
    assert "tok3n" not in text and "s3cr3t" not in text


def test_the_api_key_is_only_a_secret_input(monkeypatch):
    monkeypatch.setenv("HEROKU_API_KEY", "hrku-0123456789abcdef")
    plan = infra_plan.run("heroku", ["deploy=registry"])
    assert "hrku-0123456789abcdef" not in str(infra_plan.to_json(plan))
    key = infra_plan.reveal(one(plan, RELEASE).inputs["api_key"], show_secrets=True)
    assert key == "hrku-0123456789abcdef"


def test_outputs_tell_where_the_app_is_what_it_costs_and_how_to_operate_it():
    outputs = infra_plan.reveal(heroku_plan().outputs)
    assert outputs["url"].startswith("https://paasport-example-") and outputs["url"].endswith(".herokuapp.com/")
    assert outputs["custom_url"] == "https://paasport.example.com/"
    assert outputs["dns_target"].endswith(".herokudns.com")
    assert outputs["postgres_plan"] == "essential-0"
    assert outputs["heroku_scale"] == "heroku ps:scale web=1:basic --app paasport-example"
    assert outputs["heroku_logs"] == "heroku logs --tail --app paasport-example"
    assert outputs["heroku_rollback"] == "heroku releases:rollback --app paasport-example"
    assert outputs["monthly_cost_usd"] == 12
    assert "2024-12" in outputs["monthly_cost_basis"]
    registry = infra_plan.reveal(heroku_plan(*REGISTRY).outputs)
    assert registry["deploy"] == "registry" and registry["web_image_id"].startswith("sha256:")


@pytest.mark.parametrize(
    ("size", "quantity", "plan", "usd"),
    [("eco", 1, "essential-0", 10), ("basic", 1, "essential-0", 12), ("standard-1x", 2, "essential-1", 59),
     ("standard-2x", 3, "standard-0", 200), ("performance-m", 2, "premium-0", 700)],
)
def test_monthly_cost_estimate(size, quantity, plan, usd):
    assert monthly_cost_usd(size, quantity, plan) == usd
    overrides = [f"dyno_size={size}", f"dyno_quantity={quantity}", f"postgres_plan={plan}"]
    overrides += ["domain="] if size == "eco" else []
    assert infra_plan.reveal(heroku_plan(*overrides).outputs)["monthly_cost_usd"] == usd


@pytest.mark.parametrize("mode", ["build", "registry"])
def test_the_plan_cli_shows_the_full_resource_set_as_json(mode):
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    result = subprocess.run([sys.executable, "-m", "infra.plan", "--stack", "heroku", "--config", f"deploy={mode}",
                             "--json"], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    plan = json.loads(result.stdout)
    types = {r["type"] for r in plan["resources"]}
    assert {APP, ADDON, FORMATION, DOMAIN} <= types
    assert (BUILD in types) == (mode == "build") and (RELEASE in types) == (mode == "registry")
    assert plan["outputs"]["deploy"] == mode


@pytest.mark.parametrize(("size", "preboot"), [("basic", False), ("standard-1x", True), ("performance-m", True)])
def test_preboot_is_enabled_where_the_dyno_size_has_it(size, preboot):
    plan = heroku_plan(f"dyno_size={size}")
    features = {obj(r)["name"]: obj(r) for r in plan.find(FEATURE)}
    assert ("preboot" in features) == preboot
    assert features["log-runtime-metrics"]["enabled"] is True
    uuid = one(plan, APP).outputs["uuid"]
    assert all(f["appId"] == uuid for f in features.values())
    assert not heroku_plan("dyno_size=standard-1x", "preboot=false", "runtime_metrics=false").find(FEATURE)


def test_essential_postgres_gets_the_backup_schedule_command_and_standard_has_continuous_protection():
    essential = infra_plan.reveal(heroku_plan().outputs)
    assert essential["heroku_backup_schedule"] == (
        "heroku pg:backups:schedule DATABASE_URL --at '03:00 UTC' --app paasport-example")
    assert "heroku_backup_schedule" not in heroku_plan("postgres_plan=standard-0").outputs
