"""The parity table of apps that are not the demo (issue 27, item 1): the three public apps of tests/fixtures/apps and
a Node.js app without a database (`NODE_APP`: `web: npm start`, `USER node`, no app.json), on the committed stacks.

Every cell is written out below from the app's own files and the stacks' settings, and was checked against them:
what an app does not use is "not used by this app" with the way to turn it on, never a claim; what paasport cannot
know of an app (its log format, its server's shutdown timeout) is the platform's fact and the app's part. `{app}`
stands for the app's directory as `app_dir` names it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline import parity
from tests.public_apps import FIXTURES

NODE_APP = {
    "Procfile": "web: npm start\n",
    "package.json": json.dumps({"name": "hello", "private": True, "scripts": {"start": "node server.js"}}) + "\n",
    "server.js": 'const http = require("http");\n'
                 'http.createServer((req, res) => res.end("hello\\n")).listen(process.env.PORT);\n',
    "Dockerfile": 'FROM node:22-trixie-slim\nWORKDIR /app\nCOPY package.json server.js ./\nUSER node\n'
                  'CMD ["npm", "start"]\n',
}

# (Kubernetes, Heroku) of each row: the same for the four apps on the committed stacks, then for the three with the
# heroku-postgresql add-on, then each app's own.
# The cells of an app without a release line, and of one without app.json health checks.
NO_RELEASE = (
        "not used by this app: the app's Procfile has no `release:` line; to use it: add `release: "
        '<command>` to the Procfile (its migrations, say): it then runs once per deploy, before the new '
        'processes start, and a failure stops the deploy',
        "not used by this app: the app's Procfile has no `release:` line; to use it: add `release: "
        '<command>` to the Procfile (its migrations, say): it then runs once per deploy, before the new '
        'processes start, and a failure stops the deploy')
TCP_CHECKS = (
        'liveness probe TCP connect to PORT, readiness probe TCP connect to PORT: a pod that fails liveness'
        ' restarts; a pod that fails readiness leaves the Service until it passes; a TCP connect sees only '
        'that the server accepts connections, not that the app answers: give app.json `healthchecks.web` a '
        '`path` for that (Deployment paasport-web; setting app_dir)',
        'not available on this platform: the Common Runtime does not probe dynos (any app.json healthchecks'
        ' go unused): it restarts only crashed dynos and web dynos that do not bind $PORT within 60 s; '
        'workaround: an uptime monitor (add-on or external) on a path of the app, that alerts')
# The database's isolation and the cost of an app of web processes alone (and the database).
WEB_ONLY_ISOLATION = (
        'a NetworkPolicy admits to PostgreSQL only the pods of these app.kubernetes.io/component labels: '
        'web, release, backup, run (NetworkPolicy paasport-postgresql)',
        'not available on this platform: Heroku Postgres on the Common Runtime accepts connections from '
        'anywhere on the internet (credentials and TLS protect it); workaround: a Private Space with a '
        'private Postgres plan (Heroku Enterprise), or `heroku pg:credentials:rotate` after any leak')
WEB_ONLY_COST = (
        "your cluster's price for requests of 0.45 CPU / 768 MiB (up to 0.75 CPU / 1536 MiB) (2 to 5 web "
        'pods + PostgreSQL) and 16 GiB of volumes (Deployment paasport-web, HorizontalPodAutoscaler '
        'paasport-web, Helm release paasport-postgresql, PersistentVolumeClaim paasport-backup; settings '
        'hpa_min_replicas, hpa_max_replicas, postgres_storage_size, backup_storage_size)',
        'about $12 a month: web 1 x basic + heroku-postgresql:essential-0 at list prices of 2024-12; '
        '`monthly_cost_usd` output (Formation paasport-web, Addon paasport-postgres; settings dyno_size, '
        'dyno_quantity, postgres_plan)')
# DB TLS of an app with a release line that sets no PGSSLMODE of its own (the stacks' prefer and require).
STACKS_SSLMODE_WITH_RELEASE = (
        "PostgreSQL serves TLS with the stack's own certificate (self-signed, in Secret paasport-db-tls: "
        "clients encrypt without verifying it); the web pods' PGSSLMODE is prefer, which uses it; between "
        "meshed pods Linkerd's mTLS wraps it as well (the release, one-off and backup pods are not meshed) "
        '(Helm release paasport-postgresql, Secret paasport-db-tls, Deployment paasport-web, Namespace '
        'paasport; setting linkerd_inject)',
        'Heroku Postgres takes TLS connections only; the config var PGSSLMODE=require asks for it (App '
        'paasport, Addon paasport-postgres)')
SAME: dict[str, tuple[str, str]] = {
    'HTTPS with automatic certificate': (
        "cert-manager issues and renews the certificate of paasport.example.com from the cluster's existing "
        'ClusterIssuer letsencrypt-prod; Emissary terminates TLS with it (Certificate paasport-tls, Host '
        'paasport; settings tls_issuer, acme_email)',
        "ACM issues and renews the certificate of paasport.example.com; the herokuapp.com address has Heroku's "
        '(App paasport, Domain paasport, AppAcm paasport-acm; setting domain)'),
    'Custom domain': (
        'paasport.example.com, routed by Emissary to the web Service; point its DNS at the ingress (Host '
        'paasport, Mapping paasport-web; setting hostname)',
        'paasport.example.com; its CNAME points at the `dns_target` output (*.herokudns.com) (Domain paasport; '
        'setting domain)'),
    'HTTP to HTTPS redirect': (
        'Emissary answers http:// with a redirect to https:// (Host requestPolicy.insecure) (Host paasport)',
        "not available on this platform: Heroku's router serves http:// as well and never redirects; "
        "workaround: redirect in the app: answer a request whose X-Forwarded-Proto is http (Heroku's router "
        'sets it) with a redirect to https://'),
    'Scheduled jobs': (
        'not used by this app: the app has no scheduled tasks (no `cron` in an app.json); to use it: add '
        'Dokku\'s `"cron": [{"command": "...", "schedule": "0 3 * * *"}]` to app.json (UTC): a CronJob then runs'
        ' each',
        'not used by this app: the app has no scheduled tasks (no `cron` in an app.json); to use it: add '
        'Dokku\'s `"cron": [{"command": "...", "schedule": "0 3 * * *"}]` to app.json (UTC): preview then says '
        'which Heroku Scheduler job to add for each (Scheduler has no Platform API)'),
    'One-off commands': (
        '`kubectl_run` output: `kubectl run --rm -it` of a pod made like the web pod (the same image, env, '
        'hardening and writable volumes; DYNO=run.*), attached and deleted at the end; `sh`, or any command '
        'after `--` (Deployment paasport-web)',
        "`heroku_run` output: `heroku run` of a one-off dyno (DYNO=run.*) with the app's image and config vars,"
        ' attached and gone at the end; `sh`, or any command after `--` (App paasport)'),
    'Zero-downtime deploy': (
        'rolling update, maxUnavailable 0, maxSurge 1: new pods take traffic once ready, old ones stop after '
        '(Deployment paasport-web)',
        'not available on this platform: eco and basic dynos cannot preboot: a deploy stops the old dyno before'
        ' the new one boots, so requests fail for a few seconds; workaround: `dyno_size: standard-1x` or '
        'larger; the stack then enables preboot (`preboot`)'),
    'Rollback': (
        '`kubectl_rollback` output (rollout undo, 5 ReplicaSets kept); durable: `image` set to the previous '
        'digest (Deployment paasport-web; setting image)',
        '`heroku_rollback` output (releases:rollback to an earlier release); durable: the previous version of '
        '{app}/ and `pulumi up` (Build paasport)'),
    'Horizontal scaling': (
        '2 to 5 pods, spread over nodes and zones (HorizontalPodAutoscaler paasport-web, Deployment '
        'paasport-web; settings hpa_min_replicas, hpa_max_replicas)',
        'not available on this platform: eco and basic run one web dyno; workaround: `dyno_size: standard-1x` '
        'or larger, then `dyno_quantity`'),
    'Autoscaling': (
        'on CPU: 2 to 5 pods at 70% of requests (needs metrics-server) (HorizontalPodAutoscaler paasport-web; '
        'settings hpa_enabled, hpa_cpu_percent)',
        'not available on this platform: Heroku Autoscaling is only for performance (and Private/Shield) web '
        'dynos and is switched on in the Dashboard: no Platform API or provider resource sets it; workaround: '
        '`dyno_size: performance-m` or larger, then Dashboard > Resources > Enable Autoscaling; or an '
        'autoscaling add-on such as Judoscale'),
    'Logs': (
        "each container's stdout and stderr, kept by the kubelet while the pod lives (the app must log there, "
        'in a format of its own: LOG_LEVEL is set from `log_level`); `kubectl_logs` output (Deployment '
        'paasport-web; setting log_level)',
        "each dyno's stdout and stderr into Logplex, which keeps the last 1,500 lines (the app must log there, "
        'in a format of its own: LOG_LEVEL is set from `log_level`); `heroku_logs` output (App paasport; '
        'setting log_level)'),
    'Metrics': (
        'not used by this app: the app serves no metrics of its own (no `paasport.metrics_path` in an '
        "app.json); the cluster stack's Prometheus still scrapes the Linkerd proxy of each meshed pod "
        "(requests, latency, success rate); to use it: serve Prometheus metrics on a path of the app's and set "
        'app.json `paasport.metrics_path`',
        'Application Metrics in the Dashboard (response time, throughput, memory, load); per-dyno memory and '
        'load in the log stream every 20 s; the app serves no metrics of its own (no `paasport.metrics_path`) '
        '(Formation paasport-web, Feature paasport-log-runtime-metrics; settings dyno_size, runtime_metrics)'),
    'Log drain / log shipping': (
        "the cluster stack's Fluent Bit on every node ships each pod's lines to OpenSearch (a line that is a "
        'JSON object becomes fields, any other stays text), searched in OpenSearch Dashboards (Helm release '
        'paasport-fluent-bit, Helm release paasport-opensearch, Helm release paasport-opensearch-dashboards; '
        'settings logs_enabled, logs_storage_size)',
        'not available on this platform: `log_drain_url` is unset, and Logplex keeps only the last 1,500 lines;'
        ' workaround: `pulumi config set --secret log_drain_url syslog+tls://...`, or a logging add-on'),
}
WITH_DATABASE: dict[str, tuple[str, str]] = {
    'Managed PostgreSQL': (
        'Bitnami PostgreSQL chart 16.7.27 in the namespace, on a volume of 8Gi; you run its upgrades and '
        'recovery (Helm release paasport-postgresql; settings postgres_chart_version, postgres_storage_size)',
        'Heroku Postgres essential-0; Heroku runs, patches and maintains it (Addon paasport-postgres; setting '
        'postgres_plan)'),
    'DB credentials as secrets': (
        "generated passwords, secret in Pulumi's state, stored only in a Secret; pods read PGPASSWORD and "
        'DATABASE_URL from Secrets by secretKeyRef (Secret paasport-db, Deployment paasport-web)',
        'the add-on attaches DATABASE_URL itself: the credentials never pass through the stack; the heroku.yml '
        'prelude derives PG* from it at each dyno start (Addon paasport-postgres)'),
    'Hardened app containers': (
        "non-root (UID 10001 and GID 10001, the Dockerfile's USER 10001:10001), no privilege escalation, all "
        'capabilities dropped, RuntimeDefault seccomp, no service-account token; writable: /tmp, /dev/shm; /tmp'
        " starting with the image's files there (an init container copies them in: a dyno's filesystem is the "
        "image's) (Deployment paasport-web; setting app_dir)",
        "not available on this platform: dynos are Heroku's own containers, run as a non-root user of Heroku's "
        "(not the Dockerfile's USER): no read-only root filesystem or securityContext to set (the filesystem is"
        ' writable and discarded at each restart); workaround: the k8s stack, for a hardened pod'),
    'DB backups': (
        'pg_dump on `0 3 * * *` (Etc/UTC) into a volume of 8Gi, the newest 7 kept; `kubectl_backup_now` output '
        '(CronJob paasport-backup, PersistentVolumeClaim paasport-backup; settings backup_schedule, '
        'backup_keep, backup_storage_size)',
        'not available on this platform: essential plans have no Continuous Protection, and a PGBackups '
        'schedule has no Platform API endpoint or provider resource for the stack to create; workaround: run '
        "the `heroku_backup_schedule` output once (`heroku pg:backups:schedule DATABASE_URL --at '03:00 UTC'`),"
        ' or `postgres_plan: standard-0` or higher'),
    'Move to the other platform': (
        '`make move ARGS="--from k8s --to <heroku stack>"`: the chart\'s database through `kubectl '
        "port-forward`, with the app user's credentials from the stack's outputs; the namespace's Deployments "
        'at 0 and its CronJobs suspended while writes stop, and the database refusing them; `--online` stops '
        'writes for seconds (Helm release paasport-postgresql, Deployment paasport-web)',
        '`make move ARGS="--from heroku --to <k8s stack>"`: the add-on\'s DATABASE_URL through the Platform API;'
        ' maintenance mode and every process type but web at 0 while writes stop, and the database refusing '
        'them; `--online` stops writes for seconds (App paasport, Addon paasport-postgres)'),
}
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    'django-getting-started': {
        'DB TLS': STACKS_SSLMODE_WITH_RELEASE,
        'Release phase': (
            'a Job per image runs `./manage.py migrate --no-input`; the Deployment rolls only after it succeeds'
            ' (Job paasport-release, Deployment paasport-web; setting app_dir)',
            "heroku.yml's release phase runs `./manage.py migrate --no-input` on each build; a failed release "
            'is not deployed (Build paasport; setting app_dir)'),
        'Health checks': (
            'startup probe /, liveness probe /, readiness probe /: a pod that fails liveness restarts; a pod '
            'that fails readiness leaves the Service until it passes (the app decides what its paths check) '
            '(Deployment paasport-web; setting app_dir)',
            'not available on this platform: the Common Runtime does not probe dynos (any app.json healthchecks'
            ' go unused): it restarts only crashed dynos and web dynos that do not bind $PORT within 60 s; '
            'workaround: an uptime monitor (add-on or external) on a path of the app, that alerts'),
        'Graceful shutdown': (
            "a stopping pod leaves the Service; after its 5 s preStop sleep SIGTERM reaches the container's "
            'first process, and SIGKILL comes 30 s after the stop began; gunicorn stops accepting and finishes '
            'requests within 20 s ({app}/gunicorn.conf.py) (Deployment paasport-web)',
            'the dyno manager sends SIGTERM to every process of the dyno, SIGKILL 30 s later; gunicorn finishes'
            ' requests within 20 s ({app}/gunicorn.conf.py) (Formation paasport-web)'),
        'Network isolation of the DB': WEB_ONLY_ISOLATION,
        'Estimated monthly cost': WEB_ONLY_COST,
    },
    'express-postgres': {
        'DB TLS': (
            "PostgreSQL serves TLS with the stack's own certificate (self-signed, in Secret paasport-db-tls: "
            "clients encrypt without verifying it); the web pods' PGSSLMODE is no-verify, which uses it; "
            "between meshed pods Linkerd's mTLS wraps it as well (the one-off and backup pods are not meshed) "
            '(Helm release paasport-postgresql, Secret paasport-db-tls, Deployment paasport-web, Namespace '
            'paasport; setting linkerd_inject)',
            'Heroku Postgres takes TLS connections only; the config var PGSSLMODE=no-verify asks for it (App '
            'paasport, Addon paasport-postgres)'),
        'Release phase': NO_RELEASE,
        'Health checks': TCP_CHECKS,
        'Graceful shutdown': (
            "not available on this platform: the web command `yarn start` makes yarn the container's first "
            'process, which alone gets SIGTERM: yarn 1 passes SIGTERM on to the app and exits at once, which '
            'ends the container: the app is killed before it finishes its requests; workaround: `web: node '
            'dist/index.js` in the Procfile, with a SIGTERM handler that stops accepting and finishes the '
            'requests in flight',
            'the dyno manager sends SIGTERM to every process of the dyno, SIGKILL 30 s later: the app must stop'
            " accepting and finish its requests within 30 s of SIGTERM (paasport cannot read its server's "
            'shutdown timeout) (Formation paasport-web)'),
        'Network isolation of the DB': WEB_ONLY_ISOLATION,
        'Estimated monthly cost': WEB_ONLY_COST,
    },
    'fastapi-pgqueuer': {
        'DB TLS': STACKS_SSLMODE_WITH_RELEASE,
        'Release phase': (
            'a Job per image runs `(pgq verify --expect present || pgq install) && pgq upgrade`; the Deployment'
            ' rolls only after it succeeds (Job paasport-release, Deployment paasport-web; setting app_dir)',
            "heroku.yml's release phase runs `(pgq verify --expect present || pgq install) && pgq upgrade` on "
            'each build; a failed release is not deployed (Build paasport; setting app_dir)'),
        'Health checks': (
            'readiness probe /queue-size: a pod that fails readiness leaves the Service until it passes; no '
            'liveness probe (no app.json liveness check for web), so a stuck pod is never restarted (Deployment'
            ' paasport-web; setting app_dir)',
            'not available on this platform: the Common Runtime does not probe dynos (any app.json healthchecks'
            ' go unused): it restarts only crashed dynos and web dynos that do not bind $PORT within 60 s; '
            'workaround: an uptime monitor (add-on or external) on a path of the app, that alerts'),
        'Graceful shutdown': (
            "a stopping pod leaves the Service; after its 5 s preStop sleep SIGTERM reaches the container's "
            'first process, and SIGKILL comes 30 s after the stop began: the app must stop accepting and finish'
            " its requests within 25 s of SIGTERM (paasport cannot read its server's shutdown timeout) "
            '(Deployment paasport-web)',
            'the dyno manager sends SIGTERM to every process of the dyno, SIGKILL 30 s later: the app must stop'
            " accepting and finish its requests within 30 s of SIGTERM (paasport cannot read its server's "
            'shutdown timeout) (Formation paasport-web)'),
        'Network isolation of the DB': (
            'a NetworkPolicy admits to PostgreSQL only the pods of these app.kubernetes.io/component labels: '
            'web, release, backup, worker-worker, run (NetworkPolicy paasport-postgresql)',
            'not available on this platform: Heroku Postgres on the Common Runtime accepts connections from '
            'anywhere on the internet (credentials and TLS protect it); workaround: a Private Space with a '
            'private Postgres plan (Heroku Enterprise), or `heroku pg:credentials:rotate` after any leak'),
        'Estimated monthly cost': (
            "your cluster's price for requests of 0.55 CPU / 1024 MiB (up to 0.85 CPU / 1792 MiB) (2 to 5 web "
            'pods + 1 worker pod + PostgreSQL) and 16 GiB of volumes (Deployment paasport-web, '
            'HorizontalPodAutoscaler paasport-web, Deployment paasport-worker, Helm release '
            'paasport-postgresql, PersistentVolumeClaim paasport-backup; settings hpa_min_replicas, '
            'hpa_max_replicas, postgres_storage_size, backup_storage_size)',
            'about $19 a month: web 1 x basic + worker 1 x basic + heroku-postgresql:essential-0 at list prices'
            ' of 2024-12; `monthly_cost_usd` output (Formation paasport-web, Formation paasport-worker, Addon '
            'paasport-postgres; settings dyno_size, dyno_quantity, postgres_plan)'),
    },
    'node-without-database': {
        'Managed PostgreSQL': (
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; the stack then runs the Bitnami '
            'PostgreSQL chart in the namespace (`postgres_chart_version`)',
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; the stack then attaches Heroku Postgres '
            '(`postgres_plan`)'),
        'DB credentials as secrets': (
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; its generated passwords are then kept in'
            ' a Secret, which the pods read',
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; the add-on then attaches DATABASE_URL '
            'itself'),
        'DB TLS': (
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; PostgreSQL then serves TLS with the '
            "stack's own certificate",
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; Heroku Postgres then takes TLS '
            'connections only'),
        'Release phase': NO_RELEASE,
        'Health checks': TCP_CHECKS,
        'Hardened app containers': (
            "non-root (UID 10001 and GID 10001, the stack's, as the Dockerfile's USER node is not a non-root "
            'number), no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no '
            "service-account token; writable: /tmp, /dev/shm; /tmp starting with the image's files there (an "
            "init container copies them in: a dyno's filesystem is the image's) (Deployment paasport-web; "
            'setting app_dir)',
            "not available on this platform: dynos are Heroku's own containers, run as a non-root user of "
            "Heroku's (not the Dockerfile's USER): no read-only root filesystem or securityContext to set (the "
            'filesystem is writable and discarded at each restart); workaround: the k8s stack, for a hardened '
            'pod'),
        'Graceful shutdown': (
            "not available on this platform: the web command `npm start` makes npm the container's first "
            'process, which alone gets SIGTERM: npm passes SIGTERM on to the app, then exits 1 with the error '
            "`signal SIGTERM` when the app dies of it (the container's first process cannot die of the signal "
            'itself); workaround: `web: node server.js` in the Procfile, with a SIGTERM handler that stops '
            'accepting and finishes the requests in flight',
            'the dyno manager sends SIGTERM to every process of the dyno, SIGKILL 30 s later: the app must stop'
            " accepting and finish its requests within 30 s of SIGTERM (paasport cannot read its server's "
            'shutdown timeout) (Formation paasport-web)'),
        'DB backups': (
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; the stack then dumps it on '
            '`backup_schedule` into a volume of its own (`backup_enabled`)',
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; Heroku Postgres then keeps backups as '
            'its plan does (`postgres_plan`)'),
        'Network isolation of the DB': (
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; a NetworkPolicy then admits only its '
            'pods to PostgreSQL',
            'not used by this app: the app asks for no database (no `heroku-postgresql` add-on in an app.json);'
            ' to use it: add `heroku-postgresql` to app.json `addons`; Heroku Postgres on the Common Runtime is'
            " then reachable from anywhere, guarded by its credentials and TLS; a Private Space's private plan "
            '(Heroku Enterprise) isolates it'),
        'Move to the other platform': (
            "not used by this app: the app keeps no data in a database of the stack's (no `heroku-postgresql` "
            'add-on in an app.json), so `make move` has nothing to copy: `pulumi up` a stack of the other '
            'platform and point DNS at it; to use it: add `heroku-postgresql` to app.json `addons`: `make move '
            'ARGS="--from <stack> --to <stack>"` then copies its data; a database of the app\'s own moves with '
            '`make move ARGS="--from postgres://... --to ..."`',
            "not used by this app: the app keeps no data in a database of the stack's (no `heroku-postgresql` "
            'add-on in an app.json), so `make move` has nothing to copy: `pulumi up` a stack of the other '
            'platform and point DNS at it; to use it: add `heroku-postgresql` to app.json `addons`: `make move '
            'ARGS="--from <stack> --to <stack>"` then copies its data; a database of the app\'s own moves with '
            '`make move ARGS="--from postgres://... --to ..."`'),
        'Estimated monthly cost': (
            "your cluster's price for requests of 0.2 CPU / 512 MiB (up to 0.5 CPU / 1280 MiB) (2 to 5 web "
            'pods), no volumes (Deployment paasport-web, HorizontalPodAutoscaler paasport-web; settings '
            'hpa_min_replicas, hpa_max_replicas)',
            'about $7 a month: web 1 x basic at list prices of 2024-12; `monthly_cost_usd` output (Formation '
            'paasport-web; settings dyno_size, dyno_quantity)'),
    },
}


@pytest.fixture(scope="module")
def node_app(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("apps") / "hello"
    directory.mkdir()
    for name, text in NODE_APP.items():
        (directory / name).write_text(text)
    return directory


def app_dirs(node_app: Path) -> dict[str, str]:
    return {**{name: str((FIXTURES / name).relative_to(FIXTURES.parents[2])) for name in
               ("django-getting-started", "express-postgres", "fastapi-pgqueuer")},
            "node-without-database": str(node_app)}


@pytest.mark.parametrize("app", list(EXPECTED))
def test_every_cell_of_the_apps_table_is_the_expected_one(node_app, app):
    where = app_dirs(node_app)[app]
    table = parity.run(list(parity.PLATFORMS), [f"app_dir={where}"])  # as `make parity ARGS="--config ..."` runs
    found = {row: tuple(parity.cell_text(cells[p]).replace(where, "{app}") for p in ("k8s", "heroku"))
             for row, cells in table.rows}
    expected = {**SAME, **(WITH_DATABASE if app != "node-without-database" else {}), **EXPECTED[app]}
    assert list(found) == [c.name for c in parity.CAPABILITIES]
    for row in found:
        assert found[row] == expected[row], row


def test_no_cell_of_another_app_speaks_of_the_actors_app(node_app):
    """What the issue found in the tables of other apps: the demo's variable, its log format, its Dockerfile."""
    for where in app_dirs(node_app).values():
        text = parity.to_text(parity.run(list(parity.PLATFORMS), [f"app_dir={where}"]), width=10_000)
        for trace in ("FORCE_HTTPS", "JSON lines", "app/Dockerfile", "actors", "a pod without its database",
                      "`backup_enabled` is false"):
            assert trace not in text, (where, trace)
