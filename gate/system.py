"""What differs between the operating systems the gate runs on, in one place.

Linux and macOS are POSIX: SIGINT and SIGTERM cancel a run, files have modes, a process has an
effective uid. Windows has none of those: a CI runner cancels a console program with Ctrl-C
(SIGINT) and then Ctrl-Break (SIGBREAK), there are no uids, and a file's mode is only its
read-only flag. Every call that exists only on POSIX asks here first. Each function takes the
system's name (``os.name``: ``posix`` or ``nt``) so tests on Linux can take the Windows path.

Cheap to import: gate.entry uses it before anything else is loaded.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

WINDOWS = "nt"
# signal.SIGBREAK exists only on Windows; its number there is 21.
SIGBREAK = int(getattr(signal, "SIGBREAK", 21))


def cancel_signals(system: str = os.name) -> tuple[int, ...]:
    """The signals that cancel a run: SIGINT and SIGTERM, and on Windows SIGBREAK too."""
    if system == WINDOWS:
        return (int(signal.SIGINT), int(signal.SIGTERM), SIGBREAK)
    return (int(signal.SIGINT), int(signal.SIGTERM))


def effective_uid(system: str = os.name, geteuid: Callable[[], int] | None = None) -> int:
    """The process' effective uid; -1 where there are no uids (Windows): never root there."""
    if system == WINDOWS:
        return -1
    call = geteuid or getattr(os, "geteuid", None)
    return int(call()) if call is not None else -1


def has_owners(system: str = os.name) -> bool:
    """Whether files have a uid and gid that can be handed over (``os.lchown``)."""
    return system != WINDOWS and hasattr(os, "lchown")


def has_file_modes(system: str = os.name) -> bool:
    """Whether ``os.chmod`` sets read and write bits for owner, group and others."""
    return system != WINDOWS


def tolerant_streams(*streams: Any) -> None:
    """Let a console that cannot show a character print a ``?`` instead of failing the run.

    A Windows runner's pipes use the ANSI code page (cp1252), which has no arrow, no emoji and
    no non-Latin script; text from the API may have any of them. UTF-8 streams are left as they are.
    """
    for stream in streams:
        encoding = str(getattr(stream, "encoding", "") or "").lower().replace("-", "").replace("_", "")
        reconfigure = getattr(stream, "reconfigure", None)
        if encoding and encoding != "utf8" and reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # a closed or detached stream: nothing to print there
                continue


# How long one wait on another thread may block where a blocking wait cannot be interrupted.
WAIT_SLICE_SECONDS = 0.2


def wait_slice(budget: float, system: str = os.name) -> float:
    """The longest one ``Event.wait`` may block so a signal is handled at once.

    On POSIX a signal interrupts the wait, so the whole budget is one wait. On Windows a
    blocking lock wait is not interrupted by Ctrl-C, and the handler runs only once it returns:
    the budget is waited in short slices instead.
    """
    return min(budget, WAIT_SLICE_SECONDS) if system == WINDOWS else budget
