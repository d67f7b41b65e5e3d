"""The Heroku app: container stack, region/team and the app's config vars.

ACM is not switched on here: terraform-provider-heroku would enable it while it creates the app, before any dyno
exists, and logs that this "will most likely fail" for an app outside a team (`heroku/resource_heroku_app.go`,
`resourceHerokuAppCreate` -> `updateAcm`). The app is created with `acm` false and infra/heroku/domain.py's
`AppAcm` enables ACM once the formation runs a dyno that can have it. `acm` is Optional + Computed and not ForceNew
in the provider's schema (the same file, v5.2.10 as pulumiverse-heroku 1.0.4 bundles; its schema.json has no
replaceOnChanges), so a change is an in-place update, never a replacement of the app. `ignore_changes` keeps the App
from switching ACM back off: once `AppAcm` enabled it, a refresh reads `acm: true`, and without it the next update
would call `updateAcm(false)`; it also leaves ACM on for stacks that created their app with `acm: true`.
"""

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
        region: str,
        team: str,
        config_vars: dict[str, str] | None = None,
        sensitive_config_vars: pulumi.Input[dict[str, str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_app:HerokuApp", name, None, opts)
        self.app = heroku.app.App(
            name,
            name=app_name,
            region=region,
            stack="container",  # the app is a Docker image (heroku.yml), not a buildpack build
            acm=False,
            organization=heroku.app.AppOrganizationArgs(name=team, locked=True) if team else None,
            config_vars=config_vars or {},
            sensitive_config_vars=pulumi.Output.secret(sensitive_config_vars) if sensitive_config_vars else None,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["acm"]),
        )
        self.app_id: pulumi.Output[str] = self.app.id
        self.name: pulumi.Output[str] = self.app.name
        self.web_url: pulumi.Output[str] = self.app.web_url
        self.register_outputs({"app_id": self.app_id, "name": self.name, "web_url": self.web_url})
