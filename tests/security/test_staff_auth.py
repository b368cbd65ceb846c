"""Issue 9, defect 6: staff authentication and attribution.

A staff card logged in with no PIN (even a manager whose PIN was locked), a lock after 5 wrong PINs never lifted,
`checkout --stored-value` spent a member's stored value with no PIN, and no money-moving command asked who acts.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from core.quote_input import BasketLine, TenderRequest
from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.pins import PinLocked, WrongPin
from kiosk.services.staff import PinNeeded
from kiosk.services.topup import top_up
from tests.pricing.conftest import CATALOG, DEMO, load_demo_shop

MANAGER_CARD, CASHIER_CARD = "04BEEF01", "04BEEF02"
M01, C01 = "888888\n", "000000\n"  # the PINs, as stdin lines
LOCK_MS = 15 * 60_000


def _lock(fail) -> None:
    for _ in range(5):
        with pytest.raises(WrongPin):
            fail()


@pytest.fixture
def staffed(kiosk: Kiosk) -> Kiosk:
    kiosk.staff.add("M01", "店长 陈", "manager", "888888", card=MANAGER_CARD)
    kiosk.staff.add("C01", "收银 赵", "cashier", "000000", card=CASHIER_CARD)
    return kiosk


# --- the kiosk: card + PIN for managers, locks that lift -------------------------------------------------------


def test_a_managers_card_asks_for_the_pin_and_a_locked_pin_refuses_even_the_card(staffed: Kiosk) -> None:
    with pytest.raises(PinNeeded) as asked:
        staffed.staff.login_card(MANAGER_CARD)
    assert asked.value.staff.staff_no == "M01"
    assert staffed.staff.login_card(MANAGER_CARD, "888888").role == "manager"
    assert staffed.staff.login_card(CASHIER_CARD).role == "cashier"  # a card alone: a cashier at most
    assert staffed.staff.login_pin("M01", "888888").role == "cashier"  # a PIN alone too
    _lock(lambda: staffed.staff.login_pin("M01", "111111"))  # anyone at the picker
    with pytest.raises(PinLocked, match="ask a manager to unlock"):
        staffed.staff.login_card(MANAGER_CARD, "888888")
    with pytest.raises(PinLocked):
        staffed.staff.login_card(MANAGER_CARD)
    _lock(lambda: staffed.staff.login_pin("C01", "111111"))
    with pytest.raises(PinLocked):
        staffed.staff.login_card(CASHIER_CARD)


def test_a_pin_lock_runs_out_by_itself_for_staff_and_members(staffed: Kiosk, clock) -> None:
    _lock(lambda: staffed.staff.login_pin("M01", "111111"))
    clock.advance(LOCK_MS - 1_000)
    with pytest.raises(PinLocked, match="try again in 1 min"):
        staffed.staff.login_card(MANAGER_CARD, "888888")
    clock.advance(1_000)
    assert staffed.staff.login_card(MANAGER_CARD, "888888").role == "manager"

    member = staffed.members.register(Registration(phone="13800138000", consent=True, pin="123456")).member.member_id
    _lock(lambda: staffed.members.check_pin(member, "000000"))
    with pytest.raises(PinLocked):
        staffed.members.check_pin(member, "123456")
    clock.advance(LOCK_MS)
    staffed.members.check_pin(member, "123456")
    _lock(lambda: staffed.members.check_pin(member, "000000"))  # a lock run out starts a fresh count of 5


def test_a_manager_unlocks_a_staff_pin_and_the_ledger_says_who(staffed: Kiosk) -> None:
    _lock(lambda: staffed.staff.login_pin("C01", "111111"))
    with pytest.raises(PinLocked):
        staffed.staff.authenticate("C01", "000000")
    manager = staffed.staff.login_card(MANAGER_CARD, "888888")
    event = staffed.staff.unlock("C01", manager)
    assert (event.type, event.operator, event.data) == ("staff.pin_unlocked", "M01", {"staff_no": "C01"})
    assert staffed.staff.authenticate("C01", "000000").staff_no == "C01"


def test_stored_value_needs_the_members_pin_whoever_operates_and_a_locked_pin_refuses(staffed: Kiosk) -> None:
    staffed.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    staffed.sales.load_catalog(CATALOG)
    member = staffed.members.register(Registration(phone="13800138000", consent=True, pin="123456")).member.member_id
    top_up(staffed.members, member, 10_000, operator="C01")
    tea = [BasketLine("TEA-500")]
    with pytest.raises(WrongPin, match="PIN"):
        staffed.sales.checkout(member, tea, tender=TenderRequest(stored_value=True), operator="C01")
    _lock(lambda: staffed.members.check_pin(member, "000000"))
    with pytest.raises(PinLocked):
        staffed.sales.checkout(member, tea, tender=TenderRequest(stored_value=True), pin="123456", operator="C01")
    with pytest.raises(Exception, match="only a manager"):
        staffed.sales.checkout(member, tea, tender=TenderRequest(stored_value=True), operator="C01", override=True)
    sale = staffed.sales.checkout(member, tea, tender=TenderRequest(stored_value=True), operator="M01", override=True)
    assert [(e.type, e.operator) for e in sale.events][-1] == ("staff.override", "M01")
    assert sale.events[-1].data == {"what": "stored_value_pin"} and sale.events[-1].txn == sale.sale_id


# --- the command line: --staff NO, PINs from the terminal or stdin, exit 2 and nothing written -------------------


def _events(cli) -> list[tuple]:
    with sqlite3.connect(cli.data_dir / "ledger.sqlite") as conn:
        return conn.execute("SELECT type, operator FROM events ORDER BY pos").fetchall()


@pytest.fixture
def shop(cli, tmp_path: Path) -> str:
    load_demo_shop(cli, tmp_path)
    cli("staff", "add", "M01", "店长 陈", "--role", "manager", "--card", MANAGER_CARD, input=M01)  # nobody to vouch
    cli("staff", "add", "C01", "收银 赵", "--staff", "M01", input=M01 + C01)
    member = cli("members", "add", "--phone", "13800138000", "--consent", "--pin", "123456", "--json").json()
    cli("topup", member["member_id"], "100", "--staff", "C01", input=C01)
    return member["member_id"]


def test_money_commands_refuse_without_a_valid_credential_and_write_nothing(cli, shop) -> None:
    before = _events(cli)
    refused = [
        cli("topup", shop, "50", check_rc=2),  # nobody named
        cli("topup", shop, "50", "--staff", "C01", "--pin", "000000", input=C01, check_rc=2),  # never from argv
        cli("topup", shop, "50", "--staff", "C01", input="", check_rc=2),  # nothing on stdin
        cli("topup", shop, "50", "--staff", "C01", input="111111\n", check_rc=2),  # wrong PIN
        cli("topup", shop, "50", "--staff", "X99", input=C01, check_rc=2),  # no such staff
        cli("topup", shop, "50", "--operator", "M01", "--staff", "C01", input=C01, check_rc=2),  # unchecked operator
        cli("checkout", "--member", shop, "--sku", "TEA-500", "--stored-value", "--staff", "C01", input=C01,
            check_rc=2),  # no member PIN
        cli("checkout", "--member", shop, "--sku", "TEA-500", "--stored-value", "--staff", "C01",
            input=C01 + "000000\n", check_rc=2),  # a wrong member PIN
        cli("checkout", "--member", shop, "--sku", "TEA-500", "--stored-value", "--override", "--staff", "C01",
            input=C01, check_rc=2),  # a cashier cannot override
        cli("members", "erase", shop, "--yes", "--staff", "C01", input=C01, check_rc=2),  # a manager's job
        cli("staff", "add", "C02", "x", input="000000\n", check_rc=2),  # a manager exists now: they must vouch
        cli("staff", "unlock", "C01", "--staff", "C01", input=C01, check_rc=2),
        cli("restore", str(cli.data_dir / "none.tar.gz"), check_rc=2),
    ]
    assert "--staff" in refused[0].stderr and "unrecognized arguments: --pin" in refused[1].stderr
    assert "nothing on stdin" in refused[2].stderr and "wrong PIN, 4 tries left" in refused[3].stderr
    assert "--operator does not apply" in refused[5].stderr
    assert "PIN of member" in refused[6].stderr and "wrong PIN" in refused[7].stderr
    assert "a manager must do this" in refused[8].stderr and "a manager must do this" in refused[9].stderr
    assert "needs a manager" in refused[10].stderr
    # only the two PIN failure counts were written (members' and staff's rows), never an event
    assert _events(cli) == before
    assert len(cli("staff", "list", "--json").json()) == 2


def test_money_commands_record_the_authenticated_staff_member(cli, shop) -> None:
    cli("topup", shop, "20", "--staff", "C01", input=C01)
    sale = cli("checkout", "--member", shop, "--sku", "TEA-500", "--stored-value", "--staff", "C01", "--json",
               input=C01 + "123456\n").json()
    assert sale["totals"]["stored_value"] > 0
    override = cli("checkout", "--member", shop, "--sku", "TEA-500", "--stored-value", "--override",
                   "--staff", "M01", "--json", input=M01).json()
    cli("refund", sale["sale_id"], "--staff", "M01", input=M01)
    rows = _events(cli)
    assert ("stored_value.topped_up", "C01") in rows and ("sale.completed", "C01") in rows
    assert ("staff.override", "M01") in rows and ("sale.refunded", "M01") in rows
    assert all(operator in ("C01", "M01") for type_, operator in rows if type_ in (
        "stored_value.topped_up", "sale.completed", "sale.refunded", "staff.override"))
    assert override["totals"]["stored_value"] > 0


def test_a_cashier_locked_out_at_the_command_line_is_unlocked_by_a_manager_or_by_time(cli, shop, tmp_path,
                                                                                      monkeypatch) -> None:
    for _ in range(5):
        cli("staff", "clock", "in", "C01", input="111111\n", check_rc=2)
    assert "PIN locked" in cli("staff", "clock", "in", "C01", input=C01, check_rc=2).stderr
    assert "unlocked by 店长 陈" in cli("staff", "unlock", "C01", "--staff", "M01", input=M01).stdout
    cli("staff", "clock", "in", "C01", input=C01)
    assert ("staff.pin_unlocked", "M01") in _events(cli)

    config = tmp_path / "kiosk.toml"  # the lock's length is configuration: seconds here
    config.write_text("[pins]\nlock_seconds = 4\n", encoding="utf-8")
    monkeypatch.setenv("MEMBERKIOSK_CONFIG", str(config))
    for _ in range(5):
        cli("staff", "clock", "out", "C01", input="111111\n", check_rc=2)
    assert "try again in 1 min" in cli("staff", "clock", "out", "C01", input=C01, check_rc=2).stderr
    time.sleep(4.1)
    cli("staff", "clock", "out", "C01", input=C01)
