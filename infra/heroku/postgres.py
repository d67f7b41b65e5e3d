"""Heroku Postgres: an add-on that attaches DATABASE_URL to the app (the app adds sslmode=require to it)."""

from __future__ import annotations

import pulumi
import pulumiverse_heroku as heroku


class HerokuPostgres(pulumi.ComponentResource):
    """`addon` is what the build or release waits for, so the release phase finds DATABASE_URL."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        plan: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_postgres:HerokuPostgres", name, None, opts)
        self.addon = heroku.addon.Addon(
            f"{name}-postgres",
            app_id=app_id,
            plan=f"heroku-postgresql:{plan}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.plan: pulumi.Output[str] = self.addon.plan
        self.addon_name: pulumi.Output[str] = self.addon.name
        self.register_outputs({"plan": self.plan, "addon_name": self.addon_name})
