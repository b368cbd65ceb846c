"""End to end through the installed `memberkiosk` command: two data directories as two kiosks of one store."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import _console_script
from tests.pricing.conftest import DEMO
from tests.sync.helpers import share_pii_key

Run = Callable[..., subprocess.CompletedProcess]


def _kiosk(tmp_path: Path, kiosk_id: str) -> Run:
    script, data_dir = _console_script(), tmp_path / kiosk_id
    share_pii_key(tmp_path / "chain-pii.key", tmp_path / f"{kiosk_id}-keys")

    def run(*args: str, check_rc: int = 0, input: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(data_dir), "MEMBERKIOSK_KIOSK_ID": kiosk_id,
               "MEMBERKIOSK_STORE_ID": "shop1", "MEMBERKIOSK_OPERATOR": "M01",
               "MEMBERKIOSK_KEY_DIR": str(tmp_path / f"{kiosk_id}-keys")}
        proc = subprocess.run([script, *args], capture_output=True, text=True, env=env, timeout=60,
                              input=input)
        assert proc.returncode == check_rc, f"{args}: rc={proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
        return proc

    return run


def _json(run: Run, *args: str, input: str | None = None) -> dict:
    return json.loads(run(*args, "--json", input=input).stdout)


MANAGER, PIN, MEMBER_PIN = ("--staff", "M01"), "888888\n", "123456\n"  # PINs come on stdin, never in argv


@pytest.mark.timeout(300)
def test_a_member_made_at_a_spends_at_b_and_both_agree(tmp_path: Path) -> None:
    a, b = _kiosk(tmp_path, "A"), _kiosk(tmp_path, "B")
    # 1) register a member and top up ¥100 at A
    for run in (a, b):  # staff are each kiosk's own
        run("staff", "add", "M01", "店长 陈", "--role", "manager", input=PIN)
    member = _json(a, "members", "add", "--phone", "13800138000", "--name", "张三", "--card", "04A1B2C3", "--consent",
                   "--pin", MEMBER_PIN.strip())["member_id"]
    a("topup", member, "100", *MANAGER, input=PIN)
    # 2) export at A, import at B
    a("sync", "export", str(tmp_path / "a1.sync"))
    assert _json(b, "sync", "import", str(tmp_path / "a1.sync"))["new"] == 3
    # 3) the member is found at B by phone and by card, with ¥100
    for how in (("--phone", "13800138000"), ("--card", "04A1B2C3")):
        found = _json(b, "members", "find", *how)
        assert (found["member_id"], found["stored_value_fen"]) == (member, 10_000)
    # 4) spend ¥30 at B: four bags of chips at ¥7.50 from stored value
    b("rules", "load", str(DEMO / "rules.toml"))
    b("catalog", "load", str(DEMO / "catalog.csv"))
    sale = _json(b, "checkout", "--member", member, "--sku", "CHIPS:4", "--stored-value", *MANAGER,
                 input=PIN + MEMBER_PIN)  # the member's PIN came with their record from A
    assert sale["totals"]["stored_value"] == 3_000
    # 5) export at B, import at A: A shows ¥70
    b("sync", "export", str(tmp_path / "b1.sync"))
    report = _json(a, "sync", "import", str(tmp_path / "b1.sync"))
    # new: B's sale and its catalog stock, and B's rules and catalog loads (recorded for the audit)
    assert (report["new"], report["duplicate"], report["flagged"]) == (4, 3, 0)
    assert _json(a, "members", "find", "--id", member)["stored_value_fen"] == 7_000
    # 6) importing either file again changes nothing, and verify is clean on both
    for run, file in ((a, "b1.sync"), (b, "a1.sync"), (a, "a1.sync"), (b, "b1.sync")):
        again = _json(run, "sync", "import", str(tmp_path / file))
        assert again["new"] == 0 and again["members"]["new"] == 0 and again["flagged"] == 0
    assert _json(b, "members", "find", "--id", member)["stored_value_fen"] == 7_000
    for run in (a, b):
        report = _json(run, "verify")
        assert report["ok"] is True and report["problems"] == [], report
    # a file altered on the way is refused with a clear message
    text = (tmp_path / "a1.sync").read_text(encoding="utf-8")
    (tmp_path / "bad.sync").write_text(text.replace('"stored_value":10000', '"stored_value":90000'), encoding="utf-8")
    refused = b("sync", "import", str(tmp_path / "bad.sync"), check_rc=2)
    assert "was altered after kiosk A signed it" in refused.stderr
