"""Where a re-estimated ETA is heading: the end that an ETA with a steady bias points at.

A server that re-estimates ``jobeta`` every few seconds, each time the same share short of (or
over) the time that is left, gives ETAs that lie on a line against the moments they were made:
``eta = a + s t``, ``s`` the bias (above 0: each new ETA later than the last, the job "almost
done" for minutes; below 0: each one earlier). The job ends where that line meets ``eta = t``.
An ETA that holds still is the line ``s = 0``: its end is the ETA itself.

Pure arithmetic on ``EtaPoint`` values (when an ETA was made, the ETA), server time in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

EtaPoint = tuple[float, float]  # (moment the ETA was made, the ETA)
# Answers (arrived, jobeta, jobupdated, jobprogress), oldest first, each ETA present.
EtaAnswer = tuple[float, int, int, int]

# A bias steeper than this is not a bias (an ETA pushed on each time it passes moves as fast as
# time): the end it points at is anyone's guess.
MAX_SLOPE = 0.6
# ... nor is one that brings the ETA closer much faster than time passes.
MIN_SLOPE = -1.0
# The line is fitted through at most this many of the latest ETAs (a bias may drift slowly).
TREND_POINTS = 10


def eta_points(answers: Sequence[EtaAnswer]) -> list[EtaPoint]:
    """Each value the ETA took in ``answers`` with the moment it was made, oldest first.

    ``jobupdated`` pins that moment when it falls between the answer that first showed the new ETA
    and the one before (to the second; when progress changed too, between the two moments); else
    the midpoint of the two answers. The oldest value is dated by ``jobupdated`` if it is not
    later than its answer, else by the answer.
    """
    if not answers:
        return []
    at, eta, updated, _ = answers[0]
    points: list[EtaPoint] = [(updated + 0.5 if 0 < updated <= at else at, float(eta))]
    for (before_at, before_eta, before_updated, before_progress), (at, eta, updated, progress) in zip(
        answers, answers[1:], strict=False
    ):
        if eta == before_eta:
            continue
        moment = (before_at + at) / 2.0
        if updated > before_updated and before_at - 1.0 < updated <= at:
            pinned = min(at, max(before_at, updated + 0.5))
            moment = pinned
        points.append((moment, float(eta)))
    return points


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
    mean_t = sum(times) / len(times)
    mean_e = sum(etas) / len(etas)
    spread = sum((t - mean_t) ** 2 for t in times)
    if spread <= 0:
        return None
    slope = sum((t - mean_t) * (e - mean_e) for t, e in zip(times, etas, strict=True)) / spread
    if not MIN_SLOPE <= slope <= MAX_SLOPE:
        return None
    # The fitted ETA at the last moment, then where eta - t (the time left it claims) reaches 0.
    claimed = mean_e + slope * (0.0 - mean_t)
    return last + claimed / (1.0 - slope)
