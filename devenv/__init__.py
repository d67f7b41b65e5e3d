"""The development environment: an embedded PostgreSQL, the app's server as a child process, `make local`."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "app"  # the deployable unit: the image's build context and the server's working directory
