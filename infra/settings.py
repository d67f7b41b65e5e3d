"""The stack configuration reader shared by both platforms, and the settings every platform needs.

Keys live in the project namespace (`paasport:<key>`), snake_case, documented with their one default in
`Pulumi.yaml`: the CLI (and the offline plan) hands the program each default it does not find in the stack file,
so nothing here repeats a default. A bad value is recorded as a problem naming the key, the stack file and the fix;
`load` raises them together as one `ConfigError`, which the Pulumi host prints without a traceback
(`pulumi-language-python-exec` logs a `RunError`'s message alone). A secret's value never enters a message.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra import contract
from infra.paths import PROJECT_DIR

LOG_LEVELS = ("debug", "info", "warning", "error")
# The keys set only with `pulumi config set --secret` (Pulumi.yaml's header); any other key may be set so, too.
SECRET_EXAMPLES = {"registry_password": '"$REGISTRY_TOKEN"', "log_drain_url": "syslog+tls://logs.example.com:6514",
                   "secret_config_vars": "'{\"SENTRY_DSN\": \"...\"}'"}
SECRET_KEYS = tuple(SECRET_EXAMPLES)
HIDDEN = "its value is not shown: it is a secret"

_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
DNS_LABEL = re.compile(rf"^{_LABEL}$")
# The image reference grammar of distribution/reference: [host[:port]/]path[:tag][@digest].
_REF_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REF_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
_REPOSITORY = rf"(?:{REF_HOST}/)?{_REF_COMPONENT}(?:/{_REF_COMPONENT})*"
IMAGE_REF = re.compile(rf"^{_REPOSITORY}(?::[\w][\w.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?$")
REPOSITORY = re.compile(rf"^{_REPOSITORY}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
# `app_name`, the app's name on both platforms: Heroku's rule for an app's name (a lowercase letter first, lowercase
# letters, digits or '-', 3 to 30 characters), which also keeps every k8s object named after it within Kubernetes'
# limits (a CronJob's `<app_name>-cron-<10 hex>` under 52 characters, the chart's `<app_name>-postgresql` under
# Helm's 53).
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
APP_NAME_RULE = "a lowercase letter first, then lowercase letters, digits or '-', 3 to 30 characters"
# What the platforms give every app themselves (Heroku's runtime contract, on both): no config var may set them.
RESERVED_VARS = ("DATABASE_URL", "PORT", "DYNO", "LOG_LEVEL", "WEB_CONCURRENCY", "PGHOST", "PGPORT", "PGDATABASE",
                 "PGUSER", "PGPASSWORD", "PGSSLMODE")
# Keys this program no longer reads, and where their value goes now.
MOVED = {"seed_archive": "the app's own variables are set in `config_vars` (its app.json lists them under env)"}


class ConfigError(pulumi.RunError):
    """A stack configuration problem; the Pulumi host prints its message alone, without a traceback."""


# Where keys were set when not (only) in the stack file: full key -> the stack file and the options that set it,
# e.g. ["--config replicas=abc"]. The offline tools fill it for the run of the program: they stand in for `pulumi
# preview --config KEY=VALUE`, which writes into the stack file before the program runs, but they leave the file as it
# is. Under the engine it stays empty and problems name the stack file.
GIVEN_BY: dict[str, list[str]] = {}


def read_yaml(path: Path) -> Any:
    """A YAML file of the project (Pulumi.yaml, a stack file), parsed; one line naming the file, the line and the
    column when it is not YAML (the CLI refuses such a file too, before any program runs)."""
    hint = " (each setting is `  paasport:<key>: value` under `config:`, indented with spaces)" if (
        path.name != "Pulumi.yaml") else ""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name} is not UTF-8 text. Fix: save it as UTF-8.") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        why = error.problem or error.context or "a syntax error"
        if error.problem and error.context and error.context_mark:  # e.g. "while parsing a flow sequence"
            why += f", {error.context} at line {error.context_mark.line + 1} column {error.context_mark.column + 1}"
        raise ConfigError(f"{path.name}{where}: is not valid YAML ({why}). Fix: correct it there{hint}.") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path.name} is not valid YAML ({error}). Fix: correct it{hint}.") from None


def stack_file_config(path: Path) -> dict[Any, Any]:
    """The `config` mapping of a stack file (Pulumi.<stack>.yaml), as written; one line naming the file when it is
    not one."""
    data = read_yaml(path)
    config = data.get("config") if isinstance(data, dict) else None
    if (data is not None and not isinstance(data, dict)) or not isinstance(config, dict | None):
        held = f"`config:` holds {kind(config)}" if isinstance(data, dict) else f"holds {kind(data)}"
        raise ConfigError(f"{path.name} {held}, not a mapping of settings. Fix: write `config:` and under it one "
                          "`  paasport:<key>: value` per line.")
    return config or {}


def kind(value: Any) -> str:
    """What a parsed value is, for a message: "a list", "text", "an object"..."""
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), "nothing")


@cache
def _project_file() -> tuple[str, dict[str, Any]]:
    """Pulumi.yaml's text (its header comments name the secrets) and its `config` section, read once."""
    text = (PROJECT_DIR / "Pulumi.yaml").read_text()
    return text, yaml.safe_load(text).get("config") or {}


@cache
def known_keys() -> tuple[str, ...]:
    """Every key of the project's namespace that the program reads: Pulumi.yaml's `config` (each with its one
    default) and the secrets its header lists; MOVED keys get a message of their own."""
    return (*_project_file()[1], *SECRET_KEYS)


def unknown_key(namespace: str, key: str, origin: str, spelled: Callable[[str], str]) -> str | None:
    """The problem of `namespace:key`, set by `origin` (the stack file, a flag), when the program reads no such key;
    None for a key it reads. The line names the closest known key, spelled as `origin` would (`spelled`).

    The CLI passes such a key to the program like any other and nothing reads it (pulumi/pulumi sdk/go/common/
    workspace, ValidateStackConfigAndApplyProjectConfig: no check of keys a project does not declare), so
    `paasport:replcas: 3` would quietly leave `replicas` at its default."""
    if key in known_keys() or key in MOVED:
        return None
    close = difflib.get_close_matches(key, known_keys(), n=1, cutoff=0.6) or difflib.get_close_matches(
        re.split(r"[.\[]", key, maxsplit=1)[0], known_keys(), n=1, cutoff=0.8)
    if close:
        return (f"{namespace}:{key} ({origin}) is not a setting of this program; did you mean `{close[0]}`? "
                f"Fix: write {spelled(close[0])} instead.")
    return (f"{namespace}:{key} ({origin}) is not a setting of this program. Fix: remove it, or use one of the "
            "keys Pulumi.yaml documents.")


# The platforms a tag of Pulumi.yaml's descriptions names ("[k8s, cluster]"); [both] is the two that run the app.
_TAG = re.compile(r"\[((?:k8s|heroku|cluster|both)(?:, (?:k8s|heroku|cluster|both))*)\]")
# A platform's setting for what a key of another platform sets: (key, the stack's platform) -> (what, its key, an
# example of its value; None: the same value means the same there).
EQUIVALENTS: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ("replicas", "heroku"): ("its web dynos", "dyno_quantity", None),
    ("dyno_quantity", "k8s"): ("its web pods", "replicas", None),
    ("hostname", "heroku"): ("its custom domain", "domain", None),
    ("domain", "k8s"): ("its public name", "hostname", None),
    ("web_concurrency", "heroku"): ("what sets its server processes", "dyno_size", "standard-2x"),
    ("linkerd_inject", "cluster"): ("installing Linkerd", "linkerd_enabled", None),
    ("linkerd_enabled", "k8s"): ("meshing the app's pods", "linkerd_inject", None)}


@cache
def key_platforms() -> dict[str, tuple[str, ...]]:
    """The platforms whose stacks read each tagged key: the tags of its description in Pulumi.yaml (a secret's, in
    the header's comment). A key without a tag is read by every platform, and is not here."""
    text, config = _project_file()
    described = {str(key): str(spec.get("description", "")) for key, spec in config.items() if isinstance(spec, dict)}
    for key in SECRET_KEYS:
        line = re.search(rf"^#\s+{key}\s+(.*)$", text, re.MULTILINE)
        described[key] = line[1] if line else ""
    tagged = {}
    for key, description in described.items():
        names = [name for tag in _TAG.findall(description) for name in tag.split(", ")]
        platforms = [p for name in names for p in (("k8s", "heroku") if name == "both" else (name,))]
        if platforms:
            tagged[key] = tuple(p for p in ("k8s", "heroku", "cluster") if p in platforms)
    return tagged


def foreign_key(namespace: str, key: str, stack: str, platform: str, origin: str, remove: str,
                spelled: Callable[[str, str | None], str]) -> str | None:
    """The problem of `namespace:key`, set by `origin` (" (--config ...)", or "" for the stack file), on a stack of
    `platform` that does not read it; None for a key it reads (or one no platform reads: `unknown_key`'s).

    Nothing would read it, so it would change nothing, silently: `replicas: 3` on a heroku stack leaves one dyno.
    `remove` is the fix; where the platform has a setting for the same thing, the line names it as `spelled` writes
    it (with an example value, or None for the value given)."""
    readers = key_platforms().get(key)
    if readers is None or platform in readers:
        return None
    where = f"the {stack} stack" if stack == platform else f"the {stack} stack (platform {platform})"
    equivalent = EQUIVALENTS.get((key, platform))
    about = f" ({equivalent[0]}: {equivalent[1]})" if equivalent else ""
    instead = (f"; for the same on {platform}, {spelled(equivalent[1], equivalent[2])}" if equivalent else
               f" (set it on a {' or '.join(readers)} stack)")
    return (f"{namespace}:{key}{origin} is a {' and '.join(readers)} setting; {where} does not read it{about}. "
            f"Fix: {remove}{instead}.")


@cache
def _defaulted() -> frozenset[str]:
    """The keys Pulumi.yaml gives a default, which the CLI hands the program whatever the stack file says."""
    return frozenset(k for k, spec in _project_file()[1].items() if isinstance(spec, dict) and "default" in spec)


def foreign_keys(r: Reader, platform: str) -> None:
    """Every key of the project's namespace that the stack sets and its platform does not read is a problem naming
    the platforms that read it. The stack sets what its file holds (`pulumi config set` and `pulumi preview
    --config` write there) and any key without a default; the others hold Pulumi.yaml's defaults."""
    namespace, stack_file = r.config.name, f"Pulumi.{r.stack}.yaml"
    in_file = _stack_file_keys(r.stack, namespace)
    config = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    for full in sorted(config):
        prefix, _, key = full.partition(":")
        if prefix != namespace or (key not in in_file and key in _defaulted()):
            continue
        origin = "" if key in in_file else f" (the stack's configuration, not {stack_file})"
        problem = foreign_key(namespace, key, r.stack, platform, origin,
                              f"remove it from {stack_file}" if key in in_file else "remove it where it is set",
                              lambda known, _example: f"set `{namespace}:{known}` there")
        if problem:
            r.problems.append(problem)
            r.foreign.add(key)


def _stack_file_keys(stack: str, namespace: str) -> set[str]:
    """The keys of `namespace` that Pulumi.<stack>.yaml sets (a key without a namespace is the project's)."""
    try:
        config = stack_file_config(PROJECT_DIR / f"Pulumi.{stack}.yaml")
    except (OSError, ConfigError):
        return set()
    return {str(key).partition(":")[2] if ":" in str(key) else str(key) for key in config
            if str(key).partition(":")[0] == namespace or ":" not in str(key)}


def unknown_keys(r: Reader) -> None:
    """Every key of the project's namespace in the stack's configuration that the program does not read is a
    problem naming where it was set and the closest known key; other namespaces are their providers'."""
    namespace, stack_file = r.config.name, f"Pulumi.{r.stack}.yaml"
    in_file = _stack_file_keys(r.stack, namespace)
    config = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    for full in sorted(config):
        prefix, _, key = full.partition(":")
        if prefix != namespace:
            continue
        origin = stack_file if key in in_file else f"the stack's configuration, not {stack_file}"
        problem = unknown_key(namespace, key, origin, lambda known: f"`{namespace}:{known}`")
        if problem:
            r.problems.append(problem)


@dataclass(frozen=True)
class AppSettings:
    """What every platform needs: the app image and its runtime settings."""

    name: str
    image: str  # a prebuilt image reference; empty means build from app/ and push to `registry`
    registry: str
    registry_username: str
    registry_password: pulumi.Output[str] | None
    log_level: str
    web_concurrency: int
    config_vars: dict[str, str]  # the app's variables, as the stack sets them (over app.json's values)
    secret_config_vars: pulumi.Output[dict[str, str]] | None
    secret_config_names: tuple[str, ...]  # the names in secret_config_vars (the values stay secret)
    protect: bool  # stateful resources refuse replacement and deletion (Pulumi's `protect`)
    contract: contract.AppSpec | None = None  # the app's own description (infra/contract.py), read once


@dataclass(frozen=True)
class Settings:
    """One stack's validated configuration: the app's, and `platform_settings` of the chosen `platform`."""

    stack: str
    platform: str
    app: AppSettings
    platform_settings: Any


class Reader:
    """Reads keys from the project config, converting types and collecting every problem found.

    Every value read through it, plain or secret, passes the same rule: a value refused in one channel is
    refused in all, with the same message.
    """

    def __init__(self, config: pulumi.Config, stack: str) -> None:
        self.config = config
        self.stack = stack
        self.problems: list[str] = []
        self.foreign: set[str] = set()  # keys refused as another platform's: no other line about them

    def is_secret(self, key: str) -> bool:
        """Whether `key` holds a secret: one of SECRET_KEYS, or any key set with `pulumi config set --secret`."""
        return key in SECRET_KEYS or pulumi.runtime.is_config_secret(self.config.full_key(key))

    def plain_secret(self, key: str, example: str, *, namespace: str | None = None) -> None:
        """Refuse a secret set in plain config (stored and shown in plain text), naming the `--secret` command."""
        full = f"{namespace or self.config.name}:{key}"
        raw = pulumi.Config(namespace).get(key) if namespace else self.raw(key)
        if raw is None or not raw.strip() or pulumi.runtime.is_config_secret(full) or (
                namespace is None and key in self.foreign):
            return
        if options := ([] if namespace else self.options(key)):
            self.problems.append(f"{full} ({' and '.join(options)}) is a secret given in plain config, where it would "
                                 f"be stored and shown in plain text ({HIDDEN}). Fix: give --secret-config "
                                 f"{key}={example} instead.")
            return
        command = f"pulumi config set --stack {self.stack} --secret {key if namespace is None else full} {example}"
        self.problems.append(f"{full} is a secret set in plain config, where it would be stored and shown in plain "
                             f"text ({HIDDEN}). Fix: remove it from Pulumi.{self.stack}.yaml and run `{command}`.")

    def show(self, key: str, value: str) -> str:
        """`value` quoted for a message about `key`; a secret's value never enters a message."""
        return f"a value ({HIDDEN})" if self.is_secret(key) else _show(value)

    def options(self, key: str) -> list[str]:
        """The options that set `key` in this run (GIVEN_BY), with the stack file if it set the key too; empty when
        no option did (the stack file, or Pulumi.yaml's default, then holds the value)."""
        given = GIVEN_BY.get(self.config.full_key(key), [])
        return given if any(g.startswith("--") for g in given) else []

    def problem(self, key: str, why: str, example: str, *, secret: bool = False) -> None:
        if key in self.foreign:  # its one line says to remove it
            return
        secret = secret or self.is_secret(key)
        if options := self.options(key):
            flag = "--secret-config" if secret else "--config"
            self.problems.append(f"{self.config.name}:{key} ({' and '.join(options)}) {why}. Fix: give "
                                 f"{flag} {key}={example} instead.")
            return
        command = f"pulumi config set --stack {self.stack}{' --secret' if secret else ''} {key} {example}"
        where = f"run `{command}`" if secret else (
            f"in Pulumi.{self.stack}.yaml set `{self.config.name}:{key}: {example}` (or run `{command}`)")
        self.problems.append(f"{self.config.name}:{key} {why}. Fix: {where}.")

    def app_problem(self, problem: str) -> None:
        """A problem of the app's contract files (`problem` names the file, line or key, and the fix), after the
        setting that chose the app."""
        self.problems.append(f"{self.config.name}:app_dir {problem}")

    def raw(self, key: str) -> str | None:
        return self.config.get(key)

    def present(self, key: str, example: str) -> str | None:
        """The raw value; a key with a Pulumi.yaml default is never absent, unless Pulumi.yaml lost it."""
        value = self.raw(key)
        if value is None:
            self.problem(key, "is not set (and Pulumi.yaml gives no default for it)", example)
        return value

    def text(self, key: str, *, example: str, pattern: re.Pattern[str] | None = None, why: str = "",
             max_length: int = 253, required: bool = False) -> str:
        """Text of `key`, stripped; empty is allowed unless `required` (e.g. a version pin: empty means latest)."""
        value = self.present(key, example)
        if value is None:
            return ""
        value = value.strip()
        if required and not value:
            self.problem(key, f"is empty, which is not {why}", example)
        elif len(value) > max_length:
            self.problem(key, f"is {len(value)} characters long, more than {max_length}", example)
        elif value and pattern is not None and not pattern.match(value):
            self.problem(key, f"is {self.show(key, value)}, which is not {why}", example)
        elif not value.isprintable():
            self.problem(key, f"is {self.show(key, value)}, which holds control characters", example)
        return value

    def number(self, key: str, *, example: int, minimum: int, maximum: int) -> int:
        raw = self.present(key, str(example))
        if raw is None:
            return example
        try:
            value = int(raw.strip())
        except ValueError:
            self.problem(key, f"is {self.show(key, raw)}, not a whole number", str(example))
            return example
        if not minimum <= value <= maximum:
            self.problem(key, f"is {self.show(key, str(value))}, but must be between {minimum} and {maximum}",
                         str(example))
            return example
        return value

    def flag(self, key: str) -> bool:
        raw = self.present(key, "true")
        if raw is None:
            return False
        if raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        self.problem(key, f"is {self.show(key, raw)}, not true or false", "true")
        return False

    def choice(self, key: str, choices: Iterable[str], *, required: bool = False) -> str:
        choices = tuple(choices)
        value = (self.raw(key) or "").strip()
        if required and not value:
            self.problem(key, f"is missing; it must be one of {', '.join(choices)}", choices[0])
        elif value not in choices:
            self.problem(key, f"is {self.show(key, value)}, which is not one of {', '.join(choices)}", choices[0])
        return value

    def secret_text(self, key: str, *, example: str, pattern: re.Pattern[str], why: str) -> pulumi.Output[str] | None:
        """An optional secret, checked like plain text but never quoted; None when unset or empty."""
        raw = self.raw(key)
        if raw is None or not raw.strip():
            return None
        if not pattern.match(raw.strip()):
            self.problem(key, f"is not {why} ({HIDDEN})", example, secret=True)
        return pulumi.Output.secret(raw.strip())

    def json_object(self, key: str, *, example: str, secret: bool = False) -> dict[str, Any]:
        """A JSON object (the CLI hands structured values over as JSON); {} when unset or empty."""
        raw = self.raw(key)
        if raw is None or not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            shown = f"a value ({HIDDEN})" if secret else self.show(key, raw)
            self.problem(key, f"is {shown}, which is not a JSON object of NAME: value", example, secret=secret)
            return {}
        return value


def _show(value: str, limit: int = 60) -> str:
    """A value quoted for a message, cut short so that a pasted file does not flood the terminal."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def log_level(raw: str) -> str | None:
    """The app's LOG_LEVEL rule (actors.config.log_level), lower-case: blanks around are ignored, empty is info, the
    case does not matter (ASCII only); None when `raw` names no level."""
    value = raw.strip()
    if not value:
        return "info"
    return value.lower() if value.isascii() and value.lower() in LOG_LEVELS else None


def read_log_level(r: Reader) -> str:
    raw = r.present("log_level", "info")
    if raw is None:
        return "info"
    level = log_level(raw)
    if level is None:
        r.problem("log_level", f"is {r.show('log_level', raw.strip())}, which is not one of {', '.join(LOG_LEVELS)} "
                  "(in any case)", "info")
        return ""
    return level


def _config_vars(r: Reader, key: str, *, secret: bool) -> dict[str, str]:
    """`config_vars` or `secret_config_vars`: one rule for both, names checked, values never quoted if secret."""
    example = "'{\"FEATURE_X\": \"on\"}'"
    value = r.json_object(key, example=example, secret=secret)
    for name, var in value.items():
        if not _ENV_NAME.match(name):
            r.problem(key, f"has {name[:60]!r}, which is not an environment variable name (letters, digits, '_')",
                      example, secret=secret)
        elif name.upper() in RESERVED_VARS:
            r.problem(key, f"sets {name}, which the stack sets itself (from log_level, web_concurrency or "
                           "dyno_size, or the database); remove it", example, secret=secret)
        elif isinstance(var, dict | list) or var is None:
            r.problem(key, f"has {name} set to a {type(var).__name__}, not a plain value", example, secret=secret)
    return {name: _plain(var) for name, var in value.items()}


def _plain(var: Any) -> str:
    return str(var).lower() if isinstance(var, bool) else str(var)


def read_app(r: Reader) -> AppSettings:
    """The settings of the app itself, the same on every platform."""
    for key, where in MOVED.items():
        # Read past the Reader: a key Pulumi.yaml no longer documents, looked at only to say where it went.
        if r.config.get(key) is not None:
            r.problems.append(f"{r.config.name}:{key} is no longer read: {where}. Fix: remove it from "
                              f"Pulumi.{r.stack}.yaml and set the variable in config_vars instead.")
    for key, example in SECRET_EXAMPLES.items():
        r.plain_secret(key, example)
    # config_vars set with `--secret` stay secret: they join secret_config_vars (a k8s Secret, Heroku's
    # sensitive_config_vars) instead of landing in plain env, manifests and outputs.
    config_secret = r.is_secret("config_vars")
    config_vars = _config_vars(r, "config_vars", secret=config_secret)
    secret_config_vars = _config_vars(r, "secret_config_vars", secret=True)
    for name in sorted(set(config_vars) & set(secret_config_vars)):
        r.problem("secret_config_vars", f"sets {name}, which config_vars sets too; keep it in one of them", "'{}'",
                  secret=True)
    if config_secret:
        config_vars, secret_config_vars = {}, {**config_vars, **secret_config_vars}
    return AppSettings(
        name=pulumi.get_project(),
        image=r.text("image", pattern=IMAGE_REF, why="an image reference", example="ghcr.io/acme/paasport:1.0.0"),
        registry=r.text("registry", pattern=REPOSITORY, why="a registry repository prefix", example="ghcr.io/acme"),
        registry_username=r.text("registry_username", pattern=re.compile(r"^\S+$"), why="a user name",
                                 example="acme-bot"),
        registry_password=r.secret_text("registry_password", pattern=re.compile(r"^\S+$"), why="a password or token",
                                        example="<token>"),
        log_level=read_log_level(r),
        web_concurrency=r.number("web_concurrency", example=2, minimum=1, maximum=64),
        config_vars=config_vars,
        secret_config_vars=pulumi.Output.secret(secret_config_vars) if secret_config_vars else None,
        secret_config_names=tuple(secret_config_vars),
        protect=r.flag("protect"),
    )


PlatformReader = Callable[[Reader, AppSettings], Any]


def app_directory(r: Reader) -> tuple[Path, str]:
    """`app_dir` as an absolute path (a relative one is from the project directory, where Pulumi.yaml is) and as
    the user wrote it, for messages."""
    raw = r.text("app_dir", example="app", max_length=4096) or "app"
    path = Path(raw).expanduser()
    return (path if path.is_absolute() else PROJECT_DIR / path).resolve(), raw


def read_contract(r: Reader, app: AppSettings) -> contract.AppSpec | None:
    """The app's contract; its problems join the stack's, each naming the file, line or key, and the fix. A
    required variable of app.json's env without a value must come from the stack's config vars."""
    directory, shown = app_directory(r)
    try:
        found = directory.is_dir()
    except OSError:  # a name the file system refuses, such as one longer than 255 bytes
        found = False
    if not found:
        shown_value = f"a value ({HIDDEN})" if r.is_secret("app_dir") else repr(shown)
        # the example is no real directory: the project's own `app` would deploy the demo instead of the user's
        r.problem("app_dir", f"is {shown_value}, which is not a directory (a relative path is from the "
                  "project directory, where Pulumi.yaml is; the directory holds the app's Procfile and Dockerfile)",
                  "/path/to/your-app")
        return None
    spec, problems = contract.read(directory, shown)
    # Each names the setting that chose the app, then the file, its line or key, and the fix. A spec with problems
    # is still read on (the variables it requires, the platform's sizes), so that one run reports every problem;
    # `load` raises them before anything deploys it.
    for problem in problems:
        r.app_problem(problem)
    given = set(app.config_vars) | set(app.secret_config_names)
    for var in spec.env if spec else ():
        if var.required and var.value is None and not var.generator and var.name not in given:
            about = f" ({var.description.rstrip('.')})" if var.description else ""
            r.app_problem(
                f"{shown}/app.json env.{var.name}: is required{about} and has no value. Fix: run `pulumi config set "
                f"--stack {r.stack} --path config_vars.{var.name} <value>` (or --secret with secret_config_vars), "
                f"or give it a \"value\" in app.json.")
    for name in sorted(set(spec.database_env) & given if spec else ()):
        r.app_problem(f"{shown}/app.json paasport.database_env.{name}: the stack's config vars set it too. "
                          f"Fix: remove {name} from config_vars or secret_config_vars; the database sets it.")
    return spec


def load(platforms: dict[str, PlatformReader], *, app_platforms: Collection[str]) -> Settings:
    """Read and validate this stack's configuration; raise one `ConfigError` listing every problem.

    `platforms` maps each `paasport:platform` value to the function that reads that platform's settings; only
    `app_platforms` deploy the app, so only their stacks read its contract (`app_dir`).
    """
    stack = pulumi.get_stack()
    r = Reader(pulumi.Config(), stack)
    unknown_keys(r)
    platform = r.choice("platform", platforms, required=True)
    if platform in platforms:
        foreign_keys(r, platform)
    app = read_app(r)
    if platform in app_platforms:
        app = dataclasses.replace(app, contract=read_contract(r, app))
    spec = app.contract
    platform_settings = platforms[platform](r, app) if platform in platforms else None
    if r.problems:
        options = " and command-line options" if any(g.startswith("--") for v in GIVEN_BY.values() for g in v) else ""
        raise ConfigError(f"Invalid configuration of stack {stack!r} (Pulumi.{stack}.yaml{options}):\n  - "
                          + "\n  - ".join(r.problems))
    for warning in spec.warnings if spec else ():
        pulumi.log.warn(warning)
    return Settings(stack=stack, platform=platform, app=app, platform_settings=platform_settings)
