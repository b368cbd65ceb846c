"""Member use cases: each is one transaction of member rows and ledger events, durable before it returns."""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, replace
from typing import Callable

from core import events as ev
from core.errors import Conflict, ConsentRequired, InvalidInput, KioskError, NotFound
from core.events import Event, EventDraft
from core.ledger import Balances
from core.members import Member, mask_phone, normalize_phone, normalize_uid
from kiosk.services import pins
from kiosk.services.pins import hash_pin
from kiosk.store import ledger, members as rows
from kiosk.store.db import Database
from kiosk.store.ledger import Identity

class CardBlocked(KioskError):
    """The card was reported lost."""


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


class MemberService:
    """Register, identify, edit and erase members; link and block cards; top up stored value."""

    def __init__(self, db: Database, who: Identity, clock: Callable[[], int]) -> None:
        self.db, self.who, self.clock = db, who, clock

    def register(self, reg: Registration) -> MemberView:
        """Create a member (and link a card); a duplicate phone or card writes nothing."""
        if not reg.consent:
            raise ConsentRequired("the member must agree to the privacy notice before we store their data")
        phone = normalize_phone(reg.phone)
        uid = normalize_uid(reg.card) if reg.card else None
        now = self.clock()
        with self.db.transaction() as conn:
            self.add_in(conn, replace(reg, phone=phone, card=uid), now)
            member_id = rows.by_phone(conn, phone).member_id
        return self.get(member_id)

    def add_in(self, conn: sqlite3.Connection, reg: Registration, now: int) -> str:
        """Register inside the caller's transaction (bulk import uses one for the whole file)."""
        existing = rows.by_phone(conn, reg.phone)
        if existing:
            raise Conflict(f"phone {mask_phone(reg.phone)} is already registered (member {existing.member_id})")
        if reg.card:
            self._check_card_free(conn, reg.card)
        member_id = rows.next_member_id(conn, self.who.kiosk_id)
        rows.save(conn, Member(member_id, reg.phone, reg.name, reg.birthday, reg.gender, now, now))
        drafts = [EventDraft(ev.MEMBER_REGISTERED, member_id, {"consent_at": now})]
        if reg.card:
            rows.link_card(conn, reg.card, member_id, now)
            drafts.append(EventDraft(ev.CARD_LINKED, member_id, {"uid": reg.card}))
        if reg.pin:
            rows.set_pin(conn, member_id, hash_pin(reg.pin))
        ledger.append(conn, self.who, drafts, now)
        return member_id

    def _check_card_free(self, conn: sqlite3.Connection, uid: str) -> None:
        owner = rows.card(conn, uid)
        if owner:
            state = "was reported lost" if owner[1] == "blocked" else f"belongs to member {owner[0]}"
            raise Conflict(f"card {uid} {state}; use a new card")
        if conn.execute("SELECT 1 FROM staff WHERE card_uid = ?", (uid,)).fetchone():
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

    def link_card(self, member_id: str, uid: str) -> MemberView:
        """Give a member another card (members may hold several)."""
        normalized, now = normalize_uid(uid), self.clock()
        with self.db.transaction() as conn:
            self._require(conn, member_id)
            self._check_card_free(conn, normalized)
            rows.link_card(conn, normalized, member_id, now)
            ledger.append(conn, self.who, [EventDraft(ev.CARD_LINKED, member_id, {"uid": normalized})], now)
        return self.get(member_id)

    def block_card(self, uid: str, reason: str = "lost") -> MemberView:
        """Block a lost card for good; the balances stay with the member."""
        normalized, now = normalize_uid(uid), self.clock()
        with self.db.transaction() as conn:
            owner = rows.card(conn, normalized)
            if owner is None:
                raise NotFound(f"card {normalized} is not registered")
            if owner[1] == "blocked":
                raise Conflict(f"card {normalized} is already blocked")
            rows.block_card(conn, normalized, now)
            drafts = [EventDraft(ev.CARD_BLOCKED, owner[0], {"uid": normalized, "reason": reason})]
            ledger.append(conn, self.who, drafts, now)
        return self.get(owner[0])

    def edit(self, member_id: str, **changes: object) -> MemberView:
        """Change name, phone, birthday or gender; the ledger records which fields changed, not their values."""
        allowed = {"name", "phone", "birthday", "gender"}
        if set(changes) - allowed:
            raise InvalidInput(f"cannot edit {sorted(set(changes) - allowed)}; editable: {sorted(allowed)}")
        if "phone" in changes:
            changes["phone"] = normalize_phone(str(changes["phone"]))
        now = self.clock()
        with self.db.transaction() as conn:
            member = self._require(conn, member_id)
            if "phone" in changes and changes["phone"] != member.phone:
                other = rows.by_phone(conn, changes["phone"])
                if other:
                    raise Conflict(f"phone {mask_phone(other.phone)} is already registered (member {other.member_id})")
            rows.save(conn, replace(member, **changes))
            ledger.append(conn, self.who, [EventDraft(ev.MEMBER_EDITED, member_id, {"fields": sorted(changes)})], now)
        return self.get(member_id)

    def erase(self, member_id: str) -> MemberView:
        """Erase personal data on request: phone, name, birthday, gender and PIN go; balances and ledger stay."""
        now = self.clock()
        with self.db.transaction() as conn:
            member = self._require(conn, member_id)
            erased = Member(member.member_id, None, None, None, None, None, member.created_at, now)
            rows.save(conn, erased)
            rows.set_pin(conn, member_id, None)
            ledger.append(conn, self.who, [EventDraft(ev.MEMBER_ERASED, member_id, {})], now)
        return self.get(member_id)

    def history(self, member_id: str, limit: int | None = None) -> list[Event]:
        """The member's ledger events, newest first."""
        with self.db.reading() as conn:
            self._require(conn, member_id)
            return ledger.member_events(conn, member_id, limit)

    def commit(self, drafts: list[EventDraft]) -> list[Event]:
        """Commit drafts computed by core (a top-up, a sale) as one atomic batch."""
        now = self.clock()
        with self.db.transaction() as conn:
            for member_id in {d.member_id for d in drafts if d.member_id}:
                member = self._require(conn, member_id)
                if member.erased_at is not None and any(d.deltas for d in drafts if d.member_id == member_id):
                    raise InvalidInput(f"member {member_id} was erased; balances can only be refunded by staff")
            return ledger.append(conn, self.who, drafts, now)

    def set_pin(self, member_id: str, pin: str) -> None:
        """Set the 6-digit payment PIN that guards stored value."""
        with self.db.transaction() as conn:
            self._require(conn, member_id)
            rows.set_pin(conn, member_id, hash_pin(pin))

    def check_pin(self, member_id: str, pin: str) -> None:
        """Raise WrongPin or PinLocked; the failure count is committed before raising, so it survives a restart."""
        with self.db.transaction() as conn:
            outcome, failures = pins.attempt(conn, "members", member_id, pin)
        pins.raise_for(outcome, failures, f"member {member_id}")

    def _require(self, conn: sqlite3.Connection, member_id: str) -> Member:
        member = rows.get(conn, member_id)
        if member is None:
            raise NotFound(f"no member with number {member_id}")
        return member
