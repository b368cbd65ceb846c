"""Member analytics as reports: RFM segments, A/B/C/D classes, churn states and the at-risk list, computed by the
analytics kernels (native, or core's reference) on the visits one scan of fact_sales gives."""
from __future__ import annotations

import datetime as dt
from array import array
from typing import NamedTuple

import native
from core.analytics import CLASS_NAMES, NEVER, SEGMENTS, STATES, AnalyticsSettings, RfmResult
from kiosk.facts import load
from kiosk.reports.model import FEN, PERCENT, ChartSpec, Column, Inputs, Report, share, totals_of
from kiosk.reports.sql import Facts


VISIT_COLUMNS = ("member", "day", "amount")


class Visits(NamedTuple):
    """Per-visit columns for the kernels: member (its fact_dict id), local day, the sale's net after refunds (fen)."""

    member: array
    day: array
    amount: array
    n_members: int  # member ids run 0..n_members-1


def scan_visits(facts: Facts) -> Visits:
    """Every member sale up to the period's end, refunds netted into their sale; a sale refunded whole is no visit."""
    where, params = facts.where("s", from_start=True)
    found = load.columns(facts.cursor, facts.sql(
        "SELECT MAX(s.member), MAX(CASE WHEN s.kind = 1 THEN s.day ELSE -1 END), SUM(s.net) FROM fact_sales s "
        f"WHERE s.member >= 0 AND {where} GROUP BY s.sale_kiosk, s.sale_seq "
        "HAVING SUM(CASE WHEN s.kind = 1 THEN 1 ELSE 0 END) = 1 AND SUM(s.gross) > 0"), VISIT_COLUMNS, params)
    top = facts.value("SELECT MAX(id) FROM fact_dict WHERE kind = 'member'")  # ids run from 0 without gaps
    return Visits(*(found[c] for c in VISIT_COLUMNS), int(top) + 1 if top is not None else 0)


def _settings(inputs: Inputs) -> AnalyticsSettings:
    return inputs.rules.analytics if inputs.rules is not None else AnalyticsSettings()


def _rfm(facts: Facts) -> RfmResult:
    v = scan_visits(facts)
    return native.rfm(v.member, v.day, v.amount, v.n_members, facts.period.to_day, facts.period.days)


def rfm(facts: Facts, _inputs: Inputs) -> Report:
    """The eight RFM segments of the members who bought in the period: how many, and what they spent."""
    result = _rfm(facts)
    members, spent = [0] * len(SEGMENTS), [0] * len(SEGMENTS)
    for seg, money in zip(result.segment, result.monetary):
        if seg >= 0:
            members[seg] += 1
            spent[seg] += money
    whole = sum(members)
    rows = [(s.zh_CN, s.en, n, share(n, whole), money, money // n if n else 0)
            for s, n, money in zip(SEGMENTS, members, spent)]
    columns = (Column("segment", "客户分群 Segment"), Column("segment_en", "Segment (en)"), Column("members", "人数 Members"),
               Column("share", "占比 Share", PERCENT), Column("monetary", "消费 Spent", FEN),
               Column("average", "人均 Per member", FEN))
    return Report("rfm", "RFM 客户分群 RFM segments", columns, rows, totals_of(columns, rows, ["members", "monetary"]),
                  ChartSpec("grid", "segment", ("members",)), facts.period)


def classes(facts: Facts, inputs: Inputs) -> Report:
    """A/B/C/D classes, by visits and spend in the period, of the members who bought in it."""
    result = _rfm(facts)
    found = native.classes(result.frequency, result.monetary, _settings(inputs).classes)
    members, visits, spent = [0] * 4, [0] * 4, [0] * 4
    for c, f, money in zip(found, result.frequency, result.monetary):
        if f:
            members[c], visits[c], spent[c] = members[c] + 1, visits[c] + f, spent[c] + money
    rows = [(name, members[i], visits[i], spent[i]) for i, name in enumerate(CLASS_NAMES)]
    columns = (Column("class", "等级 Class"), Column("members", "人数 Members"), Column("visits", "到店 Visits"),
               Column("monetary", "消费 Spent", FEN))
    return Report("classes", "ABCD 客户分类 A/B/C/D classes", columns, rows,
                  totals_of(columns, rows, ["members", "visits", "monetary"]), ChartSpec("bar", "class", ("members",)),
                  facts.period)


def churn(facts: Facts, inputs: Inputs) -> Report:
    """How many members are active, lapsing, lapsed or dormant at the period's end, by days since the last visit."""
    v = scan_visits(facts)
    last = native.aggregate(v.member, v.day, v.amount, v.n_members, facts.period.to_day, facts.period.days).last_day
    states = native.churn_states(last, facts.period.to_day, _settings(inputs).churn)
    counts = [0] * len(STATES)
    never = 0
    for s in states:
        if s == NEVER:
            never += 1
        else:
            counts[s] += 1
    whole = sum(counts)
    rows = [(zh, en, n, share(n, whole)) for (zh, en), n in zip(STATES, counts)]
    columns = (Column("state", "状态 State"), Column("state_en", "State (en)"), Column("members", "人数 Members"),
               Column("share", "占比 Share", PERCENT))
    notes = (f"{never} members in the facts never bought anything",) if never else ()
    return Report("churn", "流失预警 Churn states", columns, rows, totals_of(columns, rows, ["members"]),
                  ChartSpec("bar", "state", ("members",)), facts.period, notes)


def at_risk(facts: Facts, inputs: Inputs) -> Report:
    """Members whose time since their last visit is well beyond their own rhythm, the most overdue first."""
    settings = _settings(inputs)
    v = scan_visits(facts)
    found = native.at_risk(v.member, v.day, v.n_members, facts.period.to_day, settings.at_risk_percentile,
                           settings.at_risk_min_visits)
    numbers = facts.names("member", [r.member for r in found])
    asof = facts.period.to_day
    rows = sorted(((numbers.get(r.member, str(r.member)), dt.date.fromordinal(asof - r.gap), r.gap, r.usual_gap)
                   for r in found), key=lambda row: (row[3] - row[2], row[0]))
    columns = (Column("member", "会员号 Member"), Column("last_visit", "最近到店 Last visit"),
               Column("gap", "未到店天数 Days away"), Column("usual_gap", "通常间隔 Usual gap (days)"))
    return Report("at-risk", "流失风险会员 Members at risk", columns, rows, {},
                  ChartSpec("bar", "member", ("gap",)), facts.period)
