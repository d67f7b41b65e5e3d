"""The custom domain: Heroku serves it with an ACM certificate once DNS points at `dns_target`."""

from __future__ import annotations

import pulumi
import pulumiverse_heroku as heroku


class CustomDomain(pulumi.ComponentResource):
    """`dns_target` is the *.herokudns.com name the user's CNAME (or ALIAS) record must point at."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        hostname: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_domain:CustomDomain", name, None, opts)
        self.domain = heroku.domain.Domain(name, app_id=app_id, hostname=hostname,
                                           opts=pulumi.ResourceOptions(parent=self))
        self.dns_target: pulumi.Output[str] = self.domain.cname
        self.url: str = f"https://{hostname}/"
        self.register_outputs({"dns_target": self.dns_target, "url": self.url})
