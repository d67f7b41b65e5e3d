"""node-postgres and the PGSSLMODE the stacks give an app: which apps connect through it, and when its reading of
PGSSLMODE makes their connections fail, which preview warns of (both stacks) and the parity table's DB TLS row says.

node-postgres reads PGSSLMODE unlike libpq. When the client's config has no `ssl` option, pg takes it from the
environment: `disable` -> false; `prefer`, `require`, `verify-ca`, `verify-full` -> true; `no-verify` (its own value) ->
`{ rejectUnauthorized: false }` (brianc/node-postgres packages/pg/lib/connection-parameters.js,
`readSSLConfigFromEnvironment`, read at pg 8.23.0, pg-connection-string 2.14.0). `ssl: true` makes its Connection
`tls.connect` with Node.js's defaults (packages/pg/lib/connection.js `upgradeToSSL`), which verify the server's
certificate against Node.js's CAs, so `prefer` and `require` verify where libpq's do not, and a self-signed certificate
fails the connection ("self-signed certificate"). A connection string that names `sslmode` replaces that reading
(packages/pg-connection-string/index.js `parse`: `ssl` becomes an object, verifying unless `sslmode=no-verify` or
`uselibpqcompat=true`); the stacks' DATABASE_URL names none (infra/k8s/postgres.py; Heroku's add-on URL), so PGSSLMODE
decides.

The k8s stack's PostgreSQL serves a self-signed certificate (infra/k8s/postgres.py) and the pods get PGSSLMODE=prefer;
Heroku Postgres's certificate is not one a client can verify unless the database has Enhanced Certificates
(devcenter.heroku.com/articles/heroku-postgres-enhanced-certificates: they are what make `verify-full` possible), and
the Heroku stack sets PGSSLMODE=require. node-postgres's own answer for a self-signed certificate is
`ssl: { rejectUnauthorized: false }` (node-postgres.com/features/ssl, "Self-signed cert"), which PGSSLMODE=no-verify
gives without a code change. What the app's code passes to its client cannot be read here, so the warning says "unless".

The packages read: `pg` itself, and `pg-promise`, which depends on pg and hands its connection to `pg.Pool`
(vitaly-t/pg-promise lib/database.js `Database`, a string becoming `{connectionString}`; package.json pins pg, read at
12.7.0). No other driver's source was read (porsager's `postgres`, for one), so none is claimed here; a library that
loads the app's own `pg` has it in `dependencies`, which is what counts, and the options it passes are what "unless"
stands for.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.contract import AppSpec, package_json

DRIVERS = ("pg", "pg-promise")  # packages whose client is node-postgres (read above)
VERIFYING = ("prefer", "require", "verify-ca", "verify-full")  # node-postgres: `ssl: true`, the certificate verified
FIX = ('`"PGSSLMODE": "no-verify"` in app.json\'s env (TLS without verifying the certificate, as libpq\'s prefer and '
       'require do), or `ssl: { rejectUnauthorized: false }` where the app configures its client')


@dataclass(frozen=True)
class VerifyingClient:
    """An app whose node-postgres client verifies the database's certificate, given the PGSSLMODE it gets."""

    package: str  # the package.json dependency that brings node-postgres
    mode: str  # the PGSSLMODE the app's processes get
    apps_own: bool  # app.json's env sets it (else the stack's)


def driver(spec: AppSpec) -> str | None:
    """The first of `DRIVERS` among the `dependencies` of the app's package.json; None without one (or a package.json
    that is not a JSON object)."""
    deps = package_json(spec.directory).get("dependencies")
    return next((d for d in DRIVERS if d in deps), None) if isinstance(deps, dict) else None


def verifying_client(spec: AppSpec, stack_mode: str) -> VerifyingClient | None:
    """The app's node-postgres client when it verifies the certificate under the PGSSLMODE its processes get (app.json's
    own, else `stack_mode`); None when the app has no database of the stack's or no such client."""
    package = driver(spec) if spec.database else None
    own = spec.plain_env.get("PGSSLMODE")
    mode = own if own is not None else stack_mode
    return VerifyingClient(package, mode, own is not None) if package and mode in VERIFYING else None


def fails(package: str, what: str, platform: str) -> str:
    """What node-postgres, brought by `package`, does with `what` (a verifying PGSSLMODE, as the text names it)
    against the `platform`'s (k8s or heroku) database: for the preview warning and the parity table."""
    server = ("the stack's PostgreSQL serves a self-signed one, so the app's database connections fail "
              "(`self-signed certificate`)" if platform == "k8s" else
              "Heroku Postgres's cannot be verified unless the database has Enhanced Certificates, so the app's "
              "database connections fail the check")
    via = "" if package == "pg" else f" ({package} connects through it)"
    return (f"node-postgres{via} takes {what} as TLS that verifies the server's certificate, and {server} unless its "
            "code gives the client an `ssl` option of its own")


def warning(spec: AppSpec, stack_mode: str, platform: str) -> str | None:
    """Preview's warning when the app's node-postgres client would fail on the `platform`'s (k8s or heroku) database
    certificate, given the PGSSLMODE that stack sets."""
    client = verifying_client(spec, stack_mode)
    if client is None:
        return None
    source = "app.json's env" if client.apps_own else f"the {'k8s' if platform == 'k8s' else 'Heroku'} stack's"
    return (f"{spec.shown}/package.json dependencies.{client.package}: "
            f"{fails(client.package, f'PGSSLMODE={client.mode} ({source})', platform)}. Fix: {FIX}.")
