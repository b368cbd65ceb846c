"""Damaged files are reported at start and by verify, never repaired silently; backups restore verified."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.services.backups import restore_backup, take_backup
from kiosk.store.db import LEDGER_FILE
from kiosk.store.documents import DOCS_FILE, open_documents, replace_table
from kiosk.store.errors import StoreBusy, StoreDamaged
from kiosk.store.verify import verify_documents, verify_ledger


def _populate(data_dir: Path, clock, members: int = 30) -> None:
    with Kiosk.open(data_dir, clock=clock, kiosk_id="k1") as kiosk:
        for i in range(members):
            view = kiosk.members.register(Registration(phone=f"1390000{i:04d}", consent=True, card=f"0400{i:04X}", name=f"会员{i:03d}"))
            top_up(kiosk.members, view.member.member_id, 10_000 + i)
        replace_table(kiosk.docs, "settings", [{"store_name": "示例店"}])


def _flip(path: Path, needle: bytes, replacement: bytes) -> None:
    raw = path.read_bytes()
    assert raw.count(needle) == 1, f"{needle!r} must occur once in {path.name}"
    path.write_bytes(raw.replace(needle, replacement))


def test_flipped_amount_in_a_ledger_row_is_caught_by_verify(tmp_path: Path, clock) -> None:
    _populate(tmp_path, clock)
    _flip(tmp_path / LEDGER_FILE, b'{"stored_value":10017}', b'{"stored_value":90017}')
    with Kiosk.open(tmp_path, clock=clock) as kiosk, kiosk.db.reading() as conn:
        problems = [str(p) for p in verify_ledger(conn)]
    assert any("checksum mismatch" in p and "event #" in p for p in problems), problems


def test_flipped_name_in_a_member_record_is_caught_by_verify(tmp_path: Path, clock) -> None:
    _populate(tmp_path, clock)
    # the member row's sealed name (kiosk/store/pii.py), not the directory feed's copy (sealed with another nonce)
    with sqlite3.connect(tmp_path / LEDGER_FILE) as conn:
        sealed = conn.execute("SELECT name FROM members WHERE member_id = 'k1-000013'").fetchone()[0]
    flipped = sealed[:-8] + ("A" if sealed[-8] != "A" else "B") + sealed[-7:]
    _flip(tmp_path / LEDGER_FILE, sealed.encode(), flipped.encode())
    with Kiosk.open(tmp_path, clock=clock) as kiosk, kiosk.db.reading() as conn:
        assert [str(p) for p in verify_ledger(conn)] == [
            "member k1-000013: checksum mismatch: the record was altered or damaged"
        ]


def test_damaged_sqlite_structure_stops_the_start(tmp_path: Path, clock) -> None:
    _populate(tmp_path, clock, members=200)
    path = tmp_path / LEDGER_FILE
    raw = bytearray(path.read_bytes())
    page_size = int.from_bytes(raw[16:18], "big")
    for page in range(1, len(raw) // page_size):  # scribble over every b-tree page header but the first
        raw[page * page_size : page * page_size + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreDamaged, match="damaged.*restore"):
        Kiosk.open(tmp_path, clock=clock)


def test_damaged_sqlite_header_stops_the_start(tmp_path: Path, clock) -> None:
    _populate(tmp_path, clock, members=2)
    path = tmp_path / LEDGER_FILE
    path.write_bytes(b"garbage garbage!" + path.read_bytes()[16:])
    with pytest.raises(StoreDamaged, match="not a SQLite database"):
        Kiosk.open(tmp_path, clock=clock)


def test_flipped_document_byte_stops_the_start_and_fails_verify(tmp_path: Path, clock) -> None:
    _populate(tmp_path, clock, members=1)
    _flip(tmp_path / DOCS_FILE, "示例店".encode(), "示范店".encode())
    with pytest.raises(StoreDamaged, match="checksum mismatch"):
        Kiosk.open(tmp_path, clock=clock)
    assert "checksum mismatch" in str(verify_documents(tmp_path)[0])
    (tmp_path / DOCS_FILE).write_text('{"format": "memberkiosk-documents/1", "data": {')
    with pytest.raises(StoreDamaged, match="not valid JSON"):
        open_documents(tmp_path)


def test_documents_round_trip_and_replace_in_one_write(tmp_path: Path) -> None:
    db = open_documents(tmp_path)
    db.table("catalog").insert({"sku": "A", "price": 100})
    replace_table(db, "catalog", [{"sku": "B", "price": 5}, {"sku": "C", "price": 7}])
    db.table("catalog").insert({"sku": "D", "price": 9})
    again = open_documents(tmp_path)
    assert sorted(d["sku"] for d in again.table("catalog").all()) == ["B", "C", "D"]
    envelope = json.loads((tmp_path / DOCS_FILE).read_text())
    assert envelope["format"] == "memberkiosk-documents/1" and len(envelope["sha256"]) == 64


def test_backup_while_open_then_restore(tmp_path: Path, clock) -> None:
    data, archive = tmp_path / "data", tmp_path / "backup.tar.gz"
    _populate(data, clock, members=5)
    with Kiosk.open(data, clock=clock) as kiosk:
        _, manifest = take_backup(kiosk.db, kiosk.who, kiosk.keys, kiosk.clock, archive)
        assert set(manifest["files"]) == {LEDGER_FILE, DOCS_FILE}
        top_up(kiosk.members, "k1-000001", 777)  # after the snapshot: the restore must undo it
        with pytest.raises(StoreBusy, match="stop the kiosk"):
            restore_backup(archive, data, kiosk.keys, clock())
    kept = restore_backup(archive, data, kiosk.keys, clock()).kept
    assert (kept / LEDGER_FILE).exists()
    with Kiosk.open(data, clock=clock) as kiosk:
        assert kiosk.members.get("k1-000001").balances.stored_value == 10_000
        assert kiosk.docs.table("settings").all() == [{"store_name": "示例店"}]
        with kiosk.db.reading() as conn:
            assert verify_ledger(conn) == []


def test_damaged_backup_is_refused_and_changes_nothing(tmp_path: Path, clock) -> None:
    data, archive = tmp_path / "data", tmp_path / "backup.tar.gz"
    _populate(data, clock, members=3)
    with Kiosk.open(data, clock=clock) as kiosk:
        take_backup(kiosk.db, kiosk.who, kiosk.keys, kiosk.clock, archive)
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    archive.write_bytes(bytes(raw))
    before = (data / LEDGER_FILE).read_bytes()
    with pytest.raises(StoreDamaged):
        restore_backup(archive, data, kiosk.keys, clock())
    assert (data / LEDGER_FILE).read_bytes() == before
    assert not list(data.glob(".restore-*"))


def test_a_flipped_byte_anywhere_in_a_backup_is_refused_or_harmless(tmp_path: Path, clock) -> None:
    from kiosk.store.backup import read_backup

    data, archive = tmp_path / "data", tmp_path / "backup.tar.gz"
    _populate(data, clock, members=5)
    with Kiosk.open(data, clock=clock) as kiosk:
        take_backup(kiosk.db, kiosk.who, kiosk.keys, kiosk.clock, archive)
    raw, original = archive.read_bytes(), read_backup(archive).files
    refused = 0
    for pos in range(0, len(raw), max(1, len(raw) // 150)):  # bounded sweep: ~150 positions
        flipped = bytearray(raw)
        flipped[pos] ^= 0xFF
        (tmp_path / "x.tar.gz").write_bytes(bytes(flipped))
        try:
            files = read_backup(tmp_path / "x.tar.gz").files
        except StoreDamaged:
            refused += 1
            continue
        assert files == original, f"byte {pos} changed the content yet was accepted"  # e.g. the gzip header's mtime
    assert refused > 100
