"""Tender options: every stop of the points slider is a redemption a quote accepts, and pays what the quote charges."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.pricing import price_basket
from core.quote import preview, quote
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from core.rules import NO_POINTS, tender_options
from tests.pricing.conftest import CATALOG, DEMO, MONDAY, RULES, member
from tests.pricing.strategies import rulebooks

SKUS = ["NUTS", "TEA-500", "MILK-1L", "CHIPS", "APPLE-1KG"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulebooks(), st.integers(0, 10**6), st.integers(0, 10**8))
def test_the_cap_is_a_whole_number_of_steps_within_the_rulebook_cap(rules, balance, due):
    red = rules.redemption
    options = tender_options(balance, due, red)
    assert options.step % red.step[0] == 0 and (options.step <= 100 or options.step == red.step[0])
    assert options.max_points % options.step == 0 and options.max_points <= red.max_points(balance, due)
    assert options.max_points == 0 or options.max_points >= red.min_points
    assert options.fen_for(options.max_points) == options.max_points // red.step[0] * red.step[1]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 20_000), st.lists(st.sampled_from(SKUS), min_size=1, max_size=5, unique=True), st.data())
def test_every_stop_of_the_slider_is_accepted_and_pays_what_the_quote_charges(balance, skus, data):
    basket, m = [L(s) for s in skus], member(points=balance)
    due = preview(basket, m, RULES, CATALOG, [], TenderRequest(), MONDAY).due
    options = tender_options(balance, due, RULES.redemption)
    if not options.max_points:
        return
    points = data.draw(st.integers(0, options.max_points // options.step)) * options.step
    if 0 < points < RULES.redemption.min_points:  # below the minimum the slider's stop is refused, as before
        return
    q = quote(basket, m, RULES, CATALOG, [], TenderRequest(points=points), MONDAY, pricer=price_basket)
    assert q.total("points_used") == points and q.total("points_fen") == options.fen_for(points)


def test_the_service_reads_the_cached_rulebook(kiosk):
    kiosk.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    kiosk.sales.load_catalog(CATALOG)
    # 1000 points = ¥40, at most half of ¥100.00: 1250 points, in steps of 100 → 1200
    options = kiosk.sales.tender_options(5000, 10_000)
    assert (options.max_points, options.step, options.fen_for(1200)) == (1200, 100, 4800)
    assert kiosk.sales.tender_options(99, 10_000).max_points == 0  # under the 100-point minimum
    assert NO_POINTS.max_points == 0 and NO_POINTS.fen_for(0) == 0
