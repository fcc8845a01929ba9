"""Where a re-estimated ETA is heading: the end that an ETA with a steady bias points at.

A server that re-estimates ``jobeta`` every few seconds, each time the same share short of (or
over) the time that is left, gives ETAs that lie on a line against the moments they were made:
``eta = a + s t``, ``s`` the bias (above 0: each new ETA later than the last, the job "almost
done" for minutes; below 0: each one earlier). The job ends where that line meets ``eta = t``.
An ETA that holds still is the line ``s = 0``: its end is the ETA itself.

Pure: from the answers to ``EtaPoint`` values (when an ETA was made, the ETA), server time in
seconds, and from those to the end.
"""

from __future__ import annotations

from collections.abc import Sequence

from gate.observation import Observation

EtaPoint = tuple[float, float]  # (moment the ETA was made, the ETA)

# A bias steeper than this is not a bias (an ETA pushed on each time it passes moves as fast as
# time): the end it points at is anyone's guess.
MAX_SLOPE = 0.6
# ... nor is one that brings the ETA closer much faster than time passes.
MIN_SLOPE = -1.0
# Whole-second ETAs may be rounded down rather than to the nearest second (the simulator's are):
# a line through them then meets the clock up to half a second early on average. The end is put
# this much later, so a poll aimed half a second past it is not early.
ROUNDING_MARGIN = 0.25
# The line is fitted through at most this many of the latest ETAs (a bias may drift slowly).
TREND_POINTS = 10
# How far off a re-estimated ETA may be besides its bias, as a share of the time it claims is left.
NOISE_SHARE = 0.15
# An ETA seen once cannot be told from an exact one, nor from one a steady share over the time left.
# The first look at the end goes where an ETA this share over would put it (``first_look``).
FIRST_LOOK_BIAS = 0.1


def eta_points(history: Sequence[Observation], window: int) -> list[EtaPoint]:
    """Each value the ETA took in the latest ``window`` answers (back to one without an ETA) and the
    moment it was made, oldest first.

    ``jobupdated`` pins that moment when it falls between the answer that first showed the new ETA
    and the one before (to the second; progress may have changed then too, but an ETA re-estimated
    every few seconds is the likelier latest change); else the midpoint of the two answers. The
    oldest value is dated by ``jobupdated`` if that is not later than its answer, else by the answer.
    """
    points: list[EtaPoint] = []
    low = max(0, len(history) - window)
    index = len(history) - 1
    while index > low and history[index - 1].status.eta is not None:
        before, after = history[index - 1], history[index]
        if after.status.eta != before.status.eta:
            points.append((_made_at(before, after), float(after.status.eta or 0)))
        index -= 1
    oldest = history[index]
    updated = oldest.status.updated
    points.append((updated + 0.5 if 0 < updated <= oldest.at else oldest.at, float(oldest.status.eta or 0)))
    return points[::-1]


def _made_at(before: Observation, after: Observation) -> float:
    updated = after.status.updated
    if updated > before.status.updated and before.at - 1.0 < updated <= after.at:
        return min(after.at, max(before.at, updated + 0.5))
    return (before.at + after.at) / 2.0


def first_look(made: float, eta: float) -> float:
    """Where the end is if the ETA made at ``made`` is ``FIRST_LOOK_BIAS`` over the time it had left.

    A pessimistic ETA (over by that share or more) has ended by then, or has been re-estimated
    (its next value gives the trend); an exact one costs the one look.
    """
    return made + max(0.0, eta - made) / (1.0 + FIRST_LOOK_BIAS)


def trend_end(points: Sequence[EtaPoint]) -> float | None:
    """Where the line through the latest ``TREND_POINTS`` of ``points`` meets ``eta = t``.

    None with fewer than two points, or when the line is too steep to be a bias.
    """
    chosen = points[-TREND_POINTS:]
    if len(chosen) < 2:
        return None
    last = chosen[-1][0]
    times = [t - last for t, _ in chosen]
    etas = [e - last for _, e in chosen]
    # An ETA is off by its rounding (a second, with the moment it was made) and by a share of the
    # time it claims is left: the nearer the end, the finer, down to the rounding.
    weights = [1.0 / (1.0 + (NOISE_SHARE * (e - t)) ** 2) for t, e in zip(times, etas, strict=True)]
    total = sum(weights)
    mean_t = sum(w * t for w, t in zip(weights, times, strict=True)) / total
    mean_e = sum(w * e for w, e in zip(weights, etas, strict=True)) / total
    spread = sum(w * (t - mean_t) ** 2 for w, t in zip(weights, times, strict=True))
    if spread <= 1e-9:
        return None
    slope = (
        sum(w * (t - mean_t) * (e - mean_e) for w, t, e in zip(weights, times, etas, strict=True)) / spread
    )
    if not MIN_SLOPE <= slope <= MAX_SLOPE:
        return None
    # The fitted ETA at the last moment, then where eta - t (the time left it claims) reaches 0.
    claimed = mean_e + slope * (0.0 - mean_t)
    return last + claimed / (1.0 - slope) + ROUNDING_MARGIN
