"""Public apps, not written for paasport, planned and run through the app contract (issue 19)."""

from tests.support import REPO

FIXTURES = REPO / "tests" / "fixtures" / "apps"

# Three frameworks, two languages; DATABASE_URL read by one, libpq's PG* variables by two; a release command
# in two, a worker in one (each app's SOURCE.md says which).
APPS = ("django-getting-started", "express-postgres", "fastapi-pgqueuer")
