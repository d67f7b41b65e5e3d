"""Deploy mode `build`: a Heroku Build of app/ (heroku.yml builds the Dockerfile and runs the release phase)."""

from __future__ import annotations

import pulumi
import pulumiverse_heroku as heroku

from infra.heroku.source import write_archive
from infra.paths import APP_DIR, cache_dir



class HerokuBuild(pulumi.ComponentResource):
    """Builds and releases app/ once per content hash, after `after` (the Postgres add-on)."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_build:HerokuBuild", name, None, opts)
        # The provider checksums this file itself and rejects a `checksum` next to `path`.
        # In the user's cache, named by app: one archive per app, rewritten only when app/ changes. The provider
        # reads it from `path` (absolute: the engine runs providers in infra/) at preview and at build.
        source = write_archive(APP_DIR, cache_dir("heroku") / f"{name}-source.tar.gz")
        self.build = heroku.build.Build(
            name,
            app_id=app_id,
            source=heroku.build.BuildSourceArgs(path=str(source.path), version=source.version),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        self.version: pulumi.Output[str] = pulumi.Output.from_input(source.version)
        self.release_id: pulumi.Output[str] = self.build.release_id
        self.register_outputs({"version": self.version, "release_id": self.release_id})
