"""`python -m move --from SRC --to DST [--check] [--online] [--revert] [--yes]` (`make move ARGS="..."`).

SRC and DST are each a stack (`heroku`, `k8s`, or the name of any `Pulumi.<stack>.yaml`), whose database the
command finds itself, or a `postgres://` URL. A problem is one line on stderr and exit status 2; nothing changed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

import psycopg

from move import dumpfile, run, stacks
from move.db import URL_FORM, Database, MoveError, check_url, redacted
from move.progress import Report

EXAMPLES = """examples:
  make move ARGS="--from heroku --to k8s --check"      what the move would do; changes nothing
  make move ARGS="--from heroku --to k8s"              stop writes, copy, verify, cut over
  make move ARGS="--from heroku --to k8s --online"     copy while the app runs; writes stop for seconds
  make move ARGS="--from heroku --to k8s --revert"     the source takes writes again, its app runs again
  python -m move --from postgres://u:p@old/db --to postgres://u:p@new/db --yes
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m move", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Move an app's PostgreSQL database between two stacks (Heroku, Kubernetes) or any two servers: "
                    "preflight, stop writes, copy, verify, cut over. Killed, the same command resumes.")
    p.add_argument("--from", dest="source", required=True, metavar="SRC",
                   help="the source: a stack name (heroku, k8s, any Pulumi.<stack>.yaml), a postgres:// URL, or a "
                        "pg_dump archive (a restore drill: restored into a server of its own, then moved and "
                        "verified against it)")
    p.add_argument("--to", dest="target", required=True, metavar="DST", help="the target: a stack name or a URL")
    p.add_argument("--check", action="store_true", help="run the preflight only: changes nothing anywhere")
    p.add_argument("--online", action="store_true",
                   help="copy while the source takes writes, capturing changes with triggers; writes stop only "
                        "for the last changes (seconds)")
    p.add_argument("--revert", action="store_true",
                   help="undo the move from SRC to DST: SRC takes writes again (and its app runs), DST's copy is "
                        "given up; refused if DST took writes since the cutover")
    p.add_argument("--yes", action="store_true", help="do not ask before stopping writes")
    p.add_argument("--jobs", type=int, default=min(8, max(2, os.cpu_count() or 2)), metavar="N",
                   help="tables (or parts of a large table) copied and verified at once (default: %(default)s)")
    return p


# What a dump file is often called: a missing one is named as a file, not looked for as a stack.
DUMP_SUFFIXES = (".dump", ".backup", ".tar", ".sql", ".pgdump", ".gz")


def side(label: str, value: str, stack: contextlib.ExitStack, jobs: int) -> run.Side:
    if value.startswith(("postgres://", "postgresql://")):
        check_url(label, value)
        return run.Side(Database(label, value))
    if dumpfile.is_dump(value):
        return stack.enter_context(dumpfile.resolve(value, label, jobs))
    if "://" in value or "@" in value or "password=" in value:  # a URL mistyped, or libpq's key=value form
        raise MoveError(f"{label} {redacted(value)}: not a postgres:// URL: write it as {URL_FORM}")
    if "/" in value or Path(value).suffix in DUMP_SUFFIXES:  # a path, not a stack's name
        raise MoveError(f"{label} {value}: no such file: give the path of a pg_dump archive, a stack's name or a "
                        f"postgres:// URL")
    return stack.enter_context(stacks.resolve(value, label))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.jobs < 1:
        parser().error("--jobs must be 1 or more")
    report = Report()
    options = run.Options(check=args.check, online=args.online, revert=args.revert, yes=args.yes, jobs=args.jobs)
    # SIGTERM (a CI runner's cancel) unwinds like Ctrl-C: a failure after writes stopped gives them back.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with contextlib.ExitStack() as stack:
            source = side("source", args.source, stack, args.jobs)
            target = side("target", args.target, stack, args.jobs)
            if options.revert:
                run.revert(source, target, options, report)
            else:
                run.move(source, target, options, report)
    except MoveError as error:
        print(f"move: {error}", file=sys.stderr)
        return 2
    except psycopg.Error as error:
        message = (error.diag.message_primary or str(error)).strip().splitlines()[0]
        print(f"move: the database refused a step: {message}: run the same command again to resume, or with "
              "--revert to undo", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("move: interrupted: run the same command again to resume, or with --revert to undo", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
