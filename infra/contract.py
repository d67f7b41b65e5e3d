"""The app contract: what an app states about itself, read once from the files 12-factor apps already ship.

The app directory (stack setting `app_dir`, default the project's `app/`) holds:

- `Dockerfile` (required): the image both platforms run. Apps built by buildpacks alone are refused for now. Its
  `USER` (`image_user`) is kept on k8s when it is a non-root number (infra/k8s/process.py); Heroku runs dynos as a
  user of its own, whatever the Dockerfile says.
- `Procfile` (required): one `<type>: <command>` per line, `#` comments and blank lines allowed (Heroku,
  devcenter.heroku.com/articles/procfile; Dokku, dokku.com/docs/processes/process-management, which parses it with
  procfile-util: names of letters, digits, `_` and `-`, here at most 40 and distinct once lower-cased with `-` for
  `_`, as Kubernetes names them). `web` is required and is the only type that gets a port
  and HTTP traffic; `release` is the release phase (run once per new image, before the new processes start, and
  a failure stops the rollout); every other type is a worker (Heroku: "any other process type"). Commands are
  shell commands: `$PORT` and the like are expanded, as Heroku and Dokku do (on k8s a command without shell syntax
  runs without a shell, so images without one work); on k8s they replace the image's CMD and keep its ENTRYPOINT.
  On k8s a web or worker command that needs a shell runs as `sh -c 'exec <cmd>'` when it is one simple command,
  else under a shell that forwards SIGTERM to it (`process_argv`), since the kubelet signals PID 1 only.
- `app.json` (optional): Heroku's schema (devcenter.heroku.com/articles/app-json-schema) with Dokku's extensions
  (dokku.com/docs/appendices/file-formats/app-json). Read keys:
  - `env`: `{NAME: "value"}` or `{NAME: {description, value, required, generator}}`. `required` defaults to
    true (Heroku's default): a variable without `value` or `generator` must then be given by the stack
    (`paasport:config_vars` or `paasport:secret_config_vars`). `generator: "secret"` makes a random secret once
    (pulumi-random, kept in the stack's state as a secret, the same at every `pulumi up`). The stack's config vars
    win over app.json's values. DATABASE_URL, PORT and DYNO are refused: both platforms set them. The app's own
    PGSSLMODE wins over the Heroku stack's `require`.
  - `formation`: `{type: {quantity, size, autoscaling}}`; `size` is a Heroku dyno size (infra.heroku.plans), which
    the k8s stack maps to requests and limits; `autoscaling` is Dokku's (`min_quantity`, `max_quantity`,
    `triggers` of `type: cpu` with `metadata.value`, a CPU percentage). For `web`, the stack's own settings
    (`dyno_size`/`dyno_quantity`, `replicas`/`hpa_*`) decide; app.json's web formation is what they are checked
    against (a difference is a warning at preview). Quantity defaults: 1 for web, 0 for others (Dokku). A worker
    may not have a port (`service.exposed`, or a check with path or port): Heroku routes HTTP to web only.
  - `healthchecks`: Dokku's, per process type: a list of `{type: startup|liveness|readiness, path, timeout,
    initialDelay, attempts, wait, httpHeaders}`; defaults are Dokku's CHECKS ones (timeout 30, attempts 5, wait
    5). On k8s these are the probes (path -> httpGet.path, httpHeaders -> httpGet.httpHeaders, timeout ->
    timeoutSeconds, initialDelay -> initialDelaySeconds, attempts -> failureThreshold, wait -> periodSeconds); a
    check without `path` is a TCP check, and a web without checks gets TCP readiness and liveness. Heroku has no
    probes, which the parity table and a preview warning say. Options with no equivalent are warnings.
  - `addons`: `heroku-postgresql` (a string, `heroku-postgresql:<plan>`, or `{plan, as}`). `as: NAME` also sets
    `NAME_URL` (Heroku's attachment naming). The stack's `postgres_plan` decides the plan.
  - `cron`: Dokku's scheduled tasks (dokku.com/docs/processes/scheduled-cron-tasks; dokku `plugins/app-json`
    CronTask): a list of `{command, schedule, concurrency_policy, maintenance}`. `schedule` is checked as
    Kubernetes' parser reads it (infra/cron.py; UTC); `command` is a shell command like the Procfile's, or the name
    of a Procfile process type, which runs that type's command (Dokku's `run` does the same); `concurrency_policy`
    is `allow`, `forbid` or `replace`, default `forbid` (Dokku's default is `allow`: a task whose run outlasts its
    interval would otherwise pile up); `maintenance: true` keeps the task from running. On k8s each becomes a
    CronJob (infra/k8s/cron.py); Heroku Scheduler has no API, so the Heroku stack says at preview what to enter in
    its dashboard (infra/heroku/scheduler.py).
  - `scripts`, `name`, `description`, `keywords`, `website`, `repository`, `logo`, `success_url`, `stack`,
    `buildpacks`, `environments`, `image`: accepted and not used.
  - `paasport`: this project's extension (the only key beyond Heroku's and Dokku's):
    - `port` (web's PORT on k8s, default 5000, Dokku's; 1024 or more, since the pod runs without root or
      capabilities; Heroku picks its own and sets PORT);
    - `metrics_path` (Prometheus scrape path on k8s; none by default);
    - `writable_paths` (absolute paths the k8s pod mounts an empty writable volume on, besides /tmp);
    - `read_only_root` (default true; false lets an image that writes where it was built run, and the parity
      table and Checkov then report the relaxed hardening);
    - `database_env`: how an app that does not read DATABASE_URL names its database settings:
      `{"DB_HOST": "host", "DB_PORT": "port", "DB_NAME": "name", "DB_USER": "user", "DB_PASSWORD": "password",
      "DB_URL": "url"}` (any names; the parts are those five and `url`). On k8s they are set from the same
      Secret and values as DATABASE_URL and PG*. On Heroku the generated heroku.yml starts every process (and the
      release) with a POSIX-shell prelude that derives them from DATABASE_URL at each dyno start, so they
      follow a credential rotation (Heroku updates DATABASE_URL and restarts the dynos:
      devcenter.heroku.com/articles/heroku-postgresql-credentials; passwords are alphanumeric there, so the URL
      needs no decoding). This needs `/bin/sh` in the image, and a generated heroku.yml (no heroku.yml of the
      app's own). The same prelude sets libpq's PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD for an app with
      the add-on (Heroku sets DATABASE_URL only; k8s sets both), unless the app's env sets them; where there is
      no prelude (registry mode, an app's own heroku.yml), a preview warning and the parity table say so.
- `heroku.yml` (optional): used as is for the Heroku build when present, after a check against what Heroku takes
  (`_heroku_yml`); otherwise the stack writes one from the Procfile into the build archive.

These four files are read on the deploying machine, so none may be a symbolic link that leads out of the app
directory: a shared or cloned repository could otherwise make the stack read any file there. Links inside the app
are followed. Elsewhere in the app, links are kept as links by both the Docker context and the Heroku archive
(infra/heroku/source.py), never followed.

Every problem names the file, the line or key, and the fix; `read` returns them all (and the warnings in the
spec), and `infra.settings.load` raises them with the stack's other problems (the variables app.json requires,
the sizes each platform has) as one message at preview: one run reports them all.

On k8s the app also gets Heroku's runtime contract (infra/k8s/app_env.py): PORT, `DYNO=<type>.<pod name>` (via
`$(PAASPORT_POD_NAME)`, which the kubelet expands), DATABASE_URL from a Secret with PG* beside it, LOG_LEVEL,
WEB_CONCURRENCY, X-Forwarded-Proto/-For from Emissary, 30 s from SIGTERM to SIGKILL.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra import cron

MAX_PROCESS_NAME = 40
_PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.*)$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
PLATFORM_VARS = ("DATABASE_URL", "PORT", "DYNO")  # Heroku's runtime contract, set on both platforms
DATABASE_PARTS = ("host", "port", "name", "user", "password", "url")
# libpq's connection variables (postgresql.org/docs/current/libpq-envars.html) and the parts they are set from.
LIBPQ_ENV = {"PGHOST": "host", "PGPORT": "port", "PGDATABASE": "name", "PGUSER": "user", "PGPASSWORD": "password"}
CHECK_TYPES = ("startup", "liveness", "readiness")
DEFAULT_PORT = 5000  # Dokku's PORT for a process it exposes (app.json, formation.service)
# Dokku's CHECKS defaults (dokku.com/docs/deployment/zero-downtime-deploys): wait 5 s, timeout 30 s, 5 attempts.
CHECK_DEFAULTS = {"timeout": 30, "initialDelay": 0, "attempts": 5, "wait": 5}
# Heroku's app.json keys (app-json-schema) and Dokku's (app-json), beyond the ones read here: accepted, unused.
_UNUSED_KEYS = ("name", "description", "keywords", "website", "repository", "logo", "success_url", "scripts",
                "stack", "buildpacks", "environments", "image")
_READ_KEYS = ("env", "formation", "healthchecks", "addons", "cron", "paasport")
_ENV_KEYS = ("description", "value", "required", "generator")
_FORMATION_KEYS = ("quantity", "size", "autoscaling", "max_parallel", "service")
_AUTOSCALING_KEYS = ("min_quantity", "max_quantity", "cooldown_period_seconds", "polling_interval_seconds",
                     "triggers")
_CHECK_KEYS = ("type", "name", "description", "path", "timeout", "initialDelay", "attempts", "wait", "port",
               "scheme", "content", "uptime", "listening", "warn", "httpHeaders", "command", "onFailure")
_PAASPORT_KEYS = ("port", "metrics_path", "writable_paths", "read_only_root", "database_env")
_CRON_KEYS = ("command", "schedule", "concurrency_policy", "maintenance")  # Dokku's CronTask
CONCURRENCY_POLICIES = ("allow", "forbid", "replace")
POSTGRES_ADDON = "heroku-postgresql"
# Paths the k8s pod always mounts writable volumes on.
ALWAYS_WRITABLE = ("/tmp", "/dev/shm")  # noqa: S108


@dataclass(frozen=True)
class Check:
    """One Dokku healthcheck of a process: an HTTP GET of `path` (a TCP connect when empty) on the process's port."""

    type: str  # startup, liveness or readiness
    path: str
    timeout_s: int
    initial_delay_s: int
    attempts: int
    wait_s: int
    headers: tuple[tuple[str, str], ...] = ()  # Dokku's httpHeaders, sent with the HTTP check


@dataclass(frozen=True)
class Autoscaling:
    """Dokku's autoscaling of a process type, as the k8s stack can honour it: CPU utilisation between bounds."""

    min_quantity: int
    max_quantity: int
    cpu_percent: int


@dataclass(frozen=True)
class Process:
    """A Procfile process type with its app.json formation and healthchecks."""

    name: str
    command: str  # a shell command, as the Procfile gives it
    quantity: int
    size: str  # a Heroku dyno size; empty: the platform's default
    autoscaling: Autoscaling | None = None
    checks: tuple[Check, ...] = ()

    @property
    def is_web(self) -> bool:
        return self.name == "web"


@dataclass(frozen=True)
class CronTask:
    """One app.json `cron` entry: a command run on a UTC schedule in a one-off process of the app's image."""

    command: str  # a shell command (a Procfile type's name already replaced by its command)
    schedule: str  # five cron fields or a descriptor, as Kubernetes' parser takes them (infra/cron.py)
    concurrency_policy: str  # allow, forbid or replace
    maintenance: bool = False  # Dokku's: the task is kept and does not run
    process: str = ""  # the Procfile type `command` named, if it did


@dataclass(frozen=True)
class EnvVar:
    """A variable of app.json's `env`."""

    name: str
    value: str | None
    required: bool
    generator: str  # "secret", or empty
    description: str = ""


@dataclass(frozen=True)
class AppSpec:
    """One app's contract, read once; both platforms consume it."""

    directory: Path  # absolute
    shown: str  # the directory as the stack names it, for messages
    processes: dict[str, Process]  # web first, then the workers, in Procfile order; never the release
    release: str | None  # the release phase's shell command
    env: tuple[EnvVar, ...]
    database: bool  # the heroku-postgresql add-on
    database_env: dict[str, str]  # the app's own variable -> database part (DATABASE_PARTS)
    port: int
    metrics_path: str
    writable_paths: tuple[str, ...]
    read_only_root: bool
    heroku_yml: bool  # the app ships its own heroku.yml
    cron: tuple[CronTask, ...] = ()
    user: str = ""  # the Dockerfile's USER, as written (`image_user`); "": it sets none
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def web(self) -> Process:
        return self.processes["web"]

    @property
    def workers(self) -> list[Process]:
        return [p for p in self.processes.values() if not p.is_web]

    @property
    def generated(self) -> list[EnvVar]:
        return [v for v in self.env if v.generator]

    @property
    def plain_env(self) -> dict[str, str]:
        """app.json's values (not the generated ones): what the app gets unless the stack sets otherwise."""
        return {v.name: v.value for v in self.env if v.value is not None and not v.generator}


def argv(command: str) -> list[str]:
    """`command` as a container's argv: split as is when no shell feature is used (images without a shell work),
    else run by `/bin/sh -c` as Heroku and Dokku run Procfile commands."""
    if re.search(r"[$`|&;<>(){}*?~\\\n]", command) is None:
        try:
            return shlex.split(command)
        except ValueError:
            pass
    return ["/bin/sh", "-c", command]


# Redirections are operators too, but `exec cmd 2>&1` applies them to the exec'd program: still one command.
_REDIRECTIONS = frozenset(("<", ">", ">>", "<<", ">&", "<&", "<>", ">|"))
# Words that make the command something other than one program: reserved words, builtins `exec` cannot run.
_SHELL_WORDS = frozenset(("!", "{", "}", "if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until",
                          "do", "done", "in", ".", ":", "alias", "break", "cd", "command", "continue", "eval",
                          "exit", "export", "readonly", "return", "set", "shift", "source", "times", "trap", "ulimit",
                          "umask", "unset", "wait"))
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def simple_command(command: str) -> bool:
    """True when `command` is one program with its arguments and redirections: no control operator (`; & && || |
    ( )`), reserved word or builtin at top level, no leading `NAME=value`, so `exec <command>` runs the same program.

    Tokenized by shlex in punctuation mode (quotes kept together, operators split from words); anything it cannot
    read, and a quoted word that is an operator's spelling, counts as compound, which is always safe."""
    if "\n" in command:
        return False
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.commenters = ""  # `#` starts a comment only at a word's start; a word with `#` inside must not end here
    try:
        tokens = list(lexer)
    except ValueError:
        return False
    if not tokens or tokens[0] in _SHELL_WORDS or _ASSIGNMENT.match(tokens[0]):
        return False
    return not any(t and set(t) <= set(lexer.punctuation_chars) and t not in _REDIRECTIONS for t in tokens)


def exec_form(command: str) -> str:
    """A simple command (`simple_command`) with `exec` in front, so that it replaces the shell; once only."""
    return command if shlex.split(command)[0] == "exec" else f"exec {command}"


# The compound command runs as sh's child; on SIGTERM, sh (PID 1, which the kubelet alone signals) ignores further
# TERMs and sends one to its whole process group, as Heroku's dyno manager does to every process of the dyno, then
# waits for the command to end and exits with its status. The subshell catches TERM (`trap :`; programs it starts
# get the default action back at exec) so that it outlives its own children, e.g. both ends of a pipeline, while
# they shut down, instead of dying at once and leaving them to be SIGKILLed when PID 1 exits.
_FORWARD_TERM = ('trap \'trap "" TERM; kill -TERM 0 2>/dev/null\' TERM\n'
                 '(trap : TERM\n{command}\n) &\n'
                 '_p=$!\n'
                 'while :; do wait "$_p"; _s=$?; kill -0 "$_p" 2>/dev/null || exit "$_s"; done\n')


def process_argv(command: str) -> list[str]:
    """`command` as the argv of a long-running process (web, workers) on k8s, stopped by SIGTERM to PID 1.

    The kubelet has the runtime send SIGTERM "to the main process in each container", then KILL after the grace
    period (kubernetes.io/docs/concepts/workloads/pods/pod-termination/); Heroku's dyno manager sends it to every
    process of the dyno ("Stopping all processes with SIGTERM", devcenter.heroku.com/articles/dynos#shutdown).
    A shell as PID 1 has no default action for SIGTERM (PID 1 ignores signals it does not handle), so
    `sh -c '<cmd>'` would let the app be killed after 30 s. A simple command therefore replaces the shell
    (`exec`); a compound one runs under a shell that forwards SIGTERM to it (_FORWARD_TERM). A command without
    shell syntax runs without a shell, as `argv` does."""
    args = argv(command)
    if args[:2] != ["/bin/sh", "-c"]:
        return args
    if simple_command(command):
        return ["/bin/sh", "-c", exec_form(command)]
    return ["/bin/sh", "-c", _FORWARD_TERM.format(command=command)]


def dockerfile_lines(directory: Path) -> list[str]:
    """The app's Dockerfile as lines, each continued line joined to the one it continues; [] without one."""
    dockerfile = directory / "Dockerfile"
    if not dockerfile.is_file():
        return []
    return re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8", errors="replace")).splitlines()


def package_json(directory: Path) -> dict[str, Any]:
    """The app's package.json (a Node.js app's); {} without one, or when it is not a JSON object."""
    try:
        data = json.loads((directory / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def image_command(directory: Path) -> list[str]:
    """The image's start command: the Dockerfile's last CMD (exec form as is, shell form as `/bin/sh -c`, as
    Docker runs it); [] without one."""
    cmds = [line.strip()[4:].strip() for line in dockerfile_lines(directory) if line.strip().upper().startswith("CMD ")]
    if not cmds:
        return []
    try:
        value = json.loads(cmds[-1])
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    except ValueError:
        pass
    return ["/bin/sh", "-c", cmds[-1]]


def image_user(directory: Path) -> str:
    """The user the image runs its processes as: the last `USER` of the Dockerfile's last stage, or of the stage
    that stage is built `FROM`, which it inherits (Docker's rule); "" when the Dockerfile sets none (then the base
    image's, which the file does not say). As written: `1000:1000`, `node`, `${UID}`."""
    stages: dict[str, str] = {}  # each named stage's user so far
    user, stage = "", None
    for line in dockerfile_lines(directory):
        words = line.split()
        if not words:
            continue
        if words[0].upper() == "FROM":
            named = [w for w in words[1:] if not w.startswith("--")]
            user = stages.get(named[0].lower(), "") if named else ""
            stage = named[2].lower() if len(named) >= 3 and named[1].upper() == "AS" else None
            if stage:
                stages[stage] = user
        elif words[0].upper() == "USER" and len(words) > 1:
            user = words[1]
            if stage:
                stages[stage] = user
    return user


def dns_name(process: str) -> str:
    """A process type as Kubernetes names it (RFC 1123: lower case, '-' for '_')."""
    return process.lower().replace("_", "-")


class _Reader:
    """Collects every problem of one app directory, each naming the file, its line or key, and the fix."""

    def __init__(self, directory: Path, shown: str) -> None:
        self.directory = directory
        self.shown = shown.rstrip("/")
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, file: str, where: str, why: str, fix: str) -> None:
        self.problems.append(f"{self.shown}/{file}{where}: {why}. Fix: {fix}.")

    def warn(self, file: str, where: str, text: str) -> None:
        self.warnings.append(f"{self.shown}/{file}{where}: {text}")

    # --- small typed getters for app.json --------------------------------------------------------------------

    def integer(self, obj: dict, key: str, where: str, *, default: int, minimum: int, maximum: int) -> int:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem("app.json", f" {where}.{key}", f"is {_shown(value)}, not a whole number",
                         f"write a number from {minimum} to {maximum}, e.g. \"{key}\": {max(default, minimum)}")
            return default
        if not minimum <= value <= maximum:
            self.problem("app.json", f" {where}.{key}", f"is {value}, outside {minimum}..{maximum}",
                         f"write a number from {minimum} to {maximum}")
            return default
        return value

    def object(self, value: Any, where: str, allowed: tuple[str, ...], example: str) -> dict:
        if not isinstance(value, dict):
            self.problem("app.json", f" {where}", f"is {_kind(value)}, not an object", f"write it as {example}")
            return {}
        for key in value:
            if key not in allowed:
                self.problem("app.json", f" {where}.{key}", "is not a key this format knows",
                             f"remove it, or use one of {', '.join(allowed)}")
        return value

    def text(self, obj: dict, key: str, where: str, example: str) -> str | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem("app.json", f" {where}.{key}", f"is {_kind(value)}, not a string",
                         f"write it as a string, e.g. \"{key}\": {json.dumps(example)}")
            return None
        return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _shown(value: Any, limit: int = 40) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _procfile(r: _Reader) -> tuple[dict[str, str], dict[str, int]]:
    """Procfile's process types (in file order) and the line of each."""
    path = r.directory / "Procfile"
    if not path.is_file():
        r.problem("Procfile", "", "is missing; it names the app's processes",
                  "add a Procfile with at least a `web: <command that serves HTTP on $PORT>` line")
        return {}, {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        r.problem("Procfile", "", f"cannot be read as UTF-8 text ({error.__class__.__name__})",
                  "save it as UTF-8 text")
        return {}, {}
    if text.startswith("\ufeff"):
        # Heroku's Procfile parser takes a process type that starts with a-z or 0-9, its lenient path fixing only
        # spaces, case and '_' (heroku/buildpacks-procfile src/procfile.rs, parse_key and
        # parse_permissive_key_fixed): a byte order mark in front of the first type fails the whole file there.
        r.problem("Procfile", " line 1", "starts with a UTF-8 byte order mark (an editor's, invisible), which Heroku "
                  "reads as part of the first process type and refuses", "save the Procfile as UTF-8 without BOM")
        return {}, {}
    commands: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _PROCFILE_LINE.match(stripped)
        if match is None:
            r.problem("Procfile", f" line {number}", f"{_shown(stripped)} is not `<type>: <command>`",
                      "write `name: command`, the name of letters, digits, '_' or '-' (e.g. `web: ./server`)")
            continue
        name, command = match.group(1), match.group(2).strip()
        if not command:
            r.problem("Procfile", f" line {number}", f"process type {name!r} has no command",
                      f"write the command after `{name}:`")
        elif name in commands:
            r.problem("Procfile", f" line {number}", f"process type {name!r} is declared again (first on line "
                      f"{lines[name]})", "keep one line per process type")
        elif len(name) > MAX_PROCESS_NAME:
            r.problem("Procfile", f" line {number}", f"process type {name[:20]!r}… is {len(name)} characters long",
                      f"use at most {MAX_PROCESS_NAME} (on k8s it names a Deployment and a label of at most 63)")
        elif (same := next((n for n in commands if dns_name(n) == dns_name(name)), None)) is not None:
            r.problem("Procfile", f" line {number}", f"process type {name!r} names the same Kubernetes objects as "
                      f"{same!r} (line {lines[same]}): case and '_' are not kept there", "rename one of them")
        else:
            commands[name], lines[name] = command, number
    if commands and "web" not in commands:
        r.problem("Procfile", "", f"has no `web` process (it has {', '.join(commands)})",
                  "add a `web: <command>` line that serves HTTP on $PORT")
    elif not commands and not r.problems:
        r.problem("Procfile", "", "declares no process", "add a `web: <command>` line that serves HTTP on $PORT")
    return commands, lines


def _app_json(r: _Reader) -> dict:
    path = r.directory / "app.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        r.problem("app.json", "", "is not UTF-8 text", "save it as UTF-8")
        return {}
    except json.JSONDecodeError as error:
        r.problem("app.json", f" line {error.lineno} column {error.colno}", f"is not valid JSON ({error.msg})",
                  "correct the JSON there (a validator such as `python -m json.tool app.json` shows it)")
        return {}
    if not isinstance(data, dict):
        r.problem("app.json", "", f"is {_kind(data)}, not an object", "write app.json as a JSON object {...}")
        return {}
    for key in data:
        if key not in _READ_KEYS + _UNUSED_KEYS:
            r.problem("app.json", f" key {key!r}", "is not a key of Heroku's app.json schema or Dokku's",
                      f"remove it, or correct its name (known keys: {', '.join(_READ_KEYS)} and Heroku's others)")
    return data


def _env(r: _Reader, raw: Any) -> tuple[EnvVar, ...]:
    env = r.object(raw, "env", (), '{"NAME": "value"}') if not isinstance(raw, dict) else raw
    out = []
    for name, spec in env.items():
        where = f"env.{name}"
        if not ENV_NAME.match(name):
            r.problem("app.json", f" {where}", "is not an environment variable name", "use letters, digits and '_'")
            continue
        if name in PLATFORM_VARS:
            r.problem("app.json", f" {where}", "is a variable both platforms set themselves (Heroku's runtime "
                      "contract)", "remove it; to name the database's URL otherwise, use paasport.database_env")
            continue
        if isinstance(spec, str):
            out.append(EnvVar(name, spec, required=True, generator=""))
            continue
        spec = r.object(spec, where, _ENV_KEYS, '{"description": "...", "value": "..."}')
        value = r.text(spec, "value", where, "a value")
        required = spec.get("required", True)
        if not isinstance(required, bool):
            r.problem("app.json", f" {where}.required", f"is {_kind(required)}, not true or false",
                      "write \"required\": true or false")
            required = False  # reported here; not again as a required variable without a value
        generator = spec.get("generator", "")
        if generator not in ("", "secret"):
            r.problem("app.json", f" {where}.generator", f"is {_shown(generator)}; the only generator is \"secret\"",
                      "write \"generator\": \"secret\", or give a \"value\"")
            generator = ""
        if generator and value is not None:
            r.problem("app.json", f" {where}", "has both a value and a generator", "keep one of them")
        description = r.text(spec, "description", where, "what it is for") or ""
        out.append(EnvVar(name, value, required=required, generator=generator, description=description))
    return tuple(out)


def _size(r: _Reader, formation: dict, where: str) -> str:
    """A size as written (lower case); each platform checks it against the sizes it has (`size_problems`)."""
    return (r.text(formation, "size", where, "standard-1x") or "").strip().lower()


def size_problems(spec: AppSpec, sizes: Iterable[str], platform: str) -> list[str]:
    """A problem for each process whose app.json size `platform` does not have."""
    sizes = tuple(sizes)
    return [f"{spec.shown}/app.json formation.{p.name}.size: is {p.size!r}, which is not a dyno size {platform} "
            f"has. Fix: use one of {', '.join(sizes)}."
            for p in spec.processes.values() if p.size and p.size not in sizes]


def _autoscaling(r: _Reader, raw: Any, where: str) -> Autoscaling | None:
    spec = r.object(raw, where, _AUTOSCALING_KEYS, '{"min_quantity": 1, "max_quantity": 3, "triggers": [...]}')
    if not spec:
        return None
    for key in ("cooldown_period_seconds", "polling_interval_seconds"):
        if key in spec:
            r.warn("app.json", f" {where}.{key}", "is ignored: the HorizontalPodAutoscaler uses its own timing")
    low = r.integer(spec, "min_quantity", where, default=1, minimum=1, maximum=1000)
    high = r.integer(spec, "max_quantity", where, default=max(low, 1), minimum=1, maximum=1000)
    if low > high:
        r.problem("app.json", f" {where}.max_quantity", f"is {high}, below min_quantity ({low})",
                  "make max_quantity at least min_quantity")
    triggers = spec.get("triggers", [])
    # Dokku documents triggers both as a list of {name, type, metadata} and as a map of name -> trigger.
    items = list(triggers.values()) if isinstance(triggers, dict) else triggers
    cpu = 70
    if not isinstance(items, list):
        r.problem("app.json", f" {where}.triggers", f"is {_kind(triggers)}, not a list",
                  'write [{"type": "cpu", "metadata": {"value": "70"}}]')
        items = []
    for index, trigger in enumerate(items):
        twhere = f"{where}.triggers[{index}]"
        trigger = r.object(trigger, twhere, ("name", "type", "metadata"), '{"type": "cpu", "metadata": {...}}')
        if trigger.get("type", "cpu") != "cpu":
            r.problem("app.json", f" {twhere}.type", f"is {_shown(trigger.get('type'))}; only cpu triggers have an "
                      "equivalent on both stacks", "use \"type\": \"cpu\"")
            continue
        metadata = trigger.get("metadata") or {}
        value = metadata.get("value", "70") if isinstance(metadata, dict) else None
        if not (isinstance(value, str | int) and str(value).isdigit() and 1 <= int(value) <= 100):
            r.problem("app.json", f" {twhere}.metadata.value", f"is {_shown(value)}, not a CPU percentage",
                      "write a percentage from 1 to 100, e.g. \"value\": \"70\"")
            continue
        cpu = int(value)
    return Autoscaling(low, high, cpu)


def _checks(r: _Reader, raw: Any, name: str) -> tuple[Check, ...]:
    where = f"healthchecks.{name}"
    if not isinstance(raw, list):
        r.problem("app.json", f" {where}", f"is {_kind(raw)}, not a list of checks",
                  'write [{"type": "readiness", "path": "/healthz"}]')
        return ()
    checks: dict[str, Check] = {}
    for index, spec in enumerate(raw):
        cwhere = f"{where}[{index}]"
        spec = r.object(spec, cwhere, _CHECK_KEYS, '{"type": "readiness", "path": "/healthz"}')
        if not spec:
            continue
        type_ = spec.get("type", "startup")
        if type_ not in CHECK_TYPES:
            r.problem("app.json", f" {cwhere}.type", f"is {_shown(type_)}", f"use one of {', '.join(CHECK_TYPES)}")
            continue
        if type_ in checks:
            r.problem("app.json", f" {cwhere}.type", f"repeats a {type_} check of {name}",
                      f"keep one {type_} check per process type")
            continue
        path = r.text(spec, "path", cwhere, "/healthz") or ""
        if path and not path.startswith("/"):
            r.problem("app.json", f" {cwhere}.path", f"is {path!r}, which does not start with '/'",
                      f"write it from the root, e.g. \"/{path.lstrip('./')}\"")
            continue
        if name != "web" and (path or "port" in spec):
            r.problem("app.json", f" {cwhere}", f"checks HTTP on a port of {name!r}, a worker: only web gets a "
                      "port (Heroku routes HTTP to web dynos only)", f"remove path and port from {name}'s checks, "
                      "or serve that process as `web`")
            continue
        if "port" in spec:
            r.warn("app.json", f" {cwhere}.port", "is ignored: checks reach the web process on its PORT")
        for key in ("uptime", "listening", "scheme", "warn", "onFailure"):
            if key in spec:
                r.warn("app.json", f" {cwhere}.{key}", "has no equivalent here and is ignored")
        headers = _headers(r, spec.get("httpHeaders", []), f"{cwhere}.httpHeaders")
        if "command" in spec or "content" in spec:
            r.warn("app.json", f" {cwhere}", "command and content checks have no equivalent here: the check is "
                   "an HTTP GET of its path (a TCP connect without one)")
        checks[type_] = Check(
            type=type_, path=path,
            timeout_s=r.integer(spec, "timeout", cwhere, default=CHECK_DEFAULTS["timeout"], minimum=1, maximum=600),
            initial_delay_s=r.integer(spec, "initialDelay", cwhere, default=CHECK_DEFAULTS["initialDelay"],
                                      minimum=0, maximum=3600),
            attempts=r.integer(spec, "attempts", cwhere, default=CHECK_DEFAULTS["attempts"], minimum=1, maximum=100),
            wait_s=r.integer(spec, "wait", cwhere, default=CHECK_DEFAULTS["wait"], minimum=1, maximum=3600),
            headers=headers,
        )
    return tuple(checks[t] for t in CHECK_TYPES if t in checks)


def _headers(r: _Reader, raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    """Dokku's `httpHeaders`: a list of {name, value} (docker-container-healthchecker's format)."""
    example = '[{"name": "X-Forwarded-Proto", "value": "https"}]'
    if not isinstance(raw, list):
        r.problem("app.json", f" {where}", f"is {_kind(raw)}, not a list", f"write {example}")
        return ()
    headers = []
    for index, header in enumerate(raw):
        header = r.object(header, f"{where}[{index}]", ("name", "value"), '{"name": "...", "value": "..."}')
        name, value = header.get("name"), header.get("value")
        if not (isinstance(name, str) and re.match(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", name) and isinstance(value, str)):
            r.problem("app.json", f" {where}[{index}]", "is not a header name (a token) with a string value",
                      f"write {example}")
            continue
        headers.append((name, value))
    return tuple(headers)


def _addons(r: _Reader, raw: Any) -> tuple[bool, str]:
    """Whether the app asks for Heroku Postgres, and the attachment name it gives it (`as`)."""
    if not isinstance(raw, list):
        r.problem("app.json", " addons", f"is {_kind(raw)}, not a list", 'write ["heroku-postgresql"]')
        return False, ""
    database, attachment = False, ""
    for index, addon in enumerate(raw):
        where = f"addons[{index}]"
        if isinstance(addon, dict):
            addon = r.object(addon, where, ("plan", "as", "options"), '{"plan": "heroku-postgresql"}')
            plan = addon.get("plan", "")
            attachment = addon.get("as", "") if isinstance(addon.get("as", ""), str) else ""
            if attachment and not re.match(r"^[A-Z][A-Z0-9_]*$", attachment):
                r.problem("app.json", f" {where}.as", f"is {_shown(attachment)}, not an attachment name",
                          "use capitals, digits and '_', e.g. \"as\": \"DATABASE\"")
                attachment = ""
        else:
            plan = addon
        if not isinstance(plan, str) or plan.split(":", 1)[0] != POSTGRES_ADDON:
            r.problem("app.json", f" {where}", f"is {_shown(plan)}: the only add-on both platforms provide is "
                      f"{POSTGRES_ADDON}", f"remove it, or use \"{POSTGRES_ADDON}\"")
            continue
        if database:
            r.problem("app.json", f" {where}", f"asks for a second {POSTGRES_ADDON}", "keep one")
        database = True
    return database, attachment


def _paasport(r: _Reader, raw: Any) -> dict:
    spec = r.object(raw, "paasport", _PAASPORT_KEYS, '{"port": 5000}')
    out: dict[str, Any] = {}
    out["port"] = r.integer(spec, "port", "paasport", default=DEFAULT_PORT, minimum=1024, maximum=65535)
    metrics = r.text(spec, "metrics_path", "paasport", "/metrics") or ""
    if metrics and not metrics.startswith("/"):
        r.problem("app.json", " paasport.metrics_path", f"is {metrics!r}, which does not start with '/'",
                  f"write \"/{metrics.lstrip('./')}\"")
        metrics = ""
    out["metrics_path"] = metrics
    writable = spec.get("writable_paths", [])
    if not isinstance(writable, list) or not all(isinstance(p, str) for p in writable):
        r.problem("app.json", " paasport.writable_paths", f"is {_kind(writable)}, not a list of paths",
                  'write ["/app/tmp"]')
        writable = []
    for path in writable:
        if not path.startswith("/") or path.rstrip("/") in ("", *ALWAYS_WRITABLE) or ".." in path.split("/"):
            r.problem("app.json", " paasport.writable_paths", f"has {path!r}, which is not an absolute path other "
                      f"than / and {', '.join(ALWAYS_WRITABLE)} (always writable)", "give absolute paths like /app/tmp")
    out["writable_paths"] = tuple(p.rstrip("/") for p in writable if isinstance(p, str) and p.startswith("/"))
    read_only = spec.get("read_only_root", True)
    if not isinstance(read_only, bool):
        r.problem("app.json", " paasport.read_only_root", f"is {_kind(read_only)}, not true or false",
                  "write \"read_only_root\": false only if the image must write where it was built")
        read_only = True
    out["read_only_root"] = read_only
    mapping = spec.get("database_env", {})
    if not isinstance(mapping, dict):
        r.problem("app.json", " paasport.database_env", f"is {_kind(mapping)}, not an object",
                  'write {"DB_HOST": "host", "DB_PASSWORD": "password"}')
        mapping = {}
    for name, part in mapping.items():
        if not ENV_NAME.match(name):
            r.problem("app.json", f" paasport.database_env.{name}", "is not an environment variable name",
                      "use letters, digits and '_'")
        elif name in ("DATABASE_URL", "PORT") or name.startswith("PG"):
            r.problem("app.json", f" paasport.database_env.{name}", "is a variable the platforms set themselves",
                      "remove it: DATABASE_URL and PG* are always set")
        elif part not in DATABASE_PARTS:
            r.problem("app.json", f" paasport.database_env.{name}", f"is {_shown(part)}, not a database part",
                      f"use one of {', '.join(DATABASE_PARTS)}")
    out["database_env"] = {n: p for n, p in mapping.items() if ENV_NAME.match(n) and p in DATABASE_PARTS
                           and n not in ("DATABASE_URL", "PORT") and not n.startswith("PG")}
    return out


def _cron(r: _Reader, raw: Any, commands: dict[str, str]) -> tuple[CronTask, ...]:
    """Dokku's `cron` list, each entry checked as Dokku checks it at deploy (plugins/cron/cron.go): a command, a
    schedule its parser takes, a known concurrency policy."""
    example = '[{"command": "python manage.py clearsessions", "schedule": "@daily"}]'
    if not isinstance(raw, list):
        r.problem("app.json", " cron", f"is {_kind(raw)}, not a list of tasks", f"write {example}")
        return ()
    tasks = []
    for index, entry in enumerate(raw):
        where = f"cron[{index}]"
        entry = r.object(entry, where, _CRON_KEYS, '{"command": "...", "schedule": "0 3 * * *"}')
        if not entry:
            continue
        command = entry.get("command")
        if not isinstance(command, str) or not command.strip():
            r.problem("app.json", f" {where}.command", f"is {_shown(command)}, not a command",
                      'write the command to run, e.g. "python manage.py clearsessions", or a Procfile process type')
            continue
        schedule = entry.get("schedule")
        if not isinstance(schedule, str):
            why = f"is {_kind(schedule)}, not a string"
        elif reason := cron.problem(schedule):
            why = f"is {_shown(schedule)}, which {reason}"
        else:
            why = ""
        if why:
            r.problem("app.json", f" {where}.schedule", why, 'write five cron fields in UTC, e.g. "0 3 * * *" '
                      '(03:00 every day), or @hourly, @daily, @weekly, @monthly')
            continue
        policy = entry.get("concurrency_policy", "forbid")
        if policy not in CONCURRENCY_POLICIES:
            r.problem("app.json", f" {where}.concurrency_policy", f"is {_shown(policy)}",
                      f"use one of {', '.join(CONCURRENCY_POLICIES)}")
            continue
        maintenance = entry.get("maintenance", False)
        if not isinstance(maintenance, bool):
            r.problem("app.json", f" {where}.maintenance", f"is {_kind(maintenance)}, not true or false",
                      'write "maintenance": true to keep the task from running')
            continue
        command = command.strip()
        process = command if command in commands else ""  # `dokku run app <type>` runs the Procfile's command
        tasks.append(CronTask(commands.get(command, command), schedule, policy, maintenance, process))
    return tuple(tasks)


def _per_process(r: _Reader, raw: Any, key: str, commands: dict[str, str]) -> dict:
    """app.json's `formation` or `healthchecks`: an object keyed by the Procfile's process types."""
    if not isinstance(raw, dict):
        r.problem("app.json", f" {key}", f"is {_kind(raw)}, not an object", 'write {"web": ...}')
        return {}
    for name in raw:
        if commands and name not in commands:
            r.problem("app.json", f" {key}.{name}", "names a process type the Procfile does not declare",
                      f"add `{name}: <command>` to the Procfile, or use one of {', '.join(commands)}")
    return {name: value for name, value in raw.items() if name in commands}


# heroku.yml as Heroku reads it (devcenter.heroku.com/articles/build-docker-images-heroku-yml): four sections;
# build.docker maps each process type to its Dockerfile (a path, or {dockerfile, target}), build.config to build
# arguments; release runs `command` in the image of process type `image`; run gives each process type its command
# (a string, a list, or {command, image}); setup lists add-ons and config vars (for review apps).
_HEROKU_YML_SECTIONS = ("setup", "build", "release", "run")


def _heroku_yml(r: _Reader) -> Any:
    """One problem per thing of the app's heroku.yml that Heroku would refuse or ignore; its contents, or None
    when it is not a mapping."""
    def bad(where: str, why: str, fix: str) -> None:
        r.problem("heroku.yml", f" {where}" if where else "", why, fix)

    try:
        data = yaml.safe_load((r.directory / "heroku.yml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return bad("", f"cannot be read as UTF-8 text ({error.__class__.__name__})", "save it as UTF-8 text")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        return bad(where, f"is not valid YAML ({getattr(error, 'problem', None) or error})",
                   "correct the YAML there")
    if not isinstance(data, dict):
        bad("", f"is {_kind(data)}, not a mapping of sections", "write build: and run: sections")
        return None
    for key in data:
        if key not in _HEROKU_YML_SECTIONS:
            bad(f"key {key!r}", "is not a section Heroku reads", f"use {', '.join(_HEROKU_YML_SECTIONS)}")
    images = _heroku_yml_build(r, data.get("build"), bad)
    release = data.get("release")
    if release is not None:
        if not isinstance(release, dict):
            bad("release", f"is {_kind(release)}, not a mapping", "write release: {command: [...], image: web}")
        else:
            for key in set(release) - {"command", "image"}:
                bad(f"release.{key}", "is not a key Heroku reads", "use command and image")
            _heroku_yml_command(release.get("command"), "release.command", bad, required=True)
            _heroku_yml_image(release.get("image", "web"), "release.image", images, bad)
    run = data.get("run", {})
    if not isinstance(run, dict):
        bad("run", f"is {_kind(run)}, not a mapping of process types", "write run: {web: <command>}")
        run = {}
    for process, spec in run.items():
        where = f"run.{process}"
        if isinstance(spec, dict):
            for key in set(spec) - {"command", "image"}:
                bad(f"{where}.{key}", "is not a key Heroku reads", "use command and image")
            _heroku_yml_command(spec.get("command"), f"{where}.command", bad, required=True)
            _heroku_yml_image(spec.get("image", process), f"{where}.image", images, bad)
        else:
            _heroku_yml_command(spec, where, bad, required=True)
            _heroku_yml_image(process, where, images, bad)
    setup = data.get("setup", {})
    if not isinstance(setup, dict) or set(setup) - {"addons", "config"}:
        bad("setup", "is not a mapping of addons and config", "write setup: {addons: [...], config: {...}}")
    return data


def _yml_command(spec: Any) -> str | None:
    """A heroku.yml command (`run.<type>`, or `release`) as one line: a string, a list's words joined, or a mapping's
    `command`; None when it is none of these (a problem already)."""
    command = spec.get("command") if isinstance(spec, dict) else spec
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        command = " ".join(command)
    return command.strip() if isinstance(command, str) else None


def _heroku_yml_commands(r: _Reader, data: dict, commands: dict[str, str]) -> None:
    """A warning for each process type (and the release) that the app's own heroku.yml starts otherwise than its
    Procfile: the k8s stack runs the Procfile's command, Heroku heroku.yml's. Heroku reads no Procfile when
    heroku.yml builds the app: "Heroku uses the run command provided in heroku.yml instead of your Procfiles", and
    "If you don't include a run section, Heroku uses the CMD specified in the Dockerfile"
    (devcenter.heroku.com/articles/build-docker-images-heroku-yml, "Get Started"); the release phase comes from its
    `release` section (devcenter.heroku.com/changelog-items/1390). Compared word by word: spacing is no difference."""
    run = data.get("run")
    run = run if isinstance(run, dict) else None
    fix = "make them the same (heroku.yml's wins on Heroku), or delete heroku.yml: the stack then writes one from the "
    fix += "Procfile"
    for name, command in commands.items():
        if name == "release":
            release = data.get("release")
            theirs = _yml_command(release) if isinstance(release, dict) else None
            where, what = "release.command", "the release phase"
        else:
            theirs = _yml_command(run[name]) if run is not None and name in run else None
            where, what = f"run.{name}", name
        if theirs is not None and theirs.split() != command.split():
            r.warn("heroku.yml", f" {where}", f"Heroku runs `{theirs}` for {what}, but the Procfile says `{command}`, "
                   f"which the k8s stack runs: the two platforms run different commands. Fix: {fix}.")
        elif theirs is None and name == "release" and "release" not in data:
            r.warn("heroku.yml", "", f"has no release section, so Heroku runs no release phase (it reads no Procfile "
                   f"when heroku.yml builds the app), but the k8s stack runs the Procfile's release `{command}`. "
                   f"Fix: add release: {{image: web, command: [{json.dumps(command)}]}}, or delete heroku.yml.")
        elif theirs is None and name != "release" and run is not None and name not in run:
            r.warn("heroku.yml", " run", f"has no {name}, so Heroku has no command for it (it reads no Procfile when "
                   f"heroku.yml builds the app), but the k8s stack runs the Procfile's `{command}`. Fix: add "
                   f"{name}: {json.dumps(command)} under run, or delete heroku.yml.")
        elif theirs is None and name == "web" and run is None and "run" not in data:
            image = image_command(r.directory)
            if image and argv(command) not in (image, ["/bin/sh", "-c", " ".join(image)]):
                r.warn("heroku.yml", "", f"has no run section, so Heroku runs the Dockerfile's CMD "
                       f"(`{' '.join(image)}`) for web, but the Procfile says `{command}`, which the k8s stack runs: "
                       f"the two platforms run different commands. Fix: add run: {{web: {json.dumps(command)}}}, "
                       "or make the CMD the Procfile's web command.")


def _heroku_yml_build(r: _Reader, build: Any, bad: Any) -> set[str]:
    """build.docker's process types (each Dockerfile in the app); problems go to `bad`."""
    if not isinstance(build, dict) or not isinstance(build.get("docker"), dict) or not build["docker"]:
        bad("build.docker", "is missing: Heroku builds container apps from the Dockerfiles it names",
            "write build: {docker: {web: Dockerfile}}")
        return set()
    for key in set(build) - {"docker", "config"}:
        bad(f"build.{key}", "is not a key Heroku reads", "use docker and config")
    if not isinstance(build.get("config", {}), dict):
        bad("build.config", f"is {_kind(build['config'])}, not a mapping of build arguments", "write NAME: value")
    inside = r.directory.resolve()
    for process, dockerfile in build["docker"].items():
        where = f"build.docker.{process}"
        if isinstance(dockerfile, dict):
            for key in set(dockerfile) - {"dockerfile", "target"}:
                bad(f"{where}.{key}", "is not a key Heroku reads", "use dockerfile and target")
            dockerfile = dockerfile.get("dockerfile")
        if not isinstance(dockerfile, str) or not dockerfile:
            bad(where, f"is {_kind(dockerfile)}, not a Dockerfile's path", f"write {process}: Dockerfile")
            continue
        path = (r.directory / dockerfile).resolve()
        if not path.is_relative_to(inside) or not path.is_file():
            bad(where, f"names {dockerfile!r}, which is no file in the app directory", "name a Dockerfile of the app")
    return set(build["docker"])


def _heroku_yml_command(command: Any, where: str, bad: Any, *, required: bool) -> None:
    if command is None and not required:
        return
    if isinstance(command, str) and command.strip():
        return
    if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
        return
    bad(where, f"is {_kind(command)}, not a command (a string, or a list of strings)", "write the command to run")


def _heroku_yml_image(image: Any, where: str, images: set[str], bad: Any) -> None:
    if images and image not in images:
        bad(where, f"runs the image of {image!r}, which build.docker does not build",
            f"use one of {', '.join(sorted(images))}, or build it")


CONTRACT_FILES = ("Procfile", "app.json", "Dockerfile", "heroku.yml")


def _escaping_links(r: _Reader) -> bool:
    """A problem for each contract file that is a symbolic link leading out of the app directory (it is never
    read); True when there is one."""
    inside = r.directory.resolve()
    escaping = False
    for name in CONTRACT_FILES:
        path = r.directory / name
        if path.is_symlink() and not path.resolve().is_relative_to(inside):
            r.problem(name, "", f"is a symbolic link to {os.readlink(path)}, outside the app directory, which the "
                      "stack does not read", f"replace the link with the file itself, or link to a file inside "
                      f"{r.shown}")
            escaping = True
    return escaping


def read(directory: Path, shown: str | None = None) -> tuple[AppSpec | None, list[str]]:
    """The contract of the app in `directory` (`shown` names it in messages), and every problem found.

    The spec is None only when the directory cannot be read as an app; with problems it holds what could be read,
    so that the checks that need it (the stack's variables, each platform's sizes) report theirs in the same run,
    and is never deployed. Warnings (things one platform cannot honour) are in the spec.
    """
    r = _Reader(directory, shown or str(directory))
    if not directory.is_dir():
        r.problem("", "", "is not a directory", "set `paasport:app_dir` to the directory holding the app's "
                  "Procfile and Dockerfile")
        return None, r.problems
    if _escaping_links(r):
        return None, r.problems
    if not (directory / "Dockerfile").is_file():
        r.problem("Dockerfile", "", "is missing: apps built by buildpacks alone are not supported yet",
                  "add a Dockerfile that builds the app's image")
    commands, _lines = _procfile(r)
    data = _app_json(r)
    env = _env(r, data.get("env", {}))
    formation = _per_process(r, data.get("formation", {}), "formation", commands)
    healthchecks = _per_process(r, data.get("healthchecks", {}), "healthchecks", commands)
    database, attachment = _addons(r, data.get("addons", []))
    cron = _cron(r, data.get("cron", []), commands)
    extension = _paasport(r, data.get("paasport", {}))
    if "release" in formation:
        r.problem("app.json", " formation.release", "scales the release phase, which runs once per deploy",
                  "remove it")
    processes: dict[str, Process] = {}
    for name in sorted(commands, key=lambda n: (n != "web", list(commands).index(n))):
        if name == "release":
            continue
        where = f"formation.{name}"
        spec = r.object(formation.get(name, {}), where, _FORMATION_KEYS, '{"quantity": 1}')
        if "max_parallel" in spec:
            r.warn("app.json", f" {where}.max_parallel", "is ignored: rollouts start one new process at a time")
        if name != "web" and isinstance(spec.get("service"), dict) and spec["service"].get("exposed"):
            r.problem("app.json", f" {where}.service", f"exposes {name!r}, a worker, on a port: only web gets a port "
                      "and HTTP (Heroku routes to web dynos only)", f"remove service, or serve {name} as `web`")
        autoscaling = _autoscaling(r, spec["autoscaling"], f"{where}.autoscaling") if "autoscaling" in spec else None
        processes[name] = Process(
            name=name, command=commands[name],
            quantity=r.integer(spec, "quantity", where, default=1 if name == "web" else 0, minimum=0, maximum=1000),
            size=_size(r, spec, where), autoscaling=autoscaling,
            checks=_checks(r, healthchecks[name], name) if name in healthchecks else (),
        )
    if "release" in healthchecks:
        r.problem("app.json", " healthchecks.release", "checks the release phase, which is a one-off run",
                  "remove it")
    mapping = dict(extension["database_env"])
    if attachment and attachment != "DATABASE":
        mapping.setdefault(f"{attachment}_URL", "url")
    if mapping and not database:
        r.problem("app.json", " paasport.database_env", f"maps {', '.join(mapping)} to a database the app does not "
                  "ask for", f"add \"addons\": [\"{POSTGRES_ADDON}\"]")
    heroku_yml = (directory / "heroku.yml").is_file()
    if heroku_yml and isinstance(data_yml := _heroku_yml(r), dict):
        _heroku_yml_commands(r, data_yml, commands)
    if mapping and heroku_yml:
        r.problem("heroku.yml", "", f"is the app's own, so the stack cannot start its processes with the "
                  f"variables paasport.database_env maps ({', '.join(mapping)})",
                  "delete heroku.yml (the stack writes one from the Procfile), or read DATABASE_URL in the app")
    env_names = {v.name for v in env}
    for name in sorted(set(mapping) & env_names):
        r.problem("app.json", f" env.{name}", "is also mapped from the database in paasport.database_env",
                  "keep it in one place")
    return AppSpec(
        directory=directory, shown=r.shown, processes=processes, release=commands.get("release"), env=env,
        database=database,
        database_env=mapping, port=extension["port"], metrics_path=extension["metrics_path"],
        writable_paths=extension["writable_paths"], read_only_root=extension["read_only_root"],
        heroku_yml=heroku_yml, cron=cron, user=image_user(directory), warnings=tuple(r.warnings),
    ), r.problems


# --- Heroku: heroku.yml from the Procfile, with the database prelude -------------------------------------------

def database_prelude(mapping: dict[str, str]) -> str:
    """POSIX shell that sets the app's own database variables from DATABASE_URL as it is when the dyno starts.

    Heroku's DATABASE_URL is postgres://USER:PASSWORD@HOST:PORT/NAME with alphanumeric credentials (Heroku
    Postgres Credentials: "dynamically generated, 65-byte alphanumeric character strings"), so plain parameter
    expansion splits it; nothing is decoded.
    """
    if not mapping:
        return ""
    parts = {
        "url": '"$DATABASE_URL"', "user": '"${_a%%:*}"', "password": '"${_a#*:}"', "host": '"${_h%:*}"',
        "port": '"${_h##*:}"', "name": '"${_d%%\\?*}"',
    }
    split = ('_u="${DATABASE_URL#*://}"; _a="${_u%%@*}"; _r="${_u#*@}"; _h="${_r%%/*}"; _d="${_r#*/}"; ')
    exports = " ".join(f"{name}={parts[part]}" for name, part in sorted(mapping.items()))
    return f"{split}export {exports}; {_PRELUDE_END}"


_PRELUDE_END = "unset _u _a _r _h _d; "


def procfile_command(command: str) -> str:
    """The Procfile command a heroku.yml command (`heroku_command`) runs: without the prelude and its `exec`."""
    if _PRELUDE_END not in command:
        return command
    return command.split(_PRELUDE_END, 1)[1].removeprefix("exec ")


def heroku_command(command: str, mapping: dict[str, str]) -> str:
    """A Procfile command as heroku.yml runs it: behind the database prelude when the app maps variables.

    A simple command replaces the shell (`exec`); a compound one runs under it, which Heroku also stops right:
    at shutdown it sends SIGTERM to every process of the dyno (devcenter.heroku.com/articles/dynos#shutdown).
    """
    prelude = database_prelude(mapping)
    if not prelude:
        return command
    return f"{prelude}{exec_form(command) if simple_command(command) else command}"


def heroku_database_env(spec: AppSpec) -> dict[str, str]:
    """What the Heroku prelude derives from DATABASE_URL: the app's `database_env`, and, for an app with the
    add-on, libpq's PG* (LIBPQ_ENV), which Heroku does not set (it attaches DATABASE_URL only:
    devcenter.heroku.com/articles/heroku-postgresql#connecting-to-heroku-postgres) but k8s does, and which
    libpq, node-postgres and asyncpg read when given no URL. A PG* name the app's env sets is the app's: the
    prelude leaves it alone (the stack's config vars may not set PG*: infra.settings.RESERVED_VARS)."""
    if not spec.database:
        return dict(spec.database_env)
    taken = {v.name for v in spec.env}
    return {**{n: p for n, p in LIBPQ_ENV.items() if n not in taken}, **spec.database_env}


def heroku_yml(spec: AppSpec) -> str:
    """heroku.yml for an app that ships none (devcenter.heroku.com/articles/build-docker-images-heroku-yml): the
    Dockerfile builds the image every process runs; the release phase runs in it (`release.image: web`). Every
    command starts behind the database prelude (`heroku_database_env`)."""
    mapping = heroku_database_env(spec)
    manifest: dict[str, Any] = {"build": {"docker": {"web": "Dockerfile"}}}
    if spec.release:
        manifest["release"] = {"image": "web", "command": [heroku_command(spec.release, mapping)]}
    run: dict[str, Any] = {}
    for process in spec.processes.values():
        command = heroku_command(process.command, mapping)
        run[process.name] = command if process.is_web else {"command": [command], "image": "web"}
    manifest["run"] = run
    return "# Written by paasport from the app's Procfile (infra/contract.py).\n" + yaml.safe_dump(
        manifest, sort_keys=False, width=1 << 16)
