"""paasport's Pulumi program: read the settings once, then compose the chosen platform (`paasport:platform`)."""

import sys
from pathlib import Path

# The Pulumi host runs this file with infra/ on sys.path; the components import as the `infra` package.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from infra import heroku, k8s  # noqa: E402
from infra import settings as config  # noqa: E402

PLATFORMS = {"k8s": k8s.deploy, "heroku": heroku.deploy}

settings = config.load()
PLATFORMS[settings.platform](settings)
