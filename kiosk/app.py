"""Bootstrap: the one place where the store, documents and services are built and wired together."""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

from tinydb import TinyDB

from kiosk.services.members import MemberService
from kiosk.services.parking import ParkingService
from kiosk.services.sales import SalesService
from kiosk.services.staff import StaffService
from kiosk.store.db import LEDGER_FILE, Database
from kiosk.store.documents import open_documents
from kiosk.store.ledger import Identity
from kiosk.store.lock import lock_data_dir


def wall_clock_ms() -> int:
    """Milliseconds since the Unix epoch: the only clock read of the app, passed to everything else."""
    return time.time_ns() // 1_000_000


def _identity(db: Database, kiosk_id: str | None, store_id: str | None) -> Identity:
    """The kiosk and store ids fixed when the data directory was created; they never change afterwards."""
    with db.transaction() as conn:
        stored = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('kiosk_id', 'store_id')").fetchall())
        if not stored:
            stored = {
                "kiosk_id": kiosk_id or os.environ.get("MEMBERKIOSK_KIOSK_ID") or socket.gethostname(),
                "store_id": store_id or os.environ.get("MEMBERKIOSK_STORE_ID") or "store-1",
            }
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", list(stored.items()))
    return Identity(stored["kiosk_id"], stored["store_id"])


@dataclass
class Kiosk:
    """The application's adapters and services; screens and commands use these, never the files."""

    data_dir: Path
    db: Database
    docs: TinyDB
    who: Identity
    clock: Callable[[], int]
    members: MemberService
    staff: StaffService
    _lock_fd: int

    @classmethod
    def open(
        cls,
        data_dir: Path,
        clock: Callable[[], int] = wall_clock_ms,
        kiosk_id: str | None = None,
        store_id: str | None = None,
        check: bool = True,
    ) -> "Kiosk":
        """Open (creating if new) the data directory; damaged files raise StoreDamaged here, at start."""
        lock_fd = lock_data_dir(data_dir, exclusive=False)
        try:
            db = Database(data_dir / LEDGER_FILE, check=check)
            docs = open_documents(data_dir)
        except BaseException:
            os.close(lock_fd)
            raise
        who = _identity(db, kiosk_id, store_id)
        return cls(data_dir, db, docs, who, clock, MemberService(db, who, clock), StaffService(db, who, clock), lock_fd)

    @cached_property
    def parking(self) -> ParkingService:
        """Baskets customers take to the counter, called up there by number."""
        return ParkingService(self.db, self.clock)

    @cached_property
    def sales(self) -> SalesService:
        """Checkout and refunds; one per kiosk because it caches the parsed rulebook and catalog between scans."""
        return SalesService(self)

    def close(self) -> None:
        """Release the files; the store is durable at every commit, so this only tidies."""
        self.db.close()
        self.docs.close()
        os.close(self._lock_fd)

    def __enter__(self) -> "Kiosk":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
