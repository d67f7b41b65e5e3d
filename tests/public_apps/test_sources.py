"""The public apps in tests/fixtures/apps are their authors' code, unchanged, with licence and source named.

Each app's SOURCE.md names the repository, commit and licence, and lists the files kept as they were with the
git blob id its upstream commit gives each one (read from upstream, not computed here), so a file edited to make
it pass on paasport fails this test.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.public_apps import APPS, FIXTURES

BLOB_LINE = re.compile(r"^([0-9a-f]{40})  (\S+)$", re.MULTILINE)


def git_blob_id(path: Path) -> str:
    """The id git gives a file's content: sha1 of "blob <size>\\0" then the bytes."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_every_fixture_app_is_listed():
    assert sorted(path.name for path in FIXTURES.iterdir() if path.is_dir()) == sorted(APPS)


@pytest.mark.parametrize("name", APPS)
def test_source_and_licence_are_named(name: str):
    app = FIXTURES / name
    source = (app / "SOURCE.md").read_text()
    for field in ("Repository: https://github.com/", "Commit: ", "Licence: "):
        assert field in source, f"{name}/SOURCE.md must name its {field.split(':')[0].lower()}"
    assert re.search(r"Commit: [0-9a-f]{40}", source), f"{name}/SOURCE.md must pin a full commit id"
    assert (app / "LICENSE").is_file(), f"{name} must carry its licence"


@pytest.mark.parametrize("name", APPS)
def test_kept_files_are_byte_for_byte_upstream(name: str):
    app = FIXTURES / name
    listed = BLOB_LINE.findall((app / "SOURCE.md").read_text())
    assert listed, f"{name}/SOURCE.md lists no upstream files"
    changed = [path for blob, path in listed if git_blob_id(app / path) != blob]
    assert not changed, f"{name}: these files differ from upstream, which the contract forbids: {changed}"


@pytest.mark.parametrize("name", APPS)
def test_nothing_but_upstream_and_contract_files(name: str):
    """Every file is either listed as upstream, or one the contract reads (or the note that says so)."""
    app = FIXTURES / name
    source = (app / "SOURCE.md").read_text()
    upstream = {path for _, path in BLOB_LINE.findall(source)}
    contract = {"Procfile", "app.json", "Dockerfile", "SOURCE.md", "requirements.txt"}
    files = {str(path.relative_to(app)) for path in app.rglob("*")
             if path.is_file() and "__pycache__" not in path.parts}
    unexplained = sorted(files - upstream - contract)
    assert not unexplained, f"{name}: files neither upstream nor the contract's: {unexplained}"
    for path in sorted((files & contract) - upstream - {"SOURCE.md"}):
        assert f"`{path}`" in source, f"{name}/SOURCE.md must say what was added or changed in {path}"
