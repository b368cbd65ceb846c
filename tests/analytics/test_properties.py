"""Properties of the reference: quintile boundaries, ties, empty windows, and what the columns add up to."""
from __future__ import annotations

from array import array
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from core.analytics import NO_SEGMENT, rfm
from core.analytics.rfm import quintile_scores
from core.analytics.segments import HIGH
from tests.analytics.strategies import ASOF, shops, windows

SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=200, unique=True))
def test_distinct_values_fill_each_quintile_within_one_of_a_fifth(values):
    scores = quintile_scores(values, [1] * len(values))
    counts = Counter(scores)
    assert set(counts) <= {1, 2, 3, 4, 5}
    assert all(abs(counts[s] - len(values) / 5) < 1 for s in range(1, 6))
    assert scores[values.index(min(values))] == 1 and (len(values) < 5 or scores[values.index(max(values))] == 5)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), max_size=100), st.booleans())
def test_equal_values_share_a_score_and_better_never_scores_lower(pairs, lower_is_better):
    values, active = [v for v, _ in pairs], [a for _, a in pairs]
    scores = quintile_scores(values, active, lower_is_better)
    on = [(v, s) for v, s, a in zip(values, scores, active) if a]
    assert all(s == 0 for s, a in zip(scores, active) if not a)
    for v1, s1 in on:
        for v2, s2 in on:
            if v1 == v2:
                assert s1 == s2
            elif (v1 < v2) != lower_is_better:
                assert s1 <= s2


@SETTINGS
@given(shops(), windows)
def test_rfm_columns_add_up_and_segments_follow_the_scores(shop, window):
    member, day, amount, n = shop
    result = rfm(member, day, amount, n, ASOF, window)
    inside = [(m, a) for m, d, a in zip(member, day, amount) if ASOF - window < d <= ASOF]
    assert sum(result.frequency) == len(inside) and sum(result.monetary) == sum(a for _, a in inside)
    for i in range(n):
        scores = (result.r[i], result.f[i], result.m[i])
        if result.frequency[i]:
            assert all(1 <= s <= 5 for s in scores) and 0 <= result.recency_days[i] < window
            assert result.segment[i] == 4 * (scores[2] < HIGH) + 2 * (scores[0] < HIGH) + (scores[1] < HIGH)
        else:
            assert scores == (0, 0, 0) and result.segment[i] == NO_SEGMENT and result.recency_days[i] == -1
        assert result.last_day[i] == max((d for m, d in zip(member, day) if m == i and d <= ASOF), default=-1)


@SETTINGS
@given(shops())
def test_an_empty_window_scores_nobody_but_keeps_the_last_visit(shop):
    member, day, amount, n = shop
    before = array("q", (d - 1000 for d in day))  # every visit long before the window
    result = rfm(member, before, amount, n, ASOF, 100)
    assert result.counts() == [0] * 8 and set(result.segment) <= {NO_SEGMENT}
    assert set(result.r) | set(result.f) | set(result.m) <= {0} and set(result.frequency) <= {0}
    assert [d >= 0 for d in result.last_day] == [i in set(member) for i in range(n)]
