"""PINs for members (payment) and staff (login): salted scrypt hashes and a durable lock after failures that
lifts by itself `lock_ms` after the last wrong PIN (or sooner by a manager), so nobody can lock an account for good."""
from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3

from core.errors import InvalidInput, KioskError
from core.events import SYSTEM
from kiosk.services.gateway import Gateway
from kiosk.store import pins as pin_rows

PIN_ATTEMPTS = 5
LOCK_MS = 15 * 60_000  # the default of pins.lock_seconds


class PinLocked(KioskError):
    """Too many wrong PINs in a row."""


class WrongPin(KioskError):
    """The PIN does not match."""


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of a 6-digit PIN; ASCII 0-9 only, the only digits the keypad can type."""
    if not (len(pin) == 6 and pin.isascii() and pin.isdigit()):
        raise InvalidInput("the PIN must be exactly 6 digits 0-9")
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time comparison against a hash from hash_pin."""
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


class PinGuard:
    """Checks member and staff PINs against their rows and keeps the count of wrong ones that locks them."""

    def __init__(self, gateway: Gateway, lock_ms: int = LOCK_MS) -> None:
        self.gateway, self.lock_ms = gateway, lock_ms

    def check(self, table: str, key: str, pin: str, who: str) -> None:
        """Check a PIN and commit the outcome before raising WrongPin or PinLocked, so a lock survives a restart."""
        with self.gateway.unit(SYSTEM) as unit:
            outcome, failures, left_ms = self.attempt(unit.conn, table, key, pin, unit.now)
        _raise_for(outcome, failures, left_ms, who)

    def refuse_locked(self, conn: sqlite3.Connection, table: str, key: str, now: int, who: str) -> None:
        """PinLocked while the PIN is locked: a card alone must not get past a lock its PIN could not."""
        left_ms = self._locked_for(pin_rows.get(conn, table, key), now)
        if left_ms:
            _raise_for("locked", PIN_ATTEMPTS, left_ms, who)

    def attempt(self, conn: sqlite3.Connection, table: str, key: str, pin: str, now: int) -> tuple[str, int, int]:
        """Check a PIN inside the caller's transaction and count the outcome:
        ('ok'|'wrong'|'locked'|'unset', failures, ms the lock has left)."""
        row = pin_rows.get(conn, table, key)
        if row is None or row[0] is None:
            return "unset", 0, 0
        pin_hash, failures, failed_at = row
        left_ms = self._locked_for(row, now)
        if left_ms:
            return "locked", failures, left_ms
        if failures >= PIN_ATTEMPTS:  # the lock has run out: a fresh count
            failures = 0
        if verify_pin(pin, pin_hash):
            pin_rows.set_failures(conn, table, key, 0, None)
            return "ok", 0, 0
        failures += 1
        pin_rows.set_failures(conn, table, key, failures, now)
        return "wrong", failures, self.lock_ms if failures >= PIN_ATTEMPTS else 0

    @staticmethod
    def unlock(conn: sqlite3.Connection, table: str, key: str) -> None:
        """Lift a lock (and forget the wrong tries) inside the caller's transaction."""
        pin_rows.set_failures(conn, table, key, 0, None)

    def _locked_for(self, row: tuple | None, now: int) -> int:
        """How many ms the PIN of `row` stays locked (0: not locked)."""
        if row is None or row[1] < PIN_ATTEMPTS:
            return 0
        return max(0, (row[2] or 0) + self.lock_ms - now)


def _raise_for(outcome: str, failures: int, left_ms: int, who: str) -> None:
    """Turn a committed attempt's outcome into the error a person reads (nothing for 'ok')."""
    minutes = -(-left_ms // 60_000)
    if outcome == "unset":
        raise WrongPin(f"{who} has no PIN yet; ask a manager to set one")
    if outcome == "locked":
        raise PinLocked(f"{who}: PIN locked after too many wrong tries; try again in {minutes} min "
                        "or ask a manager to unlock it")
    if outcome == "wrong":
        left = PIN_ATTEMPTS - failures
        raise WrongPin(f"wrong PIN, {left} tries left" if left else
                       f"wrong PIN; the PIN is now locked for {minutes} min (a manager can unlock it)")
