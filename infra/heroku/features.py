"""App features (Heroku's `heroku features:enable` / `heroku labs:enable`): preboot and runtime metrics."""

from __future__ import annotations

import pulumi
import pulumiverse_heroku as heroku

PREBOOT = "preboot"  # new web dynos take traffic before the old ones stop: zero-downtime deploys
RUNTIME_METRICS = "log-runtime-metrics"  # each dyno's memory and load in the log stream, every 20 s


class AppFeatures(pulumi.ComponentResource):
    """Enables each of `names` on the app; deleting a Feature resource (a setting turned off) disables it again."""

    def __init__(
        self,
        name: str,
        *,
        app_id: pulumi.Input[str],
        names: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_features:AppFeatures", name, None, opts)
        self.features = [
            heroku.app.Feature(f"{name}-{feature}", app_id=app_id, name=feature, enabled=True,
                               opts=pulumi.ResourceOptions(parent=self))
            for feature in names
        ]
        self.register_outputs({"names": names})
