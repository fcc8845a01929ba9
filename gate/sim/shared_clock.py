"""One simulated clock for several runs at once in one process, and for the simulator they call.

Rehearsing a race (two pipelines deploying one image) needs the runs to overlap as they would on
the service, without waiting out each job's minutes. Each run is a thread; time moves on only when
every run is asleep, and then jumps to the earliest wake-up. A run waiting on an HTTP answer is
awake, so no answer ever arrives "late" on this clock. Runs ``join`` before they start and
``leave`` when they end (a run that has left never holds the clock back).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass


@dataclass
class _Sleeper:
    wake: float
    woken: bool = False


class SharedClock:
    """A clock (``time``, ``monotonic``, ``sleep``) shared by threads: it advances when all sleep."""

    def __init__(self, wall: float = 1_800_000_000.0, mono: float = 1000.0) -> None:
        self._cond = threading.Condition()
        self._wall = wall
        self._mono = mono
        self._awake = 0
        self._queue: list[tuple[float, int, _Sleeper]] = []
        self._order = itertools.count()

    def time(self) -> float:
        with self._cond:
            return self._wall

    def monotonic(self) -> float:
        with self._cond:
            return self._mono

    def join(self, runs: int = 1) -> None:
        """Count ``runs`` more threads that use the clock; they are awake until they sleep."""
        with self._cond:
            self._awake += runs

    def leave(self) -> None:
        """One thread is done with the clock: it no longer holds time back."""
        with self._cond:
            self._awake -= 1
            self._advance()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time: return once every other run sleeps past it too."""
        with self._cond:
            sleeper = _Sleeper(self._mono + max(0.0, seconds))
            heapq.heappush(self._queue, (sleeper.wake, next(self._order), sleeper))
            self._awake -= 1
            self._advance()
            while not sleeper.woken:
                self._cond.wait()

    def _advance(self) -> None:
        """With every run asleep: jump to the earliest wake-up and wake all due then."""
        if self._awake > 0 or not self._queue:
            return
        wake = self._queue[0][0]
        if wake > self._mono:
            self._wall += wake - self._mono
            self._mono = wake
        while self._queue and self._queue[0][0] <= self._mono:
            heapq.heappop(self._queue)[2].woken = True
            self._awake += 1
        self._cond.notify_all()
