"""The durable print queue and its worker: a printer vanishing mid-receipt, a restart, reprints."""
from __future__ import annotations

import sqlite3

import pytest

from core.errors import NotFound
from drivers.printer.escpos_printer import EscposPrinter
from drivers.printer.job import receipt_job
from kiosk.printing.queue import PrintQueue
from kiosk.printing.worker import PrintWorker
from tests.drivers.conftest import wait_until
from tests.drivers.receipts import sample_receipt
from tests.drivers.tcp_printer import LoopbackPrinter


@pytest.fixture
def loopback():
    printer = LoopbackPrinter()
    yield printer
    printer.close()


def worker_for(queue: PrintQueue, sink, loopback: LoopbackPrinter) -> PrintWorker:
    printer = EscposPrinter(sink, "network", host="127.0.0.1", port=loopback.port, timeout=1.0)
    return PrintWorker(queue, printer, backoff_ms=20, max_backoff_ms=100)


def test_queue_file_is_wal_and_fully_synchronous(tmp_path):
    queue = PrintQueue.in_data_dir(tmp_path)
    queue.close()
    db = sqlite3.connect(tmp_path / "print-queue.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_printer_vanishing_mid_receipt_keeps_the_job_across_a_restart(tmp_path, sink, loopback):
    receipt = sample_receipt()
    full = receipt_job(receipt)
    loopback.vanish_after = len(full) // 2
    queue = PrintQueue.in_data_dir(tmp_path)
    worker = worker_for(queue, sink, loopback)
    worker.start()
    job_id = worker.submit("S1", receipt)
    wait_until(lambda: queue.pending() and queue.pending()[0].attempts >= 2, 10, "failed tries")
    worker.stop()
    [job] = queue.pending()
    assert job.id == job_id and job.last_error
    assert loopback.jobs[0] == full[: len(full) // 2]  # the half receipt that came out before the power cut
    queue.close()

    # The kiosk restarts; the printer is back.
    loopback.vanish_after = None
    loopback.listen()
    queue = PrintQueue.in_data_dir(tmp_path)
    worker = worker_for(queue, sink, loopback)
    worker.start()
    try:
        wait_until(lambda: not queue.pending(), 10, "the queued receipt to print")
    finally:
        worker.stop()
    assert loopback.wait_jobs(2)[-1] == full
    [done] = queue.for_sale("S1")
    assert done.state == "printed" and done.attempts >= 3 and done.printed_ms is not None
    queue.close()


def test_backoff_grows_and_is_capped(tmp_path, sink, loopback):
    loopback.vanish()
    now = [1_000_000]
    queue = PrintQueue.in_data_dir(tmp_path)
    worker = PrintWorker(queue, EscposPrinter(sink, "network", host="127.0.0.1", port=loopback.port, timeout=1.0),
                         clock=lambda: now[0], backoff_ms=1000, max_backoff_ms=4000)
    worker.submit("S1", sample_receipt())
    delays = []
    for _ in range(5):
        assert worker.run_once() is False
        nxt = queue.next_retry_ms()
        delays.append(nxt - now[0])
        assert worker.queue.next_due(now[0]) is None  # not retried before its time
        now[0] = nxt
    assert delays == [1000, 2000, 4000, 4000, 4000]
    queue.close()


def test_reprint_queues_the_same_receipt_marked_as_reprint(tmp_path, sink, loopback):
    queue = PrintQueue.in_data_dir(tmp_path)
    worker = worker_for(queue, sink, loopback)
    worker.submit("S7", sample_receipt("S7"))
    assert worker.run_once()
    queue.reprint("S7", 5)
    assert worker.run_once()
    first, second = loopback.wait_jobs(2)
    assert "重印 REPRINT".encode("gb18030") in second and "重印".encode("gb18030") not in first
    with pytest.raises(NotFound, match="S8"):
        queue.reprint("S8", 6)
    queue.close()


def test_submit_never_raises_even_when_the_queue_is_broken(tmp_path, sink, loopback, caplog):
    queue = PrintQueue.in_data_dir(tmp_path)
    worker = worker_for(queue, sink, loopback)
    queue.close()
    assert worker.submit("S9", sample_receipt()) is None
    assert "memberkiosk receipt reprint" in caplog.text
