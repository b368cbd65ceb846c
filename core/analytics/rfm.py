"""RFM over a window: per-member recency, frequency and monetary value, quintile scores 1..5 and the segment.

Window: the visits with asof_day - window_days < day <= asof_day. Rows after asof_day are ignored everywhere.
Quintile rule (deterministic, ties kept together): among the members who visited in the window, a member's score is
1 + 5·w // n, where n is the number of such members and w the number of them with a strictly worse value (lower
frequency or monetary; a longer recency). Equal values therefore always share a score; with distinct values each
score holds a fifth of the members (the first n % 5 ranks fill up the lower scores); all-equal values all score 1.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import NamedTuple

from core.analytics.columns import Column, check_columns, check_positive, member_out_of_range
from core.analytics.segments import NO_SEGMENT, SEGMENTS, Segment, segment_index


class Totals(NamedTuple):
    """One pass over the visits: the last visit day up to asof_day (-1: never), visits and spend in the window."""

    last_day: array
    frequency: array
    monetary: array


@dataclass(frozen=True)
class RfmResult:
    """Per-member columns (array('q'), indexed by member); scores are 0 and segment NO_SEGMENT without a visit."""

    last_day: array  # the last visit up to asof_day, in or before the window (-1: never); churn_states reads it
    recency_days: array  # asof_day - the last visit in the window (-1: no visit in the window)
    frequency: array
    monetary: array  # fen
    r: array
    f: array
    m: array
    segment: array  # index into SEGMENTS, or NO_SEGMENT

    def segment_of(self, member: int) -> Segment | None:
        """The member's segment, or None without a visit in the window."""
        index = self.segment[member]
        return None if index == NO_SEGMENT else SEGMENTS[index]

    def counts(self) -> list[int]:
        """How many members each of the eight segments holds, in SEGMENTS order."""
        found = [0] * len(SEGMENTS)
        for index in self.segment:
            if index != NO_SEGMENT:
                found[index] += 1
        return found


def aggregate(member: Column, day: Column, amount: Column, n_members: int, asof_day: int, window_days: int) -> Totals:
    """Last visit, visits and spend per member in one pass over the rows."""
    check_columns(n_members, member, day, amount)
    check_positive("window_days", window_days)
    last, freq, money = (array("q", [fill]) * n_members for fill in (-1, 0, 0))
    start = asof_day - window_days
    for row, (m, d, a) in enumerate(zip(member, day, amount)):
        if not 0 <= m < n_members:
            raise member_out_of_range(row, m, n_members)
        if d > asof_day:
            continue
        if d > last[m]:
            last[m] = d
        if d > start:
            freq[m] += 1
            money[m] += a
    return Totals(last, freq, money)


def quintile_scores(values: Column, active: Column, lower_is_better: bool = False) -> array:
    """Scores 1..5 of the active members' values by the module's tie rule; 0 for the inactive ones."""
    pool = sorted(v for v, on in zip(values, active) if on)
    n = len(pool)
    scores = array("q", [0]) * len(values)
    for i, (v, on) in enumerate(zip(values, active)):
        if on:
            worse = n - bisect_right(pool, v) if lower_is_better else bisect_left(pool, v)
            scores[i] = 1 + 5 * worse // n
    return scores


def rfm(member: Column, day: Column, amount: Column, n_members: int, asof_day: int, window_days: int) -> RfmResult:
    """RFM scores and segments of members 0..n_members-1 as of asof_day over the last window_days days."""
    last, freq, money = aggregate(member, day, amount, n_members, asof_day, window_days)
    recency = array("q", (asof_day - d if f else -1 for d, f in zip(last, freq)))
    r = quintile_scores(recency, freq, lower_is_better=True)
    f = quintile_scores(freq, freq)
    m = quintile_scores(money, freq)
    return RfmResult(last, recency, freq, money, r, f, m, array("q", map(segment_index, r, f, m)))
