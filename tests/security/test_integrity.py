"""Issue 9, defects 2, 3, 4, 8, 10 and 13: the ledger's integrity as an attacker or a careless technician tests it.

Each test reproduces the defect as the issue describes it, on real files, real SQLite and real processes, through
the installed `memberkiosk` command where the issue speaks of commands.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store import db as db_module
from kiosk.store.db import LEDGER_FILE, SCHEMA
from kiosk.store.errors import StoreBusy, StoreDamaged, StoreFull
from kiosk.store.witness import WITNESS_FILE, Mark, _encode

WAL = LEDGER_FILE + "-wal"
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def _script() -> str:
    found = shutil.which("memberkiosk", path=str(Path(sys.executable).parent))
    assert found, "the memberkiosk console script is not installed: run tests/run.sh"
    return found


def _run(data_dir: Path, *args: str, prefix: list[str] = (), timeout: int = 60) -> subprocess.CompletedProcess:
    """`memberkiosk ARGS` on `data_dir`; no assertion on its exit code."""
    env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(data_dir), "MEMBERKIOSK_KIOSK_ID": "k9"}
    return subprocess.run([*prefix, _script(), *args], capture_output=True, text=True, env=env, timeout=timeout)


def _assert_report(proc: subprocess.CompletedProcess, rc: int, *words: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == rc, f"rc={proc.returncode}\n{out}"
    assert "Traceback" not in out, out
    for word in words:
        assert word in out, f"{word!r} not in:\n{out}"


def _shop(data_dir: Path, clock, members: int = 5) -> list[str]:
    """A data dir with members, top-ups and settings, closed (its WAL checkpointed away)."""
    with Kiosk.open(data_dir, clock=clock, kiosk_id="k9") as kiosk:
        ids = [kiosk.members.register(Registration(phone=f"1390000{i:04d}", consent=True, name=f"会员{i}")).member.member_id
               for i in range(members)]
        for i, member_id in enumerate(ids):
            top_up(kiosk.members, member_id, 10_000 + i)
        kiosk.docs.table("settings").insert({"store_name": "示例店"})
    return ids


# --- defect 2: a zeroed ledger passes verify -------------------------------------------------------------------

def test_a_zeroed_ledger_fails_verify_and_open_and_nothing_is_created_over_it(tmp_path: Path, clock) -> None:
    data = tmp_path / "d"
    _shop(data, clock)
    os.truncate(data / LEDGER_FILE, 0)  # truncate -s 0 D/ledger.sqlite
    _assert_report(_run(data, "verify"), 3, "ledger.sqlite", "missing or empty", "restore")
    _assert_report(_run(data, "members", "find", "--id", "k9-000001"), 2, "missing or empty")
    with pytest.raises(StoreDamaged, match="missing or empty"):
        Kiosk.open(data, clock=clock)
    assert (data / LEDGER_FILE).stat().st_size == 0  # no fresh schema was written over it
    (data / LEDGER_FILE).unlink()
    _assert_report(_run(data, "verify"), 3, "missing or empty")
    assert not (data / LEDGER_FILE).exists()


def test_verify_never_migrates(tmp_path: Path, clock) -> None:
    data = tmp_path / "d"
    _shop(data, clock)
    with sqlite3.connect(data / LEDGER_FILE) as conn:  # a ledger the kiosk has not upgraded yet
        conn.execute(f"PRAGMA user_version = {SCHEMA - 1}")
    proc = _run(data, "verify")
    _assert_report(proc, 0, f"schema {SCHEMA - 1}")
    with sqlite3.connect(data / LEDGER_FILE) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA - 1


# --- defect 3: lost tail undetected --------------------------------------------------------------------------

_TOPUPS_THEN_KILL = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from kiosk.app import Kiosk
    from kiosk.services.topup import top_up
    kiosk = Kiosk.open(Path(sys.argv[1]))
    for _ in range(10):
        top_up(kiosk.members, "k9-000001", 100)
    os.kill(os.getpid(), signal.SIGKILL)  # committed, still only in the WAL: no checkpoint at close
""")


def _ten_topups_in_the_wal(data: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _TOPUPS_THEN_KILL, str(data)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (data / WAL).stat().st_size > 0


def _delete(wal: Path) -> None:
    wal.unlink()


def _truncate(wal: Path) -> None:
    os.truncate(wal, wal.stat().st_size // 2)


def _flip_bit(wal: Path) -> None:
    raw = bytearray(wal.read_bytes())
    raw[32 + 24 + 100] ^= 0x04  # the first frame's page data: that frame and every later one stop counting
    wal.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", [_delete, _truncate, _flip_bit])
def test_committed_topups_lost_from_the_wal_are_detected(tmp_path: Path, clock, damage) -> None:
    data = tmp_path / "d"
    _shop(data, clock)
    _ten_topups_in_the_wal(data)
    damage(data / WAL)
    _assert_report(_run(data, "verify"), 3, "ledger.witness", "lost committed events")
    with pytest.raises(StoreDamaged, match="lost committed events"):
        Kiosk.open(data, clock=clock)


def test_the_witness_may_lag_by_the_last_commit(tmp_path: Path, clock) -> None:
    """A crash between SQLite's COMMIT and the witness write: the ledger is one commit ahead, which is fine."""
    data = tmp_path / "d"
    ids = _shop(data, clock)
    before = (data / WITNESS_FILE).read_bytes()
    with Kiosk.open(data, clock=clock) as kiosk:
        top_up(kiosk.members, ids[0], 100)
    (data / WITNESS_FILE).write_bytes(before)
    _assert_report(_run(data, "verify"), 0, "store intact")
    with Kiosk.open(data, clock=clock) as kiosk:
        assert kiosk.members.get(ids[0]).balances.stored_value == 10_100


def test_a_ledger_replaced_by_an_older_copy_or_another_kiosks_is_detected(tmp_path: Path, clock) -> None:
    data, other = tmp_path / "d", tmp_path / "other"
    ids = _shop(data, clock)
    old = (data / LEDGER_FILE).read_bytes()
    with Kiosk.open(data, clock=clock) as kiosk:
        top_up(kiosk.members, ids[0], 100)
    (data / LEDGER_FILE).write_bytes(old)  # a technician copies yesterday's ledger back
    _assert_report(_run(data, "verify"), 3, "lost committed events")
    with Kiosk.open(other, clock=clock, kiosk_id="k7") as kiosk:
        kiosk.members.register(Registration(phone="13700000000", consent=True))
    shutil.copy(other / LEDGER_FILE, data / LEDGER_FILE)
    _assert_report(_run(data, "verify"), 3, "belongs to kiosk 'k7'")
    with pytest.raises(StoreDamaged, match="belongs to kiosk 'k7'"):
        Kiosk.open(data, clock=clock)


def test_a_forged_witness_is_refused(tmp_path: Path, clock) -> None:
    data = tmp_path / "d"
    _shop(data, clock)
    forged = _encode(b"\0" * 32, 99, Mark("k9", 1, "whatever"))  # lowered, under a key that is not the kiosk's
    (data / WITNESS_FILE).write_bytes(forged + forged)
    _assert_report(_run(data, "verify"), 3, "does not verify under this kiosk's audit key")


# --- defect 4: busy and full are called damage ---------------------------------------------------------------

_HOLD_WRITE_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # what a long import holds
    print("locked", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def write_lock_held(tmp_path: Path, clock) -> Iterator[Path]:
    data = tmp_path / "d"
    _shop(data, clock)
    child = subprocess.Popen([sys.executable, "-c", _HOLD_WRITE_LOCK, str(data / LEDGER_FILE)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        yield data
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_verify_and_reads_work_while_another_process_holds_the_write_lock(write_lock_held: Path) -> None:
    _assert_report(_run(write_lock_held, "verify"), 0, "store intact")
    _assert_report(_run(write_lock_held, "members", "find", "--id", "k9-000001"), 0)


def test_a_write_waiting_on_the_lock_says_busy_not_damaged(write_lock_held: Path, clock, monkeypatch) -> None:
    proc = _run(write_lock_held, "members", "add", "--phone", "13912345678", "--consent")
    _assert_report(proc, 2, "is busy", "nothing is damaged")
    assert "damaged (" not in proc.stderr
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 300)  # inside a running kiosk: the same, without the 10 s wait
    with Kiosk.open(write_lock_held, clock=clock) as kiosk:
        with pytest.raises(StoreBusy, match="is busy"):
            top_up(kiosk.members, "k9-000001", 100)


def test_a_permission_denied_ledger_is_not_called_damaged(tmp_path: Path, clock) -> None:
    data = tmp_path / "d"
    _shop(data, clock)
    os.chmod(data / LEDGER_FILE, 0)
    for args in (["verify"], ["members", "find", "--id", "k9-000001"]):
        proc = _run(data, *args, prefix=NO_DAC)  # root without its override: file modes apply, as to the kiosk user
        _assert_report(proc, 2, "cannot be opened", "not damaged", "sudo -u kiosk")



@pytest.mark.parametrize("tiny_disk", ["2m"], indirect=True)  # the new ledger's schema alone is ~0.7 MiB with its WAL
def test_a_full_disk_at_open_says_full_not_damaged(tiny_disk: Path, clock, monkeypatch) -> None:
    monkeypatch.setenv("MEMBERKIOSK_MIN_FREE_MB", "0")  # a 1 MiB disk is below any floor: top up to the real ENOSPC
    data = tiny_disk / "data"
    _shop(data, clock, members=2)
    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="No space left"):  # every last block
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    with pytest.raises(StoreFull, match="disk is full"):
        Kiosk.open(data, clock=clock)
    _assert_report(_run(data, "verify"), 2, "disk is full")
    filler.unlink()
    _assert_report(_run(data, "verify"), 0, "store intact")


# --- defect 8: a flipped counter takes over a member ---------------------------------------------------------

def _flip_counter(ledger: Path, value: bytes, flipped: bytes) -> None:
    raw = ledger.read_bytes()
    needle = b"member_counter" + value
    assert raw.count(needle) == 1
    ledger.write_bytes(raw.replace(needle, b"member_counter" + flipped))


def test_a_flipped_member_counter_is_reported_and_cannot_overwrite_a_member(tmp_path: Path, clock) -> None:
    data = tmp_path / "d"
    _shop(data, clock, members=3)
    _flip_counter(data / LEDGER_FILE, b"3", b"2")  # one bit: 0x33 -> 0x32
    _assert_report(_run(data, "verify"), 3, "meta member_counter", "checksum mismatch")
    _assert_report(_run(data, "members", "add", "--phone", "13811112222", "--name", "新人", "--consent"), 2, "damaged")
    with Kiosk.open(data, clock=clock) as kiosk:
        third = kiosk.members.get("k9-000003")
        assert (third.member.phone, third.member.name, third.balances.stored_value) == ("13900000002", "会员2", 10_002)


def test_a_counter_set_back_with_its_checksum_still_cannot_overwrite_a_member(tmp_path: Path, clock) -> None:
    data = tmp_path / "d"
    _shop(data, clock, members=3)
    with sqlite3.connect(data / LEDGER_FILE) as conn:  # an attacker who recomputes the checksum
        conn.create_function("row_crc", -1, lambda *v: db_module.row_crc(v))
        conn.execute("UPDATE meta SET value = '2', crc = row_crc(key, '2') WHERE key = 'member_counter'")
    _assert_report(_run(data, "verify"), 3, "member_counter: is 2 but member number k9-000003 exists")
    _assert_report(_run(data, "members", "add", "--phone", "13811112222", "--consent"), 2, "already in use")
    with Kiosk.open(data, clock=clock) as kiosk:
        assert kiosk.members.get("k9-000003").member.phone == "13900000002"


# --- defect 10: verify crashes -------------------------------------------------------------------------------

def test_verify_reports_every_random_bit_flip_and_a_halved_ledger_without_a_traceback(tmp_path: Path, clock) -> None:
    data = tmp_path / "d"
    _shop(data, clock, members=60)
    raw = (data / LEDGER_FILE).read_bytes()
    with sqlite3.connect(f"file:{data / LEDGER_FILE}?mode=ro", uri=True) as conn:  # where the events' bytes lie
        cells = conn.execute("SELECT pgoffset + pgsize, payload FROM dbstat WHERE name = 'events' AND pagetype ="
                             " 'leaf' AND payload > 0").fetchall()
    rng = random.Random(9)
    copies = []
    for n in range(40):
        copy = tmp_path / f"flip{n}"
        shutil.copytree(data, copy)
        flipped = bytearray(raw)
        end, payload = rng.choice(cells)  # cells are packed at the end of a page: a flip there alters an event
        pos = end - rng.randrange(1, payload)
        flipped[pos] ^= 1 << rng.randrange(8)
        (copy / LEDGER_FILE).write_bytes(bytes(flipped))
        copies.append(copy)
    halved = tmp_path / "halved"
    shutil.copytree(data, halved)
    os.truncate(halved / LEDGER_FILE, len(raw) // 2)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda d: _run(d, "verify"), [*copies, halved]))
    for proc in results:
        assert proc.returncode in (0, 3) and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert sum(p.returncode == 3 for p in results[:40]) >= 30  # most: a flip may also land in a cell header or an unused tail
    _assert_report(results[40], 3, "ledger.sqlite")


def test_verify_reports_undecodable_text_in_a_row(tmp_path: Path, clock) -> None:
    data = tmp_path / "d"
    _shop(data, clock, members=3)
    raw = (data / LEDGER_FILE).read_bytes()
    needle = b"stored_value.topped_up"
    pos = raw.index(needle)
    (data / LEDGER_FILE).write_bytes(raw[:pos] + b"\xff" + raw[pos + 1:])
    _assert_report(_run(data, "verify"), 3, "ledger.sqlite")


# --- defect 13: files readable by all ------------------------------------------------------------------------

def test_files_are_private_and_an_erasure_leaves_the_wal(tmp_path: Path, clock) -> None:
    data = tmp_path / "new" / "d"
    _assert_report(_run(data, "members", "add", "--phone", "13955556666", "--name", "甄士隐", "--consent"), 0)
    _assert_report(_run(data, "export", "-o", str(tmp_path / "members.csv")), 0)
    assert (tmp_path / "members.csv").stat().st_mode & 0o027 == 0  # 0640 or tighter
    with Kiosk.open(data, clock=clock) as kiosk:  # a running kiosk: the WAL and SHM exist
        canary = kiosk.members.register(Registration(phone="13988887777", name="贾雨村", consent=True)).member.member_id
        assert (data / WAL).exists()
        for path in [data, *data.rglob("*")]:
            mode = path.stat().st_mode & 0o777
            assert mode & 0o027 == 0, f"{path} is {mode:o}"
        assert data.stat().st_mode & 0o777 == 0o750
        assert kiosk.db.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        kiosk.members.erase(canary)
        assert (data / WAL).stat().st_size == 0
        for name in (LEDGER_FILE, WAL):
            body = (data / name).read_bytes()
            assert "13988887777".encode() not in body and "贾雨村".encode() not in body, name
