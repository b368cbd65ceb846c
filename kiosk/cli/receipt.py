"""`memberkiosk receipt reprint|preview SALE`: print a sale's receipt again, or draw it to a PNG."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from core.errors import KioskError
from core.receipt import Receipt
from drivers.base import DeviceConfigError, DriverUnavailable
from drivers.factory import build
from kiosk.app import wall_clock_ms
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.cli.devices import configured_devices
from kiosk.printing.preview import save_preview
from kiosk.printing.queue import PrintQueue
from kiosk.printing.worker import PrintWorker
from kiosk.services.receipts import receipt_for_sale
from kiosk.store.ledger import resolve_txn


def receipt_of(kiosk: Any, queue: PrintQueue, ref: str) -> tuple[str, Receipt]:
    """(sale id, receipt) for what was typed: the receipt as first queued, else rebuilt from the committed sale."""
    jobs = queue.for_sale(ref)
    if not jobs:
        with kiosk.db.reading() as conn:
            ref = resolve_txn(conn, ref, kiosk.who.kiosk_id)  # the 单号 printed on the receipt
        jobs = queue.for_sale(ref)
    return ref, jobs[0].receipt if jobs else receipt_for_sale(kiosk, ref)


def _reprint(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        queue = PrintQueue.in_data_dir(kiosk.data_dir)
        try:
            sale_id, receipt = receipt_of(kiosk, queue, args.sale)
            job_id = queue.enqueue(sale_id, receipt, wall_clock_ms(), reprint=True)
            printed = _print_now(queue, configured_devices(kiosk.docs), job_id, args.wait) if args.now else None
        finally:
            queue.close()
    state = "printed" if printed else ("queued; the running kiosk prints it" if printed is None else "queued")
    emit(args, {"sale": args.sale, "job": job_id, "printed": bool(printed)}, f"receipt for sale {args.sale}: {state}")
    return 0 if printed is not False else 1


def _print_now(queue: PrintQueue, devices: dict[str, Any], job_id: int, wait_s: float) -> bool:
    """Drain the queue here with the configured printer until our job printed or `wait_s` passed."""
    config = next((c for n, c in devices.items() if c.get("kind", n) == "printer"), None)
    if config is None:
        raise KioskError("no printer configured in the devices document; set one or drop --now")
    try:
        printer = build("printer", config, lambda event: None)
    except (DeviceConfigError, DriverUnavailable) as exc:
        raise KioskError(f"printer configuration: {exc}") from None
    worker = PrintWorker(queue, printer, backoff_ms=500, max_backoff_ms=2000)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        worker.run_once()
        if all(job.id != job_id for job in queue.pending()):
            return True
        time.sleep(0.2)  # a CLI waiting on a printer, not a test: poll the queue gently
    return False


def _preview(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        queue = PrintQueue.in_data_dir(kiosk.data_dir)
        try:
            _, receipt = receipt_of(kiosk, queue, args.sale)
        finally:
            queue.close()
    path = save_preview(receipt, args.columns, args.out)
    emit(args, {"sale": args.sale, "png": str(path), "columns": args.columns}, f"wrote {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `receipt reprint` and `receipt preview`."""
    group = add_command(subparsers, "receipt", None, "reprint a sale's receipt or preview it as an image")
    sub = group.add_subparsers(dest="receipt_command", metavar="ACTION", required=True)
    p = add_command(sub, "reprint", _reprint, "queue the sale's receipt again, marked as a reprint")
    p.add_argument("sale", help="sale id")
    p.add_argument("--now", action="store_true", help="print from this command instead of the running kiosk")
    p.add_argument("--wait", type=float, default=30.0, help="with --now, seconds to wait for the printer")
    p = add_command(sub, "preview", _preview, "draw the sale's receipt to a PNG as the printer would")
    p.add_argument("sale", help="sale id")
    p.add_argument("out", type=Path, help="PNG file to write")
    p.add_argument("--columns", type=int, choices=(32, 48), default=32, help="32 for 58 mm paper, 48 for 80 mm")
