"""The app's generated secrets: app.json's `generator: secret` variables, made once and kept in the stack's state.

Heroku's app.json makes such a value once, when the app is set up (devcenter.heroku.com/articles/app-json-schema,
`env`); here pulumi-random's RandomPassword does: its `result` is a secret from birth, stored encrypted in the state,
and unchanged at every later `pulumi up` (a new value only if the resource is replaced, which `protect` refuses).
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

LENGTH = 64  # letters and digits: as strong as Heroku's, and safe in URLs and shell words


def resource_name(app: str, variable: str) -> str:
    return f"{app}-{variable.lower().replace('_', '-')}"


class GeneratedSecrets(pulumi.ComponentResource):
    """`values` maps each variable to its secret value."""

    def __init__(self, name: str, *, variables: list[str], protect: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:secrets:GeneratedSecrets", name, None, opts)
        kept = pulumi.ResourceOptions(parent=self, protect=protect)
        self.values: dict[str, pulumi.Output[str]] = {
            variable: pulumi.Output.secret(random.RandomPassword(
                resource_name(name, variable), length=LENGTH, special=False, opts=kept).result)
            for variable in variables
        }
        self.register_outputs({"variables": sorted(self.values)})


def merged(plain: pulumi.Input[dict[str, str]] | None, extra: dict[str, pulumi.Output[str]]) -> pulumi.Output | None:
    """One secret map of `plain` (the stack's secret config vars) and `extra` (the generated values)."""
    if plain is None and not extra:
        return None
    return pulumi.Output.secret(pulumi.Output.all(plain or {}, extra).apply(lambda both: {**both[0], **both[1]}))
