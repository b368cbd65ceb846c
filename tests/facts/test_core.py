"""The pure parts of the facts: coupon costs that add up to the sale's share, SKU pairs, events that give nothing."""
from __future__ import annotations

from core.events import MEMBER_REGISTERED, Event
from core.facts import coupon_cost, extract, pairs


def test_coupon_costs_split_the_sales_share_and_add_up_to_it():
    assert coupon_cost(1000, 1, True) == 1000
    costs = [coupon_cost(1001, 3, True), coupon_cost(1001, 3, False), coupon_cost(1001, 3, False)]
    assert costs == [335, 333, 333] and sum(costs) == 1001


def test_pairs_are_each_two_distinct_skus_once_smaller_first():
    assert pairs([3, 1, 3, 2]) == [(1, 2), (1, 3), (2, 3)]
    assert pairs(["TEA"]) == [] and pairs(["B", "A"]) == [("A", "B")]


def test_an_event_without_facts_gives_no_rows():
    event = Event("e1", "k1", "s1", 1, 1_795_000_000_000, "e1", MEMBER_REGISTERED, "m1", {"consent_at": 1}, {})
    assert extract(event, None).empty
