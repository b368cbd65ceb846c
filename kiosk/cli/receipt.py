"""`memberkiosk receipt reprint|preview SALE`: print a sale's receipt again, or draw it to a PNG."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import KioskError
from drivers.base import DeviceConfigError, DriverUnavailable
from drivers.factory import build
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.cli.devices import configured_devices
from kiosk.printing.preview import save_preview
from kiosk.printing.worker import PrintWorker
from kiosk.services.receipts import Receipts
from kiosk.store import print_jobs

if TYPE_CHECKING:
    from kiosk.app import Kiosk


def _receipts(kiosk: Kiosk) -> Receipts:
    return Receipts(kiosk.db, kiosk.who, kiosk.docs, kiosk.clock)


def _reprint(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        receipts = _receipts(kiosk)
        sale_id = receipts.sale_id(args.sale)
        receipts.for_sale(sale_id)  # a sale, not a top-up: refused here rather than at the printer
        with kiosk.db.transaction() as conn:
            job_id = print_jobs.enqueue_reprint(conn, sale_id, kiosk.clock.now_ms())
        printed = _print_now(kiosk, receipts, job_id, args.wait) if args.now else None
    state = "printed" if printed else ("queued; the running kiosk prints it" if printed is None else "queued")
    emit(args, {"sale": args.sale, "job": job_id, "printed": bool(printed)}, f"receipt for sale {args.sale}: {state}")
    return 0 if printed is not False else 1


def _print_now(kiosk: Kiosk, receipts: Receipts, job_id: int, wait_s: float) -> bool:
    """Print waiting jobs here with the configured printer until ours printed or `wait_s` passed."""
    devices: dict[str, Any] = configured_devices(kiosk.docs)
    config = next((c for n, c in devices.items() if c.get("kind", n) == "printer"), None)
    if config is None:
        raise KioskError("no printer configured in the devices document; set one or drop --now")
    try:
        printer = build("printer", config, lambda event: None)
    except (DeviceConfigError, DriverUnavailable) as exc:
        raise KioskError(f"printer configuration: {exc}") from None
    worker = PrintWorker(kiosk.db, printer, receipts, kiosk.clock, backoff_ms=500, max_backoff_ms=2000)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        worker.run_once()
        with kiosk.db.reading() as conn:
            if all(job.id != job_id for job in print_jobs.pending(conn)):
                return True
        time.sleep(0.2)  # a CLI waiting on a printer, not a test: poll gently
    return False


def _preview(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        receipt = _receipts(kiosk).for_sale(args.sale)
    path = save_preview(receipt, args.columns, args.out)
    emit(args, {"sale": args.sale, "png": str(path), "columns": args.columns}, f"wrote {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `receipt reprint` and `receipt preview`."""
    group = add_command(subparsers, "receipt", None, "reprint a sale's receipt or preview it as an image")
    sub = group.add_subparsers(dest="receipt_command", metavar="ACTION", required=True)
    p = add_command(sub, "reprint", _reprint, "queue the sale's receipt again, marked as a reprint")
    p.add_argument("sale", help="the 单号 on the receipt (KIOSK-SEQ) or the sale id")
    p.add_argument("--now", action="store_true", help="print from this command instead of the running kiosk")
    p.add_argument("--wait", type=float, default=30.0, help="with --now, seconds to wait for the printer")
    p = add_command(sub, "preview", _preview, "draw the sale's receipt to a PNG as the printer would")
    p.add_argument("sale", help="the 单号 on the receipt (KIOSK-SEQ) or the sale id")
    p.add_argument("out", type=Path, help="PNG file to write")
    p.add_argument("--columns", type=int, choices=(32, 48), default=32, help="32 for 58 mm paper, 48 for 80 mm")
