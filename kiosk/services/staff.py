"""Staff accounts, logins and clock-in/out, which goes into the ledger.

A card can be cloned and a PIN overlooked, so the manager role at the kiosk needs both: a manager's card asks
for the PIN, and a manager who picks their name and types the PIN works as a cashier. A locked PIN refuses
the card too. At the command line, where no card reader is, the staff number and PIN authenticate.
"""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from typing import Callable

from core.errors import Conflict, InvalidInput, KioskError, NotAllowed, NotFound
from core.events import Event, EventDraft
from core.members import normalize_uid
from core.payloads import ClockedIn, ClockedOut, PinUnlocked
from core.text import check_name
from kiosk.clock import Clock
from kiosk.services import pins
from kiosk.services.pins import PinGuard
from kiosk.services.gateway import Gateway
from kiosk.store import lookups, staff as rows
from kiosk.store.db import Database

__all__ = ["ClockEntry", "NotAllowed", "PinNeeded", "ROLES", "Staff", "StaffService"]

ROLES = ("cashier", "manager")
_STAFF_NO = re.compile(r"^[A-Za-z0-9]{2,12}$")


@dataclass(frozen=True)
class Staff:
    """A staff member as the UI needs them after login."""

    staff_no: str
    name: str
    role: str

    def require(self, role: str) -> None:
        """Raise NotAllowed unless this person has the role (a manager can do what a cashier can)."""
        if ROLES.index(self.role) < ROLES.index(role):
            raise NotAllowed(f"{self.name} is a {self.role}; a {role} must do this")


class PinNeeded(KioskError):
    """A manager's card was tapped: the manager logs in only with the PIN as well."""

    def __init__(self, staff: Staff) -> None:
        super().__init__(f"{staff.name} ({staff.staff_no}) is a manager: type your PIN to log in with the card")
        self.staff = staff


@dataclass(frozen=True)
class ClockEntry:
    """One clock-in or clock-out, as the daily list shows it."""

    staff_no: str
    clocked_in: bool
    ts: int


class StaffService:
    """Manage staff, authenticate them, and record attendance."""

    def __init__(self, db: Database, gateway: Gateway, clock: Clock, operator: Callable[[], str],
                 guard: PinGuard) -> None:
        self.db, self.gateway, self.clock, self._operator, self.guard = db, gateway, clock, operator, guard

    def add(self, staff_no: str, name: str, role: str, pin: str, card: str | None = None,
            operator: str | None = None) -> Staff:
        """Create a staff account; the card must not belong to a member or another staff member."""
        if not _STAFF_NO.match(staff_no):
            raise InvalidInput(f"staff number '{staff_no}' must be 2-12 letters or digits")
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        uid = normalize_uid(card) if card else None
        name = check_name(name, "the staff name")
        with self.gateway.unit(operator or self._operator()) as unit:
            if rows.exists(unit.conn, staff_no):
                raise Conflict(f"staff number {staff_no} exists already")
            if uid and rows.card_in_use(unit.conn, uid):
                raise Conflict(f"card {uid} is already in use")
            rows.insert(unit.conn, staff_no, name, role, pins.hash_pin(pin), uid, unit.now)
        return Staff(staff_no, name, role)

    def authenticate(self, staff_no: str, pin: str) -> Staff:
        """Staff number + PIN with the account's full role (the command line); wrong PINs count towards the lock."""
        with self.db.reading() as conn:
            staff = self._get(conn, staff_no)
        self.guard.check("staff", staff_no, pin, f"staff {staff_no}")
        return staff

    def login_pin(self, staff_no: str, pin: str) -> Staff:
        """Picked at the kiosk + PIN: a cashier at most, since the manager role needs the card as well."""
        staff = self.authenticate(staff_no, pin)
        return Staff(staff.staff_no, staff.name, "cashier")

    def login_card(self, uid: str, pin: str | None = None) -> Staff:
        """A staff card tapped on the reader: a cashier with the card alone, a manager with the PIN too (PinNeeded
        asks for it); PinLocked while the PIN is locked; NotFound when the card is not a staff card."""
        with self.db.reading() as conn:
            staff_no = rows.by_card(conn, normalize_uid(uid))
            if staff_no is None:
                raise NotFound("this is not a staff card")
            staff = self._get(conn, staff_no)
            self.guard.refuse_locked(conn, "staff", staff_no, self.clock.now_ms(), f"staff {staff_no}")
        if staff.role == "cashier":
            return staff
        if pin is None:
            raise PinNeeded(staff)
        return self.authenticate(staff_no, pin)

    def is_staff_card(self, uid: str) -> bool:
        """Whether a tapped card opens staff mode rather than a member's page."""
        with self.db.reading() as conn:
            try:
                return rows.by_card(conn, normalize_uid(uid)) is not None
            except InvalidInput:
                return False

    def unlock(self, staff_no: str, manager: Staff) -> Event:
        """A manager lifts a staff member's PIN lock before it runs out; the ledger records who did."""
        manager.require("manager")
        with self.gateway.unit(manager.staff_no) as unit:
            self._get(unit.conn, staff_no)
            self.guard.unlock(unit.conn, "staff", staff_no)
            return unit.append([EventDraft.of(PinUnlocked(staff_no))])[0]

    def has_manager(self) -> bool:
        """Whether any active manager exists (until then the first accounts are added without one)."""
        return any(s.role == "manager" for s in self.list())

    def punch(self, staff: Staff, clocking_in: bool) -> Event:
        """Clock in or out; clocking in twice in a row is refused so the daily list stays paired."""
        with self.gateway.unit(staff.staff_no) as unit:
            last = lookups.last_clock(unit.conn, staff.staff_no)
            if last is not None and last == clocking_in:
                raise Conflict(f"{staff.name} is already clocked {'in' if clocking_in else 'out'}")
            if last is None and not clocking_in:
                raise Conflict(f"{staff.name} has not clocked in")
            draft = EventDraft.of((ClockedIn if clocking_in else ClockedOut)(staff.staff_no))
            return unit.append([draft])[0]

    def clock_list(self, day: dt.date) -> list[ClockEntry]:
        """Every clock-in and clock-out of a local day."""
        start, end = self.clock.day_bounds(day)
        with self.db.reading() as conn:
            return [ClockEntry(*entry) for entry in lookups.clock_entries(conn, start, end)]

    def list(self) -> list[Staff]:
        """Active staff, by number."""
        with self.db.reading() as conn:
            return [Staff(*r) for r in rows.active(conn)]

    @staticmethod
    def _get(conn: sqlite3.Connection, staff_no: str) -> Staff:
        row = rows.get(conn, staff_no)
        if row is None:
            raise NotFound(f"no staff member {staff_no}")
        return Staff(*row)
