"""Stored-value top-up: the cashier takes money, the member's stored value (and any bracket bonus) goes up."""
from __future__ import annotations

from core.errors import InvalidAmount
from core.events import TOPPED_UP, Event, EventDraft
from kiosk.services.members import MemberService

MAX_TOPUP_FEN = 5_000_000  # ¥50,000: above this a typo is likelier than a customer


def top_up(members: MemberService, member_id: str, amount_fen: int) -> list[Event]:
    """Credit stored value as one durable ledger transaction."""
    if amount_fen <= 0:
        raise InvalidAmount("a top-up must be more than ¥0.00")
    if amount_fen > MAX_TOPUP_FEN:
        raise InvalidAmount("a top-up above ¥50000.00 must be split or done by the head office")
    draft = EventDraft(TOPPED_UP, member_id, {"amount": amount_fen, "bonus": 0}, {"stored_value": amount_fen})
    return members.commit([draft])
