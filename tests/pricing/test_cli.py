"""The pricing commands through the installed console script, as staff and scripts use them."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pricing.conftest import DEMO, load_demo_shop

STAFF, PIN = ("--staff", "M01"), "888888\n"  # who sells and refunds; the PIN comes on stdin, never in argv


@pytest.fixture
def shop(cli, tmp_path):
    load_demo_shop(cli, tmp_path)
    cli("staff", "add", "M01", "店长 陈", "--role", "manager", input=PIN)
    return cli("members", "add", "--phone", "13800138000", "--consent", "--json").json()["member_id"]


def test_rules_check_names_the_bad_key(cli, tmp_path):
    assert "ok (4 tiers" in cli("rules", "check", str(DEMO / "rules.toml")).stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[[tiers.levels]]\nname = "普通"\npay_precent = 80\n', encoding="utf-8")
    proc = cli("rules", "check", str(bad), check_rc=2)
    assert "tiers.levels[0].pay_precent: unknown key" in proc.stderr


def test_checkout_then_refund_a_line_then_the_rest(cli, shop):
    sale = cli("checkout", "--member", shop, "--sku", "NUTS", "--sku", "MILK-1L:2", "--sku", "CHIPS:3",
               "--coupon", "WELCOME10", "--cash", "200", "--json", *STAFF, input=PIN).json()
    assert sale["totals"]["net"] == 14809 - 1500 - 1000 and sale["change"] == 20000 - 12309
    assert [line["sku"] for line in sale["lines"]] == ["NUTS", "MILK-1L", "CHIPS"]
    refund = cli("refund", sale["sale_id"], "--line", "2", "--json", *STAFF, input=PIN).json()
    assert refund["lines"] == [1] and refund["cash"] == sale["lines"][1]["cash"]
    assert "already been refunded" in cli("refund", sale["sale_id"], "--line", "2", *STAFF, input=PIN, check_rc=2).stderr
    assert "refunded lines 1, 3" in cli("refund", sale["sale_id"], *STAFF, input=PIN).stdout
    assert cli("members", "find", "--id", shop, "--json").json()["points"] == 0


def test_checkout_errors_are_for_the_cashier(cli, shop):
    def checkout(*args: str) -> str:
        return cli("checkout", *args, *STAFF, input=PIN, check_rc=2).stderr

    assert "quantity of TEA-500 must be 1 to 999" in checkout("--member", shop, "--sku", "TEA-500:0")
    assert "no product with SKU 'X'" in checkout("--member", shop, "--sku", "X")
    assert "not enough points" in checkout("--member", shop, "--sku", "NUTS", "--points", "1000")
    assert "does not cover" in checkout("--sku", "NUTS", "--cash", "50")


def test_simulate_and_doctor(cli, shop, tmp_path, monkeypatch):
    cli("checkout", "--member", shop, "--sku", "TEA-500:10", *STAFF, input=PIN)
    candidate = tmp_path / "candidate.toml"
    candidate.write_text((DEMO / "rules.toml").read_text(encoding="utf-8").replace("points_per_yuan = 1", "points_per_yuan = 2"),
                         encoding="utf-8")
    what = cli("simulate", "--rules", str(candidate), "--json").json()
    assert what["sales"] == 1 and what["candidate"]["points"] == 2 * what["current"]["points"] > 0
    assert cli("doctor", "--json", check_rc=None).json()["pricing_engine"] in ("native", "reference")  # 1: warnings
    monkeypatch.setenv("MEMBERKIOSK_SKIP_NATIVE", "1")
    assert "reference (pure Python): MEMBERKIOSK_SKIP_NATIVE=1" in cli("doctor", check_rc=None).stdout
    assert "1 recorded sales re-priced (reference engine)" in cli("simulate", "--rules", str(candidate)).stdout


def test_points_and_tier_upkeep_commands(cli, shop):
    assert cli("points", "expiring", shop, "--json").json()["expiring"] == 0
    assert "0 points expired for 0 members" in cli("points", "expire").stdout
    assert "no tier changes" in cli("tiers", "review").stdout


def test_checkout_by_barcode_as_a_guest_with_change(cli, shop):
    sale = cli("checkout", "--sku", "6901234500011:2", "--cash", "10", "--json", *STAFF, input=PIN).json()
    assert sale["lines"][0]["sku"] == "TEA-500" and (sale["totals"]["cash"], sale["change"]) == (700, 300)


def test_concurrent_checkouts_use_a_coupon_once(cli, shop):
    env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(cli.data_dir), "MEMBERKIOSK_KIOSK_ID": "k9"}
    script = shutil.which("memberkiosk", path=str(Path(sys.executable).parent))
    args = [script, "checkout", "--member", shop, "--sku", "TEA-500:20", "--coupon", "WELCOME10", *STAFF]
    procs = [subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    results = [(p.communicate(PIN, timeout=60)[1], p.returncode) for p in procs]
    assert sorted(rc for _, rc in results) == [0, 2, 2, 2]
    assert all("WELCOME10 has already been used" in err for err, rc in results if rc)
    assert cli("verify").returncode == 0
