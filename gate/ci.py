"""The one place where the CLI asks which CI platform reporters to add."""

from __future__ import annotations

from collections.abc import Mapping

from gate.config import Settings
from gate.report import Reporter


def platform_reporters(env: Mapping[str, str], settings: Settings | None) -> list[Reporter]:
    """Reporters for the CI platform this runs on; ``settings`` is None when they did not validate."""
    return []
