"""The Cython analytics kernels equal the pure reference exactly, on random shops and on the column edge cases."""
from __future__ import annotations

import os
import subprocess
import sys
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core.analytics as ref
import native
from core.analytics import AnalyticsInputError, ChurnThresholds, ClassThresholds
from tests.analytics.strategies import ASOF, shops, windows

pytestmark = pytest.mark.skipif(not native.AVAILABLE, reason=f"native kernels not in use: {native.REASON}")
SETTINGS = settings(max_examples=150, deadline=None)
floors = st.lists(st.integers(0, 20), min_size=3, max_size=3).flatmap(
    lambda v: st.lists(st.sampled_from([0, 1, 100, 250, 10_000]), min_size=3, max_size=3).map(
        lambda a: ClassThresholds(*(x for pair in zip(sorted(v, reverse=True), sorted(a, reverse=True)) for x in pair))))
churn = st.lists(st.integers(1, 400), min_size=3, max_size=3, unique=True).map(lambda b: ChurnThresholds(*sorted(b)))


@SETTINGS
@given(shops(), windows, floors, churn)
def test_rfm_classes_and_churn_equal_the_reference(shop, window, thresholds, states):
    member, day, amount, n = shop
    ours, theirs = native.rfm(member, day, amount, n, ASOF, window), ref.rfm(member, day, amount, n, ASOF, window)
    assert ours == theirs
    assert native.classes(ours.frequency, ours.monetary, thresholds) == ref.classes(ours.frequency, ours.monetary, thresholds)
    assert native.churn_states(ours.last_day, ASOF, states) == ref.churn_states(ours.last_day, ASOF, states)


@SETTINGS
@given(shops(max_members=5, max_rows=80), st.integers(1, 100), st.integers(2, 8))
def test_at_risk_equals_the_reference(shop, percentile, min_visits):
    member, day, _, n = shop
    assert native.at_risk(member, day, n, ASOF, percentile, min_visits) == ref.at_risk(member, day, n, ASOF, percentile, min_visits)


def test_lists_and_arrays_give_the_same_answer_and_errors_match():
    member, day, amount = [0, 1, 1], [ASOF, ASOF - 3, ASOF - 9], [5, 7, 9]
    as_arrays = [array("q", c) for c in (member, day, amount)]
    assert native.rfm(member, day, amount, 2, ASOF, 30) == native.rfm(*as_arrays, 2, ASOF, 30) == ref.rfm(*as_arrays, 2, ASOF, 30)
    for bad in ([0, -1, 1], [0, 1, 2]):
        with pytest.raises(AnalyticsInputError) as ours:
            native.at_risk(bad, day, 2, ASOF)
        with pytest.raises(AnalyticsInputError) as theirs:
            ref.at_risk(bad, day, 2, ASOF)
        assert str(ours.value) == str(theirs.value)


def test_skip_native_gives_the_reference_analytics():
    code = "import native, core.analytics as a; print(native.rfm is a.rfm and native.at_risk is a.at_risk)"
    env = {**os.environ, "MEMBERKIOSK_SKIP_NATIVE": "1"}
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.strip() == "True"
