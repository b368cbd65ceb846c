"""Boot to selling does not grow with history: `verify --quick` checks only what changed since the verified
checkpoint, yet finds a flipped byte after it, an altered checkpoint event, a forged checkpoint and an older ledger
put back; the nightly full verify's result reaches doctor, the kiosk's telemetry and `fleet status`."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.cli import main
from kiosk.services.audit import VerifyReport, full_verify, quick_verify
from kiosk.services.doctor.store import check_store
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store import checkpoint
from kiosk.store.checksum import row_crc
from kiosk.store.db import LEDGER_FILE
from kiosk.store.keyring import KeyRing
from kiosk.store.ledger import event_crc
from mqtt.fleet import protocol
from mqtt.hub.fleetdb import TELEMETRY, Report
from mqtt.hub.store import HubStore
from tests.conftest import T0
from tests.fleet.hub.peers import telemetry


@pytest.fixture
def shop(tmp_path: Path, clock) -> Path:
    """A closed data dir: a member and five top-ups (events #1..#6), verified in full: the checkpoint at #6."""
    data = tmp_path / "data"
    with _open(data, clock) as kiosk:
        member = kiosk.members.register(Registration(phone="13800138000", consent=True)).member.member_id
        for _ in range(5):
            top_up(kiosk.members, member, 100)
    assert full_verify(data, KeyRing(_keys(tmp_path)), T0).ok
    return data


def _open(data: Path, clock) -> Kiosk:
    return Kiosk.open(data, clock=clock, kiosk_id="k1", store_id="s1")


def _keys(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def _quick(data: Path) -> VerifyReport:
    return quick_verify(data, KeyRing(data.parent / "keys").secret("audit"), T0 + 1)


def _topups(data: Path, clock, n: int) -> None:
    with _open(data, clock) as kiosk:
        for _ in range(n):
            top_up(kiosk.members, "k1-000001", 100)


def _edit_event(data: Path, pos: int, recompute_crc: bool) -> None:
    """Change event #pos's amount behind the kiosk's back; with its CRC recomputed, as anyone with the file can."""
    conn = sqlite3.connect(data / LEDGER_FILE)
    conn.execute("DROP TRIGGER events_no_update")
    row = conn.execute("SELECT id, kiosk_id, store_id, seq, ts, txn, type, member_id, data, deltas, operator, v FROM"
                       " events WHERE pos = ?", (pos,)).fetchone()
    changed = (*row[:8], row[8].replace("100", "900"), row[9].replace("100", "900"))
    assert changed != row[:10]
    crc = event_crc(changed, row[10], row[11]) if recompute_crc else row_crc(changed) ^ 1
    conn.execute("UPDATE events SET data = ?, deltas = ?, crc = ? WHERE pos = ?", (changed[8], changed[9], crc, pos))
    conn.commit()
    conn.close()


def _checkpoint(data: Path) -> checkpoint.Checkpoint:
    conn = sqlite3.connect(data / LEDGER_FILE)
    try:
        return checkpoint.read(conn, KeyRing(data.parent / "keys").secret("audit"))
    finally:
        conn.close()


def test_quick_verify_checks_only_what_came_after_the_checkpoint(shop: Path, clock, capsys, monkeypatch) -> None:
    assert _checkpoint(shop).pos == 6
    monkeypatch.setenv("MEMBERKIOSK_DATA_DIR", str(shop))
    assert main(["verify", "--quick", "--if-present"]) == 0
    assert "quick check passed: 0 new events" in capsys.readouterr().out
    _topups(shop, clock, 3)
    assert main(["verify", "--quick", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "events": 3, "problems": [], "note": None}
    assert _checkpoint(shop).pos == 9  # each pass moves it: the next start checks nothing again
    assert _quick(shop).events == 0


def test_a_flipped_byte_after_the_checkpoint_is_found(shop: Path, clock) -> None:
    _topups(shop, clock, 3)
    _edit_event(shop, 8, recompute_crc=False)
    report = _quick(shop)
    assert not report.ok and report.problems == [
        f"event #8 ({_event_id(shop, 8)}): checksum mismatch: the row was altered or damaged"]
    assert _checkpoint(shop).pos == 6  # a failed check never moves it


def test_the_checkpoint_event_altered_is_found_by_its_chain_head(shop: Path) -> None:
    _edit_event(shop, 6, recompute_crc=True)  # the checksum fits: only the audit link shows it
    report = _quick(shop)
    assert not report.ok and "checkpoint's event #6" in report.problems[0] and "was altered" in report.problems[0]


def test_an_earlier_edit_is_the_nightly_verify_s_and_its_failure_reaches_doctor_telemetry_and_fleet_status(
        shop: Path, tmp_path: Path, clock, capsys) -> None:
    _edit_event(shop, 4, recompute_crc=True)  # before the checkpoint, which it leaves alone: not a start's job
    assert _quick(shop).ok
    nightly = full_verify(shop, KeyRing(_keys(tmp_path)), T0 + 2)
    assert not nightly.ok and nightly.events == 6
    assert any(p.startswith("audit chain broken at event #4") for p in nightly.problems), nightly.problems
    with _open(shop, clock) as kiosk:
        sent = kiosk.fleet.last_verify()
    assert sent == {"ok": False, "at": T0 + 2, "events": 6, "problem": nightly.problems[0]}
    body = protocol.parse_telemetry(protocol.encode(telemetry(verify=sent)))  # as the hub's fleet worker checks it
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    with HubStore.open(url) as hub:
        hub.fleet_record([Report(TELEMETRY, "s1", "k1", T0, body)])
        assert hub.fleet_kiosks()[0].telemetry["verify"]["ok"] is False
    assert main(["fleet", "status", "--db", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["verify"] == sent
    assert main(["fleet", "status", "--db", url]) == 0
    assert " FAILED " in capsys.readouterr().out
    assert protocol.parse_telemetry(protocol.encode(telemetry()))["verify"] is None  # an older kiosk sends none


def test_a_failed_nightly_verify_is_a_warning_in_doctor(shop: Path, tmp_path: Path) -> None:
    assert check_store(shop, _keys(tmp_path))[0].status == "ok"
    conn = sqlite3.connect(shop / LEDGER_FILE)
    with conn:
        checkpoint.write_result(conn, checkpoint.VerifyResult(False, T0, 6, "event #4 (x): checksum mismatch"))
    conn.close()
    [finding] = check_store(shop, _keys(tmp_path))
    assert finding.status == "warn" and "the last full verify" in finding.found and "event #4 (x)" in finding.found


def test_a_checkpoint_moved_forward_by_hand_is_refused(shop: Path, clock) -> None:
    _topups(shop, clock, 2)
    conn = sqlite3.connect(shop / LEDGER_FILE)
    value = conn.execute("SELECT value FROM meta WHERE key = ?", (checkpoint.CHECKPOINT_KEY,)).fetchone()[0]
    moved = value.replace("[6,", "[8,", 1)
    conn.execute("UPDATE meta SET value = ?, crc = ? WHERE key = ?",
                 (moved, row_crc((checkpoint.CHECKPOINT_KEY, moved)), checkpoint.CHECKPOINT_KEY))
    conn.commit()
    conn.close()
    report = _quick(shop)
    assert not report.ok and "checkpoint does not verify under this kiosk's audit key" in report.problems[0]


def test_an_older_copy_of_the_ledger_put_back_is_found(shop: Path, tmp_path: Path, clock) -> None:
    older = tmp_path / "older.sqlite"
    shutil.copy(shop / LEDGER_FILE, older)  # closed: its WAL is checkpointed into the file
    _topups(shop, clock, 2)
    assert _quick(shop).ok
    for suffix in ("-wal", "-shm"):
        (shop / (LEDGER_FILE + suffix)).unlink(missing_ok=True)
    shutil.copy(older, shop / LEDGER_FILE)
    report = _quick(shop)
    assert not report.ok and "lost committed events" in report.problems[0]


def _event_id(data: Path, pos: int) -> str:
    conn = sqlite3.connect(data / LEDGER_FILE)
    try:
        return conn.execute("SELECT id FROM events WHERE pos = ?", (pos,)).fetchone()[0]
    finally:
        conn.close()
