"""Deploy mode `build`: a Heroku Build of app/ (heroku.yml builds the Dockerfile and runs the release phase)."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumiverse_heroku as heroku

from infra.heroku_source import write_archive

REPO = Path(__file__).resolve().parents[1]
CONTEXT = "app"
# Relative to the project root, where `pulumi up` runs; git-ignored. A fixed path keeps `source` unchanged.
ARCHIVE = ".build/heroku/app-source.tar.gz"


class HerokuBuild(pulumi.ComponentResource):
    """Builds and releases app/ once per content hash, after `after` (the Postgres add-on)."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        context: str = CONTEXT,
        archive: str = ARCHIVE,
        after: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_build:HerokuBuild", name, None, opts)
        # The provider checksums this file itself and rejects a `checksum` next to `path`.
        source = write_archive(REPO / context, REPO / archive)
        self.build = heroku.build.Build(
            name,
            app_id=app_id,
            source=heroku.build.BuildSourceArgs(path=archive, version=source.version),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after or []),
        )
        self.version: pulumi.Output[str] = pulumi.Output.from_input(source.version)
        self.sha256: str = source.sha256
        self.release_id: pulumi.Output[str] = self.build.release_id
        self.register_outputs({"version": self.version, "release_id": self.release_id})
