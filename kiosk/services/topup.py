"""Stored-value top-up: the cashier takes money, the member's stored value (and any bracket bonus) goes up."""
from __future__ import annotations

from typing import Any

from core.errors import InvalidAmount, NotFound
from core.events import Event
from core.points import topup_drafts
from core.rules import Rules
from kiosk.services.members import MemberService
from kiosk.services.pricing_data import load_rules

MAX_TOPUP_FEN = 5_000_000  # ¥50,000: above this a typo is likelier than a customer


def shop_rules(docs: Any) -> Rules | None:
    """The loaded rulebook, or None on a kiosk that has none yet (top-ups then carry no bonus)."""
    try:
        return load_rules(docs)
    except NotFound:
        return None


def top_up(members: MemberService, member_id: str, amount_fen: int, rules: Rules | None = None,
           operator: str | None = None, card: str | None = None) -> list[Event]:
    """Credit stored value and the bracket bonus the rules give (充1000送200) as one durable ledger transaction."""
    if amount_fen > MAX_TOPUP_FEN:
        raise InvalidAmount("a top-up above ¥50000.00 must be split or done by the head office")
    return members.commit(topup_drafts(member_id, amount_fen, rules), operator, card)
