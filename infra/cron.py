"""Cron schedules as Kubernetes reads a CronJob's `schedule`, checked before anything is created.

The API server validates a schedule with robfig/cron v3's `ParseStandard` (kubernetes `pkg/apis/batch/validation`,
validateScheduleFormat), and refuses a `TZ=`/`CRON_TZ=` prefix (the CronJob's `timeZone` says it instead). The
rules below are that parser's (robfig/cron `parser.go`, getRange and parseDescriptor; bounds from `spec.go`): five
fields of comma-separated ranges `*`, `?`, `N`, `N-M`, each with an optional `/step`; month and weekday names; the
descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly and `@every <duration>`. Dokku's
app.json `cron` uses the same parser with the same options (dokku `plugins/cron/cron.go`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The descriptors and the five fields each stands for (robfig parseDescriptor).
DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
               "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, {m: i for i, m in enumerate(_MONTHS, start=1)}),
    _Field("day of week", 0, 6, {d: i for i, d in enumerate(_DAYS)}),
)
# Go's time.ParseDuration: one or more decimal numbers, each with a unit.
_GO_DURATION = re.compile(r"^(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|ms|s|m|h))+$")


@dataclass(frozen=True)
class Schedule:
    """A parsed five-field schedule: the values each field allows, and which fields were `*` or `?`."""

    values: tuple[frozenset[int], ...]  # minute, hour, day of month, month, day of week
    starred: tuple[bool, ...]


def problem(schedule: str) -> str | None:
    """Why Kubernetes would refuse `schedule` (a phrase such as "has 4 fields, not 5 (...)"), or None."""
    return parse(schedule)[1]


def parse(schedule: str) -> tuple[Schedule | None, str | None]:
    """`schedule` parsed (a descriptor as its five fields; None for `@every`), or why it is refused."""
    if not isinstance(schedule, str) or not schedule.strip():
        return None, "is empty"
    if schedule.startswith(("TZ=", "CRON_TZ=")):
        return None, "sets a time zone, which Kubernetes refuses in a schedule (schedules run in UTC here)"
    if schedule.startswith("@"):
        if schedule in DESCRIPTORS:
            return parse(DESCRIPTORS[schedule])
        if schedule.startswith("@every "):
            duration = schedule.removeprefix("@every ")
            return None, None if _GO_DURATION.match(duration) else f"has {duration!r}, not a duration like 1h30m"
        return None, f"is not one of {', '.join(DESCRIPTORS)} or @every <duration>"
    fields = schedule.split()
    if len(fields) != len(FIELDS):
        return None, f"has {len(fields)} fields, not 5 (minute hour day-of-month month day-of-week)"
    values, starred = [], []
    for text, spec in zip(fields, FIELDS, strict=True):
        allowed, star, why = _field(text, spec)
        if why:
            return None, f"has {why[0]!r} in its {spec.name} field: {why[1]}"
        values.append(frozenset(allowed))
        starred.append(star)
    return Schedule(tuple(values), tuple(starred)), None


def _field(text: str, spec: _Field) -> tuple[set[int], bool, tuple[str, str] | None]:
    """robfig's getField: comma-separated ranges; the values, whether it is a bare `*`/`?`, or the part that is
    wrong and why."""
    allowed: set[int] = set()
    star = False
    for expr in (part for part in text.split(",") if part):
        range_text, *steps = expr.split("/")
        if len(steps) > 1:
            return set(), False, (expr, "too many slashes")
        bounds = range_text.split("-")
        if bounds[0] in ("*", "?"):
            if len(bounds) > 1:
                return set(), False, (expr, f"a range from {bounds[0]}")
            start, end = spec.low, spec.high
        else:
            if len(bounds) > 2:
                return set(), False, (expr, "too many hyphens")
            numbers = [_number(b, spec) for b in bounds]
            if None in numbers:
                return set(), False, (expr, "not a number or name")
            start, end = numbers[0], numbers[-1]
            if steps and len(bounds) == 1:  # "N/step" means "N-max/step"
                end = spec.high
        step = 1
        if steps:
            if not steps[0].isdigit():
                return set(), False, (expr, "its step is not a number")
            step = int(steps[0])
        if start < spec.low or end > spec.high:
            return set(), False, (expr, f"outside {spec.low}-{spec.high}")
        if start > end:
            return set(), False, (expr, "a range that ends before it begins")
        if step == 0:
            return set(), False, (expr, "a step of 0")
        star = star or (bounds[0] in ("*", "?") and step == 1)  # robfig's starBit
        allowed.update(range(start, end + 1, step))
    if not allowed:
        return set(), False, (text, "no value")
    return allowed, star, None


def _number(text: str, spec: _Field) -> int | None:
    if text.lower() in spec.names:
        return spec.names[text.lower()]
    return int(text) if text.isdigit() else None
