"""The outbox on a real kiosk: events queue their notices once, the daily run catches up once, the sender talks to
a fake SMS provider over HTTP with backoff, and consent is checked again at send time."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.notices import Policy
from core.quote_input import BasketLine, TenderRequest
from kiosk.app import Kiosk
from kiosk.clock import DAY_MS, Clock
from kiosk.demo.pricing import seed_pricing
from kiosk.followers.notices import NoticesFollower
from kiosk.followers.runner import catch_up, replay
from kiosk.notices import outbox
from kiosk.notices.daily import run_daily
from kiosk.notices.gateways import HttpSmsGateway
from kiosk.notices.sender import Sender
from kiosk.notices.settings import NoticeSettings
from kiosk.services.members import Registration
from kiosk.services.topup import shop_rules, top_up
from tests.conftest import FakeClock
from tests.notify.conftest import APP_KEY, SECRET

SETTINGS = NoticeSettings(Policy(), "zh_CN", True, max_attempts=3, retry_s=30.0, shop="鲜果超市")
T0 = int(dt.datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def shop(tmp_path: Path, fake: FakeClock):
    k = Kiosk.open(tmp_path / "data", clock=Clock(fake, ZoneInfo("Asia/Shanghai")), kiosk_id="k1", store_id="s1")
    seed_pricing(k)
    yield k
    k.close()


def _sender(k: Kiosk, url: str, timeout_s: float = 5.0) -> Sender:
    return Sender(k.db, k.clock, HttpSmsGateway(url, APP_KEY, SECRET, timeout_s), lambda: SETTINGS)


def _rows(k: Kiosk) -> list[outbox.Row]:
    with k.db.reading() as conn:
        return sorted(outbox.listing(conn, [outbox.QUEUED, outbox.SENT, outbox.FAILED, outbox.CANCELLED]),
                      key=lambda r: r.id)


def test_events_make_their_notices_once_and_the_provider_gets_them(shop, sms):
    fake_sms, url = sms
    follower = NoticesFollower(shop.db, shop.clock, "k1", lambda: SETTINGS)  # turned on now: starts at the end
    m = shop.members.register(Registration(phone="13800138000", consent=True, name="张三", pin="123456")).member
    top_up(shop.members, m.member_id, 2_000, shop_rules(shop.docs), operator="M01")
    shop.sales.checkout(m.member_id, [BasketLine("TEA-500", 1)], tender=TenderRequest(stored_value=True),
                        pin="123456", operator="C01")
    catch_up(shop.db, follower)
    assert [r.template for r in _rows(shop)] == ["registered", "topped_up", "sale", "low_balance"]
    replay(shop.db, follower)  # the whole ledger again: nothing new
    assert len(_rows(shop)) == 4

    assert _sender(shop, url).send_due() == {"sent": 4}
    assert {r.status for r in _rows(shop)} == {"sent"}
    texts = [text for _phone, text in fake_sms.delivered.values()]
    assert texts[0] == "【鲜果超市】张三您好，欢迎成为会员！您的会员号是k1-000001。"
    assert texts[1] == "【鲜果超市】您已充值¥20.00，储值余额¥20.00。"
    assert "储值余额仅剩" in texts[3] and {p for p, _t in fake_sms.delivered.values()} == {"13800138000"}
    assert _sender(shop, url).send_due() == {}  # nothing is sent twice


def test_failures_back_off_then_succeed_and_a_refusal_is_kept_visible(shop, sms, fake):
    fake_sms, url = sms
    follower = NoticesFollower(shop.db, shop.clock, "k1", lambda: SETTINGS)
    for phone in ("13800138001", "13800138002"):
        shop.members.register(Registration(phone=phone, consent=True))
    catch_up(shop.db, follower)
    fake_sms.script.extend(["429", "400", "500", "timeout", "ok"])
    fake_sms.late_s = 0.6
    sender = _sender(shop, url, timeout_s=0.3)
    assert sender.send_due() == {"retrying": 1, "failed": 1}  # rate-limited: later; invalid number: given up
    first, second = _rows(shop)
    assert first.next_at == T0 + 30_000 and first.last_error.startswith("SMS provider answered HTTP 429")
    assert second.status == "failed" and "InvalidPhone" in second.last_error
    assert sender.send_due() == {}  # not due yet
    fake.advance(30_000)
    assert sender.send_due() == {"retrying": 1}  # 500
    assert _rows(shop)[0].next_at == fake.now + 60_000  # doubled
    fake.advance(60_000)
    assert sender.send_due() == {"failed": 1}  # a timeout, the third attempt: max_attempts reached
    assert "not reachable" in _rows(shop)[0].last_error
    with shop.db.transaction() as conn:  # `notify retry --all`
        assert outbox.retry(conn, fake.now) == 2
    assert sender.send_due() == {"sent": 2}
    assert list(fake_sms.delivered) == [first.key, second.key]  # the late answer was delivered once, not twice
    assert fake_sms.requests[first.key] == 4
    with shop.db.reading() as conn:
        assert [o for _at, o, _d in outbox.attempts_of(conn, first.id)] == ["queued", "queued", "failed", "sent"]


def test_consent_and_erasure_are_checked_again_when_sending(shop, sms, fake):
    fake_sms, url = sms
    with_consent = shop.members.register(Registration(phone="13800138001", consent=True, marketing=True,
                                                      birthday=dt.date(1990, 11, 19))).member
    without = shop.members.register(Registration(phone="13800138002", consent=True,
                                                 birthday=dt.date(1991, 11, 19))).member
    assert with_consent.marketing_consent_at == T0 and without.marketing_consent_at is None
    report = run_daily(shop.db, shop.clock, "k1", SETTINGS, None, dt.date(2026, 11, 19))
    assert report.queued == 1 and _rows(shop)[0].key == f"{with_consent.member_id}:birthday:2026-11-19"
    shop.members.edit(with_consent.member_id, marketing=False)  # withdrawn before it went out
    fake.advance(DAY_MS)
    assert _sender(shop, url).send_due() == {"cancelled": 1} and fake_sms.delivered == {}

    erased = shop.members.register(Registration(phone="13800138003", consent=True, marketing=True)).member
    follower = NoticesFollower(shop.db, shop.clock, "k1", lambda: SETTINGS)
    follower.rewind()
    catch_up(shop.db, follower)
    shop.members.erase(erased.member_id, operator="M01")
    assert shop.members.get(erased.member_id).member.marketing_consent_at is None
    assert _sender(shop, url).send_due()["cancelled"] == 1  # its welcome message: the member is gone
    assert all(phone != "13800138003" for phone, _t in fake_sms.delivered.values())


def test_scheduled_notices_wait_for_the_end_of_quiet_hours(shop, sms, fake):
    fake_sms, url = sms
    shop.members.register(Registration(phone="13800138001", consent=True, marketing=True, birthday=dt.date(1990, 11, 19)))
    fake.now = T0 + 13 * 3_600_000 + 10 * 60_000  # 23:10 on the 18th, Shanghai
    run_daily(shop.db, shop.clock, "k1", SETTINGS, None, dt.date(2026, 11, 19))
    assert _rows(shop)[0].next_at == T0 + 22 * 3_600_000  # 08:00 on the 19th
    assert _sender(shop, url).send_due() == {}
    fake.now = T0 + 22 * 3_600_000
    assert _sender(shop, url).send_due() == {"sent": 1}


def test_daily_run_twice_makes_nothing_new_and_three_missed_days_are_caught_up_once(shop):
    for n, birthday in enumerate((dt.date(1990, 11, 18), dt.date(1990, 11, 19), dt.date(1990, 11, 20),
                                  dt.date(1990, 11, 21), dt.date(1990, 11, 14))):
        shop.members.register(Registration(phone=f"1380013800{n}", consent=True, marketing=True, birthday=birthday))
    first = run_daily(shop.db, shop.clock, "k1", SETTINGS, None, dt.date(2026, 11, 18))
    assert first.as_dict() == {"days": ["2026-11-18"], "queued": 1}
    again = run_daily(shop.db, shop.clock, "k1", SETTINGS, None, dt.date(2026, 11, 18))
    assert again.as_dict() == {"days": [], "queued": 0}
    # off on the 19th, 20th and 21st: the run of the 21st does each of those days once
    back = run_daily(shop.db, shop.clock, "k1", SETTINGS, None, dt.date(2026, 11, 21))
    assert back.as_dict() == {"days": ["2026-11-19", "2026-11-20", "2026-11-21"], "queued": 3}
    assert run_daily(shop.db, shop.clock, "k1", SETTINGS, None, dt.date(2026, 11, 21)).queued == 0
    keys = sorted(r.key.split(":", 1)[1] for r in _rows(shop))
    assert keys == ["birthday:2026-11-18", "birthday:2026-11-19", "birthday:2026-11-20", "birthday:2026-11-21"]
    with shop.db.transaction() as conn:  # a restored backup forgot the last day: the keys still hold
        conn.execute("DELETE FROM notice_days")
    assert run_daily(shop.db, shop.clock, "k1", SETTINGS, None, dt.date(2026, 11, 21)).queued == 0
