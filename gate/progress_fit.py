"""Where a pace of progress reaches 100 %: the weighted line and parabola fits of the schedule.

Pure: the changes of progress in the answers ``gate.schedule`` has seen, each a ``Crossing``: when
it happened, the value it reached, and how uncertain that moment is, in seconds (half a second
when ``jobupdated`` pins it, more when it is only known to lie between two answers). The less
uncertain a change, the more it weighs in the fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import mul

from gate.observation import Observation

Crossing = tuple[float, int, float]  # (moment, new value, how uncertain the moment is, seconds)

# With at least this many points in the span, the pace may curve (a parabola is fitted).
CURVE_POINTS = 4


def fit_end(points: tuple[Crossing, ...], line: int) -> float | None:
    """Where the pace fitted through ``points`` reaches 100: a line through the last ``line`` of
    them, or the curve through all of them when it stays near that line."""
    times = [t for t, _, _ in points]
    values = [v for _, v, _ in points]
    weights = [1.0 / (spread * spread + 0.1) for _, _, spread in points]
    start = len(points) - line
    line_times, line_values, line_weights = times[start:], values[start:], weights[start:]
    total: float = sum(line_weights)
    mean_t: float = sum(map(mul, line_weights, line_times)) / total
    mean_v: float = sum(map(mul, line_weights, line_values)) / total
    offsets = [t - mean_t for t in line_times]
    slope_num: float = sum(map(mul, map(mul, line_weights, offsets), [v - mean_v for v in line_values]))
    slope_den: float = sum(map(mul, line_weights, [d**2 for d in offsets]))
    if slope_den <= 0 or slope_num <= 0:
        return None
    pace = slope_num / slope_den
    linear = mean_t + (100 - mean_v) / pace
    if len(points) < CURVE_POINTS:
        return linear
    curved = _curved(times, values, weights)
    # The curve is believed only near the line: far off, it is fitting noise.
    if curved is None or abs(curved - linear) > 0.5 * (linear - times[-1]):
        return linear
    return curved


def _curved(times: list[float], values: list[int], weights: list[float]) -> float | None:
    """Where a parabola fitted through the points (weighted) reaches 100, after the last one."""
    last = times[-1]
    # The weighted sums of x^0..x^4 and of v x^0..x^2, x the time before the last point, each
    # added up point by point, oldest first.
    s0 = s1 = s2 = s3 = s4 = r0 = r1 = r2 = 0.0
    for w, t, v in zip(weights, times, values, strict=True):
        x = t - last
        x2 = x * x
        x3 = x2 * x
        wx = w * x
        wx2 = w * x2
        s0 += w
        s1 += wx
        s2 += wx2
        s3 += w * x3
        s4 += w * (x3 * x)
        r0 += w * v
        r1 += wx * v
        r2 += wx2 * v
    solution = _solve3(s0, s1, s2, s3, s4, r0, r1, r2)
    if solution is None:
        return None
    a, b, c = solution
    # a + b x + c x^2 = 100, the first root after the last point.
    if abs(c) < 1e-12:
        return last + (100 - a) / b if b > 0 else None
    disc = b * b - 4 * c * (a - 100)
    if disc < 0:
        return None
    roots = [(-b + sign * math.sqrt(disc)) / (2 * c) for sign in (1.0, -1.0)]
    ahead = [x for x in roots if x > 0]
    return last + min(ahead) if ahead else None


def _det3(
    a00: float, a01: float, a02: float, a10: float, a11: float, a12: float, a20: float, a21: float, a22: float
) -> float:
    return a00 * (a11 * a22 - a12 * a21) - a01 * (a10 * a22 - a12 * a20) + a02 * (a10 * a21 - a11 * a20)


def _solve3(
    s0: float, s1: float, s2: float, s3: float, s4: float, r0: float, r1: float, r2: float
) -> tuple[float, float, float] | None:
    """Cramer's rule for the normal equations of the parabola, the symmetric system
    [[s0, s1, s2], [s1, s2, s3], [s2, s3, s4]] x = [r0, r1, r2]; None when it is singular."""
    d = _det3(s0, s1, s2, s1, s2, s3, s2, s3, s4)
    if abs(d) < 1e-12:
        return None
    return (
        _det3(r0, s1, s2, r1, s2, s3, r2, s3, s4) / d,
        _det3(s0, r0, s2, s1, r1, s3, s2, r2, s4) / d,
        _det3(s0, s1, r0, s1, s2, r1, s2, s3, r2) / d,
    )


def crossings(history: Sequence[Observation], window: int) -> list[Crossing]:
    """Each change of progress seen within the window, oldest first."""
    low = max(0, len(history) - window)
    changes = []
    for index in range(low + 1, len(history)):
        before, after = history[index - 1], history[index]
        if after.status.progress > before.status.progress:
            moment, spread = crossing(before, after)
            changes.append((moment, after.status.progress, spread))
    return changes


def crossing(before: Observation, after: Observation) -> tuple[float, float]:
    """Best guess of when progress changed between two answers, and how far off it may be.

    ``jobupdated`` says when the job last changed, in whole seconds; when it falls between the
    two answers it pins the change to within a second (when the ETA changed too, it may be the
    ETA's change, and only bounds the progress change); else the span between the answers,
    weighted by how many steps progress took in it.
    """
    updated = after.status.updated
    upper = after.at
    if updated and before.at - 1.0 < updated <= after.at and updated > before.status.updated:
        if after.status.eta == before.status.eta:
            return min(after.at, max(before.at, updated + 0.5)), 0.5
        # It may be the moment the ETA changed: then progress changed before it.
        upper = min(after.at, updated + 1.0)
    # Somewhere between the two answers. The more steps progress took in between, the nearer the
    # end of that span it reached its new value (at an even pace, the last step is one of many).
    steps = after.status.progress - before.status.progress
    span = max(0.0, upper - before.at)
    return upper - span / (2.0 * steps + 1.0), max(0.5, span / (2.0 * steps + 1.0))
