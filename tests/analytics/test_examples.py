"""Small shops computed by hand: RFM scores and segments, classes, churn states, at-risk members, suggestions."""
from __future__ import annotations

from array import array

import pytest

from core.analytics import (
    ACTIVE, DORMANT, LAPSED, LAPSING, NEVER, NO_SEGMENT, SEGMENTS, AnalyticsInputError, ChurnThresholds,
    ClassThresholds, recommend,
)

ASOF, WINDOW = 1000, 30  # the window holds days 971..1000

# (member, day, amount): five members inside the window, one only before it, one never; one row after asof_day.
VISITS = [
    (0, 1000, 100), (0, 999, 100), (0, 998, 100), (0, 997, 100),  # f 4, m 400, recency 0
    (1, 990, 5000), (1, 985, 5000), (1, 980, 5000),                 # f 3, m 15000, recency 10
    (2, 995, 20000), (2, 1001, 7),                                  # f 1, m 20000, recency 5 (day 1001 is after asof)
    (3, 975, 50), (3, 972, 50),                                     # f 2, m 100, recency 25
    (4, 971, 10), (4, 973, 10), (4, 976, 10), (4, 978, 10), (4, 979, 10),  # f 5, m 50, recency 21 (971: first day in)
    (5, 970, 999),                                                  # the day before the window: no segment
]


def columns(rows):
    return [array("q", col) for col in zip(*rows)] if rows else [array("q")] * 3


def test_rfm_scores_and_segments_by_hand(engine):
    result = engine.rfm(*columns(VISITS), 7, ASOF, WINDOW)
    assert list(result.frequency) == [4, 3, 1, 2, 5, 0, 0]
    assert list(result.monetary) == [400, 15000, 20000, 100, 50, 0, 0]
    assert list(result.recency_days) == [0, 10, 5, 25, 21, -1, -1]
    assert list(result.last_day) == [1000, 990, 995, 975, 979, 970, -1]  # member 5's visit counts for churn
    # Five active members with distinct values: the score is 1 + (how many are strictly worse), so ranks are scores.
    # Recency, shorter is better: 0 (m0) 5 (m2) 10 (m1) 21 (m4) 25 (m3).
    assert list(result.r) == [5, 3, 4, 1, 2, 0, 0]
    assert list(result.f) == [4, 3, 1, 2, 5, 0, 0]
    assert list(result.m) == [3, 4, 5, 2, 1, 0, 0]
    # high = 3..5. m0 and m1: all high; m2: R and M high, F low; m3: all low; m4: only F high.
    assert [s and s.zh_CN for s in map(result.segment_of, range(7))] == [
        "重要价值客户", "重要价值客户", "重要发展客户", "一般挽留客户", "一般保持客户", None, None]
    assert list(result.segment) == [0, 0, 1, 7, 6, NO_SEGMENT, NO_SEGMENT]
    assert result.counts() == [2, 1, 0, 0, 0, 0, 1, 1]
    assert SEGMENTS[6].name("en") == "General to keep" and SEGMENTS[6].name() == "一般保持客户"


def test_equal_values_share_a_score(engine):
    # Four members, one visit each on the same day: recency and frequency all tie (nobody strictly worse: score 1).
    # Amounts 10, 10, 20, 30: strictly worse counts 0, 0, 2, 3 -> 1 + 5·w // 4 = 1, 1, 3, 4.
    result = engine.rfm(*columns([(0, 990, 10), (1, 990, 10), (2, 990, 20), (3, 990, 30)]), 4, ASOF, WINDOW)
    assert list(result.r) == list(result.f) == [1, 1, 1, 1]
    assert list(result.m) == [1, 1, 3, 4]
    assert list(result.segment) == [7, 7, 3, 3]  # R and F low; M high only for the 20 and the 30: 重要挽留客户
    assert SEGMENTS[3].zh_CN == "重要挽留客户"


def test_an_empty_shop_and_a_bad_member_number(engine):
    empty = engine.rfm(*columns([]), 0, ASOF, WINDOW)
    assert len(empty.segment) == 0 and empty.counts() == [0] * 8
    with pytest.raises(AnalyticsInputError, match="row 1 names member 3, outside 0..2"):
        engine.rfm(*columns([(0, 990, 1), (3, 990, 1)]), 3, ASOF, WINDOW)
    with pytest.raises(AnalyticsInputError, match="window_days is 0"):
        engine.rfm(*columns([]), 0, ASOF, 0)
    with pytest.raises(AnalyticsInputError, match="differ in length"):
        engine.rfm(array("q", [0]), array("q"), array("q", [1]), 1, ASOF, WINDOW)


def test_classes_by_hand(engine):
    floors = ClassThresholds(a_visits=10, a_amount=1000, b_visits=5, b_amount=500, c_visits=2, c_amount=100)
    frequency = [10, 20, 4, 1, 0, 5]
    monetary = [1000, 999, 100_000, 100_000, 0, 500]
    # 10/1000 meets A's floors exactly (inclusive); 20/999 is short of A's amount, so B; 4 visits is short of B's,
    # so C; 1 visit is short of C's, so D however much was spent; nothing at all is D; 5/500 is exactly B.
    assert list(engine.classes(array("q", frequency), array("q", monetary), floors)) == [0, 1, 2, 3, 3, 1]


def test_churn_states_by_hand(engine):
    last = array("q", [1000, 970, 969, 910, 909, 820, 819, -1])
    # Gaps 0, 30, 31, 90, 91, 180, 181: each threshold is the last day of its state (inclusive); -1: never visited.
    assert list(engine.churn_states(last, ASOF, ChurnThresholds(30, 90, 180))) == [
        ACTIVE, ACTIVE, LAPSING, LAPSING, LAPSED, LAPSED, DORMANT, NEVER]


def test_at_risk_by_hand(engine):
    rows = [(0, d) for d in (100, 107, 114, 121, 128, 137)]  # every 7 days; 137 is after asof 136 and ignored
    rows += [(1, d) for d in (120, 130, 131, 132, 133)]  # gaps 10, 1, 1, 1
    rows += [(2, d) for d in (100, 100, 110, 120)]  # three distinct days: too little history to judge
    member, day = (array("q", c) for c in zip(*rows))
    # m0: usual gap 7 at any percentile, 8 days since 128: overdue. m1 at p90: nearest rank ceil(0.9·4) = 4th of
    # [1, 1, 1, 10] = 10, and 3 days since 133 is not overdue; at p50 the 2nd gap, 1, is exceeded.
    assert engine.at_risk(member, day, 3, 136) == [(0, 8, 7)]
    assert engine.at_risk(member, day, 3, 136, percentile=50) == [(0, 8, 7), (1, 3, 1)]
    assert engine.at_risk(member, day, 3, 136, percentile=50, min_visits=3)[-1] == (2, 16, 10)  # gaps 10, 10
    with pytest.raises(AnalyticsInputError, match="percentile is 0"):
        engine.at_risk(member, day, 3, 136, percentile=0)


def test_recommendations_by_hand():
    pairs = [(1, 2, 10), (1, 3, 4), (2, 3, 7), (3, 4, 1), (4, 5, 50)]
    # The member bought sku 1 twice and sku 3 once. Scores: 2 = 2·10 + 1·7 = 27, 3 = 2·4 = 8, 1 = 1·4 = 4,
    # 4 = 1·1 = 1; 5 only goes with 4, which the member never bought, so it never scores.
    assert recommend({1: 2, 3: 1}, pairs, exclude=set(), k=3) == [2, 3, 1]
    assert recommend({1: 2, 3: 1}, pairs, exclude={1, 3}, k=3) == [2, 4]
    assert recommend({1: 1}, [(1, 7, 3), (1, 6, 3)], exclude=set()) == [6, 7]  # a tie goes to the smaller id
    assert recommend({}, pairs, exclude=set()) == [] and recommend({1: 1}, pairs, set(), k=0) == []
