"""Tier moves: automatic upgrade right after the sale that crosses a threshold, and the optional yearly review."""
from __future__ import annotations

from core.events import EventDraft
from core.payloads import TierChanged
from core.quote_input import MemberState
from core.rules import LIFETIME, Rules


def qualifying_spend(member: MemberState, rules: Rules) -> int:
    """The spend that decides the tier: lifetime, or the last 12 months, as the rules say."""
    return member.lifetime_spend if rules.tiers.basis == LIFETIME else member.rolling_spend


def tier_change_drafts(member: MemberState, spend: int, rules: Rules) -> list[EventDraft]:
    """A TIER_CHANGED draft when `spend` more lifts the member to a higher tier; never a downgrade."""
    current = rules.tiers.by_name(member.tier)
    target = rules.tiers.for_spend(qualifying_spend(member, rules) + spend)
    if target.rank <= current.rank:
        return []
    return [EventDraft.of(TierChanged(target.name, current.name, "upgrade"), member.member_id)]


def yearly_review_drafts(member: MemberState, rules: Rules) -> list[EventDraft]:
    """At the yearly review (when enabled) the tier follows the qualifying spend, down as well as up."""
    if not rules.tiers.yearly_review:
        return []
    current = rules.tiers.by_name(member.tier)
    target = rules.tiers.for_spend(qualifying_spend(member, rules))
    if target.name == member.tier:
        return []
    return [EventDraft.of(TierChanged(target.name, current.name, "review"), member.member_id)]
