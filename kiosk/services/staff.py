"""Staff accounts, logins (staff card or number + PIN) and clock-in/out, which goes into the ledger."""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Callable

from core.errors import Conflict, InvalidInput, KioskError, NotFound
from core.events import CLOCKED_IN, CLOCKED_OUT, Event, EventDraft
from core.members import normalize_uid
from kiosk.services import pins
from kiosk.store import ledger
from kiosk.store.db import Database
from kiosk.store.ledger import Identity

ROLES = ("cashier", "manager")
_STAFF_NO = re.compile(r"^[A-Za-z0-9]{2,12}$")


class NotAllowed(KioskError):
    """The logged-in staff member's role does not allow this."""


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


@dataclass(frozen=True)
class ClockEntry:
    """One clock-in or clock-out, as the daily list shows it."""

    staff_no: str
    clocked_in: bool
    ts: int


class StaffService:
    """Manage staff, authenticate them, and record attendance."""

    def __init__(self, db: Database, who: Identity, clock: Callable[[], int]) -> None:
        self.db, self.who, self.clock = db, who, clock

    def add(self, staff_no: str, name: str, role: str, pin: str, card: str | None = None) -> Staff:
        """Create a staff account; the card must not belong to a member or another staff member."""
        if not _STAFF_NO.match(staff_no):
            raise InvalidInput(f"staff number '{staff_no}' must be 2-12 letters or digits")
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        uid = normalize_uid(card) if card else None
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM staff WHERE staff_no = ?", (staff_no,)).fetchone():
                raise Conflict(f"staff number {staff_no} exists already")
            if uid and conn.execute(
                "SELECT 1 FROM cards WHERE uid = ? UNION SELECT 1 FROM staff WHERE card_uid = ?", (uid, uid)
            ).fetchone():
                raise Conflict(f"card {uid} is already in use")
            conn.execute(
                "INSERT INTO staff (staff_no, name, role, pin_hash, card_uid, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (staff_no, name.strip(), role, pins.hash_pin(pin), uid, self.clock()),
            )
        return Staff(staff_no, name.strip(), role)

    def login_pin(self, staff_no: str, pin: str) -> Staff:
        """Staff number + PIN; wrong PINs count towards a durable lock."""
        with self.db.transaction() as conn:
            staff = self._get(conn, staff_no)
            outcome, failures = pins.attempt(conn, "staff", staff_no, pin)
        pins.raise_for(outcome, failures, f"staff {staff_no}")
        return staff

    def login_card(self, uid: str) -> Staff:
        """A staff card tapped on the reader; NotFound when the card is not a staff card."""
        with self.db.reading() as conn:
            row = conn.execute("SELECT staff_no FROM staff WHERE card_uid = ? AND active = 1", (normalize_uid(uid),)).fetchone()
            if row is None:
                raise NotFound("this is not a staff card")
            return self._get(conn, row[0])

    def is_staff_card(self, uid: str) -> bool:
        """Whether a tapped card opens staff mode rather than a member's page."""
        try:
            self.login_card(uid)
        except (NotFound, InvalidInput):
            return False
        return True

    def punch(self, staff: Staff, clocking_in: bool) -> Event:
        """Clock in or out; clocking in twice in a row is refused so the daily list stays paired."""
        with self.db.transaction() as conn:
            last = self._last_clock(conn, staff.staff_no)
            if last is not None and last == clocking_in:
                raise Conflict(f"{staff.name} is already clocked {'in' if clocking_in else 'out'}")
            if last is None and not clocking_in:
                raise Conflict(f"{staff.name} has not clocked in")
            draft = EventDraft(CLOCKED_IN if clocking_in else CLOCKED_OUT, None, {"staff_no": staff.staff_no})
            return ledger.append(conn, self.who, [draft], self.clock())[0]

    def clock_list(self, start_ms: int, end_ms: int) -> list[ClockEntry]:
        """Every clock-in and clock-out between two instants (the shell decides where a day starts)."""
        with self.db.reading() as conn:
            rows = conn.execute(
                "SELECT json_extract(data, '$.staff_no'), type, ts FROM events"
                " WHERE type IN (?, ?) AND ts >= ? AND ts < ? ORDER BY pos",
                (CLOCKED_IN, CLOCKED_OUT, start_ms, end_ms),
            ).fetchall()
        return [ClockEntry(no, kind == CLOCKED_IN, ts) for no, kind, ts in rows]

    def list(self) -> list[Staff]:
        """Active staff, by number."""
        with self.db.reading() as conn:
            rows = conn.execute("SELECT staff_no, name, role FROM staff WHERE active = 1 ORDER BY staff_no").fetchall()
        return [Staff(*r) for r in rows]

    @staticmethod
    def _get(conn: sqlite3.Connection, staff_no: str) -> Staff:
        row = conn.execute("SELECT staff_no, name, role FROM staff WHERE staff_no = ? AND active = 1", (staff_no,)).fetchone()
        if row is None:
            raise NotFound(f"no staff member {staff_no}")
        return Staff(*row)

    @staticmethod
    def _last_clock(conn: sqlite3.Connection, staff_no: str) -> bool | None:
        row = conn.execute(
            "SELECT type FROM events WHERE type IN (?, ?) AND json_extract(data, '$.staff_no') = ? ORDER BY pos DESC LIMIT 1",
            (CLOCKED_IN, CLOCKED_OUT, staff_no),
        ).fetchone()
        return None if row is None else row[0] == CLOCKED_IN
