"""The PC/SC card reader driver against a real pcscd with the vpcd virtual reader and our virtual card."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from drivers.card.apdu import encode_member_file
from drivers.card.pcsc import PcscCardReader
from drivers.events import CardRemoved, CardTapped, DeviceHealth, UnknownCard
from tests.drivers.conftest import wait_until
from tests.drivers.vcard import VCard

READER = "Virtual PCD 00 00"  # vpcd's first slot, the one listening on TCP 35963


class CountingScard:
    """pyscard's scard module, counting status polls so a test can wait for N poll cycles without sleeping."""

    def __init__(self, real: Any):
        self._real = real
        self.polls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def SCardGetStatusChange(self, *args: Any) -> Any:
        self.polls += 1
        return self._real.SCardGetStatusChange(*args)


@pytest.fixture
def reader(pcscd: Any, sink: Any) -> Iterator[PcscCardReader]:
    drv = PcscCardReader(sink, reader=READER, poll_ms=50, retry_s=0.1)
    drv.sc = CountingScard(drv.sc)
    drv.start()
    wait_until(lambda: drv.health().state == "ok", 5, "reader health ok")
    yield drv
    for card in VCard.inserted:  # leave the reader empty for the next test
        card.remove()
    wait_until(lambda: not drv.card_present or drv.health().state != "ok", 5, "the reader to see the card go")
    drv.stop()


def tap(card: VCard, sink: Any, kind: type = CardTapped, n: int = 1) -> Any:
    card.insert()
    return sink.wait(kind, n)[-1]


def test_member_card_tap_is_one_event_while_it_stays_and_removal_is_reported(reader, sink):
    card = VCard("04A1B2C3D4E5F6", member_no="M000123")
    assert tap(card, sink) == CardTapped("04A1B2C3D4E5F6", "M000123", READER)
    seen = reader.sc.polls
    wait_until(lambda: reader.sc.polls >= seen + 5, 5, "five more reader polls with the card held")
    assert len(sink.of(CardTapped)) == 1
    card.remove()
    assert sink.wait(CardRemoved) == [CardRemoved("04A1B2C3D4E5F6", READER)]
    assert len(sink.of(CardTapped)) == 1


def test_two_cards_in_a_row(reader, sink):
    first, second = VCard("04000001"), VCard("04000002", member_no="8800-17")
    tap(first, sink)
    first.remove()
    sink.wait(CardRemoved)
    tap(second, sink, n=2)
    second.remove()
    sink.wait(CardRemoved, 2)
    assert sink.of(CardTapped) == [CardTapped("04000001", None, READER), CardTapped("04000002", "8800-17", READER)]
    assert [e.uid for e in sink.of(CardRemoved)] == ["04000001", "04000002"]


def test_plain_card_without_our_application_is_identified_by_uid(reader, sink):
    card = VCard("11223344")
    assert tap(card, sink).member_no is None
    assert card.apdus[1][:4] == bytes.fromhex("00A40400")  # it did ask for our application
    card.remove()


def _answer(prefix: str, reply: str):
    return lambda apdu: bytes.fromhex(reply) if apdu.hex().upper().startswith(prefix) else None


@pytest.mark.parametrize("answer, member_file, code, words", [
    (_answer("FFCA", "6A81"), None, "no_uid", "6A81 function not supported"),
    (_answer("FFCA", "6F00"), None, "bad_status", "6F00"),
    (_answer("FFCA", "90"), None, "short_response", "too short"),
    (_answer("FFCA", "04A19000"), None, "short_response", "UID has 2 bytes"),
    (_answer("00A40400", "6982"), b"", "bad_status", "6982 security status not satisfied"),
    (_answer("00B0", "6281"), b"", "bad_status", "6281 data may be corrupted"),
    (None, encode_member_file("M1")[:-1] + b"\x00", "bad_member_file", "checksum"),
    (None, b"\x07\x02M1", "bad_member_file", "unknown format"),
])
def test_error_answers_give_a_specific_unknown_card_event(reader, sink, answer, member_file, code, words):
    card = VCard("04A1B2C3", member_file=member_file, answer=answer)
    event = tap(card, sink, UnknownCard)
    assert event.code == code and words in event.reason
    assert event.atr.startswith("3B8F")
    card.remove()
    sink.wait(CardRemoved)
    assert sink.of(CardTapped) == []
    assert reader.health().state == "ok"


def test_card_pulled_away_mid_read_asks_for_another_tap(reader, sink):
    card = VCard("04A1B2C3", member_no="M1", answer=lambda apdu: VCard.VANISH if apdu[1] == 0xA4 else None)
    event = tap(card, sink, UnknownCard)
    assert event.code == "comm_error" and "tap again" in event.reason and event.uid == "04A1B2C3"
    assert sink.wait(CardRemoved)[0].uid == "04A1B2C3"
    card.remove()


def test_wrong_length_answer_is_retried_with_the_length_the_card_asks_for(reader, sink):
    content = encode_member_file("M000777")
    answer = lambda apdu: bytes([0x6C, len(content)]) if apdu == bytes.fromhex("00B0000000") else None  # noqa: E731
    card = VCard("04A1B2C3", member_file=content, answer=answer)
    assert tap(card, sink).member_no == "M000777"
    assert card.apdus[-1] == bytes([0x00, 0xB0, 0, 0, len(content)])
    card.remove()


def test_reader_pattern_that_matches_nothing_reports_gone(pcscd, sink):
    drv = PcscCardReader(sink, reader="ACR122", retry_s=0.1)
    drv.start()
    try:
        health = sink.wait(DeviceHealth, where=lambda e: e.state == "gone" and "ACR122" in e.reason)[-1]
        assert "Virtual PCD 00 00" in health.reason  # the technician sees what is plugged in
    finally:
        drv.stop()


def test_pcscd_stopped_reports_gone_and_the_reader_recovers_when_it_returns(reader, sink, pcscd):
    card = VCard("04A1B2C3", member_no="M1")
    tap(card, sink)
    pcscd.stop()
    try:
        gone = sink.wait(DeviceHealth, where=lambda e: e.state == "gone")[-1]
        assert "pcscd" in gone.reason or "lost the card reader" in gone.reason
        assert sink.wait(CardRemoved)[0].uid == "04A1B2C3"  # the UI must not wait for a card that vanished
        assert reader.health().state == "gone"
    finally:
        card.remove()
        pcscd.start()
    wait_until(lambda: reader.health().state == "ok", 10, "reader health ok after pcscd restart")
    again = VCard("04A1B2C4", member_no="M2")
    assert tap(again, sink, n=2) == CardTapped("04A1B2C4", "M2", READER)
    again.remove()
    states = [e.state for e in sink.of(DeviceHealth)]
    assert states[-2:] == ["gone", "ok"]


def test_reader_started_before_pcscd_comes_up_by_itself(pcscd, sink):
    pcscd.stop()
    drv = PcscCardReader(sink, reader=READER, poll_ms=50, retry_s=0.1)
    drv.start()
    try:
        gone = sink.wait(DeviceHealth, where=lambda e: e.state == "gone")[0]
        assert "PC/SC service not running (pcscd)" in gone.reason
        pcscd.start()
        wait_until(lambda: drv.health().state == "ok", 10, "reader found once pcscd runs")
        card = VCard("04A1B2C5", member_no="M5")
        assert tap(card, sink) == CardTapped("04A1B2C5", "M5", READER)
        card.remove()
        sink.wait(CardRemoved)
    finally:
        drv.stop()
        if pcscd.proc is None:
            pcscd.start()
