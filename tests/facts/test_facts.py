"""The sales facts of a small real ledger made through the services: rows checked by hand, rebuild == incremental,
a rewrite changes nothing, liabilities equal the fold's, and simulate reads the same history the ledger holds."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bench.facts import history_from_ledger, sales_of
from core.events import SYSTEM
from core.ledger import fold
from core.points import topup_drafts
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from kiosk.facts.writer import FactWriter
from kiosk.followers.facts import FactsFollower
from kiosk.followers.runner import catch_up, replay
from kiosk.services.history import load_history
from kiosk.services.members import Registration
from kiosk.store import cursors
from tests.facts.shop import DAY_MS, fact_dict, facts
from tests.pricing.conftest import CATALOG, DEMO, RULES
from tests.store.shop import foreign_sale

PIN = "123456"


@pytest.fixture
def ledger(kiosk, clock):
    """A member's top-up with a bracket bonus, a sale with a coupon, points and stored value, a refund of one of its
    lines, a guest's sale, a clock-in and out, and two years on, an expiry of points."""
    sales = kiosk.sales
    sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    sales.load_catalog(CATALOG)
    member = kiosk.members.register(Registration(phone="13800138000", consent=True, birthday=dt.date(1990, 5, 17),
                                                 pin=PIN)).member.member_id
    kiosk.members.commit(topup_drafts(member, 200_000, RULES))  # 充2000赠送2000积分
    manager = kiosk.staff.add("M01", "陈", "manager", "888888")
    kiosk.staff.punch(manager, True)
    sale = sales.checkout(member, [L("NUTS"), L("TEA-500", 2), L("CHIPS")], ["WELCOME10"],
                          TenderRequest(points=1000, stored_value=True), pin=PIN)
    refund = sales.refund(sale.sale_id, [1], operator="M01")
    guest = sales.checkout(None, [L("TEA-500"), L("CHIPS", 2)], tender=TenderRequest(cash=10_000))
    kiosk.staff.punch(manager, False)
    clock.advance(2 * 365 * DAY_MS)
    expired = kiosk.points.expire()
    return {"member": member, "sale": sale, "refund": refund, "guest": guest, "expired": expired}


def test_rows_of_a_small_ledger_checked_by_hand(kiosk, ledger):
    follower = FactsFollower(kiosk.db, kiosk.clock)
    assert catch_up(kiosk.db, follower) > 0
    sale, [refund, *_], member = ledger["sale"], ledger["refund"], ledger["member"]
    q = sale.quote
    ids = fact_dict(kiosk)
    k1, m = ids["kiosk", "k1"], ids["member", member]
    rows = facts(kiosk)
    line_sum = {key: sum(getattr(line, key) for line in q.lines) for key in ("gross", "net", "coupon", "earned")}
    s = rows["fact_sales"][k1, sale.events[0].seq]
    assert (s["kind"], s["member"], s["tier"], s["items"], s["lines"]) == (1, m, ids["tier", "普通"], 4, 3)
    assert (s["gross"], s["coupon"], s["net"], s["points_used"], s["earned"]) == (
        line_sum["gross"], line_sum["coupon"], line_sum["net"], 1000, line_sum["earned"])
    assert s["coupon"] > 0 and s["coupon_code"] == ids["coupon", "WELCOME10"] and s["coupons"] == 1
    assert s["net"] == s["points_fen"] + s["stored_value"] + s["cash"] + s["external"] + s["visits_fen"]
    assert s["day"] == dt.date(2026, 11, 18).toordinal()
    # the refund of line 1 (two green teas): its amounts negative, naming the sale
    r = rows["fact_sales"][k1, refund.seq]
    tea = q.lines[1]
    assert (r["kind"], r["sale_kiosk"], r["sale_seq"], r["items"], r["gross"], r["net"]) == (
        -1, k1, sale.events[0].seq, -2, -tea.gross, -tea.net)
    assert r["stored_value"] == -refund.data["stored_value"] and r["earned"] == -refund.data["points_clawed"]
    assert rows["fact_lines"][k1, refund.seq, 1]["qty"] == -2 and (k1, refund.seq, 0) not in rows["fact_lines"]
    # the coupon cost its sale's whole coupon share
    [coupon] = [c for c in rows["fact_coupons"].values() if c["reinstated"] == 0]
    assert (coupon["coupon"], coupon["sale_seq"], coupon["cost"]) == (ids["coupon", "WELCOME10"], sale.events[0].seq,
                                                                      line_sum["coupon"])
    # moves: the top-up with its bonus, the sale, the refund, the expiry
    by_type = {ids.value("type", row["type"]): row for row in rows["fact_moves"].values()}
    assert set(by_type) == {"stored_value.topped_up", "sale.completed", "sale.refunded", "points.expired"}
    top = by_type["stored_value.topped_up"]
    assert (top["paid"], top["stored_value"], top["bonus_points"], top["points"]) == (200_000, 200_000, 2000, 2000)
    assert by_type["points.expired"]["points"] == ledger["expired"][0].deltas["points"] < 0
    # shifts: in, then out
    assert sorted(row["dir"] for row in rows["fact_shifts"].values()) == [-1, 1]
    # pairs: the member's three SKUs and the guest's two
    assert all(a < b for a, b in rows["fact_pairs"])
    pairs = {frozenset((ids.value("sku", a), ids.value("sku", b))): n for (a, b), n in rows["fact_pairs"].items()}
    assert pairs == {frozenset(("CHIPS", "NUTS")): 1, frozenset(("NUTS", "TEA-500")): 1,
                     frozenset(("CHIPS", "TEA-500")): 2}


def test_liabilities_over_the_moves_equal_the_fold(kiosk, ledger):
    kiosk.members.commit(topup_drafts(ledger["member"], 200_000, RULES))  # points again, after the expiry
    catch_up(kiosk.db, FactsFollower(kiosk.db, kiosk.clock))
    with kiosk.db.reading() as conn:
        events = [event for _pos, event in cursors.events_after(conn, 0, 10**9)]
        points, stored, visits = conn.execute(
            "SELECT SUM(points), SUM(stored_value), SUM(visits) FROM fact_moves").fetchone()
        by_member = dict(conn.execute("SELECT d.value, SUM(m.points) FROM fact_moves m JOIN fact_dict d ON "
                                      "d.kind = 'member' AND d.id = m.member GROUP BY d.value"))
    members, _stock = fold(events)
    assert points == sum(b.points for b in members.values()) and points > 0
    assert stored == sum(b.stored_value for b in members.values()) > 0
    assert visits == sum(sum(b.visits.values()) for b in members.values())
    assert by_member == {m: b.points for m, b in members.items() if b.points or m in by_member}


def test_rebuild_from_zero_equals_following_step_by_step(kiosk, clock):
    follower = FactsFollower(kiosk.db, kiosk.clock)
    sales = kiosk.sales
    sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    sales.load_catalog(CATALOG)
    member = kiosk.members.register(Registration(phone="13900139000", consent=True, pin=PIN)).member.member_id
    kiosk.members.commit(topup_drafts(member, 50_000, RULES))
    for basket in ([L("NUTS"), L("CHIPS")], [L("TEA-500", 3)], [L("CHIPS"), L("TEA-500")]):
        sale = sales.checkout(member, basket, tender=TenderRequest(stored_value=True), pin=PIN)
        catch_up(kiosk.db, follower)  # as the kiosk's runner does after each commit
    sales.refund(sale.sale_id, operator=SYSTEM)
    foreign_sale(kiosk, "k2")  # ingested from another kiosk of the store: facts too
    catch_up(kiosk.db, follower)
    incremental = facts(kiosk)
    assert replay(kiosk.db, FactsFollower(kiosk.db, kiosk.clock)) > 0
    assert facts(kiosk) == incremental and len(incremental["fact_sales"]) == 5


def test_writing_the_same_events_again_changes_nothing(kiosk, ledger):
    catch_up(kiosk.db, FactsFollower(kiosk.db, kiosk.clock))
    before = facts(kiosk)
    with kiosk.db.transaction() as conn:
        events = [event for _pos, event in cursors.events_after(conn, 0, 10**9)]
        FactWriter(conn.cursor(), "?", lambda event_id: None).write(events, kiosk.clock.tz)
    assert facts(kiosk) == before  # pairs not counted twice, refunds not re-resolved to nothing


def test_simulate_reads_the_same_history_as_the_ledger_holds(kiosk, ledger):
    old = history_from_ledger(kiosk.db)
    new = load_history(kiosk.db, kiosk.clock)
    assert new.count == old.count == 2
    assert sales_of(new) == sales_of(old)
    assert dict(zip(new.skus, new.prices)) == dict(zip(old.skus, old.prices))
    assert dict(zip(new.skus, new.names)) == dict(zip(old.skus, old.names))
    candidate = replace(RULES, earning=replace(RULES.earning, centi_per_yuan=200))
    result = kiosk.whatif.simulate(candidate)
    assert result.sales == 2 and result.candidate.points > result.current.points > 0
