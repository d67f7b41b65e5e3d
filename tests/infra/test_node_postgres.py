"""A Node.js app whose database client is node-postgres (infra/node_postgres.py): under the stacks' PGSSLMODE (prefer
on k8s, require on Heroku) pg verifies the server's certificate and its connections fail, so preview warns on both
stacks and the parity table's DB TLS row says so; with PGSSLMODE=no-verify in app.json, or without pg, neither does.
The expected texts are written out here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import contract, node_postgres
from offline import parity
from tests.infra.test_contract import make_app
from tests.support import offline_cli

PROCFILE = "web: node server.js\n"
DOCKERFILE = "FROM node:22\nUSER 10001:10001\nCMD [\"node\", \"server.js\"]\n"
DATABASE = {"addons": ["heroku-postgresql"]}
PG = json.dumps({"name": "x", "dependencies": {"express": "^4.21.0", "pg": "^8.13.0"}})

FIX = ('Fix: `"PGSSLMODE": "no-verify"` in app.json\'s env (TLS without verifying the certificate, as libpq\'s prefer '
       'and require do), or `ssl: { rejectUnauthorized: false }` where the app configures its client.')
WARNS = {
    "k8s": "{app}/package.json dependencies.pg: node-postgres takes PGSSLMODE=prefer (the k8s stack's) as TLS that "
           "verifies the server's certificate, and the stack's PostgreSQL serves a self-signed one, so the app's "
           "database connections fail (`self-signed certificate`) unless its code gives the client an `ssl` option "
           "of its own. " + FIX,
    "heroku": "{app}/package.json dependencies.pg: node-postgres takes PGSSLMODE=require (the Heroku stack's) as TLS "
              "that verifies the server's certificate, and Heroku Postgres's cannot be verified unless the database "
              "has Enhanced Certificates, so the app's database connections fail the check unless its code gives "
              "the client an `ssl` option of its own. " + FIX,
}


def node_app(root: Path, app_json: object = DATABASE, package: str | None = PG) -> Path:
    return make_app(root, procfile=PROCFILE, app_json=app_json, dockerfile=DOCKERFILE,
                    **({"package__json": package} if package is not None else {}))


def preview(stack: str, app: Path) -> str:
    result = offline_cli("plan", "--stack", stack, f"--config=app_dir={app}")
    assert result.returncode == 0, result.stderr
    return result.stderr


# --- preview, both stacks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["k8s", "heroku"])
def test_an_app_on_pg_without_its_own_pgsslmode_is_warned_on_one_line(tmp_path, stack):
    app = node_app(tmp_path / "node")
    lines = [line for line in preview(stack, app).splitlines() if "package.json" in line]
    assert lines == ["warning: " + WARNS[stack].replace("{app}", str(app))]


@pytest.mark.parametrize("stack", ["k8s", "heroku"])
@pytest.mark.parametrize(("app_json", "package"), [
    ({**DATABASE, "env": {"PGSSLMODE": "no-verify"}}, PG),  # node-postgres's own value
    ({**DATABASE, "env": {"PGSSLMODE": {"value": "no-verify", "description": "pg"}}}, PG),
    (DATABASE, json.dumps({"dependencies": {"express": "^4.21.0"}})),  # no pg
    (DATABASE, json.dumps({"dependencies": {"express": "^4"}, "devDependencies": {"pg": "^8"}})),  # not at run time
    (DATABASE, None),  # no package.json
    ({}, PG),  # no database of the stack's: no PGSSLMODE either
])
def test_no_word_with_no_verify_without_pg_or_without_a_database(tmp_path, stack, app_json, package):
    app = node_app(tmp_path / "node", app_json=app_json, package=package)
    assert "package.json" not in preview(stack, app)


# --- which apps, which modes (the contract read, no program run) ----------------------------------------------------


def spec_of(app: Path) -> contract.AppSpec:
    spec, problems = contract.read(app, "myapp")
    assert problems == []
    return spec


@pytest.mark.parametrize(("package", "driver"), [
    (PG, "pg"),
    (json.dumps({"dependencies": {"pg-promise": "^11.10.0"}}), "pg-promise"),  # hands its connection to pg.Pool
    (json.dumps({"dependencies": {"knex": "^3.1.0", "pg": "^8.13.0"}}), "pg"),  # pg beside another library
    (json.dumps({"dependencies": {"postgres": "^3.4.0"}}), None),  # porsager's driver: its source not read, not claimed
    (json.dumps({"dependencies": ["pg"]}), None),  # not npm's form
    ("{not json", None),
    (json.dumps(["pg"]), None),
])
def test_the_driver_is_read_from_package_json_dependencies(tmp_path, package, driver):
    assert node_postgres.driver(spec_of(node_app(tmp_path / "node", package=package))) == driver


@pytest.mark.parametrize(("env", "warned"), [
    ({}, True),
    ({"PGSSLMODE": "no-verify"}, False),
    ({"PGSSLMODE": "disable"}, False),  # no TLS: the DB TLS row's own gap, not this warning
    ({"PGSSLMODE": "require"}, True),
    ({"PGSSLMODE": "verify-full"}, True),
])
def test_every_mode_pg_verifies_under_is_warned_of(tmp_path, env, warned):
    spec = spec_of(node_app(tmp_path / "node", app_json={**DATABASE, "env": env}))
    assert (node_postgres.warning(spec, "prefer", "k8s") is not None) is warned


def test_the_apps_own_verifying_mode_and_pg_promise_are_named(tmp_path):
    spec = spec_of(node_app(tmp_path / "node", app_json={**DATABASE, "env": {"PGSSLMODE": "require"}},
                            package=json.dumps({"dependencies": {"pg-promise": "^11.10.0"}})))
    assert node_postgres.warning(spec, "prefer", "k8s") == (
        "myapp/package.json dependencies.pg-promise: node-postgres (pg-promise connects through it) takes "
        "PGSSLMODE=require (app.json's env) as TLS that verifies the server's certificate, and the stack's PostgreSQL "
        "serves a self-signed one, so the app's database connections fail (`self-signed certificate`) unless its "
        "code gives the client an `ssl` option of its own. " + FIX)


# --- the parity table -------------------------------------------------------------------------------------------------

WORKAROUND = ('workaround: `"PGSSLMODE": "no-verify"` in app.json\'s env (TLS without verifying the certificate, as '
              'libpq\'s prefer and require do), or `ssl: { rejectUnauthorized: false }` where the app configures its '
              'client')


def db_tls(app: Path) -> tuple[str, str]:
    table = parity.run(list(parity.PLATFORMS), [f"app_dir={app}"])
    cells = dict(table.rows)["DB TLS"]
    return parity.cell_text(cells["k8s"]), parity.cell_text(cells["heroku"])


def test_the_db_tls_row_of_an_app_on_pg_says_its_connections_fail(tmp_path):
    app = node_app(tmp_path / "node")
    assert db_tls(app) == (
        f"not available on this platform: {app}/package.json depends on pg: node-postgres takes the web pods' "
        "PGSSLMODE=prefer as TLS that verifies the server's certificate, and the stack's PostgreSQL serves a "
        "self-signed one, so the app's database connections fail (`self-signed certificate`) unless its code gives "
        "the client an `ssl` option of its own; " + WORKAROUND,
        f"not available on this platform: {app}/package.json depends on pg: node-postgres takes the config var "
        "PGSSLMODE=require as TLS that verifies the server's certificate, and Heroku Postgres's cannot be verified "
        "unless the database has Enhanced Certificates, so the app's database connections fail the check unless its "
        "code gives the client an `ssl` option of its own; " + WORKAROUND)


def test_the_db_tls_row_of_an_app_on_pg_with_no_verify_is_tls_without_verification(tmp_path):
    app = node_app(tmp_path / "node", app_json={**DATABASE, "env": {"PGSSLMODE": "no-verify"}})
    assert db_tls(app) == (
        "PostgreSQL serves TLS with the stack's own certificate (self-signed, in Secret paasport-db-tls: clients "
        "encrypt without verifying it); the web pods' PGSSLMODE is no-verify, which uses it; between meshed pods "
        "Linkerd's mTLS wraps it as well (the one-off and backup pods are not meshed) (Helm release "
        "paasport-postgresql, Secret paasport-db-tls, Deployment paasport-web, Namespace paasport; setting "
        "linkerd_inject)",
        "Heroku Postgres takes TLS connections only; the config var PGSSLMODE=no-verify asks for it (App paasport, "
        "Addon paasport-postgres)")
