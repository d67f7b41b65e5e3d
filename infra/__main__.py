"""paasport's Pulumi program: read the settings once, then compose the chosen platform (`paasport:platform`)."""

import sys
from pathlib import Path

# The language host runs this directory (runpy) with infra/ first on sys.path and infra/ as working directory
# (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec); the modules import as the `infra` package.
_PROJECT_DIR = str(Path(__file__).resolve().parents[1])
if _PROJECT_DIR not in sys.path:
    sys.path.insert(1, _PROJECT_DIR)

from infra import cluster, heroku, k8s, settings  # noqa: E402

PLATFORMS = {"k8s": k8s, "heroku": heroku, "cluster": cluster}
# The platforms that run the app; `cluster` prepares a bare cluster for `k8s` and never reads the app.
APP_PLATFORMS = ("k8s", "heroku")

stack_settings = settings.load({name: platform.read_settings for name, platform in PLATFORMS.items()},
                               app_platforms=APP_PLATFORMS)
PLATFORMS[stack_settings.platform].deploy(stack_settings)
