"""ESC/POS printing against a loopback TCP printer: Chinese bytes, totals, QR store command, DLE EOT status."""
from __future__ import annotations

import pytest
from escpos.printer import Dummy

from core.receipt import layout
from drivers.events import DeviceHealth
from drivers.printer.base import PrinterNotReady, PrinterUnavailable
from drivers.printer.escpos_printer import EscposPrinter
from drivers.printer.job import CHINESE_ON, INIT, QR_CAPTION, encode_text, receipt_job
from tests.drivers.receipts import sample_receipt
from tests.drivers.tcp_printer import LoopbackPrinter, PtyPrinter

GS_QR = b"\x1d(k"


@pytest.fixture
def loopback():
    printer = LoopbackPrinter()
    yield printer
    printer.close()


def network(sink, loopback: LoopbackPrinter, paper: str = "58mm") -> EscposPrinter:
    return EscposPrinter(sink, "network", host="127.0.0.1", port=loopback.port, paper=paper, timeout=1.0)


def text_of(job: bytes) -> list[str]:
    """The printed text lines of a job: everything between the mode setup and the QR commands, decoded."""
    body = job[job.index(CHINESE_ON) + len(CHINESE_ON):job.index(GS_QR)]
    body = body.replace(b"\x1ba\x00", b"").replace(b"\x1ba\x01", b"").replace(b"\x1bE\x01", b"").replace(b"\x1bE\x00", b"")
    return body.decode("gb18030").split("\n")


def test_python_escpos_alone_loses_full_width_symbols_which_we_keep():
    stock = Dummy()
    stock.text("（VIP）￥12.00")
    assert stock.output.endswith(b"?VIP??12.00")  # the library bug this driver works around
    assert encode_text("（VIP）￥12.00") == "（VIP）￥12.00".encode("gb18030") == b"\xa3\xa8VIP\xa3\xa9\xa3\xa412.00"


def test_characters_without_a_printer_glyph_become_question_marks(caplog):
    assert encode_text("¥5 \U0001F600 𠀀") == b"\xa3\xa45 ? ?"  # half-width yen becomes the full-width one
    assert "no printer glyph" in caplog.text


@pytest.mark.parametrize("paper, width", [("58mm", 32), ("80mm", 48)])
def test_receipt_over_the_network_prints_chinese_totals_and_qr(sink, loopback, paper, width):
    receipt = sample_receipt()
    network(sink, loopback, paper).send(receipt_job(receipt, width))
    [job] = loopback.wait_jobs(1)
    assert job.startswith(INIT + b"\x1bt\x00" + CHINESE_ON)  # reset, ASCII table, Chinese double-byte mode
    assert "鲜果时光便利店".encode("gb18030") in job and "（VIP）".encode("gb18030") in job
    lines = text_of(job)
    assert lines[:-1] == layout(receipt, width)
    assert any(line.startswith("应付") and line.endswith("￥47.80") for line in lines)
    payload = receipt.qr_payload.encode()
    store = GS_QR + (len(payload) + 3).to_bytes(2, "little") + b"1P0" + payload  # GS ( k pL pH cn=49 fn=80 m=48 d...
    assert store in job and GS_QR + b"\x03\x001Q0" in job  # stored, then printed
    assert encode_text(QR_CAPTION) in job[job.index(store):]
    assert loopback.queries == [1, 4, 1]  # status before, and confirmation after the job


@pytest.mark.parametrize("status, words", [
    ({1: 0x1A, 2: 0x16}, "cover is open"),
    ({1: 0x1A, 2: 0x32}, "out of paper"),
    ({1: 0x12, 4: 0x72}, "out of paper"),
    ({1: 0x1A, 2: 0x52}, "offline"),
])
def test_printer_that_cannot_print_is_not_sent_the_job(sink, loopback, status, words):
    loopback.status = status
    printer = network(sink, loopback)
    with pytest.raises(PrinterNotReady, match=words):
        printer.send(receipt_job(sample_receipt()))
    assert printer.health().state == "degraded" and words in printer.health().reason
    loopback.wait_jobs(0)
    assert all(not job for job in loopback.jobs)


def test_paper_near_end_prints_and_warns(sink, loopback):
    loopback.status = {1: 0x12, 4: 0x1E}
    printer = network(sink, loopback)
    printer.send(receipt_job(sample_receipt()))
    loopback.wait_jobs(1)
    assert printer.health() == DeviceHealth("printer", "degraded", "paper roll is nearly used up; have a new one ready")


def test_printer_without_status_support_still_prints(sink, loopback):
    loopback.status = None
    printer = EscposPrinter(sink, "network", host="127.0.0.1", port=loopback.port, timeout=0.2)
    printer.send(receipt_job(sample_receipt()))
    assert loopback.wait_jobs(1)[0].startswith(INIT)
    assert printer.health().state == "ok"


def test_unreachable_printer_reports_gone(sink, loopback):
    loopback.vanish()
    printer = network(sink, loopback)
    with pytest.raises(PrinterUnavailable, match="cannot reach the network printer"):
        printer.send(b"x")
    assert sink.wait(DeviceHealth)[-1].state == "gone"


def test_file_transport_writes_the_whole_job(sink, tmp_path):
    device = tmp_path / "lp0"
    device.touch()
    job = receipt_job(sample_receipt(), 48)
    printer = EscposPrinter(sink, "file", path=str(device), paper="80mm")
    printer.send(job)
    assert device.read_bytes() == job and printer.columns == 48


def test_serial_printer_over_a_pty_answers_status_and_prints(sink):
    pty = PtyPrinter()
    try:
        job = receipt_job(sample_receipt())
        printer = EscposPrinter(sink, "serial", port=pty.path, baud=115200, timeout=1.0)
        printer.send(job)
        assert pty.wait_bytes(len(job)) == job
        assert pty.queries == [1, 4, 1] and printer.health().state == "ok"
        pty.status = {1: 0x1A, 2: 0x16}
        with pytest.raises(PrinterNotReady, match="cover is open"):
            printer.send(job)
    finally:
        pty.close()
