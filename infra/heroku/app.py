"""The Heroku app: container stack, region/team, ACM for a custom domain, and the app's config vars."""

from __future__ import annotations

import pulumi
import pulumiverse_heroku as heroku


class HerokuApp(pulumi.ComponentResource):
    """`app_id` is the app's UUID, which every other Heroku resource takes; secrets go in sensitive config vars."""

    def __init__(
        self,
        name: str,
        *,
        app_name: str,
        region: str = "us",
        team: str = "",
        acm: bool = False,
        config_vars: dict[str, str] | None = None,
        sensitive_config_vars: pulumi.Input[dict[str, str]] | None = None,
        stack: str = "container",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_app:HerokuApp", name, None, opts)
        self.app = heroku.app.App(
            name,
            name=app_name,
            region=region,
            stack=stack,
            acm=acm,
            organization=heroku.app.AppOrganizationArgs(name=team, locked=True) if team else None,
            config_vars=config_vars or {},
            sensitive_config_vars=pulumi.Output.secret(sensitive_config_vars) if sensitive_config_vars else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.app_id: pulumi.Output[str] = self.app.id
        self.name: pulumi.Output[str] = self.app.name
        self.web_url: pulumi.Output[str] = self.app.web_url
        self.register_outputs({"app_id": self.app_id, "name": self.name, "web_url": self.web_url})
