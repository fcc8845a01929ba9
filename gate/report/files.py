"""Writing report files: the one atomic writer for whole files, and appends in one call.

Every report file (the result file, the JUnit and dotenv reports) goes through
``write_text_atomic``: written to a temporary file beside it, flushed to disk, made 0644 and
moved into place, so a reader sees the old file or the whole new one, even after a crash. Files
and folders made in a CI workspace are handed to its owner (``gate.ownership``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from gate.ownership import hand_over, make_dirs
from gate.system import has_file_modes


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the new one, never half of it."""
    directory = os.path.dirname(os.path.abspath(path))
    made = make_dirs(directory)
    name = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            # On disk before the rename, so a crash cannot leave an empty file under the name.
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; report files are meant to be read by later jobs. Windows
        # has no such modes (a chmod there only sets the read-only flag).
        if has_file_modes():
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    hand_over([*made, path])


def append_text(path: str, text: str) -> None:
    """Append ``text`` to ``path`` (created if missing) as UTF-8, line breaks untranslated."""
    existed = os.path.exists(path)
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write(text)
    if not existed:
        hand_over([path])
