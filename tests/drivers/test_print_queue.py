"""Receipt printing from the ledger: a printer vanishing mid-receipt, a restart, backoff, reprints; no second database."""
from __future__ import annotations

import pytest

from drivers.printer.escpos_printer import EscposPrinter
from drivers.printer.job import receipt_job
from kiosk.app import Kiosk
from kiosk.followers.receipts import ReceiptFollower
from kiosk.followers.runner import catch_up
from kiosk.printing.worker import PrintWorker
from kiosk.services.receipts import Receipts
from kiosk.store import print_jobs
from tests.drivers.conftest import wait_until
from tests.drivers.tcp_printer import LoopbackPrinter
from tests.store.shop import number, open_shop, sell


@pytest.fixture
def loopback():
    printer = LoopbackPrinter()
    yield printer
    printer.close()


def receipts_of(kiosk: Kiosk) -> Receipts:
    return Receipts(kiosk.db, kiosk.who, kiosk.docs, kiosk.clock)


def worker_for(kiosk: Kiosk, sink, loopback: LoopbackPrinter, **backoff) -> PrintWorker:
    printer = EscposPrinter(sink, "network", host="127.0.0.1", port=loopback.port, timeout=1.0)
    return PrintWorker(kiosk.db, printer, receipts_of(kiosk), kiosk.clock, **(backoff or {"backoff_ms": 20, "max_backoff_ms": 100}))


def queue_sales(kiosk: Kiosk) -> None:
    """What the kiosk's follower thread does after each commit."""
    catch_up(kiosk.db, ReceiptFollower(kiosk.db, kiosk.clock, kiosk.who.kiosk_id))


def pending(kiosk: Kiosk) -> list[print_jobs.PrintJob]:
    with kiosk.db.reading() as conn:
        return print_jobs.pending(conn)


def test_printer_vanishing_mid_receipt_keeps_the_job_across_a_restart(tmp_path, sink, loopback):
    data = tmp_path / "data"
    with Kiosk.open(data, kiosk_id="k1") as kiosk:
        open_shop(kiosk)
        follower = ReceiptFollower(kiosk.db, kiosk.clock, kiosk.who.kiosk_id)  # running before the sale
        sale = sell(kiosk)
        catch_up(kiosk.db, follower)
        full = receipt_job(receipts_of(kiosk).for_sale(sale.sale_id))
        loopback.vanish_after = len(full) // 2
        worker = worker_for(kiosk, sink, loopback)
        worker.start()
        wait_until(lambda: pending(kiosk) and pending(kiosk)[0].attempts >= 2, 10, "failed tries")
        worker.stop()
        [job] = pending(kiosk)
        assert job.txn == sale.sale_id and job.last_error
        assert loopback.jobs[0] == full[: len(full) // 2]  # the half receipt that came out before the power cut

    # The kiosk restarts; the printer is back.
    loopback.vanish_after = None
    loopback.listen()
    with Kiosk.open(data) as kiosk:
        worker = worker_for(kiosk, sink, loopback)
        worker.start()
        try:
            wait_until(lambda: not pending(kiosk), 10, "the queued receipt to print")
        finally:
            worker.stop()
        assert loopback.wait_jobs(2)[-1] == full
        with kiosk.db.reading() as conn:
            [done] = print_jobs.for_sale(conn, sale.sale_id)
        assert done.attempts >= 3 and done.printed_ms is not None


def test_backoff_grows_and_is_capped(kiosk, clock, sink, loopback):
    open_shop(kiosk)
    ReceiptFollower(kiosk.db, kiosk.clock, kiosk.who.kiosk_id)
    sell(kiosk)
    queue_sales(kiosk)
    loopback.vanish()
    worker = worker_for(kiosk, sink, loopback, backoff_ms=1000, max_backoff_ms=4000)
    delays = []
    for _ in range(5):
        assert worker.run_once() is False
        with kiosk.db.reading() as conn:
            nxt = print_jobs.next_retry_ms(conn)
            assert print_jobs.next_due(conn, clock.now) is None  # not retried before its time
        delays.append(nxt - clock.now)
        clock.now = nxt
    assert delays == [1000, 2000, 4000, 4000, 4000]


def test_each_sale_is_queued_once_and_a_reprint_is_marked(kiosk, sink, loopback):
    open_shop(kiosk)
    follower = ReceiptFollower(kiosk.db, kiosk.clock, kiosk.who.kiosk_id)
    sale = sell(kiosk)
    catch_up(kiosk.db, follower)
    follower.rewind()
    catch_up(kiosk.db, follower)  # delivered again (a crash before the cursor moved): still one job
    worker = worker_for(kiosk, sink, loopback)
    assert worker.run_once() and not worker.run_once()
    with kiosk.db.transaction() as conn:
        print_jobs.enqueue_reprint(conn, sale.sale_id, kiosk.clock.now_ms())
    assert worker.run_once()
    first, second = loopback.wait_jobs(2)
    assert number(sale).encode() in first and number(sale).encode() in second
    assert "重印 REPRINT".encode("gb18030") in second and "重印".encode("gb18030") not in first
