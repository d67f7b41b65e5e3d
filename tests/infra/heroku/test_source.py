"""The Build's source archive is reproducible: same tree, same bytes; mtimes do not count; content does."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from infra.heroku.source import archive_bytes, source_files, write_archive
from tests.support import APP_DIR


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of app/ that the test may touch and edit."""
    copy = tmp_path / "app"
    shutil.copytree(APP_DIR, copy)
    return copy


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_same_tree_gives_the_same_bytes_and_checksum(tree, tmp_path):
    first = write_archive(tree, tmp_path / "out" / "a.tar.gz")
    second = write_archive(tree, tmp_path / "out" / "b.tar.gz")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 == sha(first.path.read_bytes())
    assert first.version == f"sha256:{first.sha256[:12]}"
    assert archive_bytes(tree) == archive_bytes(APP_DIR)  # a copy with fresh mtimes is the same archive


def test_touching_mtimes_does_not_change_it_but_content_does(tree):
    before = sha(archive_bytes(tree))
    for path in tree.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert sha(archive_bytes(tree)) == before
    (tree / "actors" / "health.py").write_text((tree / "actors" / "health.py").read_text() + "\n# changed\n")
    assert sha(archive_bytes(tree)) != before


def test_entries_are_sorted_and_carry_no_timestamps_or_owners(tree):
    data = archive_bytes(tree)
    assert data[4:8] == b"\0\0\0\0"  # the gzip header's MTIME field
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}


def test_it_honours_dockerignore_and_keeps_what_heroku_reads(tree):
    (tree / "actors" / "__pycache__").mkdir(exist_ok=True)
    (tree / "actors" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (tree / "notes.txt").write_text("not for the image")
    files = source_files(tree)
    assert {"Dockerfile", "requirements.txt", "actors/seed.py", "actors/serve.py"} <= set(files)
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert "notes.txt" not in files


def test_an_unchanged_archive_is_not_rewritten(tree, tmp_path):
    dest = tmp_path / "app.tar.gz"
    write_archive(tree, dest)
    os.utime(dest, (1, 1))
    write_archive(tree, dest)
    assert dest.stat().st_mtime == 1
