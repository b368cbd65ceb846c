"""Bench tests with real devices, opt-in: `pytest -m hardware` with the device named in the environment.

MEMBERKIOSK_BENCH_READER   reader name pattern (e.g. ACR122); tap any card within 20 s
MEMBERKIOSK_BENCH_SCANNER  evdev device path or name; scan an EAN-13 within 20 s
MEMBERKIOSK_BENCH_PRINTER  JSON printer config, e.g. {"transport": "network", "host": "192.168.1.50"}
"""
from __future__ import annotations

import json
import os

import pytest

from drivers.events import CardTapped, Scanned
from drivers.factory import build
from tests.drivers.receipts import sample_receipt

pytestmark = pytest.mark.hardware


def bench(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        pytest.skip(f"set {var} to run this bench test")
    return value


def test_real_reader_sees_a_tap(sink):
    reader = build("card", {"type": "pcsc", "reader": bench("MEMBERKIOSK_BENCH_READER")}, sink)
    reader.start()
    try:
        assert sink.wait(CardTapped, timeout=20)[0].uid
    finally:
        reader.stop()


def test_real_scanner_reads_a_product(sink):
    scanner = build("scanner", {"type": "evdev", "device": bench("MEMBERKIOSK_BENCH_SCANNER")}, sink)
    scanner.start()
    try:
        assert sink.wait(Scanned, timeout=20)[0].kind == "product"
    finally:
        scanner.stop()


def test_real_printer_prints_the_sample_receipt(sink):
    from drivers.printer.job import receipt_job
    printer = build("printer", {"type": "escpos", **json.loads(bench("MEMBERKIOSK_BENCH_PRINTER"))}, sink)
    printer.send(receipt_job(sample_receipt(), printer.columns))
    assert printer.health().state in ("ok", "degraded")
