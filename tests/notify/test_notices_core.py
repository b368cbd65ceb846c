"""core.notices: templates in both languages, consent classes, quiet hours, the daily schedule and backoff."""
from __future__ import annotations

import datetime as dt

import pytest

from core import directory
from core.notices import (MARKETING, TEMPLATES, TRANSACTIONAL, MemberFacts, Policy, UnknownTemplate, backoff_s,
                          birthday_in, earliest_send, kind_of, may_send, render, scheduled)

POLICY = Policy(low_balance=2000, expiry_days=30, birthday_late_days=2)


def test_every_template_renders_in_both_languages_with_the_shop_name() -> None:
    params = {"member": "k1-000001", "amount_fen": 50000, "bonus_fen": 0, "balance_fen": 1250, "paid_fen": 3990,
              "earned": 39, "points": 1200, "delta": -50, "tier": "gold", "previous": "silver", "date": "2026-12-31"}
    for name in TEMPLATES:
        zh = render(name, params, "鲜果超市", "张三", "zh_CN")
        en = render(name, params, "Fresh Mart", None, "en")
        assert zh.startswith("【鲜果超市】") and en.startswith("[Fresh Mart]")
        assert "{" not in zh + en
    assert render("topped_up", {**params, "bonus_fen": 10000}, "鲜果超市", None) == \
        "【鲜果超市】您已充值¥500.00，赠送¥100.00，储值余额¥12.50。"
    assert render("points_adjusted", params, "S", None, "en") == "[S] Your points changed by -50. Points: 1200."
    assert render("birthday", {}, "S", None) == "【S】会员，祝您生日快乐！本月到店有生日惊喜。"  # no name: a neutral word
    with pytest.raises(UnknownTemplate):
        render("coupon_blast", {}, "S", None)


def test_birthday_wishes_are_marketing_and_need_consent() -> None:
    assert kind_of("birthday") == MARKETING and kind_of("sale") == kind_of("points_expiring") == TRANSACTIONAL
    assert not may_send("birthday", marketing_consent=False, transactional_on=True, erased=False)
    assert may_send("birthday", marketing_consent=True, transactional_on=False, erased=False)
    assert may_send("sale", marketing_consent=False, transactional_on=True, erased=False)
    assert not may_send("sale", marketing_consent=True, transactional_on=False, erased=False)  # the shop's setting
    assert not may_send("sale", marketing_consent=True, transactional_on=True, erased=True)


def test_quiet_hours_hold_scheduled_notices_until_they_end() -> None:
    at = lambda h, m=0, d=18: dt.datetime(2026, 11, d, h, m)  # noqa: E731
    assert earliest_send(at(22, 30), True, POLICY) == at(8, 0, 19)  # overnight: the next morning
    assert earliest_send(at(3, 0), True, POLICY) == at(8, 0)  # after midnight: this morning
    assert earliest_send(at(8, 0), True, POLICY) == at(8, 0)  # quiet hours end at 08:00 sharp
    assert earliest_send(at(20, 59), True, POLICY) == at(20, 59)
    assert earliest_send(at(22, 30), False, POLICY) == at(22, 30)  # an account notice answers the member at once
    daytime = Policy(quiet_start=dt.time(12, 0), quiet_end=dt.time(14, 0))
    assert earliest_send(at(13, 0), True, daytime) == at(14, 0) and earliest_send(at(11, 0), True, daytime) == at(11)
    assert earliest_send(at(23, 0), True, Policy(quiet_start=dt.time(0), quiet_end=dt.time(0))) == at(23)  # none


def test_birthdays_on_the_day_late_only_within_the_limit_and_leap_day() -> None:
    members = [MemberFacts("k1-000001", dt.date(1990, 11, 20), True),
               MemberFacts("k1-000002", dt.date(1990, 11, 20), False),  # no consent: no wish
               MemberFacts("k1-000003", dt.date(2000, 2, 29), True)]
    day = dt.date(2026, 11, 20)
    assert [n.key for n in scheduled(day, day, members, POLICY)] == ["k1-000001:birthday:2026-11-20"]
    assert len(scheduled(day, day + dt.timedelta(days=2), members, POLICY)) == 1  # two days late: still wished
    assert scheduled(day, day + dt.timedelta(days=3), members, POLICY) == []  # three days late: skipped
    assert [n.member_id for n in scheduled(dt.date(2027, 2, 28), dt.date(2027, 2, 28), members, POLICY)] == ["k1-000003"]
    assert birthday_in(2028, dt.date(2000, 2, 29)) == dt.date(2028, 2, 29)


def test_expiry_reminder_falls_n_days_before_year_end_and_survives_a_late_catch_up() -> None:
    m = [MemberFacts("k1-000001", None, False, expiring=800), MemberFacts("k1-000002", None, False, expiring=0)]
    day = dt.date(2026, 12, 1)  # 30 days before 31 December
    notices = scheduled(day, dt.date(2026, 12, 5), m, POLICY)
    assert [(n.key, n.params["points"], n.scheduled) for n in notices] == [
        ("k1-000001:points_expiring:2026-12-31", 800, True)]
    assert scheduled(day - dt.timedelta(days=1), day, m, POLICY) == []
    assert scheduled(day, dt.date(2027, 1, 1), m, POLICY) == []  # caught up after they expired: moot


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff_s(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_s(20, 30) == 3600


def test_marketing_consent_replicates_per_field_and_erasure_clears_it() -> None:
    def change(i: str, ts: int, kind: str, **fields: object) -> directory.Change:
        return directory.Change(i, "k1-000001", "k1", ts, kind, fields)

    reg = change("a", 1, directory.REGISTERED, phone="13800138000", marketing_consent_at=1)
    withdrawn = change("b", 3, directory.EDITED, marketing_consent_at=None)
    assert directory.merge("k1-000001", [reg]).get("marketing_consent_at") == 1
    assert directory.merge("k1-000001", [withdrawn, reg]).get("marketing_consent_at") is None  # any order
    erased = directory.merge("k1-000001", [reg, change("c", 2, directory.ERASED)])
    assert erased.get("marketing_consent_at") is None and erased.erased_at == 2
    assert "marketing_consent_at" not in directory.scrub(reg).fields
