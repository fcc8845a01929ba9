"""What an image's answers say before and after a diff: its lock, and whether a diff changed anything.

Pure parsers of ``/cfp/v1/image/options`` and ``/cfp/v1/imagediff/<id>/status?diff_info=1``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.errors import MalformedResponse


@dataclass(frozen=True)
class ImageLock:
    """The diff or update that holds the image, if any (``image/options`` ``diffid``/``updateid``)."""

    diff_id: int | None = None
    update_id: int | None = None

    @property
    def locked(self) -> bool:
        return self.diff_id is not None or self.update_id is not None

    @property
    def text(self) -> str:
        if self.diff_id is not None:
            return f"locked by diff {self.diff_id}"
        if self.update_id is not None:
            return f"locked by update {self.update_id}"
        return "not locked"


def _optional_id(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value in (None, "", 0, "0"):
        return None
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not text.isdigit():
        raise MalformedResponse(f"image options field {key!r} is {value!r}, not an id")
    return int(text)


def parse_image_lock(body: Mapping[str, Any]) -> ImageLock:
    """The lock named by an ``image/options`` answer (fields at the top or under ``options``)."""
    inner = body.get("options")
    source: Mapping[str, Any] = inner if isinstance(inner, Mapping) else body
    return ImageLock(_optional_id(source, "diffid"), _optional_id(source, "updateid"))


class DiffChanges(str, enum.Enum):
    """What ``diff_info=1`` tells of a diff's files."""

    CHANGED = "changed"
    EMPTY = "empty"
    UNKNOWN = "unknown"


_FILE_KEYS = ("added", "modified", "removed", "deleted", "changed")


def _size(value: object) -> int | None:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _file_list_size(source: Mapping[str, Any]) -> int | None:
    """How many files a mapping lists as changed, or None if it holds no file list."""
    files = source.get("files")
    if isinstance(files, list):
        return len(files)
    holder = files if isinstance(files, Mapping) else source
    sizes = [_size(holder[key]) for key in _FILE_KEYS if key in holder]
    known = [size for size in sizes if size is not None]
    return sum(known) if known else None


def diff_changes(body: Mapping[str, Any]) -> DiffChanges:
    """EMPTY only when a file list came back and lists nothing; no file list is UNKNOWN.

    Two shapes are documented: ``diff_info`` with the image, game and machine only (no file list),
    and one that also lists the added, modified and removed files (as lists or counts, at the top
    or under ``diff_info`` / ``diff_info.files``).
    """
    sources: list[Mapping[str, Any]] = []
    info = body.get("diff_info")
    if isinstance(info, Mapping):
        sources.append(info)
    sources.append(body)
    for source in sources:
        size = _file_list_size(source)
        if size is not None:
            return DiffChanges.EMPTY if size == 0 else DiffChanges.CHANGED
    return DiffChanges.UNKNOWN
