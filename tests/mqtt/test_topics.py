"""The topic tree: builders and parse agree, and nothing outside the tree is guessed at."""
from __future__ import annotations

import pytest

from mqtt import topics
from mqtt.topics import BadTopic, Route


def test_builders_and_parse_round_trip() -> None:
    assert topics.up("shop1", "shop1-k1", "events") == "mk/v1/shop1/shop1-k1/up/events"
    assert topics.parse(topics.up("shop1", "shop1-k1", "spend")) == Route("up", "spend", "shop1", "shop1-k1")
    for kind in topics.DOWN_KINDS:
        assert topics.parse(topics.down("s", "k", kind)) == Route("down", kind, "s", "k")
    assert topics.parse(topics.document("shop1", "rules")) == Route("down", "documents", "shop1", None, "rules")
    assert topics.status("shop1", "shop1-k1") == "mk/v1/shop1/shop1-k1/status"
    assert topics.hub_subscription("events") == "$share/hub/mk/v1/+/+/up/events"
    assert topics.hub_subscription("events", shared=False) == "mk/v1/+/+/up/events"
    assert topics.kiosk_down("shop1", "shop1-k1") == "mk/v1/shop1/shop1-k1/down/+"


@pytest.mark.parametrize("topic", [
    "mk/v2/shop1/k1/up/events", "mk/v1/shop1/k1/up/acks", "mk/v1/shop1/k1/sideways/events", "mk/v1/shop1/k1/up",
    "mk/v1/shop1/k1/up/events/extra", "mk/v1/shop+/k1/up/events", "mk/v1/shop1//up/events", "mk/v1/hub/status",
    "mk/v1/shop1/hub/up/events", "mk/v1/shop1/down/documents/Rules!", "$share/hub/mk/v1/s/k/up/events",
])
def test_topics_outside_the_tree_are_refused(topic: str) -> None:
    with pytest.raises(BadTopic):
        topics.parse(topic)


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "$SYS", "x" * 65, "hub", "名字"])
def test_ids_that_would_break_an_acl_pattern_are_refused(bad: str) -> None:
    with pytest.raises(BadTopic, match="kiosk"):
        topics.up("shop1", bad, "events")


def test_a_spend_reply_goes_only_to_the_asking_kiosk() -> None:
    own = topics.down("shop1", "shop1-k1", "spend")
    assert topics.check_response_topic(own, "shop1", "shop1-k1") == own
    with pytest.raises(BadTopic, match="not the sender's own"):
        topics.check_response_topic(topics.down("shop1", "shop1-k2", "spend"), "shop1", "shop1-k1")
