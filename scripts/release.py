#!/usr/bin/env python3
"""What the release workflow (.github/workflows/release.yml) checks and reads from the tree.

Usage:
  release.py check-tag TAG   TAG must be v<version>, the version in gate/__init__.py, and the
                             Dockerfile's ARG VERSION default must be that version too. Prints
                             version=, major= and prerelease= lines (for $GITHUB_OUTPUT).
  release.py notes VERSION   prints VERSION's section of CHANGELOG.md: the GitHub release's notes.

Stdlib only, reads files and runs nothing. A failed check is one line on stderr and exit 3.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXIT_FAILED = 3
VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
DOCKERFILE_VERSION = re.compile(r"^ARG VERSION=(\S+)$", re.MULTILINE)
FINAL_RELEASE = re.compile(r"^\d+\.\d+\.\d+$")


class ReleaseError(Exception):
    """A check failed; the message says what and what to do."""


@dataclass(frozen=True)
class Release:
    version: str
    major: str
    prerelease: bool

    def outputs(self) -> str:
        return f"version={self.version}\nmajor={self.major}\nprerelease={str(self.prerelease).lower()}"


def package_version(init_text: str) -> str:
    """The version assigned in gate/__init__.py."""
    match = VERSION_LINE.search(init_text)
    if match is None:
        raise ReleaseError('gate/__init__.py has no line __version__ = "X.Y.Z"; restore it')
    return match.group(1)


def dockerfile_version(dockerfile_text: str) -> str:
    """The default of the Dockerfile's ARG VERSION (the image's version label)."""
    match = DOCKERFILE_VERSION.search(dockerfile_text)
    if match is None:
        raise ReleaseError("Dockerfile has no 'ARG VERSION=X.Y.Z' line; restore it")
    return match.group(1)


def check_tag(tag: str, init_text: str, dockerfile_text: str) -> Release:
    """The release a tag makes, if the tag, the package and the Dockerfile name the same version."""
    version = package_version(init_text)
    if tag != f"v{version}":
        raise ReleaseError(
            f"tag {tag} does not match the package version {version} (gate/__init__.py); "
            f"tag v{version}, or bump the version and tag again"
        )
    labelled = dockerfile_version(dockerfile_text)
    if labelled != version:
        raise ReleaseError(
            f"Dockerfile ARG VERSION is {labelled}, the package version is {version}; "
            f"set ARG VERSION={version}"
        )
    return Release(version=version, major=version.split(".")[0], prerelease=not FINAL_RELEASE.match(version))


def notes(changelog: str, version: str) -> str:
    """The body of ``version``'s section of a Keep a Changelog document, stripped."""
    heading = re.compile(rf"^## \[{re.escape(version)}\](?: - \d{{4}}-\d{{2}}-\d{{2}})?\s*$")
    lines = changelog.splitlines()
    start = next((number for number, line in enumerate(lines) if heading.match(line)), None)
    if start is None:
        raise ReleaseError(
            f"CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' section; add one before tagging"
        )
    body: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("## ") or re.match(r"^\[[^\]]+\]: ", line):
            break
        body.append(line)
    text = "\n".join(body).strip()
    if not text:
        raise ReleaseError(
            f"CHANGELOG.md: the section for {version} is empty; list the changes before tagging"
        )
    return text


def _read(name: str) -> str:
    path = ROOT / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ReleaseError(f"cannot read {path}: {error.strerror}; run from a full checkout") from None


def run(argv: list[str]) -> str:
    match argv:
        case ["check-tag", tag]:
            return check_tag(tag, _read("gate/__init__.py"), _read("Dockerfile")).outputs()
        case ["notes", version]:
            return notes(_read("CHANGELOG.md"), version)
        case _:
            raise ReleaseError("usage: release.py check-tag TAG | release.py notes VERSION")


def main(argv: list[str]) -> int:
    try:
        print(run(argv))
    except ReleaseError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
