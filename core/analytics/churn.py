"""Churn states by days since the last visit, and members overdue against their own rhythm (at risk)."""
from __future__ import annotations

from array import array
from itertools import pairwise
from typing import NamedTuple

from core.analytics.columns import Column, check_columns, check_positive, member_out_of_range
from core.analytics.settings import ChurnThresholds

ACTIVE, LAPSING, LAPSED, DORMANT = range(4)
NEVER = -1  # in churn_states: the member never visited
STATES = (("活跃", "active"), ("将流失", "lapsing"), ("已流失", "lapsed"), ("沉睡", "dormant"))  # (zh_CN, en)


class AtRisk(NamedTuple):
    """A member overdue: days since the last visit, and the percentile of their own gaps it exceeds."""

    member: int
    gap: int
    usual_gap: int


def churn_states(last_day: Column, asof_day: int, thresholds: ChurnThresholds) -> array:
    """Per member ACTIVE..DORMANT by asof_day - last_day against the thresholds (inclusive); NEVER for -1."""
    bounds = (thresholds.active_days, thresholds.lapsing_days, thresholds.lapsed_days)
    return array("q", (NEVER if d < 0 else next((s for s, b in enumerate(bounds) if asof_day - d <= b), DORMANT)
                       for d in last_day))


def usual_gap(gaps: list[int], percentile: int) -> int:
    """The nearest-rank percentile of sorted gaps: the smallest gap with at least percentile % of them at or below."""
    return gaps[max(1, (percentile * len(gaps) + 99) // 100) - 1]


def at_risk(member: Column, day: Column, n_members: int, asof_day: int, percentile: int = 90,
            min_visits: int = 4) -> list[AtRisk]:
    """Members, by number, whose gap since their last visit (up to asof_day) is above the percentile of the gaps
    between their own visit days; only members with at least min_visits distinct visit days are judged."""
    check_columns(n_members, member, day)
    check_positive("percentile", percentile, 1, 100)
    check_positive("min_visits", min_visits, 2)
    visits: dict[int, set[int]] = {}
    for row, (m, d) in enumerate(zip(member, day)):
        if not 0 <= m < n_members:
            raise member_out_of_range(row, m, n_members)
        if d <= asof_day:
            visits.setdefault(m, set()).add(d)
    found = []
    for m in sorted(visits):
        days = sorted(visits[m])
        if len(days) >= min_visits:
            usual = usual_gap(sorted(b - a for a, b in pairwise(days)), percentile)
            if asof_day - days[-1] > usual:
                found.append(AtRisk(m, asof_day - days[-1], usual))
    return found
