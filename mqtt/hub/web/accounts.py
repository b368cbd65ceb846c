"""The web console's accounts, in the hub's own database: a name, a role and an argon2 hash of the password.

The table lives beside the hub's (same SQLite file or PostgreSQL schema), so a console on another machine over
the chain's PostgreSQL sees the same accounts. Passwords are hashed with argon2id (argon2-cffi's defaults, which
follow RFC 9106's recommendation) and never stored or logged in the clear.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import Conflict, InvalidInput, NotFound
from kiosk.clock import wall_ms
from mqtt.hub.dialects import Dialect

ROLES = ("viewer", "operator")  # a viewer reads every page; an operator may also push signed config
MIN_PASSWORD = 10
TABLE = ("CREATE TABLE IF NOT EXISTS web_accounts (name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL,"
         " created_at BIGINT NOT NULL)")
_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    """A hash verified when the name is unknown, so a wrong name costs the same time as a wrong password."""
    return _hasher.hash("not a password of anyone's")


@dataclass(frozen=True)
class Account:
    """Someone who may log in to the console, and what they may do there."""

    name: str
    role: str
    created_at: int

    @property
    def operator(self) -> bool:
        """Whether this account may push config to kiosks."""
        return self.role == "operator"


class Accounts:
    """The accounts table over one hub database connection (its tables created when new)."""

    def __init__(self, db: Dialect, clock: Callable[[], int] = wall_ms) -> None:
        self.db, self.clock = db, clock
        with db.transaction() as tx:
            if db.schema_lock:
                tx.run(db.schema_lock)
            tx.run(TABLE)

    def add(self, name: str, role: str, password: str) -> Account:
        """A new account; an existing name is refused (remove it first)."""
        if not name or len(name) > 64 or not name.isprintable() or name != name.strip():
            raise InvalidInput(f"account name {name!r}: give 1 to 64 printable characters without outer spaces")
        if role not in ROLES:
            raise InvalidInput(f"role {role!r}: give one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(f"the password is too short: give at least {MIN_PASSWORD} characters")
        account = Account(name, role, self.clock())
        with self.db.transaction() as tx:
            if tx.one("SELECT 1 FROM web_accounts WHERE name = ?", (name,)):
                raise Conflict(f"account {name} exists: `hub users remove {name}` first to replace it")
            tx.run("INSERT INTO web_accounts (name, role, hash, created_at) VALUES (?, ?, ?, ?)",
                   (name, role, _hasher.hash(password), account.created_at))
        return account

    def remove(self, name: str) -> None:
        """Delete an account; its open sessions end at their next request."""
        with self.db.transaction() as tx:
            if not tx.one("DELETE FROM web_accounts WHERE name = ? RETURNING name", (name,)):
                raise NotFound(f"no account called {name}: `hub users list` shows them")

    def get(self, name: str) -> Account | None:
        """The account called `name`, or None."""
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT name, role, created_at FROM web_accounts WHERE name = ?", (name,))
        return Account(*row) if row else None

    def all(self) -> list[Account]:
        """Every account, by name."""
        with self.db.transaction(write=False) as tx:
            rows = tx.rows("SELECT name, role, created_at FROM web_accounts ORDER BY name")
        return [Account(*row) for row in rows]

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account when `password` is its password, else None (the same time either way)."""
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT role, created_at, hash FROM web_accounts WHERE name = ?", (name,))
        try:
            _hasher.verify(row[2] if row else _dummy(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(row[2]):  # argon2's parameters were raised since it was hashed
            with self.db.transaction() as tx:
                tx.run("UPDATE web_accounts SET hash = ? WHERE name = ?", (_hasher.hash(password), name))
        return Account(name, row[0], row[1])
