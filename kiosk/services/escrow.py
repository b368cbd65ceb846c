"""Escrow: what a kiosk of a chain may spend of a member on its own, and asking head office for the rest.

Two kiosks offline at once must never spend one balance twice. The hub promises each kiosk an allowance per member
and kind (stored value, points, visits of a pack) as of that kiosk's watermark W; the kiosk may spend the allowance
plus the net of its own events of that member after W (its own top-ups at once; its own spends since W are used
up already). Beyond that it asks the hub, inside the commit's transaction, with a short timeout, for the
difference: granted, the reply's allowance is stored and the unit goes on; refused or unreachable, nothing is
written and the cashier is told what can be spent here now. Earning is never limited, and the system's upkeep
(points expiry) is not a spend anyone chose.
"""
from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from core.errors import SpendOffline, SpendRefused
from core.events import SYSTEM, EventDraft
from core.money import format_fen
from kiosk.store import chain_state, ledger, members as member_rows
from kiosk.store.chain_state import Allowance, kinds, nested
from kiosk.store.ledger import Identity

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0  # seconds a checkout waits for head office, holding the ledger's write lock


@dataclass(frozen=True)
class SpendReply:
    """Head office's answer to a spend request: granted or not (and why), and the member's whole allowance now."""

    granted: bool
    reason: str | None
    allowance: dict[str, Any]  # {"stored_value": fen, "points": n, "visits": {pack: n}}
    as_of: int  # this kiosk's watermark the allowance covers


class AskFailed(Exception):
    """Head office could not be asked (no connection, no answer in time); the spend is refused as offline."""


class Asker(Protocol):
    """How a spend request reaches head office: the sync agent in-process, or a one-shot connection in a command."""

    def ask(self, member_id: str, amounts: dict[str, Any], timeout: float) -> SpendReply:
        """Ask for `amounts` more than the allowance; raise AskFailed when head office cannot answer in time."""
        ...


def net(drafts: Sequence[EventDraft]) -> dict[str, int]:
    """The drafts' net {kind: n} for their member."""
    total: dict[str, int] = {}
    for draft in drafts:
        for kind, n in kinds(draft.deltas).items():
            total[kind] = total.get(kind, 0) + n
    return total


class Escrow:
    """The spend check the commit gateway runs for each member of a unit, when the kiosk is in a chain."""

    def __init__(self, who: Identity, asker: Asker | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.who, self.asker, self.timeout = who, asker, timeout

    def check(self, conn: sqlite3.Connection, member_id: str, drafts: Sequence[EventDraft], operator: str) -> None:
        """Let the drafts through when this kiosk may spend what they take from the member; else ask head office.
        SpendRefused or SpendOffline (nothing written) when the answer is no or there is none."""
        if operator == SYSTEM:
            return
        held = _held(conn, member_id)
        # what the member holds is the ledger's check (InsufficientBalance); the escrow guards only what they have
        spends = {k: n for k, n in net(drafts).items() if n < 0 and held.get(k, 0) + n >= 0}
        if not spends:
            return
        here = self.spendable(conn, member_id)
        short = {k: -n - here.get(k, 0) for k, n in spends.items() if -n > here.get(k, 0)}
        if not short:
            return
        try:
            if self.asker is None:
                raise AskFailed("no connection to head office in this process")
            log.info("asking head office for %s of member %s beyond the allowance", short, member_id)
            reply = self.asker.ask(member_id, nested(short), self.timeout)
        except AskFailed as exc:
            log.warning("spend of member %s beyond the allowance refused offline: %s", member_id, exc)
            raise SpendOffline(f"Offline: {_name(conn, member_id)} can spend up to {_words(here, held, spends)} here "
                               "until the network is back; pay the rest another way") from exc
        if not reply.granted:
            now = self.spendable(conn, member_id, Allowance(kinds(reply.allowance), reply.as_of, 0))
            raise SpendRefused(f"head office refused: {reply.reason or 'no reason given'}. {_name(conn, member_id)} "
                               f"can spend up to {_words(now, held, spends)} here now; pay the rest another way")
        stored = chain_state.allowance(conn, member_id)
        epoch = stored.epoch if stored is not None and stored.as_of == reply.as_of else 0  # the hub's latest word
        chain_state.put_allowance(conn, member_id, reply.allowance, reply.as_of, epoch)

    def spendable(self, conn: sqlite3.Connection, member_id: str, allowance: Allowance | None = None) -> dict[str, int]:
        """{kind: n} this kiosk may spend of the member without asking: the allowance (stored, unless given) plus
        its own events of the member after the allowance's watermark. Without any allowance, only what head office
        has not acknowledged yet is this kiosk's alone."""
        allowance = allowance or chain_state.allowance(conn, member_id)
        as_of = allowance.as_of if allowance else chain_state.acked_seq(conn)
        own = chain_state.own_moves(conn, self.who.kiosk_id, member_id, as_of)
        amounts = allowance.amounts if allowance else {}
        return {k: amounts.get(k, 0) + own.get(k, 0) for k in {*amounts, *own}}


def _held(conn: sqlite3.Connection, member_id: str) -> dict[str, int]:
    b = ledger.load_balances(conn, member_id)
    return kinds({"stored_value": b.stored_value, "points": b.points, "visits": dict(b.visits)})


def _name(conn: sqlite3.Connection, member_id: str) -> str:
    member = member_rows.get(conn, member_id)
    return member.name if member is not None and member.name else f"member {member_id}"


def _words(spendable: Mapping[str, int], held: Mapping[str, int], kinds_: Mapping[str, int]) -> str:
    """What can be spent here of each kind the sale wanted, in a cashier's words."""
    parts = []
    for kind in sorted(kinds_, key=lambda k: (k.startswith("visits:"), k != "stored_value", k)):
        n = max(0, min(spendable.get(kind, 0), held.get(kind, 0)))
        if kind == "stored_value":
            parts.append(f"{format_fen(n)} of stored value")
        elif kind == "points":
            parts.append(f"{n} points")
        else:
            parts.append(f"{n} visits of {kind.removeprefix('visits:')}")
    return ", ".join(parts)
