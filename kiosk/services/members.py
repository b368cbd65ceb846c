"""Member use cases: each is one transaction of member rows and ledger events, durable before it returns."""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, replace
from typing import Callable

from core import directory as changes_, payloads
from core.errors import CardBlocked, Conflict, ConsentRequired, InvalidInput, MemberErased, NotAllowed, NotFound
from core.events import Event, EventDraft
from core.ledger import Balances
from core.members import Member, mask_phone, normalize_name, normalize_phone, normalize_uid
from core.money import format_fen
from kiosk.services.gateway import Gateway, Unit, is_staff
from kiosk.services.pins import PinGuard, hash_pin
from kiosk.store import directory as feed, ledger, members as rows, staff as staff_rows
from kiosk.store.db import Database

__all__ = ["BalanceOutstanding", "CardBlocked", "MemberService", "MemberView", "Registration"]


class BalanceOutstanding(Conflict):
    """A member asked to be erased still holds (or owes) a balance that nobody could pay out afterwards."""


@dataclass(frozen=True)
class MemberView:
    """What a screen or command shows of a member: the record, balances and cards."""

    member: Member
    balances: Balances
    cards: list[tuple[str, str]]

    def as_dict(self) -> dict:
        """JSON-ready form for scripts run by staff (full phone: screens mask it with mask_phone)."""
        m, b = self.member, self.balances
        return {
            "member_id": m.member_id,
            "phone": m.phone,
            "name": m.name,
            "birthday": m.birthday.isoformat() if m.birthday else None,
            "gender": m.gender,
            "erased": m.erased_at is not None,
            "marketing_consent": m.marketing_consent_at is not None,
            "tier": b.tier,
            "points": b.points,
            "stored_value_fen": b.stored_value,
            "lifetime_spend_fen": b.lifetime_spend,
            "visits": dict(b.visits),
            "cards": [{"uid": uid, "status": status} for uid, status in self.cards],
        }


@dataclass(frozen=True)
class Registration:
    """What a new member gives us; phone and consent are required."""

    phone: str
    consent: bool
    name: str | None = None
    birthday: dt.date | None = None
    gender: str | None = None
    card: str | None = None
    pin: str | None = None
    marketing: bool = False  # agreed to marketing messages (birthday wishes); optional, unlike the privacy consent


class MemberService:
    """Register, identify, edit and erase members; link and block cards; top up stored value."""

    def __init__(self, db: Database, gateway: Gateway, operator: Callable[[], str], guard: PinGuard) -> None:
        self.db, self.gateway, self._operator, self.guard = db, gateway, operator, guard

    def acting(self, operator: str | None) -> str:
        """The operator of a call: the one given, else the kiosk's own (customer on the screens, cli:USER in a shell)."""
        return operator or self._operator()

    def register(self, reg: Registration, operator: str | None = None) -> MemberView:
        """Create a member (and link a card); a duplicate phone or card writes nothing."""
        if not reg.consent:
            raise ConsentRequired("the member must agree to the privacy notice before we store their data")
        phone = normalize_phone(reg.phone)
        uid = normalize_uid(reg.card) if reg.card else None
        with self.gateway.unit(self.acting(operator)) as unit:
            member_id = self.add_in(unit, replace(reg, phone=phone, card=uid, name=normalize_name(reg.name)))
        return self.get(member_id)

    def add_in(self, unit: Unit, reg: Registration) -> str:
        """Register inside the caller's unit (bulk import uses one for the whole file)."""
        conn, now = unit.conn, unit.now
        existing = rows.by_phone(conn, reg.phone)
        if existing:
            raise Conflict(f"phone {mask_phone(reg.phone)} is already registered (member {existing.member_id})")
        if reg.card:
            self._check_card_free(conn, reg.card)
        member_id = rows.next_member_id(conn, unit.who.kiosk_id)
        rows.insert(conn, Member(member_id, reg.phone, reg.name, reg.birthday, reg.gender, now, now,
                                 marketing_consent_at=now if reg.marketing else None))
        drafts = [EventDraft.of(payloads.MemberRegistered(now), member_id)]
        if reg.card:
            rows.link_card(conn, reg.card, member_id, now)
            drafts.append(EventDraft.of(payloads.CardLinked(reg.card), member_id))
        if reg.pin:
            rows.set_pin(conn, member_id, hash_pin(reg.pin))
        self._record(unit, member_id, changes_.REGISTERED,
                     {**changes_.personal_fields(rows.get(conn, member_id)), "pin_hash": feed.pin_hash(conn, member_id)})
        if reg.card:
            self._record(unit, member_id, changes_.CARD_LINKED, {"uid": reg.card})
        unit.append(drafts)
        return member_id

    def _check_card_free(self, conn: sqlite3.Connection, uid: str) -> None:
        owner = rows.card(conn, uid)
        if owner:
            state = "was reported lost" if owner[1] == "blocked" else f"belongs to member {owner[0]}"
            raise Conflict(f"card {uid} {state}; use a new card")
        if staff_rows.is_staff_card(conn, uid):
            raise Conflict(f"card {uid} is a staff card; use a new card")

    def get(self, member_id: str) -> MemberView:
        """The member by member number, or NotFound."""
        with self.db.reading() as conn:
            return self._view(conn, self._require(conn, member_id.strip()))

    def by_phone(self, phone: str) -> MemberView:
        """The member registered with this phone, or NotFound."""
        normalized = normalize_phone(phone)
        with self.db.reading() as conn:
            member = rows.by_phone(conn, normalized)
            if member is None:
                raise NotFound(f"no member with phone {mask_phone(normalized)}; register first")
            return self._view(conn, member)

    def by_card(self, uid: str) -> MemberView:
        """The member holding this card; CardBlocked for a lost card, NotFound for an unknown one."""
        normalized = normalize_uid(uid)
        with self.db.reading() as conn:
            owner = rows.card(conn, normalized)
            if owner is None:
                raise NotFound(f"card {normalized} is not registered; register it or ask staff")
            if owner[1] == "blocked":
                raise CardBlocked(f"card {normalized} was reported lost and no longer works; ask staff for a new card")
            return self._view(conn, self._require(conn, owner[0]))

    @staticmethod
    def _view(conn: sqlite3.Connection, member: Member) -> MemberView:
        """Record, balances and cards read in one snapshot."""
        return MemberView(member, ledger.load_balances(conn, member.member_id), rows.cards_of(conn, member.member_id))

    def link_card(self, member_id: str, uid: str, operator: str | None = None) -> MemberView:
        """Give a member another card (members may hold several)."""
        normalized = normalize_uid(uid)
        with self.gateway.unit(self.acting(operator)) as unit:
            self._require(unit.conn, member_id)
            self._check_card_free(unit.conn, normalized)
            rows.link_card(unit.conn, normalized, member_id, unit.now)
            self._record(unit, member_id, changes_.CARD_LINKED, {"uid": normalized})
            unit.append([EventDraft.of(payloads.CardLinked(normalized), member_id)])
        return self.get(member_id)

    def block_card(self, uid: str, reason: str = "lost", operator: str | None = None) -> MemberView:
        """Block a lost card for good; the balances stay with the member."""
        normalized = normalize_uid(uid)
        with self.gateway.unit(self.acting(operator)) as unit:
            owner = rows.card(unit.conn, normalized)
            if owner is None:
                raise NotFound(f"card {normalized} is not registered")
            if owner[1] == "blocked":
                raise Conflict(f"card {normalized} is already blocked")
            rows.block_card(unit.conn, normalized, unit.now)
            self._record(unit, owner[0], changes_.CARD_BLOCKED, {"uid": normalized})
            unit.append([EventDraft.of(payloads.CardBlocked(normalized, reason), owner[0])])
        return self.get(owner[0])

    def edit(self, member_id: str, operator: str | None = None, **changes: object) -> MemberView:
        """Change name, phone, birthday, gender or marketing consent (`marketing=True/False`); the ledger records
        which fields changed, not their values."""
        allowed = {"name", "phone", "birthday", "gender", "marketing"}
        if set(changes) - allowed:
            raise InvalidInput(f"cannot edit {sorted(set(changes) - allowed)}; editable: {sorted(allowed)}")
        if "phone" in changes:
            changes["phone"] = normalize_phone(str(changes["phone"]))
        if "name" in changes:
            changes["name"] = normalize_name(str(changes["name"]) if changes["name"] is not None else None)
        with self.gateway.unit(self.acting(operator)) as unit:
            member = self._require(unit.conn, member_id)
            if "marketing" in changes:  # agreeing again keeps the first time of agreeing
                changes["marketing_consent_at"] = (member.marketing_consent_at or unit.now) if changes.pop("marketing") \
                    else None
            if "phone" in changes and changes["phone"] != member.phone:
                other = rows.by_phone(unit.conn, changes["phone"])
                if other:
                    raise Conflict(f"phone {mask_phone(other.phone)} is already registered (member {other.member_id})")
            unit.append([EventDraft.of(payloads.MemberEdited(tuple(sorted(changes))), member_id)])
            rows.save(unit.conn, replace(member, **changes))
            self._record(unit, member_id, changes_.EDITED, changes_.personal_fields(replace(member, **changes), changes))
        return self.get(member_id)

    def erase(self, member_id: str, operator: str | None = None, cash_out: bool = False) -> MemberView:
        """Erase personal data on request: phone, name, birthday, gender and PIN go; the ledger stays. A balance is
        settled first (`cash_out`: staff pay the stored value out in cash, points and visits close), else refused:
        after erasure nobody could spend it or pay it out."""
        with self.gateway.unit(self.acting(operator)) as unit:
            member = self._require(unit.conn, member_id)
            if member.erased_at is not None:
                raise MemberErased(f"member {member_id} was already erased")
            settle = _settlement(member_id, ledger.load_balances(unit.conn, member_id), cash_out, unit.operator)
            unit.append([*settle, EventDraft.of(payloads.MemberErased(), member_id)])
            rows.save(unit.conn, Member(member.member_id, None, None, None, None, None, member.created_at, unit.now))
            rows.set_pin(unit.conn, member_id, None)
            self._record(unit, member_id, changes_.ERASED)
        self.db.checkpoint()  # the old pages holding the phone and name leave the WAL now, not at the next checkpoint
        return self.get(member_id)

    def count(self) -> int:
        """How many members the kiosk knows (erased ones included)."""
        with self.db.reading() as conn:
            return rows.count(conn)

    def history(self, member_id: str, limit: int | None = None) -> list[Event]:
        """The member's ledger events, newest first."""
        with self.db.reading() as conn:
            self._require(conn, member_id)
            return ledger.member_events(conn, member_id, limit)

    def commit(self, drafts: list[EventDraft], operator: str | None = None, card: str | None = None) -> list[Event]:
        """Commit drafts computed by core (a top-up, an adjustment) as one atomic batch through the gateway."""
        return self.gateway.commit(self.acting(operator), drafts, card)

    def set_pin(self, member_id: str, pin: str, operator: str | None = None) -> None:
        """Set the 6-digit payment PIN that guards stored value."""
        with self.gateway.unit(self.acting(operator)) as unit:
            self._require(unit.conn, member_id)
            rows.set_pin(unit.conn, member_id, hash_pin(pin))
            self._record(unit, member_id, changes_.PIN_SET, {"pin_hash": feed.pin_hash(unit.conn, member_id)})

    def check_pin(self, member_id: str, pin: str) -> None:
        """Raise WrongPin or PinLocked; the failure count is committed before raising, so it survives a restart."""
        self.guard.check("members", member_id, pin, f"member {member_id}")

    @staticmethod
    def _record(unit: Unit, member_id: str, kind: str, fields: dict | None = None) -> None:
        """Record the change in the member directory feed, in the same transaction, so other kiosks get it."""
        feed.record(unit.conn, unit.who.kiosk_id, unit.now, member_id, kind, fields)

    def _require(self, conn: sqlite3.Connection, member_id: str) -> Member:
        member = rows.get(conn, member_id)
        if member is None:
            raise NotFound(f"no member with number {member_id}")
        return member


def _settlement(member_id: str, b: Balances, cash_out: bool, operator: str) -> list[EventDraft]:
    """The draft that closes a member's balances before erasure (none when they hold nothing), or the refusal."""
    visits = {pack: -n for pack, n in b.visits.items() if n}
    if not (b.stored_value or b.points or visits):
        return []
    held = ", ".join(part for part in (
        f"{format_fen(b.stored_value)} stored value" if b.stored_value else "",
        f"{b.points} points" if b.points else "",
        ", ".join(f"{-n} visits of {pack}" for pack, n in sorted(visits.items())),
    ) if part)
    if b.stored_value < 0:
        owed = format_fen(-b.stored_value)
        raise BalanceOutstanding(f"member {member_id} owes {owed} of stored value spent offline; settle it at the "
                                 "counter before erasing")
    if not cash_out:
        raise BalanceOutstanding(f"member {member_id} still holds {held}; pay it out first (erase with --cash-out: "
                                 "staff hand over the stored value in cash and points and visits close) or let the "
                                 "member spend it")
    if not is_staff(operator):
        raise NotAllowed("only staff can pay a balance out in cash")
    deltas = {"stored_value": -b.stored_value, "points": -b.points, "visits": visits}
    settled = payloads.BalanceSettled(cash=b.stored_value, points=b.points)
    return [EventDraft.of(settled, member_id, {k: v for k, v in deltas.items() if v})]
