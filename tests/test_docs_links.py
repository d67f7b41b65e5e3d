"""README.md and the docs/ pages it leads to: every relative link reaches a file, every `#anchor` a heading, and
the README opens with its two commands and lists in its table of contents exactly its sections and the pages."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.support import REPO

README = REPO / "README.md"
PAGES = sorted((REPO / "docs").glob("*.md"))
LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """`text` without its fenced code blocks, whose brackets and `#` lines are code, not links or headings."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped but `-` and `_`, each space a `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(path: Path, level: str = "#+") -> list[str]:
    return re.findall(rf"^{level} (.+)$", prose(path.read_text()), re.MULTILINE)


def anchors(path: Path) -> set[str]:
    """Every anchor of a page; a repeated heading's gets `-1`, `-2`, ... as on GitHub."""
    seen: Counter[str] = Counter()
    result = set()
    for heading in headings(path):
        base = anchor(heading)
        result.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return result


def links_in(text: str) -> list[str]:
    return [target for _, target in LINK.findall(text)]


def links(path: Path) -> list[str]:
    return links_in(prose(path.read_text()))


@pytest.mark.parametrize(("heading", "expected"), [
    ("Deploy to Kubernetes", "deploy-to-kubernetes"),
    ("The app: `pulumi up --stack k8s`", "the-app-pulumi-up---stack-k8s"),
    ("Move a client: `make move`", "move-a-client-make-move"),
    ("Rotate Linkerd's certificates", "rotate-linkerds-certificates"),
    ("Scale, update, roll back", "scale-update-roll-back"),
    ("PostgreSQL images: Bitnami's August 2025 change", "postgresql-images-bitnamis-august-2025-change"),
])
def test_anchors_follow_githubs_rule(heading, expected):
    assert anchor(heading) == expected


def test_there_are_docs_pages_and_links_to_check():
    assert len(PAGES) >= 5 and all(links(page) for page in [README, *PAGES])


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_reaches_a_file_and_every_anchor_a_heading(path):
    broken = []
    for target in links(path):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: outside the repository
            continue
        file, _, fragment = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists() or not dest.is_relative_to(REPO):
            broken.append(f"{target}: no file {dest}")
        elif fragment and (dest.suffix != ".md" or fragment not in anchors(dest)):
            broken.append(f"{target}: no heading of {dest.name} has the anchor #{fragment}")
    assert broken == []


def test_the_table_of_contents_lists_the_readmes_sections_and_every_docs_page():
    sections = [heading for heading in headings(README, "##") if heading != "Contents"]
    toc = prose(README.read_text()).split("\n## Contents\n", 1)[1].split("\n## ", 1)[0]
    listed = links_in(toc)
    assert [target for target in listed if target.startswith("#")] == [f"#{anchor(s)}" for s in sections]
    assert sorted(target for target in listed if not target.startswith("#")) == \
        [page.relative_to(REPO).as_posix() for page in PAGES]


def test_each_docs_page_links_back_to_the_readme():
    for page in PAGES:
        assert "../README.md" in {target.partition("#")[0] for target in links(page)}, page.name


def test_the_readme_opens_with_its_two_commands_and_how_long_the_tests_take():
    text = README.read_text()
    first_screen = text.split("\n## ", 1)[0]
    commands = re.search(r"^```sh\n(.*?)^```", first_screen, re.MULTILINE | re.DOTALL)[1].splitlines()
    assert [line.split("#")[0].strip() for line in commands] == ["make local", "make test"]
    assert "`make help`" in first_screen
    assert re.search(r"`make test` takes about \d+ minutes on \d+ cores", first_screen)
    assert re.search(r"`\d+ passed, \d+ skipped in [\d.]+s \(\d+:\d\d:\d\d\)`", first_screen)  # the run it comes from
