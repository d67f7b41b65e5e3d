"""An optional log drain: Heroku forwards the app's logs to a syslog or HTTPS endpoint."""

from __future__ import annotations

import pulumi
import pulumiverse_heroku as heroku


class LogDrain(pulumi.ComponentResource):
    """The URL often embeds a token, so it goes in `sensitive_url` and stays a secret."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        url: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_logs:LogDrain", name, None, opts)
        self.drain = heroku.drain.Drain(name, app_id=app_id, sensitive_url=pulumi.Output.secret(url),
                                        opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"token": self.drain.token})
