"""Building devices from configuration: types, options, missing libraries, the simulators."""
from __future__ import annotations

import re

import pytest

from core.barcodes import member_code
from drivers.base import DeviceConfigError
from drivers.card.pcsc import PcscCardReader
from drivers.events import CardRemoved, CardTapped, DeviceHealth, Scanned, ScanRejected
from drivers.factory import DEMO_DEVICES, build, build_all
from drivers.printer.escpos_printer import EscposPrinter
from drivers.printer.sim import SimPrinter
from drivers.scanner.serial_scanner import SerialScanner


def test_real_types_build_the_real_drivers(sink):
    assert isinstance(build("card", {"type": "pcsc", "reader": "ACR122"}, sink), PcscCardReader)
    assert isinstance(build("scanner", {"type": "serial", "port": "/dev/ttyACM0", "terminator": "CRLF"}, sink),
                      SerialScanner)
    printer = build("printer", {"type": "escpos", "transport": "network", "host": "10.0.0.9", "paper": "80mm"}, sink)
    assert isinstance(printer, EscposPrinter) and printer.columns == 48


@pytest.mark.parametrize("kind, config, words", [
    ("card", {"type": "nfc"}, "card type 'nfc' is unknown; use one of pcsc, sim"),
    ("card", {"type": "pcsc", "raeder": "x"}, "unknown option(s) raeder"),
    ("scanner", {"type": "serial"}, "config is incomplete"),
    ("scanner", {"type": "serial", "port": "/dev/ttyS0", "terminator": "TAB"}, "terminator 'TAB'"),
    ("printer", {"type": "escpos", "transport": "bluetooth"}, "transport 'bluetooth'"),
    ("printer", {"type": "escpos", "transport": "network", "port": 9100}, "network printer config needs host"),
    ("card", {"type": "pcsc", "reader": "ACR(122"}, "not a valid regular expression"),
    ("printer", {"type": "sim", "paper": "A4"}, "paper 'A4'"),
])
def test_config_mistakes_are_named(sink, kind, config, words):
    with pytest.raises(DeviceConfigError, match=re.escape(words)):
        build(kind, config, sink)


def test_demo_devices_are_simulators_that_speak_the_same_events(sink):
    beeps = []
    devices = build_all(DEMO_DEVICES, sink, beep=lambda: beeps.append(1))
    for device in devices.values():
        device.start()
    devices["card"].tap("04A1B2C3", "M000123")
    devices["card"].tap("04A1B2C4")
    devices["scanner"].scan(member_code("M000123", b"k" * 32, 1_795_000_000_000))
    devices["scanner"].scan("123\x00")
    assert sink.of(CardTapped) == [CardTapped("04A1B2C3", "M000123", "Simulated reader"),
                                   CardTapped("04A1B2C4", None, "Simulated reader")]
    assert sink.of(CardRemoved)[0].uid == "04A1B2C3"
    assert sink.of(Scanned)[0].kind == "member" and len(sink.of(ScanRejected)) == 1 and beeps == [1]
    assert {h.device for h in sink.of(DeviceHealth) if h.state == "ok"} == {"card", "scanner"}
    assert isinstance(devices["printer"], SimPrinter) and devices["printer"].health().state == "ok"


def test_a_second_scanner_is_named_by_its_key(sink):
    devices = build_all({"scanner": {"type": "sim"}, "handheld": {"kind": "scanner", "type": "sim"}}, sink)
    devices["handheld"].start()
    devices["handheld"].scan("96385074")
    assert sink.of(Scanned)[0].device == "handheld"
    with pytest.raises(DeviceConfigError, match="kind 'drawer'"):
        build_all({"drawer": {"type": "sim"}}, sink)
