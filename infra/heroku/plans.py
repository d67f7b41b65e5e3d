"""Heroku's dyno sizes and Postgres plans: what each allows and costs, for validation and the cost estimate.

Facts and prices as published by Heroku; re-check them when Heroku changes its offer:
- Sizes and memory: https://devcenter.heroku.com/articles/dyno-types (June 2024).
- Horizontal scaling (Standard tier and up; Eco and Basic run one dyno per process type):
  https://devcenter.heroku.com/articles/dyno-tiers (April 2025).
- Mixing sizes across process types: an app on eco dynos uses eco for all its process types, one on basic uses
  basic for all; only standard and performance sizes mix: https://devcenter.heroku.com/articles/dyno-types,
  "Mixing dyno types".
- ACM (free TLS for custom domains) on paid dynos only, i.e. not Eco:
  https://devcenter.heroku.com/articles/understanding-ssl-on-heroku and .../automated-certificate-management.
- Preboot (new web dynos start before the old ones stop) on professional dynos only, standard and performance:
  https://devcenter.heroku.com/articles/preboot (May 2023).
- Continuous Protection (physical backups and WAL, hence rollback) on Standard-tier Postgres and up; PGBackups
  (manual and scheduled logical backups) on every plan: https://devcenter.heroku.com/articles/pgbackups (May 2024).
- WEB_CONCURRENCY the Python buildpack would set (min(RAM/256 MB, 2 x cores + 1)); container apps get no
  buildpack, so the stack sets it: https://devcenter.heroku.com/articles/python-concurrency (December 2024).
- Prices in USD per month at 24/7 use, from https://www.heroku.com/pricing and
  https://elements.heroku.com/addons/heroku-postgresql as of December 2024 (dyno prices cross-checked with
  https://devcenter.heroku.com/articles/usage-and-billing, October 2024). Eco is a $5 flat fee per account for a
  1000-hour pool, not per dyno.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PRICES_AS_OF = "2024-12"
PRICES_SOURCE = "https://www.heroku.com/pricing"


@dataclass(frozen=True)
class DynoSize:
    """One Common Runtime dyno size."""

    memory_mb: int
    usd_per_month: float
    web_concurrency: int
    scalable: bool  # more than one dyno per process type
    acm: bool  # Automated Certificate Management for custom domains
    preboot: bool  # the preboot feature: zero-downtime web deploys
    flat_fee: bool = False  # billed once per account, whatever the quantity (Eco)


DYNO_SIZES: dict[str, DynoSize] = {
    "eco": DynoSize(512, 5.0, 2, scalable=False, acm=False, preboot=False, flat_fee=True),
    "basic": DynoSize(512, 7.0, 2, scalable=False, acm=True, preboot=False),
    "standard-1x": DynoSize(512, 25.0, 2, scalable=True, acm=True, preboot=True),
    "standard-2x": DynoSize(1024, 50.0, 4, scalable=True, acm=True, preboot=True),
    "performance-m": DynoSize(2560, 250.0, 5, scalable=True, acm=True, preboot=True),
    "performance-l": DynoSize(14336, 500.0, 17, scalable=True, acm=True, preboot=True),
    "performance-l-ram": DynoSize(30720, 500.0, 9, scalable=True, acm=True, preboot=True),
    "performance-xl": DynoSize(63488, 750.0, 17, scalable=True, acm=True, preboot=True),
    "performance-2xl": DynoSize(129024, 1500.0, 33, scalable=True, acm=True, preboot=True),
}

def mixing_group(size: str) -> str:
    """Sizes an app may run side by side, one per process type: eco alone, basic alone, standard and performance."""
    return size if size in ("eco", "basic") else "standard/performance"


# Current Heroku Postgres plans (the legacy mini/basic/hobby plans are retired) and their monthly prices.
POSTGRES_PLANS: dict[str, float] = {
    "essential-0": 5.0,
    "essential-1": 9.0,
    "essential-2": 20.0,
    "standard-0": 50.0,
    "standard-2": 200.0,
    "standard-3": 400.0,
    "standard-4": 750.0,
    "premium-0": 200.0,
    "premium-2": 350.0,
    "premium-3": 750.0,
    "premium-4": 1200.0,
}

# Plan tiers whose databases have Continuous Protection, hence point-in-time rollback into a new database.
CONTINUOUS_PROTECTION_TIERS = ("standard", "premium")


def has_continuous_protection(postgres_plan: str) -> bool:
    return postgres_plan.split("-", 1)[0] in CONTINUOUS_PROTECTION_TIERS


def monthly_cost_usd(formations: Iterable[tuple[str, int]], postgres_plan: str | None) -> float:
    """Estimated bill: the dynos of every process type's formation, (size, quantity), with Eco's flat fee once per
    account whatever runs on it, plus the Postgres plan where the app has the add-on; 24/7, before taxes and
    credits."""
    dynos, eco = 0.0, False
    for size_name, quantity in formations:
        size = DYNO_SIZES[size_name]
        if size.flat_fee:
            eco = eco or quantity > 0
        else:
            dynos += size.usd_per_month * quantity
    eco_fee = DYNO_SIZES["eco"].usd_per_month if eco else 0.0
    return round(dynos + eco_fee + (POSTGRES_PLANS[postgres_plan] if postgres_plan else 0.0), 2)
