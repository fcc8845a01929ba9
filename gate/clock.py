"""Injected time: the wait loop and the retry policy never call ``time`` directly."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Unix time, comparable with the API's ``jobeta``."""

    def monotonic(self) -> float:
        """A clock for deadlines, immune to wall-clock jumps."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
