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


# --- symbolic links: kept as links, as the Docker context keeps them ---------------------------------------------


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """An app with links: to a file beside it, to a directory, and out of the app (never followed)."""
    app = tmp_path / "linked"
    (app / "sub").mkdir(parents=True)
    (app / "Dockerfile").write_text("FROM scratch\nCOPY . /app/\n")
    (app / "data.txt").write_text("data\n")
    (app / "sub" / "a.txt").write_text("a\n")
    (app / "link").symlink_to("data.txt")
    (app / "dirlink").symlink_to("sub")
    (app / "escape").symlink_to("/etc/hostname")
    (app / "dangling").symlink_to("nowhere")
    return app


def archive_entries(data: bytes) -> dict[str, tuple[str, str]]:
    """{path: ("file", content) or ("link", target)} of a tar.gz."""
    entries = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            if member.issym():
                entries[member.name] = ("link", member.linkname)
            elif member.isfile():
                entries[member.name] = ("file", tar.extractfile(member).read().decode())
    return entries


def test_the_archive_keeps_links_as_links_and_never_reads_their_targets(linked):
    # The defect: links were dropped from the Heroku archive, while the Docker context kept them: the two
    # platforms built different images from one app.
    assert archive_entries(archive_bytes(linked)) == {
        "Dockerfile": ("file", "FROM scratch\nCOPY . /app/\n"), "data.txt": ("file", "data\n"),
        "sub/a.txt": ("file", "a\n"), "link": ("link", "data.txt"), "dirlink": ("link", "sub"),
        "escape": ("link", "/etc/hostname"), "dangling": ("link", "nowhere")}


def test_the_archive_and_a_real_image_builder_see_the_same_links(linked):
    """buildah, a real image builder, copies the same context into an image: every path is the same kind with the
    same content or link target as in the archive Heroku builds from."""
    from tests.containers import engine, podman, require_tools

    require_tools()
    tag = "localhost/paasport-test/linked:latest"
    engine("buildah", "bud", "--isolation", "chroot", "--layers=false", "-t", tag, str(linked), timeout=600)
    root = Path(podman("image", "mount", tag).stdout.strip()) / "app"
    try:
        seen = {}
        for top, dirs, names in os.walk(root, followlinks=False):
            for name in [*names, *(d for d in dirs if (Path(top) / d).is_symlink())]:
                path = Path(top) / name
                seen[path.relative_to(root).as_posix()] = (
                    ("link", os.readlink(path)) if path.is_symlink() else ("file", path.read_text()))
    finally:
        podman("image", "unmount", tag, check=False)
        podman("rmi", "-f", tag, check=False)
    assert seen == archive_entries(archive_bytes(linked))
