"""Serial scanner over a real pty pair in raw mode: terminators, partial lines, and a port that comes back."""
from __future__ import annotations

import os
import tty
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.events import DeviceHealth, Scanned, ScanRejected
from drivers.scanner.serial_scanner import TERMINATORS, SerialLines, SerialScanner
from drivers.scanner.wedge import INCOMPLETE
from tests.drivers.conftest import wait_until


class Pty:
    """A pty pair in raw mode: the test writes to the master like a scanner's UART would."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self.slave)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        """Close both ends (again is a no-op: a test may pull the port before teardown)."""
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1


@pytest.fixture
def pty_port(tmp_path: Path):
    pty = Pty()
    link = tmp_path / "ttyScanner"  # as udev's SYMLINK+= would name it
    link.symlink_to(pty.path)
    yield pty, link
    pty.close()


@pytest.fixture
def run_scanner(sink, pty_port):
    """Start a scanner on the pty's link; every scanner started is stopped at teardown."""
    started: list[SerialScanner] = []

    def run(**kw) -> SerialScanner:
        scanner = SerialScanner(sink, str(pty_port[1]), baud=115200, retry_s=0.05, **kw)
        started.append(scanner)
        scanner.start()
        wait_until(lambda: scanner.health().state == "ok", 5, "serial scanner open")
        return scanner

    yield run
    for scanner in started:
        scanner.stop()


@pytest.mark.parametrize("terminator, end", [("CR", b"\r"), ("LF", b"\n"), ("CRLF", b"\r\n")])
def test_terminators(sink, pty_port, run_scanner, terminator, end):
    pty, _ = pty_port
    run_scanner(terminator=terminator)
    pty.send(b"40063813" + b"33931" + end + b"96385074" + end[:1])  # one write split mid-code, one split mid-CRLF
    pty.send(end[1:] + b"036000291452" + end)
    codes = [s.code for s in sink.wait(Scanned, 3)]
    assert codes == ["4006381333931", "96385074", "036000291452"]


def test_crlf_scanner_on_a_cr_port_still_reads_clean_codes(sink, pty_port, run_scanner):
    pty, _ = pty_port
    run_scanner(terminator="CR")
    pty.send(b"96385074\r\n96385074\r\n")
    assert [s.code for s in sink.wait(Scanned, 2)] == ["96385074", "96385074"]


def test_partial_line_is_refused_not_half_used(sink, pty_port, run_scanner):
    pty, _ = pty_port
    beeps = []
    run_scanner(terminator="CR", line_timeout_ms=50, beep=lambda: beeps.append(1))
    pty.send(b"690123")
    assert sink.wait(ScanRejected)[0].reason == INCOMPLETE
    pty.send(b"96385074\r")
    assert sink.wait(Scanned)[0].code == "96385074"
    assert beeps == [1]


def test_bad_scans_give_clear_reasons(sink, pty_port, run_scanner):
    pty, _ = pty_port
    run_scanner(terminator="CR")
    pty.send(b"6901234567890\r" + b"AB\x1bC\r" + b"\xff\xfe\r" + b"X" * 80 + b"\r")
    reasons = [r.reason for r in sink.wait(ScanRejected, 4)]
    assert "check digit" in reasons[0]
    assert "control characters (0x1B)" in reasons[1]
    assert "not text" in reasons[2]
    assert "longer than 48" in reasons[3]
    assert sink.of(Scanned) == []


def test_port_gone_and_back(sink, pty_port, run_scanner):
    pty, link = pty_port
    scanner = run_scanner(terminator="CR")
    replacement = Pty()
    link.unlink()
    pty.close()  # the USB-serial adapter is pulled
    sink.wait(DeviceHealth, where=lambda h: h.state == "gone" and str(link) in h.reason)
    link.symlink_to(replacement.path)  # plugged back, udev recreates the link
    wait_until(lambda: scanner.health().state == "ok", 5, "scanner reopened")
    replacement.send(b"96385074\r")
    assert sink.wait(Scanned)[0].code == "96385074"
    replacement.close()


@given(st.lists(st.text(alphabet="0123456789ABCXYZ-", min_size=1, max_size=20), min_size=1, max_size=5),
       st.sampled_from(["CR", "LF", "CRLF"]), st.data())
def test_lines_do_not_depend_on_how_the_bytes_were_chunked(codes, terminator, data):
    end = TERMINATORS[terminator]
    stream = b"".join(c.encode() + end for c in codes)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=8)))
    lines = SerialLines(terminator)
    out = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        out += lines.feed(stream[a:b], now=0.0)
    assert out == [("line", c) for c in codes]
