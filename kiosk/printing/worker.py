"""The print worker: drains the queue in its own thread and retries a missing printer with backoff."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from core.receipt import Receipt
from drivers.printer.base import Printer, PrinterError
from drivers.printer.job import receipt_job
from kiosk.printing.queue import PrintQueue

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class PrintWorker:
    """Prints queued receipts one at a time; a failed job waits backoff_ms * 2**attempts (capped) and is retried."""

    def __init__(self, queue: PrintQueue, printer: Printer, clock: Callable[[], int] = _now_ms,
                 backoff_ms: int = 1000, max_backoff_ms: int = 60_000):
        self.queue = queue
        self.printer = printer
        self._clock = clock
        self._backoff_ms = backoff_ms
        self._max_backoff_ms = max_backoff_ms
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, sale_id: str, receipt: Receipt) -> int | None:
        """Queue a committed sale's receipt and wake the worker; never raises, so a sale is never held up."""
        try:
            job_id = self.queue.enqueue(sale_id, receipt, self._clock())
        except Exception:
            log.exception("could not queue the receipt of sale %s; reprint it with `memberkiosk receipt reprint`",
                          sale_id)
            return None
        self._wake.set()
        return job_id

    def start(self) -> None:
        """Start draining in the background."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="print-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the job in hand (a job being sent is finished or fails first)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def wake(self) -> None:
        """Look at the queue now (after an enqueue from elsewhere or a printer came back)."""
        self._wake.set()

    def run_once(self) -> bool:
        """Try the next due job; True when one printed."""
        now = self._clock()
        job = self.queue.next_due(now)
        if job is None:
            return False
        try:
            self.printer.send(receipt_job(job.receipt, self.printer.columns, reprint=job.reprint))
        except Exception as exc:  # PrinterError is expected; anything else is a bug, logged, and retried slowly
            if not isinstance(exc, PrinterError):
                log.exception("could not print job %d", job.id)
            delay = min(self._backoff_ms * 2 ** job.attempts, self._max_backoff_ms)
            log.warning("receipt for sale %s not printed (try %d): %s; retrying in %.1f s",
                        job.sale_id, job.attempts + 1, exc, delay / 1000)
            self.queue.failed(job.id, str(exc), self._clock() + delay)
            return False
        self.queue.printed(job.id, self._clock())
        log.info("printed receipt for sale %s (job %d)", job.sale_id, job.id)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:  # the queue file itself failed: keep the thread, retry after a pause
                log.exception("print queue error")
            nxt = self.queue.next_retry_ms()
            wait = 5.0 if nxt is None else max(0.0, (nxt - self._clock()) / 1000)
            self._wake.wait(min(wait, 5.0))
            self._wake.clear()
