"""`memberkiosk audit`: verify the ledger's audit chain, and list who did what."""
from __future__ import annotations

import argparse
import datetime as dt

from core.errors import KioskError
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.config import load as load_config
from kiosk.services.audit import audit_log, verify_chain
from kiosk.store.db import LEDGER_FILE, existing_store
from kiosk.store.keyring import KeyRing

AUDIT_KEY = "audit"


def _verify(args: argparse.Namespace) -> int:
    if not (args.data_dir / LEDGER_FILE).exists() and not existing_store(args.data_dir):
        raise KioskError(f"no store at {args.data_dir}")
    keys = KeyRing(load_config()["kiosk.key_dir"])
    if not (keys.directory / f"{AUDIT_KEY}.key").exists():  # asking the ring would make a new key, and fail every link
        raise KioskError(f"there is no audit key in {keys.directory}: the chain cannot be checked without the key it "
                         "was written with; restore the key directory (kiosk.key_dir) from its safe copy")
    report = verify_chain(args.data_dir, keys.secret(AUDIT_KEY), keys.directory)
    first = report.breaks[0].pos if report.breaks else None
    text = "\n".join(report.lines()) or f"audit chain intact: {report.events} events linked, the ledger ends where its witness says"
    emit(args, {"ok": report.ok, "events": report.events, "first_broken": first,
                "breaks": [{"pos": b.pos, "event_id": b.event_id, "what": b.what} for b in report.breaks],
                "problems": report.problems}, text)
    return 0 if report.ok else 3


def _log(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        entries = audit_log(kiosk.db, kiosk.clock, args.staff, args.start, args.end)
    emit(args, [e.as_dict() for e in entries], "\n".join(map(str, entries)) or "nothing recorded for that choice")
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date: use YYYY-MM-DD, e.g. 2026-11-23") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `audit verify` and `audit log`."""
    audit = add_command(subparsers, "audit", None, "the ledger's audit chain and who did what")
    sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    add_command(sub, "verify", _verify, "check every event's keyed link and the ledger's end; exit 0 when intact, "
                "3 naming the first broken position")
    p = add_command(sub, "log", _log, "who did what: top-ups, refunds, overrides, member edits and erasures, price, "
                    "rule and settings changes")
    p.add_argument("--staff", metavar="NO", help="only what this staff number (or cli:USER, customer) did")
    p.add_argument("--from", dest="start", type=_date, metavar="DATE", help="from this local day (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", type=_date, metavar="DATE", help="through this local day (YYYY-MM-DD)")
