"""The hub's allowance policy and spend authorisation: how much of a member's balance each kiosk may spend offline.

After a group commit, each kiosk whose fresh events touched a member is offered a SHARE of what nobody else was
promised (`offer`); a kiosk that needs more asks (`authorise`), and gets all it asked for or nothing. Both lock the
member's balances row first, as applying and the other grants do, so two workers never promise the same money twice,
and both say `as_of`: the kiosk's watermark read in the same transaction (messages.py explains how a kiosk uses it).
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from core.ledger import Balances
from core.money import format_fen
from mqtt.hub import allowances, balances
from mqtt.hub.dialects import Tx, chunks, marks

Amounts = dict[str, Any]  # {"stored_value": n, "points": n, "visits": {pack: n}}: the wire shape of an allowance


@dataclass(frozen=True)
class Decision:
    """The answer to a spend request: the kiosk's whole allowance of the member now, as of its watermark."""

    granted: bool
    reason: str | None
    allowance: Amounts
    as_of: int


def offer(tx: Tx, kiosk_id: str, member_ids: Iterable[str], share: float, now_ms: int) -> tuple[int, dict[str, Amounts]]:
    """Raise the kiosk's allowances of the members towards `share` of their unpromised balances (never lower them);
    returns (as_of, {member: whole allowance})."""
    members = balances.lock(tx, member_ids)
    as_of = watermark(tx, kiosk_id)
    credits = _credits_above(tx, sorted(members))
    offered: dict[str, Amounts] = {}
    for member_id, b in sorted(members.items()):
        have = allowances.held(tx, member_id)
        for kind in _kinds(b, have, kiosk_id):
            others = sum(n for (k, kd), n in have.items() if kd == kind and k != kiosk_id)
            unpromised = balances.of_kind(b, kind) - others - credits[member_id][kind]
            target = max(0, math.floor(share * unpromised))
            if target > have.get((kiosk_id, kind), 0):
                allowances.put(tx, member_id, kiosk_id, kind, target, now_ms)
                have[(kiosk_id, kind)] = target
        offered[member_id] = _amounts(have, kiosk_id)
    return as_of, offered


def authorise(tx: Tx, kiosk_id: str, member_id: str, wanted: Mapping[str, Any], now_ms: int) -> Decision:
    """Add `wanted` (a spend request's amounts) to the kiosk's allowance from what no kiosk was promised, every kind
    or none; a refusal says what head office holds and how much of it others were promised."""
    b = balances.lock(tx, [member_id])[member_id]
    have = allowances.held(tx, member_id)
    asked, credits = _flat(wanted), _credits_above(tx, [member_id])[member_id]
    reason = next((r for kind, n in asked.items() if (r := _shortfall(b, have, kiosk_id, kind, n, credits[kind]))),
                  None)
    if reason is None:
        for kind, n in asked.items():
            have[(kiosk_id, kind)] = have.get((kiosk_id, kind), 0) + n
            allowances.put(tx, member_id, kiosk_id, kind, have[(kiosk_id, kind)], now_ms)
    return Decision(reason is None, reason, _amounts(have, kiosk_id), watermark(tx, kiosk_id))


def watermark(tx: Tx, kiosk_id: str) -> int:
    """The kiosk's watermark (0 for a kiosk the hub has not applied anything of)."""
    row = tx.one("SELECT watermark FROM kiosks WHERE kiosk_id = ?", (kiosk_id,))
    return row[0] if row else 0


def _shortfall(b: Balances, have: dict[tuple[str, str], int], kiosk_id: str, kind: str, n: int,
               unsettled: int) -> str | None:
    """Why `n` more of `kind` cannot be granted to the kiosk, or None when it can; `unsettled` is what kiosks may
    already spend of their own credits that head office applied out of order (see _credits_above)."""
    balance = balances.of_kind(b, kind)
    others = sum(v for (k, kd), v in have.items() if kd == kind and k != kiosk_id)
    own = have.get((kiosk_id, kind), 0)
    if n <= balance - others - own - unsettled:
        return None
    show = format_fen if kind == "stored_value" else str
    what = {"stored_value": "stored value", "points": "points"}.get(kind) or f"visits of {kind.removeprefix('visits:')}"
    reason = f"{what} at head office {show(balance)}, {show(others)} of it promised to other kiosks"
    if own:
        reason += f" and {show(own)} to this one"
    return reason[:200]


def _kinds(b: Balances, have: Mapping[tuple[str, str], int], kiosk_id: str) -> list[str]:
    """The balances a member can spend: stored value, points, each pack held or allowed here."""
    packs = {f"visits:{p}" for p in b.visits} | {kd for (k, kd) in have if k == kiosk_id and kd.startswith("visits:")}
    return ["stored_value", "points", *sorted(packs)]


def _amounts(have: Mapping[tuple[str, str], int], kiosk_id: str) -> Amounts:
    """The kiosk's allowance of one member in the wire shape."""
    mine = {kd: n for (k, kd), n in have.items() if k == kiosk_id}
    return {"stored_value": mine.get("stored_value", 0), "points": mine.get("points", 0),
            "visits": {kd.removeprefix("visits:"): n for kd, n in sorted(mine.items()) if kd.startswith("visits:")}}


def _flat(amounts: Mapping[str, Any]) -> dict[str, int]:
    """Wire amounts as {kind: n} for the positive ones (visits as visits:PACK)."""
    flat = {k: amounts[k] for k in ("stored_value", "points") if amounts.get(k)}
    flat.update({f"visits:{p}": n for p, n in sorted(amounts.get("visits", {}).items()) if n})
    return flat


def _credits_above(tx: Tx, member_ids: list[str]) -> dict[str, dict[str, int]]:
    """What events above their kiosk's watermark (applied out of order) added, per member and kind: each kiosk adds
    its own such credits to an allowance as of its watermark, so the hub must promise them to nobody."""
    credits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for part in chunks(member_ids):
        for member_id, body in tx.rows(f"SELECT e.member_id, e.body FROM events e JOIN kiosks k ON k.kiosk_id ="
                                       f" e.kiosk_id WHERE e.seq > k.watermark AND e.member_id IN"
                                       f" ({marks(len(part))})", part):
            deltas = json.loads(body).get("deltas", {})
            for kind in ("stored_value", "points"):
                credits[member_id][kind] += max(0, deltas.get(kind, 0))
            for pack, n in (deltas.get("visits") or {}).items():
                credits[member_id][f"visits:{pack}"] += max(0, n)
    return credits
