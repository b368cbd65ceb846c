"""Reports on a small ledger made through the real services, against rows computed by hand from the demo rulebook
and catalog (TEA-500 ¥3.50, CHIPS ¥7.50, MILK-1L ¥12.80, NUTS ¥99.99; coupon TEA5 ¥5 off tea; 充500送50)."""
from __future__ import annotations

import sqlite3
from typing import Iterator

import pytest

from core.quote_input import BasketLine, TenderRequest
from kiosk.demo.pricing import seed_pricing
from kiosk.reports import Period, ReportError, run
from kiosk.reports.model import Inputs
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store import ledger
from kiosk.app import Kiosk
from tests.conftest import T0, FakeClock

HOUR = 3600 * 1000
DAY = 24 * HOUR


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    """Two days: a member's cash sale with a coupon and a guest's, then a stored-value sale and a refund of the tea;
    a cashier's 8-hour shift and a manager's shift still open. Made once: the tests only read it."""
    home = tmp_path_factory.mktemp("reports")
    clock = FakeClock()
    with Kiosk.open(home / "data", clock=clock, kiosk_id="k1", store_id="s1", key_dir=home / "keys") as kiosk:
        _fill(kiosk, clock)
        yield kiosk


def _fill(kiosk: Kiosk, clock: FakeClock) -> None:
    seed_pricing(kiosk)
    cashier = kiosk.staff.add("C01", "收银 赵", "cashier", "000000")
    manager = kiosk.staff.add("M01", "店长 陈", "manager", "888888")
    zhang = kiosk.members.register(Registration(phone="13800138000", consent=True, name="张伟", pin="123456"))
    member = zhang.member.member_id
    top_up(kiosk.members, member, 50_000, kiosk.sales.docs.current().rules)
    kiosk.staff.punch(cashier, True)
    clock.advance(HOUR)
    first = kiosk.sales.checkout(member, [BasketLine("TEA-500", 2), BasketLine("CHIPS", 1)], ["TEA5"],
                                 TenderRequest(cash=2_000))
    kiosk.sales.checkout(None, [BasketLine("MILK-1L", 1)], tender=TenderRequest())  # external payment
    clock.advance(7 * HOUR)
    kiosk.staff.punch(cashier, False)
    clock.advance(DAY - 8 * HOUR)
    kiosk.staff.punch(manager, True)
    clock.advance(2 * HOUR)
    kiosk.sales.checkout(member, [BasketLine("NUTS", 1)], tender=TenderRequest(stored_value=True), pin="123456")
    kiosk.sales.refund(first.sale_id, [0])  # the tea: ¥7.00 less its ¥5.00 coupon share goes back in cash
    clock.advance(HOUR)
    kiosk.reports.catch_up()


def _report(kiosk, name, by="day", days=2, inputs=None):
    period = Period.last(days, kiosk.clock.local(T0 + DAY).date())
    with kiosk.db.reading() as conn:
        return run(name, conn.cursor(), "?", period, None, inputs or _inputs(kiosk, period), by)


def _inputs(kiosk, period):
    return Inputs(kiosk.sales.catalog(), kiosk.sales.docs.current().rules, {"C01": "收银 赵"}, kiosk.clock.now_ms())


def test_sales_by_day_product_and_tender_match_the_hand_computed_rows(shop) -> None:
    day1, day2 = (shop.clock.local(T0 + n * DAY).date() for n in (0, 1))
    by_day = _report(shop, "sales")
    # day 1: 700 + 750 - 500 (TEA5) = 950, and the guest's 1280; day 2: 9999 on stored value, the tea's 200 back
    assert [r[:2] + r[2:3] + r[-1:] for r in by_day.rows] == [(day1, 2, 0, 2_230), (day2, 1, 1, 9_799)]
    assert by_day.totals["net"] == 12_029 and by_day.totals["gross"] == 700 + 750 + 1_280 + 9_999 - 700
    products = {r[0]: r[2:] for r in _report(shop, "sales", "product").rows}
    assert products == {"TEA-500": (0, 0, 0, 0), "CHIPS": (1, 750, 0, 750), "MILK-1L": (1, 1_280, 0, 1_280),
                        "NUTS": (1, 9_999, 0, 9_999)}
    tenders = {r[0]: r[1] for r in _report(shop, "sales", "tender").rows}
    assert tenders == {"现金 cash": 950 - 200, "储值 stored value": 9_999, "积分抵扣 points": 0,
                       "次卡 punch card": 0, "其他支付 external": 1_280}
    assert {r[0]: r[-1] for r in _report(shop, "sales", "category").rows} == {
        "snacks": 10_749, "dairy": 1_280, "drinks": 0}
    hours = _report(shop, "sales", "hour")
    assert len(hours.rows) == 24 and sum(r[1] for r in hours.rows) == 3
    with pytest.raises(ReportError, match="choose one of"):
        _report(shop, "sales", "weekday")


def test_liability_and_stored_value_equal_the_fold_of_the_balances(shop) -> None:
    with shop.db.reading() as conn:
        members = [m for (m,) in conn.execute("SELECT member_id FROM members")]
        balances = [ledger.load_balances(conn, m) for m in members]
    points = sum(b.points for b in balances)
    assert points > 0
    liability = {r[0]: r[2:] for r in _report(shop, "liability").rows}
    assert liability["outstanding"] == (points, (points * 4_000 * 2 + 1_000) // 2_000)  # 1000 points = ¥40
    assert liability["opening"][0] + liability["issued"][0] + liability["redeemed"][0] + liability["expired"][0] \
        + liability["adjusted"][0] == points
    stored = {r[0]: r[2] for r in _report(shop, "stored-value").rows}
    assert stored == {"opening": 0, "sold": 50_000, "bonus": 5_000, "spent": -9_999, "other": 0,
                      "outstanding": sum(b.stored_value for b in balances)}
    assert stored["outstanding"] == 50_000 + 5_000 - 9_999


def test_coupons_top_up_brackets_and_stock(shop) -> None:
    promos = _report(shop, "coupons").rows
    assert ("券 coupon", "TEA5", 1, 500, 0, 0) in promos
    assert ("充值档 top-up", "充500送50", 1, 5_000, 0, 0) in promos
    stock = {r[0]: r[2:] for r in _report(shop, "stock").rows}
    assert stock["NUTS"] == (39, 5, 1, "正常 ok") and stock["TEA-500"] == (200, 24, 0, "正常 ok")
    assert _report(shop, "stock").rows[0][0] == "WINE-82"  # 3 left at a low-stock level of 3: listed first


def test_attendance_pairs_clockings_and_counts_an_open_shift_to_now(shop) -> None:
    report = _report(shop, "attendance")
    assert report.records() == [
        {"staff": "C01", "name": "收银 赵", "shifts": 1, "minutes": 8 * 60, "open": 0, "unpaired": 0},
        {"staff": "M01", "name": "", "shifts": 1, "minutes": 3 * 60, "open": 1, "unpaired": 0},
    ]
    assert any("M01" in note for note in report.notes)


def test_the_same_sql_runs_in_the_hubs_placeholder_style(shop) -> None:
    """'%s' as psycopg takes it: a cursor that turns it back into '?' proves no '?' was left in the text."""
    class PercentCursor:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.cur = conn.cursor()

        def execute(self, sql: str, params: tuple = ()) -> None:
            assert "?" not in sql
            self.cur.execute(sql.replace("%s", "?"), params)

        def fetchall(self) -> list:
            return self.cur.fetchall()

        def fetchmany(self, n: int) -> list:
            return self.cur.fetchmany(n)

    period = Period.last(2, shop.clock.local(T0 + DAY).date())
    inputs = _inputs(shop, period)
    with shop.db.reading() as conn:
        for name in ("sales", "liability", "stored-value", "coupons", "attendance", "rfm", "churn"):
            assert run(name, PercentCursor(conn), "%s", period, "s1", inputs) == run(name, conn.cursor(), "?", period,
                                                                                  None, inputs)
        assert run("sales", conn.cursor(), "?", period, "elsewhere", inputs).totals["net"] == 0


def test_member_analytics_and_recommendations(shop) -> None:
    rfm = _report(shop, "rfm", days=365)
    assert rfm.totals["members"] == 1 and rfm.totals["monetary"] == 950 - 200 + 9_999
    assert _report(shop, "churn", days=365).rows[0][2] == 1  # active
    assert _report(shop, "classes", days=365).rows[3][1] == 1  # two visits: class D
    member = shop.members.by_phone("13800138000").member.member_id
    # the only pair is TEA+CHIPS; the member's tea was refunded, so tea is new to them (NUTS, the last sale's, never)
    assert [p.sku for p in shop.reports.recommendations(member)] == ["TEA-500"]
    assert shop.reports.recommendations("k1-999999") == []
    assert shop.reports.today().totals["sales"] == 1


def test_a_rebuild_reports_its_progress_and_gives_the_same_report(shop) -> None:
    before = _report(shop, "sales", "product")
    shop.reports.follower.rewind()
    seen: list[int] = []
    shop.reports.catch_up(seen.append)
    position, end = shop.reports.backlog()
    assert seen and seen[-1] == position == end
    assert _report(shop, "sales", "product") == before
