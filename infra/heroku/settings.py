"""The heroku platform's settings: read once from the stack configuration, validated, typed."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.heroku.plans import DYNO_SIZES, POSTGRES_PLANS
from infra.settings import DNS_LABEL, DNS_NAME, AppSettings, Reader

REGIONS = ("us", "eu")  # the Common Runtime regions
DEPLOY_MODES = ("build", "registry")
# Config vars the stack sets itself (or the Postgres add-on does); neither config map may set them.
RESERVED_VARS = ("DATABASE_URL", "LOG_LEVEL", "WEB_CONCURRENCY", "PGSSLMODE", "FORCE_HTTPS", "SEED_ARCHIVE", "PORT")
# Heroku's rule: a lowercase letter first, then lowercase letters, digits and dashes, 3 to 30 characters.
_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_DRAIN_URL = re.compile(r"^(syslog\+tls|syslog|https)://\S+$")


@dataclass(frozen=True)
class HerokuSettings:
    """The Heroku platform: one app on the container stack, Heroku Postgres, a web formation, a custom domain."""

    app_name: str
    region: str
    team: str
    dyno_size: str
    dyno_quantity: int
    postgres_plan: str
    domain: str
    deploy: str  # build: a Heroku Build from app/ (heroku.yml); registry: push images, release via the API
    preboot: bool  # start new web dynos before stopping the old ones, where the dyno size allows it
    runtime_metrics: bool  # the log-runtime-metrics feature: dyno memory and load in the log stream
    config_vars: dict[str, str]
    secret_config_vars: pulumi.Output[dict[str, str]] | None
    log_drain_url: pulumi.Output[str] | None
    # `heroku:apiKey` or HEROKU_API_KEY; the program's own Platform API calls (release, ACM) need it.
    api_key: pulumi.Output[str] | None


def _config_vars(r: Reader, key: str, *, secret: bool) -> dict[str, str]:
    """`config_vars` or `secret_config_vars`: one rule for both, names checked, values never quoted if secret."""
    example = "'{\"FEATURE_X\": \"on\"}'"
    value = r.json_object(key, example=example, secret=secret)
    for name, var in value.items():
        if not _ENV_NAME.match(name):
            r.problem(key, f"has {name[:60]!r}, which is not an environment variable name (letters, digits, '_')",
                      example, secret=secret)
        elif name.upper() in RESERVED_VARS:
            r.problem(key, f"sets {name}, which the stack sets itself (from dyno_size, log_level, seed_archive or "
                           "the Postgres add-on); remove it", example, secret=secret)
        elif isinstance(var, dict | list) or var is None:
            r.problem(key, f"has {name} set to a {type(var).__name__}, not a plain value", example, secret=secret)
    return {name: _plain(var) for name, var in value.items()}


def _plain(var: Any) -> str:
    return str(var).lower() if isinstance(var, bool) else str(var)


def _api_key() -> pulumi.Output[str] | None:
    """The key the Heroku provider itself uses: `heroku:apiKey`, else HEROKU_API_KEY, always as a secret."""
    key = pulumi.Config("heroku").get_secret("apiKey")
    if key is not None:
        return key
    env = os.environ.get("HEROKU_API_KEY")
    return pulumi.Output.secret(env) if env else None


def read(r: Reader, app: AppSettings) -> HerokuSettings:
    """Every heroku setting; problems go to `r`, which `infra.settings.load` raises together."""
    app_name = r.text("app_name", pattern=_APP_NAME, example="acme-paasport",
                      why="a Heroku app name (a lowercase letter first, then lowercase letters, digits or '-', "
                          "3 to 30 characters)")
    if not app_name:
        r.problem("app_name", "is missing; it names the Heroku app (and its herokuapp.com address)", "acme-paasport")
    dyno_size = r.choice("dyno_size", DYNO_SIZES)
    size = DYNO_SIZES.get(dyno_size)
    quantity = r.number("dyno_quantity", example=1, minimum=1, maximum=100)
    if size and quantity > 1 and not size.scalable:
        r.problem("dyno_quantity", f"is {r.show('dyno_quantity', str(quantity))}, but "
                                   f"{r.show('dyno_size', dyno_size)} dynos cannot scale beyond 1; use 1, or set "
                                   "dyno_size to standard-1x or larger", "1")
    domain = r.text("domain", pattern=DNS_NAME, why="a hostname like app.example.com (lowercase, RFC 1123)",
                    example="app.example.com")
    if domain and "." not in domain:
        r.problem("domain", f"is {r.show('domain', domain)}, which is not a fully qualified hostname",
                  "app.example.com")
    if domain and size and not size.acm:
        r.problem("dyno_size", f"is {r.show('dyno_size', dyno_size)}, which gets no automatic certificate (ACM) "
                               f"for the custom domain {r.show('domain', domain)}; use basic or larger, or unset "
                               "domain", "basic")
    config_vars = _config_vars(r, "config_vars", secret=False)
    secret_config_vars = _config_vars(r, "secret_config_vars", secret=True)
    for name in sorted(set(config_vars) & set(secret_config_vars)):
        r.problem("secret_config_vars", f"sets {name}, which config_vars sets too; keep it in one of them", "'{}'",
                  secret=True)
    return HerokuSettings(
        app_name=app_name,
        region=r.choice("region", REGIONS),
        team=r.text("team", pattern=DNS_LABEL, why="a Heroku team name", example="acme"),
        dyno_size=dyno_size,
        dyno_quantity=quantity,
        postgres_plan=r.choice("postgres_plan", POSTGRES_PLANS),
        domain=domain,
        deploy=r.choice("deploy", DEPLOY_MODES),
        preboot=r.flag("preboot"),
        runtime_metrics=r.flag("runtime_metrics"),
        config_vars=config_vars,
        secret_config_vars=pulumi.Output.secret(secret_config_vars) if secret_config_vars else None,
        log_drain_url=r.secret_text("log_drain_url", pattern=_DRAIN_URL, example="syslog+tls://logs.example.com:6514",
                                    why="a syslog+tls://, syslog:// or https:// URL"),
        api_key=_api_key(),
    )
