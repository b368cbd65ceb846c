"""Points over time and stored-value top-ups: expiry (FIFO by year of earning) and top-up brackets."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from core.errors import InvalidAmount
from core.events import EventDraft
from core.payloads import PointsExpired, ToppedUp
from core.rules import Rules, TopupBracket


def topup_bracket(amount: int, rules: Rules | None) -> TopupBracket | None:
    """The highest bracket `amount` fen reaches (充1000送200), or None (also on a kiosk with no rules yet)."""
    reached = [b for b in rules.topup if amount >= b.min_amount] if rules else []
    return max(reached, key=lambda b: b.min_amount) if reached else None


def topup_drafts(member_id: str, amount: int, rules: Rules | None) -> list[EventDraft]:
    """The ledger draft of a top-up of `amount` fen, with its bracket bonus as stored value or points."""
    if amount <= 0:
        raise InvalidAmount("a top-up must be more than ¥0.00")
    bracket = topup_bracket(amount, rules)
    bonus_value = bracket.bonus_value if bracket else 0
    bonus_points = bracket.bonus_points if bracket else 0
    deltas = {"stored_value": amount + bonus_value}
    if bonus_points:
        deltas["points"] = bonus_points
    return [EventDraft.of(ToppedUp(amount, bonus_value, bonus_points), member_id, deltas)]


def _buckets(history: Iterable[tuple[dt.date, int]]) -> dict[int, int]:
    """Points left per year of earning: gains fill their year, spends and expiries empty the oldest first."""
    left: dict[int, int] = {}
    for day, delta in sorted(history, key=lambda h: h[0]):
        if delta > 0:
            left[day.year] = left.get(day.year, 0) + delta
            continue
        need = -delta
        for year in sorted(left):
            take = min(need, left[year])
            left[year] -= take
            need -= take
    return {y: n for y, n in left.items() if n > 0}


def expiring_points(history: Iterable[tuple[dt.date, int]], today: dt.date, rules: Rules) -> tuple[int, dt.date]:
    """How many points expire at the end of this year (those earned last year), and that date."""
    end = dt.date(today.year, 12, 31)
    if not rules.points_expire:
        return 0, end
    return _buckets(history).get(today.year - 1, 0), end


def expiry_drafts(member_id: str, history: Iterable[tuple[dt.date, int]], today: dt.date, rules: Rules) -> list[EventDraft]:
    """POINTS_EXPIRED drafts for points earned two or more years before `today` and still unspent."""
    if not rules.points_expire:
        return []
    return [
        EventDraft.of(PointsExpired(year, f"{year + 1}-12-31"), member_id, {"points": -n})
        for year, n in sorted(_buckets(history).items())
        if year <= today.year - 2
    ]
