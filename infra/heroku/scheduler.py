"""app.json `cron` tasks on Heroku: what to enter in Heroku Scheduler, which the stack cannot do itself.

Heroku Scheduler (devcenter.heroku.com/articles/scheduler) runs a job as a one-off dyno (`scheduler.N`) "every 10
minutes, every hour, or every day, at a specified time", set up in its dashboard only: the add-on has no Platform
API for its jobs, and no provider resource makes one. So for each task the stack says at preview, and in the
`heroku_scheduler_jobs` output, the job to add: its frequency and command. A schedule finer than those frequencies
becomes the nearest coarser job whose command first checks the UTC hour, day or month (`date -u`) and otherwise
exits; a minute that is not a whole ten, or a schedule restricting both day of month and day of week (which cron
reads as either), cannot be kept, and the warning says so with the workaround Heroku gives, a clock process
(devcenter.heroku.com/articles/scheduled-jobs-custom-clock-processes).
"""

from __future__ import annotations

from infra import cron
from infra.contract import AppSpec, CronTask, heroku_command, heroku_database_env

TEN_MINUTES = frozenset(range(0, 60, 10))
_HALF_HOURS = (0, 30)
CLOCK = "devcenter.heroku.com/articles/scheduled-jobs-custom-clock-processes"
# The `date -u` field each restricted cron field is checked against, and its width.
_GUARDS = ((1, "%H", 2), (2, "%d", 2), (3, "%m", 2), (4, "%w", 1))


def job(task: CronTask, spec: AppSpec) -> tuple[str, str] | str:
    """(frequency, command) of the Scheduler job that runs `task` at its times, or why none can."""
    schedule, _ = cron.parse(task.schedule)
    if schedule is None:
        return f"{task.schedule} runs at an interval from whenever the scheduler started, not at set times"
    minutes, hours = schedule.values[:2]
    if not schedule.starred[2] and not schedule.starred[4]:
        return "it restricts both the day of the month and the day of the week, which cron reads as either"
    if minutes == TEN_MINUTES:
        frequency, checked = "Every 10 minutes", (1, 2, 3, 4)
    elif len(minutes) == 1 and (minute := min(minutes)) in TEN_MINUTES:
        if len(hours) == 1 and minute in _HALF_HOURS:
            frequency, checked = f"Every day at {min(hours):02d}:{minute:02d} (UTC)", (2, 3, 4)
        else:
            frequency, checked = f"Every hour at :{minute:02d}", (1, 2, 3, 4)
    else:
        shown = ", ".join(f":{m:02d}" for m in sorted(minutes)[:6]) + (" ..." if len(minutes) > 6 else "")
        return f"it runs at {shown} past the hour, and Scheduler only at a whole ten minutes, or every ten"
    guards = [f'case "$(date -u +{fmt})" in {"|".join(f"{v:0{width}d}" for v in sorted(schedule.values[field]))}) '
              ";; *) exit 0;; esac" for field, fmt, width in _GUARDS
              if field in checked and not schedule.starred[field] and schedule.values[field] != frozenset(
                  range(cron.FIELDS[field].low, cron.FIELDS[field].high + 1))]
    # Behind the prelude that sets PG* and the app's database variables from DATABASE_URL, as heroku.yml's are.
    return frequency, "; ".join([*guards, heroku_command(task.command, heroku_database_env(spec))])


def jobs(spec: AppSpec) -> list[str]:
    """Each task's job as `<frequency>: <command>`, or why Scheduler cannot run it; none for a task in maintenance."""
    lines = []
    for index, task in enumerate(spec.cron):
        if task.maintenance:
            continue
        found = job(task, spec)
        lines.append(f"{found[0]}: {found[1]}" if isinstance(found, tuple) else
                     f"cron[{index}] ({task.schedule}) has no Scheduler job: {found}")
    return lines


def warnings(spec: AppSpec, app_name: str) -> list[str]:
    """The preview warning of each task: the steps that schedule it on Heroku, or why it cannot be."""
    out = []
    for index, task in enumerate(spec.cron):
        where = f"{spec.shown}/app.json cron[{index}] ({task.schedule}: {task.command})"
        if task.maintenance:
            out.append(f"{where} is in maintenance: not scheduled on Heroku either.")
            continue
        found = job(task, spec)
        if isinstance(found, str):
            out.append(f"{where} cannot run on Heroku Scheduler, whose jobs run every 10 minutes, every hour or "
                       f"every day: {found}. Fix: a schedule it can keep (e.g. \"0 3 * * *\"), or a clock process "
                       f"of the app's own ({CLOCK}).")
            continue
        out.append(f"{where}: Heroku Scheduler has no API, so the stack cannot add this job. Once: `heroku "
                   f"addons:create scheduler:standard --app {app_name}` (free; its runs are billed as one-off "
                   f"dynos), then `heroku addons:open scheduler --app {app_name}` and Add Job: \"{found[0]}\", "
                   f"Run Command: {found[1]} (also in the `heroku_scheduler_jobs` output). Scheduler is best "
                   "effort: it may rarely skip a run.")
    return out
