"""Files the gate makes in a CI workspace belong to the workspace's owner, not to root.

A container action runs as root while the runner, and the next job's checkout, run as the
workspace's owner: a root-owned folder left in the workspace (say ``reports/`` for a result file)
breaks the next checkout on a self-hosted runner, which reuses the workspace. So when the gate
runs as root, every file and folder it makes inside ``GITHUB_WORKSPACE`` is handed to the owner
of that folder. Running as any other user, or with a root-owned workspace, nothing changes.

``workspace_owner`` is pure (the effective uid and ``stat`` are passed in); the CLI sets the
owner for a run with ``files_owned_by``, and the file writers call ``make_dirs`` and
``hand_over`` around what they create.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from gate.system import has_owners

WORKSPACE_ENV = "GITHUB_WORKSPACE"


@dataclass(frozen=True)
class Owner:
    """Who gets the files made under ``root``."""

    uid: int
    gid: int
    root: str


def workspace_owner(
    env: Mapping[str, str],
    *,
    euid: int,
    stat: Callable[[str], os.stat_result] = os.stat,
    realpath: Callable[[str], str] = os.path.realpath,
) -> Owner | None:
    """The workspace's owner when the gate runs as root and the workspace is someone else's."""
    workspace = env.get(WORKSPACE_ENV, "").strip()
    if euid != 0 or not workspace:
        return None
    try:
        info = stat(workspace)
    except OSError:
        return None
    if info.st_uid == 0:
        return None
    return Owner(info.st_uid, info.st_gid, realpath(workspace))


def is_inside(path: str, root: str) -> bool:
    """Whether ``path`` (absolute, resolved) is ``root`` or lies under it."""
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # one relative, or different drives
        return False


_owner: ContextVar[Owner | None] = ContextVar("clanforge_gate_file_owner", default=None)


@contextmanager
def files_owned_by(owner: Owner | None) -> Iterator[None]:
    """Within the block, files the gate makes under ``owner.root`` are handed to ``owner``."""
    token = _owner.set(owner)
    try:
        yield
    finally:
        _owner.reset(token)


def make_dirs(directory: str) -> list[str]:
    """Make ``directory`` and any missing parents; return the ones made, outermost first."""
    missing: list[str] = []
    current = os.path.abspath(directory)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    os.makedirs(directory, exist_ok=True)
    return list(reversed(missing))


def hand_over(paths: Iterable[str]) -> None:
    """Give each path the gate made to the workspace's owner, if one is set and it lies inside.

    A failure is a warning, not an error: the file is written, only its owner is wrong.
    """
    owner = _owner.get()
    if owner is None or not has_owners():
        return
    for path in paths:
        full = os.path.realpath(path)
        if not is_inside(full, owner.root):
            continue
        try:
            os.lchown(full, owner.uid, owner.gid)
        except OSError as exc:
            print(
                f"clanforge-gate: warning: cannot give {path} to uid {owner.uid} "
                f"({exc.strerror or exc}); it stays owned by root",
                file=sys.stderr,
                flush=True,
            )
