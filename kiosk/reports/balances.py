"""What the shop owes its members (points at the redemption rate, stored value) and what its promotions cost:
coupons, top-up brackets and punch cards. Balances come from fact_moves, whose deltas fold to every balance."""
from __future__ import annotations

from typing import NamedTuple

from core.events import POINTS_EXPIRED, SALE_COMPLETED, SALE_REFUNDED, TOPPED_UP, VISITS_SOLD
from core.money import format_fen
from core.rules import Redemption, Rules, TopupBracket
from kiosk.reports.model import FEN, ChartSpec, Column, Inputs, Report, ReportError
from kiosk.reports.sql import Facts

ITEM = Column("item", "项目 Item")


class Moves(NamedTuple):
    """One event type's sums over fact_moves in the period."""

    points: int
    points_gained: int  # the positive deltas only
    stored_value: int
    paid: int
    bonus_value: int
    visits_gained: int
    visits_used: int  # positive: visits spent
    count: int


def moves_by_type(facts: Facts) -> dict[str, Moves]:
    """{event type: sums of its moves in the period}."""
    where, params = facts.where("m")
    rows = facts.rows(
        "SELECT t.value, SUM(m.points), SUM(CASE WHEN m.points > 0 THEN m.points ELSE 0 END), SUM(m.stored_value), "
        "SUM(m.paid), SUM(m.bonus_value), SUM(CASE WHEN m.visits > 0 THEN m.visits ELSE 0 END), "
        "SUM(CASE WHEN m.visits < 0 THEN -m.visits ELSE 0 END), COUNT(*) "
        f"FROM fact_moves m JOIN fact_dict t ON t.kind = 'type' AND t.id = m.type WHERE {where} GROUP BY t.value",
        params)
    return {kind: Moves(*(int(v or 0) for v in rest)) for kind, *rest in rows}


def _balance(facts: Facts, column: str) -> tuple[int, int]:
    """(opening, closing) balance of `column` over every move up to the period's start and end."""
    where, params = facts.where("m", from_start=True)
    closing, before = facts.rows(
        f"SELECT SUM(m.{column}), SUM(CASE WHEN m.day < ? THEN m.{column} ELSE 0 END) FROM fact_moves m WHERE {where}",
        [facts.period.from_day, *params])[0]
    return int(before or 0), int(closing or 0)


def points_value(points: int, redemption: Redemption) -> int:
    """What `points` pay at the redemption rate, in fen rounded half up (1000 points = ¥40: 1234 points = 4936)."""
    return (2 * points * redemption.value + redemption.points) // (2 * redemption.points)


def _rules(inputs: Inputs) -> Rules:
    if inputs.rules is None:
        raise ReportError("this report values balances by the rulebook: load one with 'memberkiosk rules load'")
    return inputs.rules


def liability(facts: Facts, inputs: Inputs) -> Report:
    """Points issued, redeemed, expired and outstanding, each with its value at the rulebook's redemption rate."""
    redemption = _rules(inputs).redemption
    moves = moves_by_type(facts)
    where, params = facts.where("s")
    earned, used = (int(v or 0) for v in facts.rows(
        f"SELECT SUM(s.earned), SUM(s.points_used) FROM fact_sales s WHERE {where} AND s.kind = 1", params)[0])
    others = {k: m for k, m in moves.items() if k not in (SALE_COMPLETED, POINTS_EXPIRED)}
    issued = earned + sum(m.points_gained for k, m in others.items() if k != SALE_REFUNDED)
    expired = -moves[POINTS_EXPIRED].points if POINTS_EXPIRED in moves else 0
    adjusted = sum(m.points - (m.points_gained if k != SALE_REFUNDED else 0) for k, m in others.items())
    opening, closing = _balance(facts, "points")
    items = (("opening", "期初积分 Opening", opening), ("issued", "发放 Issued", issued),
             ("redeemed", "抵扣 Redeemed", -used), ("expired", "过期 Expired", -expired),
             ("adjusted", "退款与调整 Refunds and adjustments", adjusted),
             ("outstanding", "未兑积分 Outstanding", closing))
    rows = [(key, label, points, points_value(points, redemption)) for key, label, points in items]
    columns = (Column("key", "键 Key"), ITEM, Column("points", "积分 Points"), Column("value", "折合 Value", FEN))
    notes = (f"积分负债 liability: {closing} points = {format_fen(points_value(closing, redemption))} "
             f"at {redemption.points} points = {format_fen(redemption.value)}",)
    return Report("liability", "积分负债 Points liability", columns, rows, {"value": points_value(closing, redemption)},
                  ChartSpec("bar", "item", ("points",)), facts.period, notes)


def stored_value(facts: Facts, _inputs: Inputs) -> Report:
    """Stored value sold, bonus given, spent, given back or paid out, and outstanding (all in fen)."""
    moves = moves_by_type(facts)
    empty = Moves(0, 0, 0, 0, 0, 0, 0, 0)
    topups, spent = moves.get(TOPPED_UP, empty), -moves.get(SALE_COMPLETED, empty).stored_value
    other = sum(m.stored_value for k, m in moves.items() if k not in (TOPPED_UP, SALE_COMPLETED))
    opening, closing = _balance(facts, "stored_value")
    rows = [("opening", "期初余额 Opening", opening), ("sold", "充值 Sold", topups.paid),
            ("bonus", "赠送 Bonus given", topups.bonus_value), ("spent", "消费 Spent", -spent),
            ("other", "退款与结清 Refunds and pay-outs", other), ("outstanding", "储值余额 Outstanding", closing)]
    columns = (Column("key", "键 Key"), ITEM, Column("amount", "金额 Amount", FEN))
    return Report("stored-value", "储值 Stored value", columns, rows, {"amount": closing},
                  ChartSpec("bar", "item", ("amount",)), facts.period)


PROMO_COLUMNS = (Column("kind", "类别 Kind"), Column("name", "名称 Name"), Column("count", "次数 Count"),
                 Column("amount", "金额 Amount", FEN), Column("points", "积分 Points"), Column("visits", "次卡次数 Visits"))


def coupons(facts: Facts, inputs: Inputs) -> Report:
    """Coupons used and what they cost, top-up brackets used and their bonus, punch-card visits sold and used."""
    where, params = facts.where("c", store_of="s")  # a reinstated coupon's row is the refund's, its cost negative
    used = facts.rows(
        "SELECT d.value, SUM(CASE WHEN c.reinstated = 0 THEN 1 ELSE -1 END), SUM(c.cost) FROM fact_coupons c "
        "JOIN fact_sales s ON s.kiosk = c.sale_kiosk AND s.seq = c.sale_seq "
        f"JOIN fact_dict d ON d.kind = 'coupon' AND d.id = c.coupon WHERE {where} GROUP BY d.value", params)
    rows = [("券 coupon", code, int(n or 0), int(cost or 0), 0, 0) for code, n, cost in sorted(used)]
    where, params = facts.where("m")
    brackets = facts.rows(
        "SELECT m.bonus_value, m.bonus_points, COUNT(*), SUM(m.paid) FROM fact_moves m "
        f"JOIN fact_dict t ON t.kind = 'type' AND t.id = m.type WHERE t.value = ? AND {where} "
        "GROUP BY m.bonus_value, m.bonus_points", [TOPPED_UP, *params])
    topup = inputs.rules.topup if inputs.rules else ()
    rows += [("充值档 top-up", _bracket_name(int(v or 0), int(p or 0), topup), n, int(v or 0), int(p or 0), 0)
             for v, p, n, _paid in sorted(brackets, key=lambda r: (r[0] or 0, r[1] or 0))]
    moves = moves_by_type(facts)
    sold, spent = moves.get(VISITS_SOLD), moves.get(SALE_COMPLETED)
    if sold:
        rows.append(("计次卡 punch card", "售出 sold", sold.count, 0, 0, sold.visits_gained))
    if spent and spent.visits_used:
        rows.append(("计次卡 punch card", "使用 used", None, 0, 0, spent.visits_used))  # visits, not sales, count
    return Report("coupons", "优惠券、充值档与次卡 Coupons, top-up brackets and punch cards", PROMO_COLUMNS, rows,
                  {}, ChartSpec("bar", "name", ("count",)), facts.period)  # kinds differ: no total adds them up


def _bracket_name(bonus_value: int, bonus_points: int, brackets: tuple[TopupBracket, ...]) -> str:
    """The rulebook's bracket that gives this bonus (充500送50), else the bonus itself (the rules changed since)."""
    for b in sorted(brackets, key=lambda b: b.min_amount):
        if (b.bonus_value, b.bonus_points) == (bonus_value, bonus_points):
            gift = f"送{_yuan(b.bonus_value)}" if b.bonus_value else f"赠{b.bonus_points}积分"
            return f"充{_yuan(b.min_amount)}{gift}"
    if not bonus_value and not bonus_points:
        return "无赠送 no bonus"
    return f"赠 {format_fen(bonus_value)} + {bonus_points} 积分"


def _yuan(fen: int) -> str:
    """Yuan as shops write them in a bracket's name: 500, or 99.50."""
    return str(fen // 100) if fen % 100 == 0 else format_fen(fen, "")
