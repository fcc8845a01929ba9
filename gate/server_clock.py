"""How far the server's clock is from ours, from what its answers say.

``jobeta``, ``jobupdated``, ``jobstart`` and ``jobcreated`` are times on the server's clock; the
schedule aims on the gate's. Each answer bounds the offset (server minus gate, seconds):

- the ``Date`` header is the server's time, in whole seconds, when it wrote the answer, which it
  did after the request left and before the answer arrived: the offset lies in
  ``[date - arrived, date + 1 - sent)``;
- ``jobupdated`` is a moment the server has already reached: the offset is at least
  ``updated - arrived``; and when it changed since the answer before, the change happened after
  that answer's request left: the offset is below ``updated + 1 - sent_before``.

Pure: the bounds of one answer, their intersection over a job's answers, the offset to use, and
the answers moved onto the server's clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gate.observation import Observation

# Without a request's own sending time, its answer is taken to have left this long before it
# arrived (wider than any answer the schedule would aim with).
UNKNOWN_ROUND_TRIP = 1.0


@dataclass(frozen=True)
class ClockBounds:
    """What the answers so far prove about the offset: it lies in ``[low, high]``."""

    low: float = -math.inf
    high: float = math.inf

    def narrowed(self, other: ClockBounds) -> ClockBounds:
        """Both bounds at once; when they contradict each other (the server's clock was set, or a
        proxy answered), the newer ones alone."""
        low, high = max(self.low, other.low), min(self.high, other.high)
        return ClockBounds(low, high) if low <= high else other

    @property
    def offset(self) -> float:
        """The offset to read the server's times with: none while none is proved, else the lowest
        one proved (a poll aimed at a moment on the server's clock then never comes early)."""
        if self.low <= 0.0 <= self.high:
            return 0.0
        return self.low if math.isfinite(self.low) else self.high


def answer_bounds(before: Observation | None, observation: Observation) -> ClockBounds:
    """What one answer proves (with the answer ``before`` it, if any)."""
    arrived, updated = observation.at, observation.status.updated
    sent = observation.sent if observation.sent is not None else arrived - UNKNOWN_ROUND_TRIP
    low, high = -math.inf, math.inf
    if observation.server_date is not None:
        low, high = observation.server_date - arrived, observation.server_date + 1.0 - sent
    if updated > 0:
        low = max(low, updated - arrived)
        if before is not None and updated > before.status.updated > 0:
            before_sent = before.sent if before.sent is not None else before.at - UNKNOWN_ROUND_TRIP
            high = min(high, updated + 1.0 - before_sent)
    if low > high:
        return ClockBounds(low, low)  # jobupdated ahead of the Date header: believe the job's time
    return ClockBounds(low, high)


def clock_bounds(history: Sequence[Observation]) -> ClockBounds:
    """What a job's answers so far prove about the offset."""
    bounds = ClockBounds()
    for index, observation in enumerate(history):
        bounds = bounds.narrowed(answer_bounds(history[index - 1] if index else None, observation))
    return bounds


def on_server_clock(history: Sequence[Observation], offset: float) -> Sequence[Observation]:
    """The answers with their moments on the server's clock, where ``jobeta`` and the rest are."""
    if offset == 0.0:
        return history
    return [Observation(o.at + offset, o.status) for o in history]
