"""PINs for members (payment) and staff (login): salted scrypt hashes and a durable lock after failures."""
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


class PinLocked(KioskError):
    """Too many wrong PINs in a row."""


class WrongPin(KioskError):
    """The PIN does not match."""


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of a 6-digit PIN."""
    if not (len(pin) == 6 and pin.isdigit()):
        raise InvalidInput("the PIN must be exactly 6 digits")
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time comparison against a hash from hash_pin."""
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


def check(gateway: Gateway, table: str, key: str, pin: str, who: str) -> None:
    """Check a PIN and commit the outcome before raising WrongPin or PinLocked, so a lock survives a restart."""
    with gateway.unit(SYSTEM) as unit:
        outcome, failures = attempt(unit.conn, table, key, pin)
    raise_for(outcome, failures, who)


def attempt(conn: sqlite3.Connection, table: str, key: str, pin: str) -> tuple[str, int]:
    """Check a PIN inside the caller's transaction and count the outcome: ('ok'|'wrong'|'locked'|'unset', failures)."""
    row = pin_rows.get(conn, table, key)
    if row is None or row[0] is None:
        return "unset", 0
    pin_hash, failures = row
    if failures >= PIN_ATTEMPTS:
        return "locked", failures
    failures = 0 if verify_pin(pin, pin_hash) else failures + 1
    pin_rows.set_failures(conn, table, key, failures)
    return ("ok" if failures == 0 else "wrong"), failures


def raise_for(outcome: str, failures: int, who: str) -> None:
    """Turn a committed attempt's outcome into the error a person reads (nothing for 'ok')."""
    if outcome == "unset":
        raise WrongPin(f"{who} has no PIN yet; ask a manager to set one")
    if outcome == "locked":
        raise PinLocked(f"{who}: PIN locked after too many wrong tries; ask a manager to reset it")
    if outcome == "wrong":
        left = PIN_ATTEMPTS - failures
        raise WrongPin(f"wrong PIN, {left} tries left" if left else "wrong PIN; the PIN is now locked")
