"""The deploy's settings on installing, empty diffs and locks: parsed and checked, no I/O."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from gate.durations import format_duration, parse_duration
from gate.errors import ConfigError


class InstallMode(str, enum.Enum):
    NOW = "now"
    MANUAL = "manual"
    AT = "at"


@dataclass(frozen=True)
class InstallAt:
    """When the fleet install starts: now (the default), at a unix time, or left manual."""

    mode: InstallMode = InstallMode.NOW
    at: int | None = None

    def param(self, now: float) -> str | None:
        """The ``install_at`` parameter of the version create (None: left out, a manual install)."""
        if self.mode is InstallMode.MANUAL:
            return None
        if self.mode is InstallMode.AT:
            return str(self.at)
        return str(int(now))

    @property
    def setting(self) -> str:
        """As given on the command line (for the resume command)."""
        return str(self.at) if self.mode is InstallMode.AT else self.mode.value


def parse_install_at(value: object) -> InstallAt:
    text = str(value).strip().lower() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if text == "now":
        return InstallAt()
    if text == "manual":
        return InstallAt(InstallMode.MANUAL)
    if text.isdigit() and int(text) > 0:
        return InstallAt(InstallMode.AT, int(text))
    raise ConfigError(
        f"install_at: {value!r} is not now, manual or a unix time; e.g. --install-at now (the default)"
    )


def parse_disable_timeout(value: object) -> int:
    """A duration, as the whole number of minutes the API takes (``4h`` -> 240)."""
    seconds = parse_duration(value, "disable_timeout")
    minutes = seconds / 60
    if not math.isclose(minutes, round(minutes)) or round(minutes) < 1:
        raise ConfigError(
            f"disable_timeout: {value!r} ({format_duration(seconds)}) is not a whole number of minutes, "
            "the unit the API takes; e.g. 90m or 4h"
        )
    return round(minutes)


def parse_percentage(value: object, setting: str) -> int:
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) > 100:
        raise ConfigError(f"{setting}: {value!r} is not a whole percentage from 0 to 100")
    return int(text)


class OnEmptyDiff(str, enum.Enum):
    """What to do with a diff that changes nothing (a re-run on the same build)."""

    REJECT = "reject"
    PUBLISH = "publish"


class OnLocked(str, enum.Enum):
    """What to do when the image is locked by another diff before anything is created."""

    FAIL = "fail"
    REJECT = "reject"


def parse_choice(value: object, setting: str, choices: type[OnEmptyDiff] | type[OnLocked]) -> str:
    text = str(value).strip().lower()
    names = [c.value for c in choices]
    if text not in names:
        raise ConfigError(f"{setting}: {value!r} is not one of {', '.join(names)}")
    return text
