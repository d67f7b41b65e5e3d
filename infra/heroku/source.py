"""The Heroku Build's source: a reproducible tar.gz of app/, so an unchanged app/ never triggers a rebuild.

The Heroku provider checksums the file it is given and rebuilds when that checksum changes; a tarball made from a
directory carries file timestamps, so a fresh checkout (or CI) would rebuild every time (terraform-provider-heroku
#289). This archive holds only names, modes and contents: sorted entries, fixed mtime/uid/gid/owner, gzip mtime 0.
It honours app/.dockerignore and always adds what Heroku reads besides the image context (heroku.yml, Dockerfile).

Symbolic links are kept as links, never followed, as the Docker context is: BuildKit sends a local context's
symlinks as symlinks (and so does buildah, which tests/infra/heroku/test_source.py compares against), so the image
Heroku builds from this archive has the same links as the one `docker build` makes. A link's target is never read:
a link out of the app ships no file of the deploying machine. (The contract files themselves may not point out of
the app at all: infra/contract.py.)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

# Heroku reads these from the archive root whatever .dockerignore says (the Dockerfile is built from it).
ALWAYS = ("heroku.yml", "Dockerfile", ".dockerignore")


@dataclass(frozen=True)
class SourceArchive:
    """The archive written, its sha256 (what the provider compares) and a version naming what was built."""

    path: Path
    sha256: str
    version: str


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regex over slash-separated relative paths."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(f"^{out}$")


def ignore_rules(app_dir: Path) -> list[tuple[re.Pattern[str], bool]]:
    """app/.dockerignore as (regex, excludes) rules in file order; the last rule matching a path wins."""
    path = app_dir / ".dockerignore"
    rules = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        pattern = pattern.strip("/")
        if pattern:
            rules.append((_pattern_regex(pattern), not negate))
    return rules


def _excluded(relative: str, rules: list[tuple[re.Pattern[str], bool]]) -> bool:
    """Docker's semantics: a rule applies when it matches the path or any of its parent directories."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for regex, excludes in rules:
        if any(regex.match(c) for c in candidates):
            excluded = excludes
    return excluded


def source_files(app_dir: Path) -> list[str]:
    """Every regular file and symbolic link the build needs, as sorted relative POSIX paths; the walk never enters
    a linked directory (the link itself is an entry)."""
    rules = ignore_rules(app_dir)
    found = set()
    for top, dirs, names in os.walk(app_dir, followlinks=False):
        base = Path(top)
        for name in [*names, *(d for d in dirs if (base / d).is_symlink())]:
            path = base / name
            if path.is_symlink() or path.is_file():
                found.add(path.relative_to(app_dir).as_posix())
    files = {f for f in found if not _excluded(f, rules)}
    files |= {name for name in ALWAYS if name in found}
    return sorted(files)


def archive_bytes(app_dir: Path, extra: dict[str, bytes] | None = None) -> bytes:
    """The tar.gz of `source_files` and `extra` (name: contents, e.g. a heroku.yml written from the Procfile),
    byte-for-byte the same for the same names, modes and contents."""
    extra = extra or {}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in sorted(set(source_files(app_dir)) | set(extra)):
            info = tarfile.TarInfo(relative)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if relative in extra:
                info.size, info.mode = len(extra[relative]), 0o644
                tar.addfile(info, io.BytesIO(extra[relative]))
                continue
            path = app_dir / relative
            if path.is_symlink():
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
                tar.addfile(info)
                continue
            info.size = path.stat().st_size
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def write_archive(app_dir: Path, dest: Path, extra: dict[str, bytes] | None = None) -> SourceArchive:
    """Write the archive to `dest` (only when its bytes change); its version is the content hash.

    Not the git commit: in a shallow CI clone every commit would look like it touched app/ and rebuild.
    """
    data = archive_bytes(app_dir, extra)
    digest = hashlib.sha256(data).hexdigest()
    if not dest.is_file() or dest.read_bytes() != data:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return SourceArchive(path=dest, sha256=digest, version=f"sha256:{digest[:12]}")
