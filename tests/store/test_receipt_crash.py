"""kill -9 between a sale's commit and its print: after a restart the receipt prints exactly once."""
from __future__ import annotations

import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.followers.receipts import ReceiptFollower
from kiosk.store import print_jobs
from tests.drivers.conftest import wait_until
from tests.drivers.tcp_printer import LoopbackPrinter
from tests.store.shop import open_shop

REPO = Path(__file__).resolve().parents[2]


class Child:
    """The kiosk in a process of its own, killed with SIGKILL."""

    def __init__(self, data_dir: Path, port: int, mode: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.store.receipt_child", str(data_dir), str(port), mode],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, text=True)

    def line(self) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready, "the child said nothing in 30 s"
        line = self.proc.stdout.readline().strip()
        assert line, self.proc.stderr.read()
        return line

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL


def jobs(data_dir: Path, sale_id: str) -> list[print_jobs.PrintJob]:
    with Kiosk.open(data_dir) as kiosk, kiosk.db.reading() as conn:
        return print_jobs.for_sale(conn, sale_id)


@pytest.fixture
def loopback():
    printer = LoopbackPrinter()
    yield printer
    printer.close()


@pytest.mark.parametrize("dies", ["before the print", "before its followers ran"])
def test_a_receipt_prints_exactly_once_after_kill_minus_nine(tmp_path, loopback, dies):
    data_dir = tmp_path / "data"
    with Kiosk.open(data_dir, kiosk_id="k1") as kiosk:
        open_shop(kiosk)
        ReceiptFollower(kiosk.db, kiosk.clock, kiosk.who.kiosk_id)  # the kiosk ran before: its cursor exists
    loopback.vanish()  # the printer is switched off: the sale commits, its receipt cannot print

    child = Child(data_dir, loopback.port, "sell" if dies == "before the print" else "sell-only")
    _, number, sale_id = child.line().split()
    if dies == "before the print":
        wait_until(lambda: any(job.attempts for job in jobs(data_dir, sale_id)), 10, "a failed try at the printer")
    child.kill()
    assert all(job.printed_ms is None for job in jobs(data_dir, sale_id))

    loopback.listen()  # the printer is back; the kiosk restarts
    child = Child(data_dir, loopback.port, "resume")
    assert child.line() == "ready"
    wait_until(lambda: any(job.printed_ms for job in jobs(data_dir, sale_id)), 10, "the receipt to print")
    child.kill()

    child = Child(data_dir, loopback.port, "resume")  # and once more: nothing is printed twice
    assert child.line() == "ready"
    select.select([], [], [], 1.5)  # a negative: longer than the follower's poll and the printer's first retry
    child.kill()
    printed = [job for job in loopback.jobs if job]
    assert len(printed) == 1 and printed[0].count(number.encode()) == 1
    [job] = jobs(data_dir, sale_id)
    assert job.printed_ms is not None and not job.reprint
