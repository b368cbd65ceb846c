"""Issue 9, defect 9: erasure strands money.

`members erase` was allowed at any balance, and a refund after erasure credited stored value to the erased
account, where it could never be spent or paid out. Now a balance is paid out first (a staff-recorded cash-out)
or the erasure is refused, and a refund to an erased member goes to cash.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.errors import NotAllowed
from core.events import CUSTOMER, POINTS_ADJUSTED, EventDraft
from kiosk.services.members import BalanceOutstanding, Registration
from tests.pricing.conftest import load_demo_shop

M01 = "888888\n"
MANAGER = ("--staff", "M01")


@pytest.fixture
def member(cli, tmp_path: Path) -> str:
    """A member with ¥100 of stored value, points from a purchase, and a punch card."""
    load_demo_shop(cli, tmp_path)
    cli("staff", "add", "M01", "店长 陈", "--role", "manager", input=M01)
    member_id = cli("members", "add", "--phone", "13800138000", "--consent", "--pin", "123456", "--json").json()["member_id"]
    cli("topup", member_id, "100", *MANAGER, input=M01)
    return member_id


def _rows(cli, sql: str) -> list[tuple]:
    with sqlite3.connect(cli.data_dir / "ledger.sqlite") as conn:
        return conn.execute(sql).fetchall()


def test_erasing_a_member_who_holds_money_is_refused_until_it_is_paid_out(cli, member) -> None:
    cli("checkout", "--member", member, "--sku", "WASH-10", "--cash", "300", *MANAGER, input=M01)  # visits and points
    held = cli("members", "find", "--id", member, "--json").json()
    assert held["stored_value_fen"] == 10_000 and held["points"] > 0 and held["visits"] == {"WASH-10": 10}
    events = _rows(cli, "SELECT COUNT(*) FROM events")

    refused = cli("members", "erase", member, "--yes", *MANAGER, input=M01, check_rc=2)
    assert f"member {member} still holds ¥100.00 stored value, {held['points']} points, 10 visits of WASH-10" \
           in refused.stderr and "--cash-out" in refused.stderr
    assert _rows(cli, "SELECT COUNT(*) FROM events") == events
    assert cli("members", "find", "--id", member, "--json").json()["erased"] is False

    erased = cli("members", "erase", member, "--yes", "--cash-out", *MANAGER, "--json", input=M01).json()
    assert erased["erased"] and (erased["stored_value_fen"], erased["points"]) == (0, 0)
    assert not any(erased["visits"].values())
    [(data, deltas, operator)] = _rows(cli, "SELECT data, deltas, operator FROM events WHERE type = "
                                            "'member.balance_settled'")
    assert operator == "M01" and '"cash":10000' in data and '"stored_value":-10000' in deltas
    assert '"visits":{"WASH-10":-10}' in deltas
    assert cli("verify").returncode == 0


def test_a_refund_to_an_erased_member_goes_to_cash(cli, member) -> None:
    sale = cli("checkout", "--member", member, "--sku", "TEA-500:2", "--stored-value", *MANAGER, "--json",
               input=M01 + "123456\n").json()
    paid = sale["totals"]["stored_value"]
    assert paid == 700
    cli("members", "erase", member, "--yes", "--cash-out", *MANAGER, input=M01)  # ¥93.00 handed over in cash

    refund = cli("refund", sale["sale_id"], *MANAGER, "--json", input=M01).json()
    assert (refund["cash"], refund["stored_value"]) == (paid, 0)
    assert "stored_value" not in refund["deltas"] and "points" not in refund["deltas"]
    after = cli("members", "find", "--id", member, "--json").json()
    assert (after["stored_value_fen"], after["points"]) == (0, 0)  # nothing stranded on the closed account
    assert cli("verify").returncode == 0


def test_only_staff_pay_out_and_points_alone_also_need_settling(kiosk) -> None:
    member = kiosk.members.register(Registration(phone="13800138000", consent=True)).member.member_id
    kiosk.members.commit([EventDraft(POINTS_ADJUSTED, member, {"reason": "gift"}, {"points": 5})], "M01")
    with pytest.raises(BalanceOutstanding, match="still holds 5 points"):
        kiosk.members.erase(member, operator="M01")
    with pytest.raises(NotAllowed, match="only staff"):
        kiosk.members.erase(member, operator=CUSTOMER, cash_out=True)
    kiosk.members.erase(member, operator="M01", cash_out=True)
    assert kiosk.members.get(member).balances.points == 0
    empty = kiosk.members.register(Registration(phone="13900139000", consent=True)).member.member_id
    kiosk.members.erase(empty, operator=CUSTOMER)  # nothing held: nothing to settle
