"""Personal data encrypted at rest: phone, name and birthday never reach a file under the data directory in clear."""
from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from core.members import Member
from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.sync import SyncFileRefused
from kiosk.store import members as rows
from kiosk.store.checksum import row_crc
from kiosk.store.pii import PersonalDataLocked, PiiKey
from kiosk.store.schema import MIGRATIONS
from tests.drivers.tcp_printer import LoopbackPrinter
from tests.pricing.conftest import DEMO

CANARY_PHONE, CANARY_NAME, CANARY_BIRTHDAY = "13912345678", "金丝雀测试员", "1988-02-29"
MANAGER, PIN = ("--staff", "M01"), "888888\n"


def _needles() -> dict[str, bytes]:
    return {"phone": CANARY_PHONE.encode(), "name (UTF-8)": CANARY_NAME.encode(),
            "name (GB18030)": CANARY_NAME.encode("gb18030"), "birthday": CANARY_BIRTHDAY.encode()}


def _hits(root: Path) -> list[str]:
    """Every (file, what) where a canary value appears in clear under `root`."""
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    return [f"{p.relative_to(root)}: {what}" for p in files for what, needle in _needles().items()
            if needle in p.read_bytes()]


@pytest.mark.timeout(300)
def test_canary_is_in_no_file_under_the_data_dir(cli, tmp_path: Path) -> None:
    """Register a canary member, sell, top up, erase another member, back up, export for transfer and print a
    receipt, with the kiosk open meanwhile (its WAL and SHM in place): no file under the data dir holds the canary."""
    log = []

    def run(*args: str, input: str | None = None, check_rc: int = 0):
        proc = cli("--verbose", *args, input=input, check_rc=check_rc)
        log.append(proc.stderr)
        return proc

    run("staff", "add", "M01", "店长 陈", "--role", "manager", input=PIN)
    data = cli.data_dir
    with Kiosk.open(data) as open_kiosk:  # a running kiosk: the WAL is not checkpointed away while it is open
        run("rules", "load", str(DEMO / "rules.toml"))
        run("catalog", "load", str(DEMO / "catalog.csv"))
        canary = run("members", "add", "--phone", CANARY_PHONE, "--name", CANARY_NAME, "--birthday", CANARY_BIRTHDAY,
                     "--card", "04C0FFEE", "--consent", "--json").json()["member_id"]
        other = run("members", "add", "--phone", "13700000001", "--name", "另一位", "--consent", "--json").json()
        run("topup", canary, "200", *MANAGER, input=PIN)
        sale = run("checkout", "--member", canary, "--sku", "CHIPS:2", "--cash", "50", *MANAGER, "--json",
                   input=PIN).json()
        run("members", "erase", other["member_id"], "--yes", *MANAGER, input=PIN)
        assert open_kiosk.members.by_phone(CANARY_PHONE).member.name == CANARY_NAME  # found through the index
        run("members", "edit", canary, "--name", CANARY_NAME)
        printer = LoopbackPrinter()
        try:
            devices = tmp_path / "devices.json"
            devices.write_text(json.dumps({"printer": {"type": "escpos", "transport": "network", "host": "127.0.0.1",
                                                       "port": printer.port}}))
            run("devices", "--config", str(devices), "--save")
            run("receipt", "reprint", sale["sale_no"], "--now", "--wait", "20")
            receipt = printer.wait_jobs(1)[0]
        finally:
            printer.close()
        assert "139****5678".encode("gb18030") in receipt  # the receipt names the member by the masked phone only
        (data / "print-capture.bin").write_bytes(receipt)
        (data / "backups").mkdir()
        run("backup", str(data / "backups" / "shop.tar.gz"))
        run("sync", "export", str(data / "k9.sync"))
        (data / "logs").mkdir()
        (data / "logs" / "cli.log").write_text("".join(log), encoding="utf-8")
        present = {p.name for p in data.iterdir()}
        assert {"ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "documents.json"} <= present, present
        assert _hits(data) == []
    assert _hits(data) == []
    assert cli("members", "find", "--phone", CANARY_PHONE, "--json").json()["name"] == CANARY_NAME
    assert cli("verify", "--json").json()["ok"]  # verify opens the sealed records with the key ring's pii key


def test_a_sync_file_opens_only_at_a_kiosk_holding_the_chains_pii_key(tmp_path: Path, clock) -> None:
    a = Kiosk.open(tmp_path / "a", clock=clock, kiosk_id="A", store_id="s1", key_dir=tmp_path / "a-keys")
    b = Kiosk.open(tmp_path / "b", clock=clock, kiosk_id="B", store_id="s1", key_dir=tmp_path / "b-keys")
    try:
        a.members.register(Registration(phone=CANARY_PHONE, consent=True, name=CANARY_NAME))
        a.sync.export(tmp_path / "a.sync")
        assert not [n for n in _needles().values() if n in (tmp_path / "a.sync").read_bytes()]
        with pytest.raises(SyncFileRefused, match="chain's pii.key"):
            b.sync.import_file(tmp_path / "a.sync")
        assert b.members.count() == 0
    finally:
        a.close()
        b.close()


def test_lookup_by_phone_is_an_index_seek_on_the_keyed_hash(kiosk: Kiosk) -> None:
    kiosk.members.register(Registration(phone=CANARY_PHONE, consent=True, name=CANARY_NAME))
    with kiosk.db.reading() as conn:
        plan = " ".join(r[-1] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT member_id FROM members WHERE phone_index = ?", (b"x",)))
        stored = conn.execute("SELECT phone, name, phone_index FROM members").fetchone()
    assert "USING INDEX members_phone_index" in plan or "USING COVERING INDEX members_phone_index" in plan
    assert stored[0].startswith("pii1.") and stored[1].startswith("pii1.") and len(stored[2]) == 32
    assert kiosk.members.by_phone(CANARY_PHONE).member.name == CANARY_NAME


def test_a_sealed_value_moved_to_another_member_does_not_open(kiosk: Kiosk) -> None:
    """The associated data binds a value to its member and field: swapping ciphertexts is caught, not shown."""
    a = kiosk.members.register(Registration(phone="13800000001", consent=True, name="甲")).member.member_id
    b = kiosk.members.register(Registration(phone="13800000002", consent=True, name="乙")).member.member_id
    with kiosk.db.transaction() as conn:
        conn.execute("UPDATE members SET name = (SELECT name FROM members WHERE member_id = ?) WHERE member_id = ?",
                     (a, b))
    with pytest.raises(PersonalDataLocked, match=f"name of member {b} was altered"):
        kiosk.members.get(b)


def test_a_kiosk_with_another_pii_key_refuses_to_open_the_store(tmp_path: Path, clock) -> None:
    with Kiosk.open(tmp_path / "d", clock=clock, kiosk_id="k1", store_id="s1", key_dir=tmp_path / "keys") as k:
        k.members.register(Registration(phone=CANARY_PHONE, consent=True, name=CANARY_NAME))
    shutil.copytree(tmp_path / "keys", tmp_path / "other")  # the same kiosk keys, but another pii.key
    (tmp_path / "other" / "pii.key").write_bytes(b"\x01" * 32)
    with pytest.raises(PersonalDataLocked, match="sealed with pii key"):
        Kiosk.open(tmp_path / "d", clock=clock, key_dir=tmp_path / "other")


def test_a_chain_shares_one_key_so_every_kiosk_finds_a_phone_by_the_same_hash() -> None:
    secret = bytes(range(32))
    one, two = PiiKey(secret), PiiKey(secret)
    assert one.phone_index(CANARY_PHONE) == two.phone_index(CANARY_PHONE) != PiiKey(b"\x02" * 32).phone_index(CANARY_PHONE)
    assert two.open("K1-000001", "name", one.seal("K1-000001", "name", CANARY_NAME)) == CANARY_NAME


def test_the_pii_key_is_group_readable_and_outside_the_data_dir(kiosk: Kiosk, key_dir: Path) -> None:
    mode = stat.S_IMODE((key_dir / "pii.key").stat().st_mode)
    assert mode == 0o640 and not (kiosk.data_dir / "pii.key").exists()


def test_export_file_is_private(cli, tmp_path: Path) -> None:
    cli("members", "add", "--phone", CANARY_PHONE, "--name", CANARY_NAME, "--consent")
    out = tmp_path / "members.csv"
    out.write_text("old export\n")
    out.chmod(0o644)
    cli("export", "-o", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert CANARY_NAME in out.read_text(encoding="utf-8-sig")  # the shop owner's copy is plaintext by design


def _legacy_store(data: Path) -> None:
    """A ledger as the version before encryption at rest wrote it: plaintext member row and directory change."""
    mine = next(i for i, script in enumerate(MIGRATIONS) if "pii_unsealed" in script)
    data.mkdir()
    conn = sqlite3.connect(data / "ledger.sqlite", isolation_level=None)
    conn.create_function("row_crc", -1, lambda *values: row_crc(values), deterministic=True)
    conn.execute("PRAGMA journal_mode = WAL")
    for number, script in enumerate(MIGRATIONS[:mine], start=1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {number}")
    meta = [("kiosk_id", "k1"), ("store_id", "s1"), ("member_counter", "1")]
    conn.executemany("INSERT INTO meta (key, value, crc) VALUES (?, ?, ?)", [(k, v, row_crc((k, v))) for k, v in meta])
    row = ("k1-000001", CANARY_PHONE, CANARY_NAME, CANARY_BIRTHDAY, "F", 1, 1, None)
    conn.execute("INSERT INTO members (member_id, phone, name, birthday, gender, consent_at, created_at, erased_at, crc)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, row_crc(row)))
    conn.execute("INSERT INTO balances (member_id, points, stored_value, lifetime_spend, tier, visits)"
                 " VALUES ('k1-000001', 0, 0, 0, '普通', '{}')")
    fields = {"phone": CANARY_PHONE, "name": CANARY_NAME, "birthday": CANARY_BIRTHDAY, "gender": "F", "consent_at": 1}
    conn.execute("INSERT INTO directory (id, member_id, kiosk_id, ts, kind, fields) VALUES (?, ?, ?, ?, ?, ?)",
                 ("k1-000001:registered", "k1-000001", "k1", 1, "registered", json.dumps(fields, ensure_ascii=False)))
    conn.close()


def test_plaintext_written_before_is_sealed_at_open_and_leaves_no_trace(tmp_path: Path, clock) -> None:
    data = tmp_path / "data"
    _legacy_store(data)
    assert _hits(data)  # the old ledger holds the canary in clear
    with Kiosk.open(data, clock=clock) as k:
        view = k.members.by_phone(CANARY_PHONE)
        assert (view.member.name, str(view.member.birthday)) == (CANARY_NAME, CANARY_BIRTHDAY)
        with k.db.reading() as conn:
            assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'pii_unsealed'").fetchone()
            assert rows.get(conn, "k1-000001") == Member("k1-000001", CANARY_PHONE, CANARY_NAME, view.member.birthday,
                                                         "F", 1, 1, None)
        assert _hits(data) == []
    assert _hits(data) == []
