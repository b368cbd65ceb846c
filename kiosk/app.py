"""Bootstrap: the one place where the store, documents and services are built and wired together."""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

from tinydb import TinyDB

from kiosk import config
from kiosk.clock import Clock, wall_ms, zone
from kiosk.services.chain import ChainSync
from kiosk.services.escrow import DEFAULT_TIMEOUT, Asker, Escrow
from kiosk.services.fleet import FleetService
from kiosk.services.gateway import Gateway, check_operator
from kiosk.services.member_codes import MemberCodes
from kiosk.services.members import MemberService
from kiosk.services.parking import ParkingService
from kiosk.services.pins import LOCK_MS, PinGuard
from kiosk.services.points import PointsService
from kiosk.services.reports import ReportsService
from kiosk.services.sales import SalesService
from kiosk.services.simulate import WhatIfService
from kiosk.services.staff import StaffService
from kiosk.services.summary import MemberSummaries
from kiosk.services.sync import SyncService
from kiosk.store.db import LEDGER_FILE, Database, existing_store
from kiosk.store.documents import DOCS_FILE, open_documents
from kiosk.store.ledger import Identity
from kiosk.store import meta
from kiosk.store.audit import Chain, link_old_events
from kiosk.store.keyring import KeyRing
from kiosk.store import sealing
from kiosk.store.lock import lock_data_dir
from kiosk.store.space import FreeSpace
from kiosk.store.witness import WITNESS_FILE, Witness

OPERATOR_ENV = "MEMBERKIOSK_OPERATOR"  # who a shell acts as (a staff number), when not cli:USER


def _identity(db: Database, cfg: config.Config) -> Identity:
    """The kiosk and store ids, from configuration when the data directory is new; it keeps them forever after."""
    with db.reading() as conn:  # no write lock to open a known data directory: an import may hold it
        stored = meta.identity(conn)
    if not stored:
        with db.transaction() as conn:
            stored = meta.identity(conn)  # another process may have made it meanwhile
            if not stored:
                if cfg["kiosk.id"] is None:
                    raise config.ConfigError(
                        f"this data directory ({db.path.parent}) is new and no kiosk id is configured: set kiosk.id in "
                        f"{config.ETC_FILE} ([kiosk] id = \"shop1-k1\") or MEMBERKIOSK_KIOSK_ID")
                stored = {"kiosk_id": cfg["kiosk.id"], "store_id": cfg["kiosk.store_id"]}
                meta.set_identity(conn, stored["kiosk_id"], stored["store_id"])
    for key, column in (("kiosk.id", "kiosk_id"), ("kiosk.store_id", "store_id")):
        if cfg.is_set(key) and cfg[key] != stored[column]:
            raise config.ConfigError(
                f"this data directory belongs to {key} '{stored[column]}', but {key} is '{cfg[key]}' "
                f"({cfg.layer(key)}); correct the configuration, or use another data directory for another kiosk")
    return Identity(stored["kiosk_id"], stored["store_id"])


@dataclass
class Kiosk:
    """The application's adapters and services, wired here once; screens and commands use these, never the files."""

    data_dir: Path
    db: Database
    docs: TinyDB
    who: Identity
    clock: Clock
    gateway: Gateway
    keys: KeyRing
    operator: str  # who acts when a call names nobody: CUSTOMER on the screens, cli:USER in a shell
    _lock_fd: int
    pin_lock_ms: int = LOCK_MS  # pins.lock_seconds: how long a PIN locked by wrong tries stays locked

    @classmethod
    def open(
        cls,
        data_dir: Path,
        clock: Clock | Callable[[], int] | None = None,
        kiosk_id: str | None = None,
        store_id: str | None = None,
        check: bool = True,
        operator: str | None = None,
        key_dir: Path | None = None,
        escrow: bool | None = None,
    ) -> "Kiosk":
        """Open (creating if new) the data directory; damaged files raise StoreDamaged here, at start. Spending is
        held to head office's allowances (escrow) when a broker is configured, or when `escrow` says so."""
        cfg = config.load(flags={"kiosk.id": kiosk_id, "kiosk.store_id": store_id, "kiosk.key_dir": key_dir})
        keys = KeyRing(cfg["kiosk.key_dir"])
        lock_fd = lock_data_dir(data_dir, exclusive=False)
        db = None
        try:
            audit_key = keys.secret("audit")  # the witness and the chain: one key file read
            witness = Witness(data_dir / WITNESS_FILE, audit_key)
            db = Database(data_dir / LEDGER_FILE, check=check, create=not existing_store(data_dir), witness=witness)
            sealing.unlock(db, keys)  # personal data at rest: the pii key, and old plaintext sealed once
            chain = Chain(audit_key)
            link_old_events(db, chain)  # a ledger from before the audit chain is linked once
            docs = open_documents(data_dir)
            who = _identity(db, cfg)
        except BaseException:
            if db is not None:
                db.close()
            os.close(lock_fd)
            raise
        clock = clock if isinstance(clock, Clock) else Clock(clock or wall_ms, zone(cfg["kiosk.timezone"]))
        operator = check_operator(operator or os.environ.get(OPERATOR_ENV) or f"cli:{getpass.getuser()}")
        gateway = Gateway(db, who, clock, chain)
        gateway.space = FreeSpace(data_dir, cfg["store.min_free_mb"] * 1024 * 1024)
        in_chain = cfg["sync.broker"] is not None if escrow is None else escrow
        if in_chain:
            gateway.escrow = Escrow(who)
        return cls(data_dir, db, docs, who, clock, gateway, keys, operator, lock_fd,
                   pin_lock_ms=round(cfg["pins.lock_seconds"] * 1000))

    def acting(self) -> str:
        """The operator of calls that name nobody."""
        return self.operator

    @cached_property
    def members(self) -> MemberService:
        """Members, cards, PINs."""
        return MemberService(self.db, self.gateway, self.acting, self.pins)

    @cached_property
    def member_codes(self) -> MemberCodes:
        """The member e-card QR: shown fresh each minute, accepted by the scanner only while fresh."""
        return MemberCodes(self.keys, self.clock)

    @cached_property
    def pins(self) -> PinGuard:
        """The PIN checks of members and staff, with the lock wrong PINs set and its expiry."""
        return PinGuard(self.gateway, self.pin_lock_ms)

    @cached_property
    def staff(self) -> StaffService:
        """Staff accounts, logins and attendance."""
        return StaffService(self.db, self.gateway, self.clock, self.acting, self.pins)

    @cached_property
    def parking(self) -> ParkingService:
        """Baskets customers take to the counter, called up there by number."""
        return ParkingService(self.db, self.gateway, self.clock, self.acting)

    @cached_property
    def sales(self) -> SalesService:
        """Checkout and refunds; one per kiosk because it caches the parsed rulebook and catalog between scans."""
        return SalesService(self.db, self.gateway, self.docs, self.data_dir / DOCS_FILE, self.clock, self.acting,
                            self.pins)

    @cached_property
    def whatif(self) -> WhatIfService:
        """What-if re-pricing of the sales history under candidate rules."""
        return WhatIfService(self.db, self.docs, self.data_dir, self.clock)

    @cached_property
    def points(self) -> PointsService:
        """Year-end points expiry and tier review."""
        return PointsService(self.db, self.gateway, self.docs, self.clock)

    @cached_property
    def summaries(self) -> MemberSummaries:
        """What a card tap shows of a member, read in one snapshot with the sales service's cached rulebook."""
        return MemberSummaries(self.db, self.members, self.points, self.sales.docs, self.clock)

    @cached_property
    def reports(self) -> ReportsService:
        """Sales, balances, stock, attendance and member analytics over the facts, and suggestions after a tap."""
        return ReportsService(self.db, self.docs, self.clock)

    @cached_property
    def sync(self) -> SyncService:
        """Ingest of events and member changes made elsewhere; sync by signed file."""
        return SyncService(self.db, self.gateway, self.clock, self.keys)

    @cached_property
    def chain(self) -> ChainSync:
        """Chain sync's durable state, for the sync agent: outbox reads, acks, the hub's pages, allowances."""
        return ChainSync(self.db, self.gateway, self.clock, self.sales)

    @cached_property
    def fleet(self) -> FleetService:
        """Head office's fleet management here: configs applied, commands run once, outcomes to send, the lock."""
        return FleetService(self.db, self.gateway, self.clock, self.sales)

    def set_asker(self, asker: Asker | None, timeout: float = DEFAULT_TIMEOUT) -> None:
        """How spends beyond the allowance reach head office (the sync agent, when connected); None: nobody asks,
        such spends are refused as offline. Without escrow (a kiosk outside a chain) there is nothing to ask."""
        if self.gateway.escrow is not None:
            self.gateway.escrow.asker, self.gateway.escrow.timeout = asker, timeout

    def close(self) -> None:
        """Release the files; the store is durable at every commit, so this only tidies."""
        self.db.close()
        self.docs.close()
        os.close(self._lock_fd)

    def __enter__(self) -> "Kiosk":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
