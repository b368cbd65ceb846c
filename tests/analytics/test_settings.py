"""The [analytics] table of a rulebook: defaults when absent, values in yuan and days, and errors that name the key."""
from __future__ import annotations

import pytest

from core.analytics import AnalyticsSettings, ChurnThresholds, ClassThresholds
from core.errors import RulesError
from core.rules_toml import parse_rules

SHOP = """
[analytics]
window_days = 180
at_risk_percentile = 80
[analytics.classes]
a_visits = 12
a_amount = "3000"
c_amount = "99.5"
[analytics.churn]
active_days = 14
lapsing_days = 60
"""


def test_defaults_and_a_shop_of_its_own():
    assert parse_rules("").analytics == AnalyticsSettings()
    got = parse_rules(SHOP).analytics
    assert got.window_days == 180 and got.at_risk_percentile == 80 and got.at_risk_min_visits == 4
    assert got.classes == ClassThresholds(a_visits=12, a_amount=300_000, c_amount=9_950)  # yuan to fen
    assert got.churn == ChurnThresholds(active_days=14, lapsing_days=60, lapsed_days=180)


@pytest.mark.parametrize("text, key", [
    ("[analytics]\nwindow = 30", "analytics.window: unknown key"),
    ("[analytics]\nwindow_days = 0", "analytics.window_days: expected a whole number from 1"),
    ("[analytics.classes]\nb_visits = 30", "analytics.classes.b_visits: class B floors must not be above"),
    ("[analytics.classes]\nc_amount = 10.5", "analytics.classes.c_amount: write money as yuan in quotes"),
    ("[analytics.churn]\nlapsed_days = 60", "analytics.churn.lapsing_days: need active_days < lapsing_days < lapsed_days"),
])
def test_a_bad_key_is_named(text, key):
    with pytest.raises(RulesError, match=key):
        parse_rules(text)
