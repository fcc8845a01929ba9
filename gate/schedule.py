"""When to poll next: a pure function of what has been seen, the time and the policy."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from gate.job import JobStatus


@dataclass(frozen=True)
class Observation:
    """One status answer and the unix time it arrived."""

    at: float
    status: JobStatus


@dataclass(frozen=True)
class PollPolicy:
    poll_interval: float
    min_poll_interval: float
    jitter: float = 0.1


def next_delay(history: Sequence[Observation], now: float, policy: PollPolicy, rng: random.Random) -> float:
    """Seconds until the next poll (the waiter caps it at the deadline)."""
    spread = policy.poll_interval * policy.jitter
    return max(policy.min_poll_interval, policy.poll_interval - rng.uniform(0, spread))
