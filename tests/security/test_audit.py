"""Issue 9, audit chain: every event is linked by an HMAC under the kiosk's audit key, so `memberkiosk audit verify`
catches an event edited, deleted, inserted or reordered in the SQLite file even when the attacker dropped the
append-only triggers and recomputed the CRCs; `memberkiosk audit log` says who did what."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Callable

import pytest

from core import events as ev
from core.codec import dumps
from core.events import Event, EventDraft
from core.payloads import Override
from kiosk.app import Kiosk
from kiosk.ids import new_event_id
from kiosk.services.audit import verify_chain
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store.keyring import KeyRing
from kiosk.store.ledger import event_crc
from tests.conftest import T0, FakeClock
from tests.store.shop import open_shop, sell

ROW = "id, kiosk_id, store_id, seq, ts, txn, type, member_id, data, deltas, operator, v"


@pytest.fixture
def shop(cli: Callable, clock: FakeClock) -> Path:
    """The CLI's data dir with a day of work: rules and catalog loaded, a member topped up, a sale refunded, events
    ingested from another kiosk of the store, a manager's override and a member edited and erased."""
    with Kiosk.open(cli.data_dir, clock=clock, kiosk_id="k9", store_id="s1") as kiosk:
        open_shop(kiosk)
        member = kiosk.members.register(Registration(phone="13800138000", name="张三", consent=True)).member.member_id
        other = kiosk.members.register(Registration(phone="13900139000", name="李四", consent=True)).member.member_id
        clock.advance(60_000)
        top_up(kiosk.members, member, 50_000, operator="C01")
        sale = sell(kiosk)
        kiosk.sync.ingest([_foreign(1, member), _foreign(2, member)])
        clock.advance(60_000)
        kiosk.sales.refund(sale.sale_id, operator="M01")
        kiosk.gateway.commit("M01", [EventDraft.of(Override("member PIN"), member)])
        kiosk.members.edit(member, operator="M01", name="张三丰")
        kiosk.members.erase(other, operator="M01")
    return cli.data_dir


def _foreign(seq: int, member: str) -> Event:
    event_id = new_event_id(T0 + seq)
    return Event(event_id, "k2", "s1", seq, T0 + seq, event_id, ev.TOPPED_UP, member, {"amount": 100}, {"stored_value": 100},
                 "C02", 1)


def _tamper(data_dir: Path, *statements: tuple[str, tuple]) -> None:
    """What an attacker with the file does: drop the append-only triggers, change rows, recompute every CRC."""
    conn = sqlite3.connect(data_dir / "ledger.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    for sql, params in statements:
        conn.execute(sql, params)
    for row in conn.execute(f"SELECT pos, {ROW} FROM events").fetchall():
        conn.execute("UPDATE events SET crc = ? WHERE pos = ?", (event_crc(row[1:11], row[11], row[12]), row[0]))
    conn.close()


def _query(data_dir: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(data_dir / "ledger.sqlite")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _pos(data_dir: Path, event_type: str, kiosk_id: str = "k9") -> int:
    """The position of the first event of a type made on a kiosk."""
    return _query(data_dir, "SELECT MIN(pos) FROM events WHERE type = ? AND kiosk_id = ?", (event_type, kiosk_id))[0][0]


def _last(data_dir: Path) -> int:
    return _query(data_dir, "SELECT MAX(pos) FROM events")[0][0]


def _broken_at(cli: Callable, pos: int) -> None:
    proc = cli("audit", "verify", check_rc=3)
    assert proc.stdout.splitlines()[0].startswith(f"audit chain broken at event #{pos} ("), proc.stdout
    assert cli("audit", "verify", "--json", check_rc=3).json()["first_broken"] == pos


def test_an_untouched_ledger_with_ingested_events_verifies(cli: Callable, shop: Path) -> None:
    report = cli("audit", "verify", "--json").json()
    assert report["ok"] and report["first_broken"] is None
    assert report["events"] == _query(shop, "SELECT COUNT(link) FROM events")[0][0] > 10
    assert _query(shop, "SELECT COUNT(*) FROM events WHERE kiosk_id = 'k2' AND length(link) = 32")[0][0] == 2
    assert "intact" in cli("audit", "verify").stdout


def test_an_edited_event_is_caught(cli: Callable, shop: Path) -> None:
    """The refund is rewritten as the cashier's, not the manager's: balances are untouched, the CRC recomputed."""
    refund = _pos(shop, ev.SALE_REFUNDED)
    _tamper(shop, ("UPDATE events SET operator = 'C01' WHERE pos = ?", (refund,)))
    _broken_at(cli, refund)


def test_an_edited_amount_is_caught(cli: Callable, shop: Path) -> None:
    topup = _pos(shop, ev.TOPPED_UP)
    fen = 1_000_000
    _tamper(shop, ("UPDATE events SET data = ?, deltas = ? WHERE pos = ?",
                   (dumps({"amount": fen}), dumps({"stored_value": fen}), topup)))
    _broken_at(cli, topup)


def test_a_deleted_event_is_caught(cli: Callable, shop: Path) -> None:
    refund = _pos(shop, ev.SALE_REFUNDED)
    _tamper(shop, ("DELETE FROM events WHERE pos = ?", (refund,)))
    _broken_at(cli, refund + 1)
    assert f"event #{refund} before it was deleted" in cli("audit", "verify", check_rc=3).stdout


def test_a_deleted_and_renumbered_event_is_caught(cli: Callable, shop: Path) -> None:
    """The attacker closes the gap the deletion left, so no position is missing."""
    refund = _pos(shop, ev.SALE_REFUNDED)
    _tamper(shop, ("DELETE FROM events WHERE pos = ?", (refund,)),
            ("UPDATE events SET pos = pos + 1000000 WHERE pos > ?", (refund,)),
            ("UPDATE events SET pos = pos - 1000001 WHERE pos > 1000000", ()))
    _broken_at(cli, refund)


def test_an_inserted_event_is_caught(cli: Callable, shop: Path) -> None:
    """A forged ¥10,000 top-up slipped in the middle, renumbered in, with the link of the event before it copied."""
    at = _pos(shop, ev.SALE_REFUNDED)
    forged = new_event_id(T0)
    row = (forged, "k9", "s1", 999, T0 + 1, forged, ev.TOPPED_UP, "k9-000001", dumps({"amount": 1_000_000}),
           dumps({"stored_value": 1_000_000}), "M01", 1)
    _tamper(shop, ("UPDATE events SET pos = pos + 1000000 WHERE pos >= ?", (at,)),
            ("UPDATE events SET pos = pos - 999999 WHERE pos > 1000000", ()),
            (f"INSERT INTO events (pos, {ROW}, crc, link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0,"
             " (SELECT link FROM events WHERE pos = ?))", (at, *row, at - 1)))
    _broken_at(cli, at)


def test_a_forged_event_appended_at_the_end_is_caught(cli: Callable, shop: Path) -> None:
    last = _last(shop)
    forged = new_event_id(T0)
    _tamper(shop, (f"INSERT INTO events ({ROW}, crc, link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, randomblob(32))",
                   (forged, "k9", "s1", 999, T0 + 1, forged, ev.TOPPED_UP, "k9-000001",
                    dumps({"amount": 1_000_000}), dumps({"stored_value": 1_000_000}), "M01", 1)))
    _broken_at(cli, last + 1)


def test_reordered_events_are_caught(cli: Callable, shop: Path) -> None:
    a = _pos(shop, ev.SALE_REFUNDED)
    _tamper(shop, ("UPDATE events SET pos = -1 WHERE pos = ?", (a,)),
            ("UPDATE events SET pos = ? WHERE pos = ?", (a, a + 1)),
            ("UPDATE events SET pos = ? WHERE pos = -1", (a + 1,)))
    _broken_at(cli, a)


def test_stripped_links_are_caught(cli: Callable, shop: Path) -> None:
    _tamper(shop, ("UPDATE events SET link = NULL", ()))
    _broken_at(cli, 1)
    assert "has no audit link" in cli("audit", "verify", check_rc=3).stdout


def test_a_lost_tail_is_caught_by_the_witness(cli: Callable, shop: Path) -> None:
    """The chain of what is left is intact; the witness remembers the last committed event."""
    last = _last(shop)
    _tamper(shop, ("DELETE FROM events WHERE pos = ?", (last,)))
    proc = cli("audit", "verify", "--json", check_rc=3).json()
    assert proc["breaks"] == [] and any(f"#{last}" in p for p in proc["problems"]), proc


def test_another_audit_key_fails_every_link_and_says_so(cli: Callable, shop: Path, key_dir: Path) -> None:
    (key_dir / "audit.key").write_bytes(bytes(32))
    proc = cli("audit", "verify", check_rc=3)
    assert "audit chain broken at event #1 (" in proc.stdout and f"the audit key in {key_dir}" in proc.stdout


def test_no_audit_key_is_refused_not_made(cli: Callable, shop: Path, key_dir: Path) -> None:
    (key_dir / "audit.key").unlink()
    proc = cli("audit", "verify", check_rc=2)
    assert "no audit key" in proc.stderr and not (key_dir / "audit.key").exists()


def test_a_ledger_from_before_the_chain_is_linked_once_at_open(tmp_path: Path, clock: FakeClock, key_dir: Path) -> None:
    """After the migration adds the column, the events written before have no link; the first open links them all,
    and the append-only triggers are as they were."""
    data = tmp_path / "data"
    with Kiosk.open(data, clock=clock, kiosk_id="k1", store_id="s1") as kiosk:
        member = kiosk.members.register(Registration(phone="13800138000", consent=True)).member.member_id
        for _ in range(3):
            top_up(kiosk.members, member, 100)
    triggers = _query(data, _TRIGGERS)
    _tamper(data, ("UPDATE events SET link = NULL", ()))
    conn = sqlite3.connect(data / "ledger.sqlite", isolation_level=None)
    for _name, sql in triggers:
        conn.execute(sql)
    conn.close()
    before = verify_chain(data, KeyRing(key_dir).secret("audit"), key_dir)  # what audit verify says of it meanwhile
    assert not before.ok and "has no audit link" in str(before.breaks[0])
    with Kiosk.open(data, clock=clock) as kiosk:
        top_up(kiosk.members, member, 100)
        report = verify_chain(data, kiosk.keys.secret("audit"), kiosk.keys.directory)
        assert report.ok and report.events == 5
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            kiosk.db.conn.execute("UPDATE events SET link = NULL")
    assert _query(data, _TRIGGERS) == triggers


_TRIGGERS = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"


def test_the_audit_log_says_who_did_what(cli: Callable, shop: Path) -> None:
    cli("rules", "load", str(Path(__file__).parents[2] / "kiosk/demo/rules.toml"), "--operator", "M02")
    cli("settings", "--store-name", "鲜果超市", "--operator", "M02")
    entries = cli("audit", "log", "--json").json()
    did = [(e["operator"], e["type"]) for e in entries]
    for pair in [("C01", ev.TOPPED_UP), ("M01", ev.SALE_REFUNDED), ("M01", ev.OVERRIDE), ("M01", ev.MEMBER_EDITED),
                 ("M01", ev.MEMBER_ERASED), ("C02", ev.TOPPED_UP), ("M02", ev.RULES_LOADED),
                 ("M02", ev.SETTINGS_CHANGED)]:
        assert pair in did, (pair, did)
    assert {t for _, t in did} >= {ev.CATALOG_LOADED, ev.STOCK_ADJUSTED}
    assert ev.SALE_COMPLETED not in {t for _, t in did}  # sales are the day's business, not an audit entry
    rules = next(e for e in entries if e["type"] == ev.RULES_LOADED and e["operator"] == "M02")
    assert rules["data"]["sha256"] == hashlib.sha256((Path(__file__).parents[2] / "kiosk/demo/rules.toml").read_bytes()).hexdigest()
    text = cli("audit", "log", "--staff", "M01").stdout
    assert "refund of sale k9-" in text and "override: member PIN" in text and "C01" not in text
    assert {e["operator"] for e in cli("audit", "log", "--staff", "M01", "--json").json()} == {"M01"}


def test_the_audit_log_by_day(cli: Callable, shop: Path) -> None:
    entries = cli("audit", "log", "--json").json()
    first = min(e["at"][:10] for e in entries if e["kiosk_id"] == "k9")
    assert cli("audit", "log", "--from", first, "--to", first, "--json").json()
    assert cli("audit", "log", "--to", "2000-01-01", "--json").json() == []
    assert "use YYYY-MM-DD" in cli("audit", "log", "--from", "2026-13-01", check_rc=2).stderr
