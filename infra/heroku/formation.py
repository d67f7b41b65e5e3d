"""The web formation: how many dynos of which size run the `web` process."""

from __future__ import annotations

import pulumi
import pulumiverse_heroku as heroku


class WebFormation(pulumi.ComponentResource):
    """Scales `web` after `after` (the build or release that creates the process type)."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        size: str,
        quantity: int,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_formation:WebFormation", name, None, opts)
        self.formation = heroku.formation.Formation(
            f"{name}-web",
            app_id=app_id,
            type="web",
            size=size,
            quantity=quantity,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        self.register_outputs({"size": self.formation.size, "quantity": self.formation.quantity})


class ProcessFormation(pulumi.ComponentResource):
    """Scales one worker process type of the app's Procfile (app.json `formation`), after `after` (the release
    that creates the type); Heroku's formation is per process type (devcenter.heroku.com/articles/scaling)."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        process: str,
        size: str,
        quantity: int,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_formation:ProcessFormation", name, None, opts)
        self.formation = heroku.formation.Formation(
            name, app_id=app_id, type=process, size=size, quantity=quantity,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        self.register_outputs({"size": self.formation.size, "quantity": self.formation.quantity})
