#!/usr/bin/env python3
"""Print one version's section of CHANGELOG.md: the release notes of a GitHub release.

Usage: release_notes.py VERSION [CHANGELOG]   (CHANGELOG defaults to the repository's CHANGELOG.md)

The section is everything under the ``## [VERSION] - YYYY-MM-DD`` heading up to the next ``## ``
heading, without the heading itself. A missing or empty section is an error (exit 3, one line on
stderr), so a release cannot go out without notes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"
EXIT_USAGE = 3


class NotesError(Exception):
    """The changelog has no usable section for the version."""


def section(changelog: str, version: str) -> str:
    """The body of ``version``'s section of a Keep a Changelog document, stripped."""
    heading = re.compile(rf"^## \[{re.escape(version)}\](?: - \d{{4}}-\d{{2}}-\d{{2}})?\s*$")
    lines = changelog.splitlines()
    for start, line in enumerate(lines):
        if heading.match(line):
            break
    else:
        raise NotesError(f"CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' section; add one before tagging")
    body: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("## ") or re.match(r"^\[[^\]]+\]: ", line):
            break
        body.append(line)
    text = "\n".join(body).strip()
    if not text:
        raise NotesError(f"CHANGELOG.md: the section for {version} is empty; list the changes before tagging")
    return text


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: release_notes.py VERSION [CHANGELOG]", file=sys.stderr)
        return EXIT_USAGE
    path = Path(argv[1]) if len(argv) == 2 else CHANGELOG
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        print(f"cannot read the changelog {path}: {error.strerror}; pass its path", file=sys.stderr)
        return EXIT_USAGE
    try:
        print(section(text, argv[0]))
    except NotesError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
