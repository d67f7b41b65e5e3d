"""The heroku platform's settings: read once from the stack configuration, validated, typed."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pulumi

from infra import contract
from infra.heroku.plans import DYNO_SIZES, POSTGRES_PLANS, mixing_group
from infra.settings import APP_NAME, APP_NAME_RULE, DNS_LABEL, DNS_NAME, AppSettings, Reader

REGIONS = ("us", "eu")  # the Common Runtime regions
DEPLOY_MODES = ("build", "registry")
# Heroku's rule: a lowercase letter first, then lowercase letters, digits and dashes, 3 to 30 characters.
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
    log_drain_url: pulumi.Output[str] | None
    # `heroku:apiKey` or HEROKU_API_KEY; the program's own Platform API calls (release, ACM) need it.
    api_key: pulumi.Output[str] | None


def _api_key(r: Reader) -> pulumi.Output[str] | None:
    """The key the Heroku provider itself uses: `heroku:apiKey`, else HEROKU_API_KEY, always as a secret; a key
    in plain config is refused."""
    r.plain_secret("apiKey", '"$(heroku auth:token)"', namespace="heroku")
    key = pulumi.Config("heroku").get_secret("apiKey")
    if key is not None:
        return key
    env = os.environ.get("HEROKU_API_KEY")
    return pulumi.Output.secret(env) if env else None


def _check_contract(r: Reader, spec: contract.AppSpec, deploy: str, dyno_size: str) -> None:
    """What Heroku cannot run of the app's contract: sizes it does not have; a worker formation (its own size, or
    web's `dyno_size`) of more than one eco or basic dyno (devcenter.heroku.com/articles/dyno-tiers), or of a size
    that does not mix with web's (devcenter.heroku.com/articles/dyno-types, "Mixing dyno types"); and in `registry`
    mode anything beyond the image's own command and the release (the Platform API releases one image per process
    type, built from the Dockerfile)."""
    for problem in contract.size_problems(spec, DYNO_SIZES, "Heroku"):
        r.app_problem(problem)
    for process in spec.workers:
        size_name = process.size or dyno_size
        size = DYNO_SIZES.get(size_name)
        if size is None or dyno_size not in DYNO_SIZES:
            continue  # refused above, or as dyno_size
        key = f"{spec.shown}/app.json formation.{process.name}"
        if process.size and mixing_group(size_name) != mixing_group(dyno_size):
            fix = (f"set formation.{process.name}.size to {dyno_size} (or leave it out), or dyno_size to standard-1x "
                   "or larger" if dyno_size in ("eco", "basic") else
                   f"set formation.{process.name}.size to standard-1x or larger (or leave it out)")
            r.app_problem(f"{key}.size: is {size_name}, beside web's {dyno_size} (dyno_size), but Heroku runs eco "
                          "dynos only with eco, basic only with basic, and mixes only standard and performance "
                          f"sizes across process types. Fix: {fix}.")
        elif process.quantity > 1 and not size.scalable:
            of = "" if process.size else " (dyno_size, as it sets no size)"
            r.app_problem(f"{key}.quantity: is {process.quantity}, but its {size_name}{of} dynos cannot scale "
                          f"beyond 1 (Heroku runs one eco or basic dyno per process type). Fix: use quantity 1, or "
                          f"set formation.{process.name}.size and dyno_size to standard-1x or larger.")
    image = contract.image_command(spec.directory)
    web = spec.processes.get("web")  # none in a Procfile without it, which is refused already
    if deploy == "registry" and image and web and contract.argv(web.command) not in (image, ["/bin/sh", "-c", " ".join(
            image)]):
        r.problem("deploy", f"is 'registry', which runs the image's CMD ({' '.join(image)!r}) for web, but the "
                            f"app's Procfile says `web: {spec.web.command}`; use the build mode, or make the "
                            "Dockerfile's CMD the Procfile's web command", "build")
    if deploy == "registry" and (spec.workers or spec.database_env):
        what = ", ".join([*(f"worker {p.name!r}" for p in spec.workers), *(
            ["paasport.database_env"] if spec.database_env else [])])
        r.problem("deploy", f"is 'registry', which releases the image's own command for web and the release only; "
                            f"the app's contract also needs {what}", "build")


def read(r: Reader, app: AppSettings) -> HerokuSettings:
    """Every heroku setting; problems go to `r`, which `infra.settings.load` raises together."""
    app_name = r.text("app_name", pattern=APP_NAME, example="acme-paasport", why=f"a Heroku app name ({APP_NAME_RULE})")
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
    deploy = r.choice("deploy", DEPLOY_MODES)
    if app.contract is not None:
        _check_contract(r, app.contract, deploy, dyno_size)
    return HerokuSettings(
        app_name=app_name,
        region=r.choice("region", REGIONS),
        team=r.text("team", pattern=DNS_LABEL, why="a Heroku team name", example="acme"),
        dyno_size=dyno_size,
        dyno_quantity=quantity,
        postgres_plan=r.choice("postgres_plan", POSTGRES_PLANS),
        domain=domain,
        deploy=deploy,
        preboot=r.flag("preboot"),
        runtime_metrics=r.flag("runtime_metrics"),
        log_drain_url=r.secret_text("log_drain_url", pattern=_DRAIN_URL, example="syslog+tls://logs.example.com:6514",
                                    why="a syslog+tls://, syslog:// or https:// URL"),
        api_key=_api_key(r),
    )
