"""Deploy mode `build`: a Heroku Build of the app (heroku.yml builds the Dockerfile and runs the release phase).

The provider's Build resource waits for the build only (terraform-provider-heroku `heroku/resource_heroku_build.go`,
`BuildStateRefreshFunc`: pending -> succeeded), not for the release it creates, whose release phase runs after it;
so a failed seed would leave `pulumi up` green and the formation could scale before the release. `BuildRelease`
waits for that release (`release_id`) with the registry mode's poller (infra/heroku/release_api.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pulumi
import pulumi.dynamic
import pulumiverse_heroku as heroku

from infra import contract
from infra.heroku.release_api import API_URL, BuildReleaseProvider
from infra.heroku.source import write_archive
from infra.paths import APP_DIR, cache_dir


def archive_dir(app_dir: Path) -> Path:
    """Where the archive of `app_dir` goes: one per stack and app, so plans of two apps on one stack name never
    rewrite each other's; the project's own app keeps the path it always had (a new path is a new Build)."""
    if app_dir == APP_DIR:
        return cache_dir("heroku", pulumi.get_stack())
    return cache_dir("heroku", pulumi.get_stack(), "apps", hashlib.sha256(str(app_dir).encode()).hexdigest()[:12])


class BuildRelease(pulumi.dynamic.Resource, module="heroku", name="BuildRelease"):
    """Waits for release `release_id` of `app` to succeed; fails with Heroku's message and the release output."""

    release_version: pulumi.Output[int]

    def __init__(self, name: str, *, app: pulumi.Input[str], release_id: pulumi.Input[str],
                 api_key: pulumi.Input[str], api_url: str = API_URL, timeout_seconds: int = 1800,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        props = {"app": app, "release_id": release_id, "api_key": pulumi.Output.secret(api_key), "api_url": api_url,
                 "timeout_seconds": timeout_seconds, "release_version": None}
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["api_key"]))
        super().__init__(BuildReleaseProvider(), name, props, opts)


class HerokuBuild(pulumi.ComponentResource):
    """Builds and releases app/ once per content hash, after `after` (the Postgres add-on); `released` is done
    when the build's release, release phase included, has succeeded."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        app_name: pulumi.Input[str],
        api_key: pulumi.Input[str] | None,
        spec: contract.AppSpec,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_build:HerokuBuild", name, None, opts)
        # The provider checksums this file itself and rejects a `checksum` next to `path`.
        # In the user's cache, named by app: one archive per app, rewritten only when app/ changes. The provider
        # reads it from `path` (absolute: the engine runs providers in infra/) at preview and at build.
        # An app without a heroku.yml of its own gets one written from its Procfile (infra/contract.py).
        extra = {} if spec.heroku_yml else {"heroku.yml": contract.heroku_yml(spec).encode()}
        source = write_archive(spec.directory, archive_dir(spec.directory) / f"{name}-source.tar.gz", extra)
        self.build = heroku.build.Build(
            name,
            app_id=app_id,
            source=heroku.build.BuildSourceArgs(path=str(source.path), version=source.version),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        self.version: pulumi.Output[str] = pulumi.Output.from_input(source.version)
        self.release_id: pulumi.Output[str] = self.build.release_id
        # No key configured: the waiter falls back to `heroku login`'s ~/.netrc, as the Heroku provider does.
        self.released = BuildRelease(f"{name}-release", app=app_name, release_id=self.build.release_id,
                                     api_key=api_key if api_key is not None else "",
                                     opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"version": self.version, "release_id": self.release_id})
