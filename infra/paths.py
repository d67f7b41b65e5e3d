"""Where the program finds the files it hands to providers, and where it writes what it builds.

The engine runs the program, and every provider plugin, with the program directory (`main: infra/` in
Pulumi.yaml) as working directory (pulumi/pulumi `pkg/engine/project.go` getPwdMain; `pkg/resource/plugin/
plugin.go` starts plugins with cmd.Dir = pwd), so a relative path reaches a provider as a path from infra/.
Paths into the checkout are written relative to infra/, which keeps them the same in every clone (they are
stored in the state); what the program builds goes to the user's cache directory, never into the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

PROGRAM_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PROGRAM_DIR.parent
APP_DIR = PROJECT_DIR / "app"  # the default app (`paasport:app_dir`)


def context(directory: Path) -> str:
    """An app directory as providers resolve it from the program directory: `../app` for the default app."""
    return os.path.relpath(directory, PROGRAM_DIR).replace(os.sep, "/")


def cache_dir(*parts: str) -> Path:
    """`$XDG_CACHE_HOME/paasport/...` (default `~/.cache/paasport/...`), created; where build artefacts go."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    directory = base.joinpath("paasport", *parts)
    directory.mkdir(parents=True, exist_ok=True)
    return directory
