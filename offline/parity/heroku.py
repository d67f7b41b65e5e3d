"""The Heroku stack's detectors: one per capability row the platform can provide, each a function of the stack's
offline plan that returns the Cell describing what provides the capability, or None (the row's Gap is then shown).
Rows without a detector here (autoscaling, health checks, hardening) are always the row's Gap."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import yaml

from infra import node_postgres
from infra.contract import procfile_command
from infra.heroku.features import PREBOOT, RUNTIME_METRICS
from infra.heroku.plans import DYNO_SIZES, POSTGRES_PLANS, PRICES_AS_OF, has_continuous_protection, monthly_cost_usd
from offline import types as t
from offline.parity.cells import (
    Cell,
    Gap,
    Plan,
    Registration,
    Unused,
    all_of,
    app_dir,
    first,
    heroku_web_command,
    inputs,
    label,
    shown,
    shutdown,
    spec,
    sslmode_uses_tls,
    stop_by_the_app,
    unused_database,
    unused_metrics,
    unused_move,
    unused_release,
)

SIGKILL_AFTER_S = 30  # the dyno manager's SIGTERM-to-SIGKILL grace (Dev Center: dynos, "graceful shutdown")


def _features(plan: Plan) -> dict[str, Registration]:
    return {inputs(r)["name"]: r for r in all_of(plan, t.HEROKU_FEATURE) if inputs(r).get("enabled", True)}


def _dyno(plan: Plan) -> tuple[Registration, str, int] | None:
    formation = next((r for r in all_of(plan, t.HEROKU_FORMATION) if inputs(r).get("type") == "web"), None)
    if formation is None:
        return None
    spec = inputs(formation)
    return formation, spec["size"], spec["quantity"]


def _postgres_plan(plan: Plan) -> tuple[Registration, str] | None:
    addon = next((r for r in all_of(plan, t.HEROKU_ADDON) if inputs(r)["plan"].startswith("heroku-postgresql:")),
                 None)
    return (addon, inputs(addon)["plan"].split(":", 1)[1]) if addon else None


def _heroku_yml(build: Registration | None) -> dict:
    """The heroku.yml inside the archive this run's Build uploads (the program writes it as it runs)."""
    archive = Path(inputs(build)["source"]["path"]) if build else None
    if archive is None or not archive.is_file():
        return {}
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
        try:
            member = tar.extractfile("heroku.yml")
        except KeyError:
            return {}
        return (yaml.safe_load(member.read()) if member else None) or {}


def _heroku_yml_release(build: Registration) -> str | None:
    command = (_heroku_yml(build).get("release") or {}).get("command")
    return procfile_command(" ".join(command) if isinstance(command, list) else command) if command else None


def https(plan: Plan) -> Cell | None:
    app, domain = first(plan, t.HEROKU_APP), first(plan, t.HEROKU_DOMAIN)
    # ACM is the App's `acm`, or the program's own step that enables it once a dyno that can have it runs.
    acm = first(plan, t.APP_ACM) or (app if app and inputs(app).get("acm") else None)
    if app and domain and acm:
        return Cell(f"ACM issues and renews the certificate of {inputs(domain)['hostname']}; the herokuapp.com "
                    "address has Heroku's", tuple(dict.fromkeys((label(app), label(domain), label(acm)))),
                    ("domain",))
    if app:
        return Cell("Heroku's certificate on the herokuapp.com address (no custom domain, so no ACM)",
                    (label(app),), ("domain",))
    return None


def custom_domain(plan: Plan) -> Cell | None:
    domain = first(plan, t.HEROKU_DOMAIN)
    if domain:
        return Cell(f"{inputs(domain)['hostname']}; its CNAME points at the `dns_target` output (*.herokudns.com)",
                    (label(domain),), ("domain",))
    return None


def https_redirect(plan: Plan) -> Cell | None:
    """The app's own redirect, when its app.json declares FORCE_HTTPS and its config var turns it on: Heroku's router
    never redirects (the row's gap)."""
    app = first(plan, t.HEROKU_APP)
    declared = next((v for v in spec(plan).env if v.name == "FORCE_HTTPS"), None)
    if app and declared and inputs(app).get("configVars", {}).get("FORCE_HTTPS") == "true":
        said = f" (app.json: \"{declared.description.rstrip('.')}\")" if declared.description else ""
        return Cell(f"the app itself, which its config var FORCE_HTTPS=true asks to{said}; Heroku's router serves "
                    "http:// too and never redirects", (label(app),))
    return None


def postgres(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).database:
        return unused_database("the stack then attaches Heroku Postgres (`postgres_plan`)")
    addon = _postgres_plan(plan)
    if addon:
        return Cell(f"Heroku Postgres {addon[1]}; Heroku runs, patches and maintains it", (label(addon[0]),),
                    ("postgres_plan",))
    return None


def db_secrets(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).database:
        return unused_database("the add-on then attaches DATABASE_URL itself")
    addon, app = _postgres_plan(plan), first(plan, t.HEROKU_APP)
    if addon and app and "DATABASE_URL" in addon[0].outputs.get("configVars", []) and (
            "DATABASE_URL" not in inputs(app).get("configVars", {})):
        # Heroku sets no PG*; the generated heroku.yml's prelude derives them at each dyno start (infra/contract.py).
        build = first(plan, t.HEROKU_BUILD)
        derived = "PGHOST=" in yaml.safe_dump(_heroku_yml(build)) if build else False
        libpq = "the heroku.yml prelude derives PG* from it at each dyno start" if derived else \
            "PG* are not set (no generated heroku.yml to derive them): the app must read DATABASE_URL"
        return Cell(f"the add-on attaches DATABASE_URL itself: the credentials never pass through the stack; {libpq}",
                    (label(addon[0]),))
    return None


def db_tls(plan: Plan) -> Cell | Unused | None:
    """Heroku Postgres takes TLS connections only; the config var PGSSLMODE (the stack's `require`, or the app's own)
    makes libpq-style clients ask for it."""
    if not spec(plan).database:
        return unused_database("Heroku Postgres then takes TLS connections only")
    app, addon = first(plan, t.HEROKU_APP), _postgres_plan(plan)
    mode = inputs(app).get("configVars", {}).get("PGSSLMODE", "") if app else ""
    package = node_postgres.driver(spec(plan))
    if app and addon and package and mode in node_postgres.VERIFYING:
        var = f"the config var PGSSLMODE={mode}"
        fails = node_postgres.fails(package, var, "heroku")
        return Gap(f"{shown(plan)}/package.json depends on {package}: {fails}", node_postgres.FIX)
    if app and addon and sslmode_uses_tls(mode):
        return Cell(f"Heroku Postgres takes TLS connections only; the config var PGSSLMODE={mode} asks for it",
                    (label(app), label(addon[0])))
    return None


def release_phase(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).release:
        return unused_release()
    build = first(plan, t.HEROKU_BUILD)
    command = _heroku_yml_release(build) if build else None
    if build and command:
        return Cell(f"heroku.yml's release phase runs `{command}` on each build; a failed release is not deployed",
                    (label(build),), ("app_dir",))
    release = first(plan, t.CONTAINER_RELEASE)
    shipped = inputs(release) if release else {}
    if release and "release" in (shipped.get("manifests") or shipped.get("images") or {}):
        return Cell("a `release` image (the Procfile's release command) runs as the release phase of each release",
                    (label(release),), ("app_dir",))
    return None


def scheduled_jobs(plan: Plan) -> Unused | None:
    """An app without cron tasks; the tasks of one that has them are the row's gap (Scheduler has no API)."""
    if spec(plan).cron:
        return None
    return Unused("the app has no scheduled tasks (no `cron` in an app.json)",
                  'add Dokku\'s `"cron": [{"command": "...", "schedule": "0 3 * * *"}]` to app.json (UTC): preview '
                  "then says which Heroku Scheduler job to add for each (Scheduler has no Platform API)")


def zero_downtime(plan: Plan) -> Cell | None:
    preboot = _features(plan).get(PREBOOT)
    if preboot:
        return Cell("preboot: new web dynos start and take traffic before the old ones stop", (label(preboot),),
                    ("preboot", "dyno_size"))
    return None


def rollback(plan: Plan) -> Cell | None:
    shipped = first(plan, t.HEROKU_BUILD, t.CONTAINER_RELEASE)
    if shipped:
        return Cell(f"`heroku_rollback` output (releases:rollback to an earlier release); durable: the previous "
                    f"version of {shown(plan)}/ and `pulumi up`", (label(shipped),))
    return None


def scaling(plan: Plan) -> Cell | None:
    dyno = _dyno(plan)
    if dyno and DYNO_SIZES[dyno[1]].scalable:
        return Cell(f"{dyno[2]} x {dyno[1]} web dynos (up to 100)", (label(dyno[0]),), ("dyno_quantity", "dyno_size"))
    return None


def graceful_shutdown(plan: Plan) -> Cell | Gap | None:
    """The dyno manager's stop (SIGTERM to every process of the dyno, SIGKILL 30 s later), and what of it reaches the
    app's server: read from its file when paasport knows the server, stated as the app's to do when it does not."""
    dyno = _dyno(plan)
    if dyno is None:
        return None
    directory = app_dir(plan)
    stop = shutdown(heroku_web_command(_heroku_yml(first(plan, t.HEROKU_BUILD)), directory), directory, shown(plan))
    platform = f"the dyno manager sends SIGTERM to every process of the dyno, SIGKILL {SIGKILL_AFTER_S} s later"
    if stop is None:
        return Cell(f"{platform}: {stop_by_the_app(SIGKILL_AFTER_S)}", (label(dyno[0]),))
    if stop.seconds < SIGKILL_AFTER_S:
        return Cell(f"{platform}; {stop.server} finishes requests within {stop.seconds} s ({stop.source})",
                    (label(dyno[0]),))
    return Gap(f"{stop.server} finishes requests within {stop.seconds} s ({stop.source}), but the dyno manager's "
               f"SIGKILL comes {SIGKILL_AFTER_S} s after SIGTERM", f"a graceful timeout under {SIGKILL_AFTER_S} s in "
               f"{stop.source}")


def logs(plan: Plan) -> Cell | None:
    app = first(plan, t.HEROKU_APP)
    if app:
        return Cell("each dyno's stdout and stderr into Logplex, which keeps the last 1,500 lines (the app must log "
                    "there, in a format of its own: LOG_LEVEL is set from `log_level`); `heroku_logs` output",
                    (label(app),), ("log_level",))
    return None


def metrics(plan: Plan) -> Cell | Unused | None:
    dyno, runtime = _dyno(plan), _features(plan).get(RUNTIME_METRICS)
    parts, resources = [], []
    if dyno and dyno[1] != "eco":
        parts.append("Application Metrics in the Dashboard (response time, throughput, memory, load)")
        resources.append(label(dyno[0]))
    if runtime:
        parts.append("per-dyno memory and load in the log stream every 20 s")
        resources.append(label(runtime))
    path = spec(plan).metrics_path
    if not parts:
        return None if path else unused_metrics()
    return Cell("; ".join(parts) + (f"; nothing scrapes the app's {path}" if path else
                                    "; the app serves no metrics of its own (no `paasport.metrics_path`)"),
                tuple(resources), ("dyno_size", "runtime_metrics"))


def log_shipping(plan: Plan) -> Cell | None:
    drain = first(plan, t.HEROKU_DRAIN)
    if drain:
        return Cell("Logplex forwards the logs to `log_drain_url` (syslog+TLS or HTTPS)", (label(drain),),
                    ("log_drain_url",))
    return None


def one_off(plan: Plan) -> Cell | None:
    app = first(plan, t.HEROKU_APP)
    if app and "heroku_run" in plan.outputs:
        return Cell("`heroku_run` output: `heroku run` of a one-off dyno (DYNO=run.*) with the app's image and config "
                    "vars, attached and gone at the end; `sh`, or any command after `--`", (label(app),))
    return None


def backups(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).database:
        return unused_database("Heroku Postgres then keeps backups as its plan does (`postgres_plan`)")
    addon = _postgres_plan(plan)
    if addon and has_continuous_protection(addon[1]):
        return Cell(f"{addon[1]} has Continuous Protection (physical backups and WAL) and rollback to any point "
                    "in time", (label(addon[0]),), ("postgres_plan",))
    return None


def db_isolation(plan: Plan) -> Unused | None:
    """An app without a database; one with the add-on gets the row's gap (the Common Runtime's Postgres is open)."""
    return None if spec(plan).database else unused_database(
        "Heroku Postgres on the Common Runtime is then reachable from anywhere, guarded by its credentials and TLS; a "
        "Private Space's private plan (Heroku Enterprise) isolates it")


def move(plan: Plan) -> Cell | Unused | None:
    """`make move` reads the add-on's DATABASE_URL through the Platform API and stops the app Heroku's way."""
    if not spec(plan).database:
        return unused_move()
    addon, app = _postgres_plan(plan), first(plan, t.HEROKU_APP)
    if addon and app and "app_name" in plan.outputs:
        return Cell(f"`make move ARGS=\"--from {plan.stack} --to <k8s stack>\"`: the add-on's DATABASE_URL through the "
                    "Platform API; maintenance mode and every process type but web at 0 while writes stop, and the "
                    "database refusing them; `--online` stops writes for seconds", (label(app), label(addon[0])))
    return None


def cost(plan: Plan) -> Cell | None:
    """Every process type's formation, and the Postgres add-on where the app has one."""
    formations = sorted((r for r in all_of(plan, t.HEROKU_FORMATION) if inputs(r)["size"] in DYNO_SIZES),
                        key=lambda r: (inputs(r)["type"] != "web", inputs(r)["type"]))
    addon = _postgres_plan(plan)
    if not formations or (addon and addon[1] not in POSTGRES_PLANS):
        return None
    sizes = [(inputs(r)["size"], inputs(r)["quantity"]) for r in formations]
    usd = monthly_cost_usd(sizes, addon[1] if addon else None)
    what = [f"{inputs(r)['type']} {quantity} x {size}" for r, (size, quantity) in zip(formations, sizes, strict=True)]
    what += [f"heroku-postgresql:{addon[1]}"] if addon else []
    return Cell(f"about ${usd:g} a month: {' + '.join(what)} at list prices of {PRICES_AS_OF}; `monthly_cost_usd` "
                "output", tuple(label(r) for r in formations) + ((label(addon[0]),) if addon else ()),
                ("dyno_size", "dyno_quantity", *(["postgres_plan"] if addon else [])))
