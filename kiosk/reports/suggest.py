"""What to suggest to a member after a card tap: products often bought together with what they buy (fact_pairs),
never one from their most recent sale."""
from __future__ import annotations

from typing import Any

from core.analytics import recommend
from kiosk.reports.model import Period
from kiosk.reports.sql import Facts

EVERY_DAY = Period(1, 3_652_059)  # date.min..date.max as ordinals: suggestions look at the whole history


def suggestions(cursor: Any, placeholder: str, member_id: str, known: set[str], k: int = 3) -> list[str]:
    """Up to k SKUs, best first, among `known` ones (the catalog's), for the member numbered `member_id`."""
    facts = Facts(cursor, placeholder, EVERY_DAY)
    member = facts.value("SELECT id FROM fact_dict WHERE kind = 'member' AND value = ?", [member_id])
    if member is None:
        return []
    bought = dict(facts.rows("SELECT l.sku, SUM(l.qty) FROM fact_lines l WHERE l.member = ? GROUP BY l.sku "
                             "HAVING SUM(l.qty) > 0", [member]))
    if not bought:
        return []
    latest = facts.rows("SELECT kiosk, seq FROM fact_sales WHERE member = ? AND kind = 1 "
                        "ORDER BY ts DESC, kiosk DESC, seq DESC LIMIT 1", [member])
    last = facts.rows("SELECT sku FROM fact_lines WHERE kiosk = ? AND seq = ?", latest[0]) if latest else []
    skus = facts.names("sku")
    exclude = {sku for sku, in last} | {i for i, value in skus.items() if value not in known}
    ids = sorted(bought)
    marks = ", ".join("?" * len(ids))
    pairs = facts.rows(f"SELECT a, b, n FROM fact_pairs WHERE a IN ({marks}) OR b IN ({marks})", [*ids, *ids])
    return [skus[i] for i in recommend(bought, pairs, exclude, k)]
