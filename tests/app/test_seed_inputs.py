"""Generated inputs of `python -m actors.seed`: SEED_ARCHIVE / --archive values and archive contents.

Each bad input gives exactly one JSON error line on stderr and a non-zero status, never a traceback, and never
touches the data already in the database. A value of the wrong form (http://, credentials in the URL, control
characters, too long) or a local path with nothing there is refused before the database is even reached, so it
fails even when the data is already loaded (the release step of every deploy then says so, not only the first).
No network: every URL here is refused, or never fetched because the data is already there.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from actors import seed
from devenv.postgres import EmbeddedPostgres, bin_dir, create_actor_table
from tests.support import APP_DIR, clean_env

pytestmark = pytest.mark.usefixtures("pg_tools_path")

SECRET = "hunter2-Zq"
CHANNELS = ("SEED_ARCHIVE", "--archive")


def run_seed(database_url: str, archive: str | None, channel: str = "SEED_ARCHIVE", *args: str):
    env = clean_env(DATABASE_URL=database_url)
    argv = [sys.executable, "-m", "actors.seed", *args]
    if archive is not None and channel == "SEED_ARCHIVE":
        env["SEED_ARCHIVE"] = archive
    elif archive is not None:
        argv.append(f"--archive={archive}")
    return subprocess.run(argv, cwd=APP_DIR, env=env, capture_output=True, text=True, errors="replace", timeout=120,
                          check=False)


def one_error(result: subprocess.CompletedProcess, *, url: bool = True) -> str:
    """The message of the one JSON error line a failure prints (and nothing else on stderr); for a `url`, without
    the password it may hold (a local path is shown as it is: "bob:hunter2@" is a file name there)."""
    assert result.returncode not in (0, None), result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    record = json.loads(lines[0])
    assert record["level"] == "ERROR"
    assert not url or SECRET not in result.stderr + result.stdout
    return record["message"]


def actors(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT actor_id, first_name, last_name FROM actor ORDER BY actor_id").fetchall()


def public_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]


@pytest.fixture(scope="module")
def loaded_database(postgres: EmbeddedPostgres) -> str:
    """A database whose data is already there: 3 actors that no bad input may change."""
    url = postgres.create_database("seed_inputs_loaded")
    create_actor_table(url, [("Penelope", "Guiness"), ("Nick", "Wahlberg"), ("Ed", "Chase")])
    return url


@pytest.fixture(scope="module")
def tiny_archive(postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tar-format pg_restore archive of 2 actors."""
    url = postgres.create_database("seed_inputs_source")
    create_actor_table(url, [("Grace", "Kelly"), ("Cary", "Grant")])
    archive = tmp_path_factory.mktemp("tiny") / "tiny.tar"
    subprocess.run([str(bin_dir() / "pg_dump"), "-Ft", "-f", str(archive), url], check=True, capture_output=True)
    return archive


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Things on disk that generated values can name."""
    root = tmp_path_factory.mktemp("places")
    (root / "notes.txt").write_text("not an archive")
    (root / "dir.tar").mkdir()
    return {"{file}": str(root / "notes.txt"), "{dir}": str(root / "dir.tar"), "{root}": str(root)}


PARTS = st.sampled_from([
    "https://", "http://", "HTTPS://", "ftp://", "file://", "example.com", f"bob:{SECRET}@", "@", ":8443", ":0",
    ":99999", "/dvdrental.zip", "/dvdrental.tar", "?sig=a%2Fb", "%zz", "#frag", "[::1]", "{file}", "{dir}", "{root}",
    "/nonexistent/", "../", "~/", "-", " ", "\t", "\n", "\u200b", "ünï", "名前", "🚀", ".tar", ".zip", ".txt", "'",
    '"', "\\", "x" * 300, "y" * 2100,
])
# (no NUL: neither the environment nor argv can hold one)
VALUES = st.one_of(st.lists(PARTS, min_size=1, max_size=5).map("".join),
                   st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=20))


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(value=VALUES, channel=st.sampled_from(CHANNELS))
@example(value=f"https://bob:{SECRET}@example.com/dvdrental.zip", channel="SEED_ARCHIVE")  # echoed the password
@example(value="http://example.com/dvdrental.zip", channel="SEED_ARCHIVE")  # loaded: was "already loaded", exit 0
@example(value="/nonexistent/dvdrental.tar", channel="--archive")  # loaded: was "already loaded", exit 0
@example(value="/tmp/" + "y" * 300 + ".tar", channel="SEED_ARCHIVE")  # "unexpected error: OSError" line
@example(value="y" * 2100, channel="--archive")
@example(value="-x.tar", channel="--archive")
@example(value="https://example.com/ünï.zip", channel="SEED_ARCHIVE")  # urllib cannot send it
def test_an_archive_value_is_used_or_refused_in_one_line_leaving_the_data(loaded_database, places, value, channel):
    for placeholder, path in places.items():
        value = value.replace(placeholder, path)
    before = actors(loaded_database)
    result = run_seed(loaded_database, value, channel)
    assert "Traceback" not in result.stderr + result.stdout
    assert actors(loaded_database) == before
    problem = seed.config.seed_archive_problem(value)
    stripped = value.strip()
    local_exists = "://" not in stripped and (not stripped or _exists(stripped))
    if problem is None and ("://" in stripped or local_exists):
        # well formed and there: nothing to do, the data is loaded (and a URL is never fetched)
        assert result.returncode == 0, result.stderr
        assert "already loaded" in result.stdout
        return
    message = one_error(result, url="://" in value)
    assert message.startswith(channel) or message.startswith("archive not found: "), message
    assert f"(from {channel})" in message or message.startswith(channel)


def _exists(path: str) -> bool:
    try:
        return Path(path).expanduser().exists()
    except (OSError, ValueError):
        return False


def test_seed_archive_unset_or_blank_means_the_default_download(loaded_database):
    for value in (None, "", "   "):
        result = run_seed(loaded_database, value)
        assert result.returncode == 0, result.stderr
        assert "already loaded" in result.stdout


def test_a_usage_error_is_one_line(loaded_database):
    result = run_seed(loaded_database, None, "SEED_ARCHIVE", "--bogus")
    assert "unrecognized arguments: --bogus" in one_error(result)


# --- archive contents ---------------------------------------------------------------------------------------------


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def declaring(data: bytes, size: int) -> bytes:
    """A zip (of one stored member) whose directory declares `size` bytes once extracted: a zip bomb's promise."""
    end = data.rindex(b"PK\x05\x06")
    central = struct.unpack_from("<I", data, end + 16)[0]
    patched = bytearray(data)
    struct.pack_into("<I", patched, central + 24, size)  # the uncompressed size in the central directory
    return bytes(patched)


def with_method(data: bytes, method: int) -> bytes:
    """A zip whose member claims compression method `method` (99: AES, which zipfile cannot read)."""
    end = data.rindex(b"PK\x05\x06")
    central = struct.unpack_from("<I", data, end + 16)[0]
    patched = bytearray(data)
    struct.pack_into("<H", patched, 8, method)
    struct.pack_into("<H", patched, central + 10, method)
    return bytes(patched)


def encrypted(data: bytes) -> bytes:
    """A zip whose member says it is encrypted (general purpose flag bit 0)."""
    end = data.rindex(b"PK\x05\x06")
    central = struct.unpack_from("<I", data, end + 16)[0]
    patched = bytearray(data)
    for offset in (6, central + 8):  # local header flags, central directory flags
        patched[offset] |= 1
    return bytes(patched)


class Usage(NamedTuple):
    total: int
    used: int
    free: int


Maker = Callable[[Path, Path], Path]  # (tmp_path, tiny archive) -> the archive to seed


def _file(name: str, content: Callable[[Path], bytes]) -> Maker:
    def make(tmp_path: Path, tiny: Path) -> Path:
        (tmp_path / name).write_bytes(content(tiny))
        return tmp_path / name

    return make


BAD_CONTENTS: dict[str, tuple[Maker, str]] = {
    "empty file": (_file("empty.tar", lambda _: b""), "empty.tar is corrupt or not a pg_restore archive"),
    "empty zip": (_file("empty.zip", lambda _: zip_bytes({})), "must hold exactly one .tar archive; it holds nothing"),
    "truncated tar": (_file("cut.tar", lambda tiny: tiny.read_bytes()[:3000]), "cut.tar is truncated or damaged"),
    "tar cut at a block": (_file("cut.tar", lambda tiny: tiny.read_bytes()[:1024]), "cut.tar is truncated or damaged"),
    "tar without a toc": (_file("x.tar", lambda _: tar_bytes({"readme.txt": b"hello"})), "x.tar is corrupt or not"),
    "tar with path traversal members": (
        _file("evil.tar", lambda _: tar_bytes({"../../../tmp/seed-evil-member": b"x", "/etc/seed-evil": b"y"})),
        "evil.tar is corrupt or not a pg_restore archive",
    ),
    "zip without a tar": (_file("b.zip", lambda _: zip_bytes({"a.txt": b"a", "b.csv": b"b"})), "holds a.txt, b.csv"),
    "zip with two tars": (
        _file("b.zip", lambda tiny: zip_bytes({"a.tar": tiny.read_bytes(), "b.tar": tiny.read_bytes()})),
        "must hold exactly one .tar archive; it holds a.tar, b.tar",
    ),
    "zip of a truncated tar": (
        _file("b.zip", lambda tiny: zip_bytes({"dvdrental.tar": tiny.read_bytes()[:3000]})),
        "dvdrental.tar is truncated or damaged",
    ),
    "zip bomb: a member declaring more than the disk holds": (
        _file("bomb.zip", lambda tiny: declaring(zip_bytes({"d.tar": b"x" * 100}, zipfile.ZIP_STORED), 0xFFFFFFFF)),
        "d.tar",  # refused for the free space it promises, or (here) found to hold 100 bytes that are no archive
    ),
    "zip with an encrypted member": (
        _file("enc.zip", lambda tiny: encrypted(zip_bytes({"d.tar": tiny.read_bytes()}))), "enc.zip cannot be read"),
    "zip with an unsupported compression": (
        _file("odd.zip", lambda tiny: with_method(zip_bytes({"d.tar": tiny.read_bytes()}, zipfile.ZIP_STORED), 99)),
        "zip archive odd.zip is corrupt: ",
    ),
    "a directory": (lambda tmp_path, _: (tmp_path / "folder").mkdir() or tmp_path / "folder", "folder is corrupt"),
}


@pytest.mark.parametrize(("make", "expected"), BAD_CONTENTS.values(), ids=BAD_CONTENTS.keys())
def test_bad_archive_contents_give_one_line_and_leave_the_data(
    make, expected, postgres: EmbeddedPostgres, empty_database_url, tiny_archive, tmp_path
):
    archive = make(tmp_path, tiny_archive)
    message = one_error(run_seed(empty_database_url, str(archive)))
    assert expected in message
    assert public_tables(empty_database_url) == []
    # and with data there, --force (drop and reload) must leave it as it was
    create_actor_table(empty_database_url, [("Ed", "Chase")])
    forced = run_seed(empty_database_url, str(archive), "--archive", "--force")
    assert expected in one_error(forced)
    assert actors(empty_database_url) == [(1, "Ed", "Chase")]
    assert not Path("/tmp/seed-evil-member").exists() and not Path("/etc/seed-evil").exists()


def test_a_zip_member_declaring_more_than_the_free_space_is_refused_before_writing(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(declaring(zip_bytes({"d.tar": b"x" * 100}, zipfile.ZIP_STORED), 3 << 30))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(seed.shutil, "disk_usage", lambda _path: Usage(total=4 << 30, used=3 << 30, free=1 << 30))
    with pytest.raises(seed.SeedError, match=r"^zip archive bomb.zip holds d.tar, of 3221.2 MB once extracted: more "):
        seed.extract_from_zip(bomb, work)
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("name", ["../../../../tmp/seed-escape.tar", "/tmp/seed-escape.tar", "..", "a/..", "x" * 250
                                  + ".tar", "dir\\..\\..\\seed-escape.tar"])
def test_a_zip_member_name_never_writes_outside_the_work_directory(tiny_archive, empty_database_url, tmp_path, name):
    """The member is loaded whatever it is called, and only its base name (or archive.tar) is used on disk."""
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(zip_bytes({name: tiny_archive.read_bytes()}))
    result = run_seed(empty_database_url, str(bundle))
    assert result.returncode == 0, result.stderr
    assert [row[1:] for row in actors(empty_database_url)] == [("Grace", "Kelly"), ("Cary", "Grant")]
    assert not Path("/tmp/seed-escape.tar").exists()


def test_the_real_archive_loads_from_a_path_with_spaces_unicode_and_another_extension(
    dvdrental_tar: Path, empty_database_url, tmp_path
):
    """The form of the value is checked, not its extension: the content says what the archive is."""
    odd = tmp_path / "dvd rental ünï" / "dvdrental.dump"
    odd.parent.mkdir()
    odd.write_bytes(dvdrental_tar.read_bytes())
    result = run_seed(empty_database_url, f"  {odd}  ", "--archive")
    assert result.returncode == 0, result.stderr
    assert len(actors(empty_database_url)) == 200
