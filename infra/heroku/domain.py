"""The custom domain: Heroku serves it with an ACM certificate once DNS points at `dns_target`.

ACM is enabled by `AppAcm` after the domain and after `acm_after` (the web formation): Heroku issues ACM
certificates only to apps on paid dynos (https://devcenter.heroku.com/articles/automated-certificate-management),
so enabling it before a Basic-or-larger dyno runs fails (see infra/heroku/app.py for why the App does not do it).
Deleting `AppAcm` (the stack drops `domain`, or is destroyed) disables ACM again with `DELETE /apps/{app}/acm`,
the schema's "Disable ACM" link: nothing the stack serves needs it then, and an app already gone is fine.
"""

from __future__ import annotations

import pulumi
import pulumi.dynamic
import pulumiverse_heroku as heroku

from infra.heroku.release_api import API_URL, AcmProvider


class AppAcm(pulumi.dynamic.Resource, module="heroku", name="AppAcm"):
    """ACM on `app` (`POST /apps/{app}/acm`, the Platform API's "Enable ACM"); deleting it disables ACM."""

    acm: pulumi.Output[bool]

    def __init__(self, name: str, *, app: pulumi.Input[str], api_key: pulumi.Input[str], api_url: str = API_URL,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        props = {"app": app, "api_key": pulumi.Output.secret(api_key), "api_url": api_url, "acm": None}
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["api_key"]))
        super().__init__(AcmProvider(), name, props, opts)


class CustomDomain(pulumi.ComponentResource):
    """`dns_target` is the *.herokudns.com name the user's CNAME (or ALIAS) record must point at."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        app_name: pulumi.Input[str],
        hostname: str,
        api_key: pulumi.Input[str] | None,
        acm_after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_domain:CustomDomain", name, None, opts)
        self.domain = heroku.domain.Domain(name, app_id=app_id, hostname=hostname,
                                           opts=pulumi.ResourceOptions(parent=self))
        self.dns_target: pulumi.Output[str] = self.domain.cname
        # No key configured: the step falls back to `heroku login`'s ~/.netrc, as the Heroku provider does.
        self.acm = AppAcm(f"{name}-acm", app=app_name, api_key=api_key if api_key is not None else "",
                          opts=pulumi.ResourceOptions(parent=self, depends_on=[self.domain, *acm_after]))
        self.url: str = f"https://{hostname}/"
        self.register_outputs({"dns_target": self.dns_target, "url": self.url})
