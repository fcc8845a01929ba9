"""The README stays a user's page, and every relative link and #anchor in it, in docs/*.md and in
the changelog points at a file and a heading that exist: a newcomer can walk from the README to
every page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS, ROOT / "CHANGELOG.md"]
README_MAX_LINES = 275

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); a target may carry a "title" after a space.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text without markup, lower case, punctuation dropped
    (letters, digits, '_' and '-' stay), spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    """Every link target outside code: fenced blocks and code spans hold no links."""
    targets = []
    for line in prose_lines(text):
        for target in LINK.findall(CODE_SPAN.sub("code", line)):
            targets.append(target)
    return targets


def shown(path: Path) -> str:
    return os.path.relpath(path, ROOT)


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file or heading does not exist, with the reason."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no file {shown(dest)}")
            continue
        if not anchor:
            continue
        if dest.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not Markdown")
        elif anchor not in anchors(dest.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading with that anchor in {shown(dest)}")
    return broken


# --------------------------------------------------------------------------- the checker itself


def test_slug_follows_github() -> None:
    assert slug("How a job's status is judged") == "how-a-jobs-status-is-judged"
    assert slug("`clanforge-gate deploy`") == "clanforge-gate-deploy"
    assert slug("`wait` on several jobs, and other job kinds") == "wait-on-several-jobs-and-other-job-kinds"
    assert slug("Polling: adaptive schedule and benchmark") == "polling-adaptive-schedule-and-benchmark"
    assert (
        slug("Why the defaults are `poll_interval` 10 s and `min_poll_interval` 1 s")
        == "why-the-defaults-are-poll_interval-10-s-and-min_poll_interval-1-s"
    )


def test_repeated_headings_are_numbered_and_code_is_not_a_heading() -> None:
    text = "# Usage\n\n```sh\n# not a heading\n```\n\n## Usage\n"
    assert anchors(text) == {"usage", "usage-1"}


def test_links_in_code_are_not_links() -> None:
    text = '[a](a.md) `[b](b.md)`\n\n```md\n[c](c.md)\n```\n![img](d.png "title")\n'
    assert links(text) == ["a.md", "d.png"]


def test_a_missing_file_and_a_missing_anchor_are_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Its part\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#its-part) [ok](#page) [web](https://example.org/x#y)\n"
        "[gone](missing.md) [bad](other.md#nothing) [self](#nowhere)\n",
        encoding="utf-8",
    )
    found = [entry.split(":")[0] for entry in broken_links(page)]
    assert found == ["missing.md", "other.md#nothing", "#nowhere"]


# --------------------------------------------------------------------------- the real pages


@pytest.mark.parametrize("page", PAGES, ids=shown)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = broken_links(page)
    assert not broken, f"{shown(page)} has broken links: {broken}"


def test_the_readme_stays_a_users_page() -> None:
    count = len(README.read_text(encoding="utf-8").splitlines())
    assert count < README_MAX_LINES, (
        f"README.md has {count} lines (at most {README_MAX_LINES - 1}): move reference to docs/"
    )


def test_every_doc_is_reached_from_the_readme() -> None:
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in links(README.read_text(encoding="utf-8"))
        if not EXTERNAL.match(target)
    }
    unreached = [doc.name for doc in DOCS if doc.resolve() not in linked]
    assert DOCS and not unreached, f"docs not linked from README.md: {unreached}"
