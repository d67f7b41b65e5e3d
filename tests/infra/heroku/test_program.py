"""The heroku stack under Pulumi's mock runtime: every resource in both deploy modes, their order, secrets, cost."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from infra.heroku.plans import monthly_cost_usd
from offline import plan as offline_plan
from offline import types as t
from tests.support import REPO, heroku_plan, obj, offline_cli, one

APP, ADDON, BUILD, FORMATION = t.HEROKU_APP, t.HEROKU_ADDON, t.HEROKU_BUILD, t.HEROKU_FORMATION
DOMAIN, DRAIN, FEATURE, RELEASE = t.HEROKU_DOMAIN, t.HEROKU_DRAIN, t.HEROKU_FEATURE, t.CONTAINER_RELEASE
IMAGE = t.BUILDX_IMAGE  # pulumi-docker-build
REGISTRY = ("deploy=registry",)


def test_build_mode_creates_app_postgres_build_formation_and_domain():
    registered = {(r.type, r.name) for r in heroku_plan().resources if r.custom}
    assert registered == {(APP, "paasport"), (ADDON, "paasport-postgres"), (BUILD, "paasport"),
                          (t.BUILD_RELEASE, "paasport-release"), (FORMATION, "paasport-web"), (DOMAIN, "paasport"),
                          (t.APP_ACM, "paasport-acm"), (FEATURE, "paasport-log-runtime-metrics")}


def test_registry_mode_builds_pushes_and_releases_both_images_instead_of_a_build():
    plan = heroku_plan(*REGISTRY)
    registered = {(r.type, r.name) for r in plan.resources if r.custom}
    assert registered == {(APP, "paasport"), (ADDON, "paasport-postgres"), (FORMATION, "paasport-web"),
                          (DOMAIN, "paasport"), (IMAGE, "paasport-web"), (IMAGE, "paasport-release"),
                          (RELEASE, "paasport"), (t.APP_ACM, "paasport-acm"), (FEATURE, "paasport-log-runtime-metrics")}
    web = obj(one(plan, IMAGE, "paasport-web"))
    assert web["tags"] == ["registry.heroku.com/paasport-example/web:latest"]
    # Providers run in the program directory, infra/: app/ is ../app from there (tests/infra/test_paths.py).
    assert (web["context"]["location"], web["dockerfile"]["location"]) == ("../app", "../app/Dockerfile")
    assert web["platforms"] == ["linux/amd64"]
    release_image = obj(one(plan, IMAGE, "paasport-release"))
    assert release_image["tags"] == ["registry.heroku.com/paasport-example/release:latest"]
    # the release image's inputs are the same on every machine: the app's context, its Dockerfile inline
    assert release_image["context"] == {"location": "../app"}
    assert release_image["dockerfile"] == {"inline": 'ARG WEB_IMAGE\nFROM ${WEB_IMAGE}\nCMD ["python", "-m", '
                                                     '"actors.seed"]\n'}
    # a preview builds neither: the release image is never built FROM a digest only a preview made
    assert (web["buildOnPreview"], release_image["buildOnPreview"]) == (False, False)
    # FROM the web image as pushed, pinned by digest
    assert release_image["buildArgs"] == {"WEB_IMAGE": one(plan, IMAGE, "paasport-web").outputs["ref"]}
    for process in ("web", "release"):
        pushed = one(plan, IMAGE, f"paasport-{process}")
        assert obj(pushed)["push"] is True
        (registry,) = offline_plan.reveal(pushed.inputs["registries"], show_secrets=True)
        assert (registry["address"], registry["username"]) == ("registry.heroku.com", "_")
        assert obj(pushed)["registries"][0]["password"] == "[secret]"
    release = obj(one(plan, RELEASE))  # what it releases, and when: tests/infra/heroku/test_release_order.py
    assert release["app"] == "paasport-example"
    assert release["api_url"] == "https://api.heroku.com"
    assert release["api_key"] == "[secret]"


def test_every_resource_belongs_to_a_paasport_heroku_component():
    for overrides in ((), REGISTRY):
        plan = heroku_plan(*overrides)
        components = {r.urn: r for r in plan.resources if not r.custom}
        assert all(r.type.startswith("paasport:heroku_") for r in components.values())
        assert all(r.parent in components for r in plan.resources if r.custom)


def test_app_runs_the_container_stack_in_the_configured_region_and_team():
    app = obj(one(heroku_plan("region=eu", "team=acme"), APP))
    assert (app["name"], app["stack"], app["region"]) == ("paasport-example", "container", "eu")
    assert app["organization"]["name"] == "acme"
    # ACM and its order: tests/infra/heroku/test_release_order.py
    assert not heroku_plan("domain=").find(DOMAIN)
    assert "organization" not in obj(one(heroku_plan(), APP))


def test_heroku_resources_take_the_app_uuid_not_its_name():
    plan = heroku_plan("paasport:log_drain_url=syslog+tls://logs.example.com:6514")
    uuid = one(plan, APP).outputs["uuid"]
    for type_ in (ADDON, BUILD, FORMATION, DOMAIN, DRAIN):
        assert obj(one(plan, type_))["appId"] == uuid, type_


def test_postgres_plan_comes_from_config_and_defaults_to_the_smallest():
    assert obj(one(heroku_plan(), ADDON))["plan"] == "heroku-postgresql:essential-0"
    assert obj(one(heroku_plan("postgres_plan=standard-0"), ADDON))["plan"] == "heroku-postgresql:standard-0"


@pytest.mark.parametrize("overrides", [(), REGISTRY])
def test_the_addon_comes_before_the_build_or_release(overrides):
    # The release phase seeds DATABASE_URL's database: the add-on must be attached first. The formation's
    # place after the release phase: tests/infra/heroku/test_release_order.py.
    plan = heroku_plan(*overrides)
    shipped = one(plan, RELEASE if overrides else BUILD)
    assert one(plan, ADDON).urn in shipped.dependencies


def test_build_uploads_the_reproducible_archive_and_names_its_content_hash():
    plan = heroku_plan()
    source = obj(one(plan, BUILD))["source"]
    # Absolute, in the user's cache, one per stack: the provider opens it from infra/; the checkout stays clean.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    assert source["path"] == str(cache / "paasport" / "heroku" / "heroku" / "paasport-source.tar.gz")
    assert source["version"] == "sha256:" + hashlib.sha256(Path(source["path"]).read_bytes()).hexdigest()[:12]
    assert "checksum" not in source  # the provider rejects one next to `path` and checksums the file itself
    assert source["version"].startswith("sha256:")
    assert plan.outputs["build_version"] == source["version"]


def test_formation_scales_web_with_the_configured_size_and_quantity():
    formation = obj(one(heroku_plan("dyno_size=standard-2x", "dyno_quantity=3"), FORMATION))
    assert (formation["type"], formation["size"], formation["quantity"]) == ("web", "standard-2x", 3)


# What Heroku's Python buildpack would set, min(RAM / 256 MB, 2 x cores + 1), from Dev Center's dyno table
# ("dyno-types", June 2024: memory, and the cores behind each size); container apps get no buildpack.
WEB_CONCURRENCY = {"eco": 2, "basic": 2, "standard-1x": 2, "standard-2x": 4, "performance-m": 5,
                   "performance-l": 17, "performance-l-ram": 9, "performance-xl": 17, "performance-2xl": 33}


@pytest.mark.parametrize(("size", "workers"), sorted(WEB_CONCURRENCY.items()))
def test_web_concurrency_matches_the_dyno_size(size, workers):
    overrides = [f"dyno_size={size}"] + (["domain="] if size == "eco" else [])  # eco gets no ACM
    config = obj(one(heroku_plan(*overrides), APP))["configVars"]
    assert config["WEB_CONCURRENCY"] == str(workers)


def test_config_vars_carry_the_app_settings_and_require_tls_to_postgres():
    config = obj(one(heroku_plan("log_level=warning", 'config_vars={"SEED_ARCHIVE": "https://example.com/dvd.tar"}'),
                     APP))["configVars"]
    assert config["LOG_LEVEL"] == "warning"
    assert config["PGSSLMODE"] == "require"
    assert config["SEED_ARCHIVE"] == "https://example.com/dvd.tar"  # a variable of app/app.json's env
    assert config["FORCE_HTTPS"] == "true"  # app/app.json's value
    assert "DATABASE_URL" not in config  # the add-on attaches it


def test_secrets_stay_secret():
    plan = heroku_plan("paasport:log_drain_url=syslog+tls://logs.example.com:6514/tok3n",
                       'paasport:secret_config_vars={"SENTRY_DSN": "https://s3cr3t@sentry.example.com/1"}')
    drain = one(plan, DRAIN)
    assert obj(drain)["sensitiveUrl"] == "[secret]" and "url" not in obj(drain)
    app = obj(one(plan, APP))
    assert app["sensitiveConfigVars"] == {"SENTRY_DSN": "[secret]"}
    revealed = offline_plan.reveal(one(plan, APP).inputs["sensitiveConfigVars"], show_secrets=True)
    assert revealed == {"SENTRY_DSN": "https://s3cr3t@sentry.example.com/1"}
    text = str(offline_plan.to_json(plan))
    assert "tok3n" not in text and "s3cr3t" not in text


def test_the_api_key_is_only_a_secret_input(monkeypatch):
    monkeypatch.setenv("HEROKU_API_KEY", "hrku-0123456789abcdef")
    plan = offline_plan.run("heroku", ["deploy=registry"])
    assert "hrku-0123456789abcdef" not in str(offline_plan.to_json(plan))
    key = offline_plan.reveal(one(plan, RELEASE).inputs["api_key"], show_secrets=True)
    assert key == "hrku-0123456789abcdef"


def test_outputs_tell_where_the_app_is_what_it_costs_and_how_to_operate_it():
    outputs = offline_plan.reveal(heroku_plan().outputs)
    assert outputs["url"].startswith("https://paasport-example-") and outputs["url"].endswith(".herokuapp.com/")
    assert outputs["custom_url"] == "https://paasport.example.com/"
    assert outputs["dns_target"].endswith(".herokudns.com")
    assert outputs["postgres_plan"] == "essential-0"
    assert outputs["heroku_scale"] == "heroku ps:scale web=1:basic --app paasport-example"
    assert outputs["heroku_logs"] == "heroku logs --tail --app paasport-example"
    assert outputs["heroku_rollback"] == "heroku releases:rollback --app paasport-example"
    assert outputs["heroku_run"] == "heroku run --app paasport-example -- sh"  # a one-off dyno, as `heroku run`
    assert "heroku_scheduler_jobs" not in outputs  # the actors app has no cron tasks
    assert outputs["monthly_cost_usd"] == 12
    assert "2024-12" in outputs["monthly_cost_basis"]
    registry = offline_plan.reveal(heroku_plan(*REGISTRY).outputs)
    assert registry["deploy"] == "registry" and registry["web_image_id"].startswith("sha256:")


@pytest.mark.parametrize(
    ("size", "quantity", "plan", "usd"),
    [("eco", 1, "essential-0", 10), ("basic", 1, "essential-0", 12), ("standard-1x", 2, "essential-1", 59),
     ("standard-2x", 3, "standard-0", 200), ("performance-m", 2, "premium-0", 700)],
)
def test_monthly_cost_estimate(size, quantity, plan, usd):
    assert monthly_cost_usd([(size, quantity)], plan) == usd
    overrides = [f"dyno_size={size}", f"dyno_quantity={quantity}", f"postgres_plan={plan}"]
    overrides += ["domain="] if size == "eco" else []
    assert offline_plan.reveal(heroku_plan(*overrides).outputs)["monthly_cost_usd"] == usd


@pytest.mark.parametrize("mode", ["build", "registry"])
def test_the_plan_cli_shows_the_full_resource_set_as_json(mode):
    import json

    plan = json.loads(offline_cli("plan", "--stack", "heroku", "--config", f"deploy={mode}", "--json",
                                  check=True).stdout)
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
    essential = offline_plan.reveal(heroku_plan().outputs)
    assert essential["heroku_backup_schedule"] == (
        "heroku pg:backups:schedule DATABASE_URL --at '03:00 UTC' --app paasport-example")
    assert "heroku_backup_schedule" not in heroku_plan("postgres_plan=standard-0").outputs


def test_monthly_cost_prices_every_formation_eco_once_and_postgres_only_with_the_add_on():
    assert monthly_cost_usd([("standard-1x", 2), ("standard-2x", 1)], "essential-0") == 105  # 50 + 50 + 5
    assert monthly_cost_usd([("eco", 1), ("eco", 1)], None) == 5  # one flat fee per account
    assert monthly_cost_usd([("basic", 1), ("basic", 0)], None) == 7


def _other_app(tmp_path, monkeypatch, *, addons: list[str], formation: dict) -> list[str]:
    """A copy of the express-postgres fixture with its own app.json `addons` and `formation`: the override that
    points the stack at it."""
    import json
    import shutil

    app = tmp_path / "app"
    shutil.copytree(REPO / "tests/fixtures/apps/express-postgres", app)
    manifest = json.loads((app / "app.json").read_text())
    (app / "app.json").write_text(json.dumps({**manifest, "addons": addons, "formation": formation}))
    (app / "Procfile").write_text("web: yarn start\nworker: node dist/worker.js\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return [f"app_dir={app}"]


def test_worker_formations_are_priced(tmp_path, monkeypatch):
    # The defect: only web was priced; the worker's two standard-2x dynos ($100) were left out.
    overrides = _other_app(tmp_path, monkeypatch, addons=["heroku-postgresql"],
                           formation={"web": {"quantity": 1}, "worker": {"quantity": 2, "size": "standard-2x"}})
    outputs = offline_plan.reveal(offline_plan.run("heroku", [*overrides, "dyno_size=standard-1x"]).outputs)
    assert outputs["monthly_cost_usd"] == 130  # 25 + 2 x 50 + essential-0's 5
    assert outputs["monthly_cost_basis"].endswith(
        "24/7, web 1 x standard-1x + worker 2 x standard-2x + heroku-postgresql:essential-0")


def test_an_app_without_the_postgres_add_on_pays_and_shows_no_postgres(tmp_path, monkeypatch):
    # The defect: Postgres was charged and its outputs exported for an app that has no database.
    overrides = _other_app(tmp_path, monkeypatch, addons=[], formation={"web": {"quantity": 1},
                                                                         "worker": {"quantity": 1}})
    plan = offline_plan.run("heroku", overrides)
    outputs = offline_plan.reveal(plan.outputs)
    assert not plan.find(ADDON)
    assert outputs["monthly_cost_usd"] == 14  # web and worker, basic: 7 + 7
    assert "postgres" not in outputs["monthly_cost_basis"]
    assert "postgres_plan" not in outputs and "heroku_backup_schedule" not in outputs


def test_parity_prices_every_formation_and_no_postgres_without_the_add_on(tmp_path, monkeypatch):
    from offline import parity
    from offline.parity import heroku as detectors

    overrides = _other_app(tmp_path, monkeypatch, addons=[], formation={"web": {"quantity": 1},
                                                                         "worker": {"quantity": 1}})
    plan = offline_plan.run("heroku", overrides)
    cost = detectors.cost(plan)
    # The defect: no cost at all ("no web formation or Postgres add-on to price") for an app with no database.
    assert cost.what.startswith("about $14 a month: web 1 x basic + worker 1 x basic at list prices")
    assert "postgres_plan" not in cost.settings
    # Its missing database is the app's choice, not the platform's lack: "not used by this app", turned on in
    # app.json, not by a stack setting.
    row = dict(parity.table({"heroku": plan}).rows)["Managed PostgreSQL"]["heroku"]
    assert row == parity.Unused("the app asks for no database (no `heroku-postgresql` add-on in an app.json)",
                                "add `heroku-postgresql` to app.json `addons`; the stack then attaches Heroku Postgres "
                                "(`postgres_plan`)")


def test_the_registry_mode_plans_the_same_images_on_every_machine(tmp_path, monkeypatch):
    # The defect: the release image's context was an absolute path under the user's cache, so `pulumi up` from
    # another machine (CI, a teammate) saw a new context.location, rebuilt it and made a new Heroku release.
    def images(home: str) -> list:
        monkeypatch.setenv("HOME", str(tmp_path / home))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / home / ".cache"))
        plan = offline_plan.run("heroku", list(REGISTRY))
        return [offline_plan.reveal(r.inputs) for r in plan.find(IMAGE)]

    assert images("alice") == images("ci-runner")
