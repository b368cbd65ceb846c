"""The print worker: prints queued receipts in its own thread and retries a missing printer with backoff."""
from __future__ import annotations

import logging
from pathlib import Path

from drivers.printer.base import Printer, PrinterError
from core.receipt import center
from drivers.printer.job import lines_job, receipt_job
from kiosk.background import BackgroundLoop
from kiosk.clock import Clock
from kiosk.printing.preview import save_preview
from kiosk.services.receipts import Receipts
from kiosk.store import print_jobs
from kiosk.store.db import Database

log = logging.getLogger(__name__)


class PrintWorker(BackgroundLoop):
    """Prints jobs one at a time, each receipt built from its committed sale; a failed job waits
    backoff_ms * 2**attempts (capped) and is retried. With `preview_dir` (the demo) every receipt is also a PNG.
    `wake()` after a receipt was queued or the printer came back; `stop()` lets a job being sent finish or fail."""

    thread_name = "print-worker"

    def __init__(self, db: Database, printer: Printer, receipts: Receipts, clock: Clock,
                 backoff_ms: int = 1000, max_backoff_ms: int = 60_000, preview_dir: Path | None = None):
        self.db, self.printer, self.receipts, self.clock = db, printer, receipts, clock
        self._backoff_ms = backoff_ms
        self._max_backoff_ms = max_backoff_ms
        self._preview_dir = preview_dir
        super().__init__()

    def run_once(self) -> bool:
        """Try the next due job; True when one printed."""
        with self.db.reading() as conn:
            job = print_jobs.next_due(conn, self.clock.now_ms())
        if job is None:
            return False
        try:
            if job.test:
                self.printer.send(lines_job(self._test_page(job.created_ms)))
            else:
                receipt = self.receipts.for_sale(job.txn)
                if self._preview_dir is not None and not job.reprint:
                    save_preview(receipt, self.printer.columns, self._preview_dir / f"{job.txn}.png")
                self.printer.send(receipt_job(receipt, self.printer.columns, reprint=job.reprint))
        except Exception as exc:  # PrinterError is expected; anything else is a bug, logged, and retried slowly
            if not isinstance(exc, PrinterError):
                log.exception("could not print job %d", job.id)
            delay = min(self._backoff_ms * 2 ** job.attempts, self._max_backoff_ms)
            log.warning("receipt for sale %s not printed (try %d): %s; retrying in %.1f s",
                        job.txn, job.attempts + 1, exc, delay / 1000)
            with self.db.transaction() as conn:
                print_jobs.failed(conn, job.id, str(exc), self.clock.now_ms() + delay)
            return False
        with self.db.transaction() as conn:
            print_jobs.printed(conn, job.id, self.clock.now_ms())
        log.info("printed %s (job %d)", "a test receipt" if job.test else f"receipt for sale {job.txn}", job.id)
        return True

    def _test_page(self, queued_ms: int) -> list[str]:
        """A test receipt: Chinese, full-width and ASCII text at the printer's width, naming this kiosk and when."""
        width, who = self.printer.columns, self.receipts.who
        return [center("打印测试 PRINT TEST", width), f"门店 store {who.store_id}", f"收银机 kiosk {who.kiosk_id}",
                f"{self.clock.local(queued_ms):%Y-%m-%d %H:%M:%S}", "中文 ￥12.34 ABCabc 0123456789", "-" * width]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once():
                    continue
                with self.db.reading() as conn:
                    nxt = print_jobs.next_retry_ms(conn)
            except Exception:  # the database itself failed (disk full): keep the thread, retry after a pause
                log.exception("print job error")
                nxt = None
            wait = 5.0 if nxt is None else max(0.0, (nxt - self.clock.now_ms()) / 1000)
            self._wake.wait(min(wait, 5.0))
            self._wake.clear()
