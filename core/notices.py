"""Member notifications (SMS): which notice a ledger event or a day makes, who may get it, when, and its words.

A notice is decided from committed facts and keyed for idempotency: an event's notice by (event id, template),
a scheduled one by (member, template, date), so a replay or a catch-up never makes a second message. Its text is
rendered only when it is sent, from the template, the parameters kept with it (amounts, points, tier: no
personal data) and the member's name read at that moment, so the outbox never holds a name in plaintext.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from core import payloads
from core.errors import InvalidInput
from core.events import (MEMBER_REGISTERED, POINTS_ADJUSTED, SALE_COMPLETED, SALE_REFUNDED, TIER_CHANGED, TOPPED_UP,
                         Event)
from core.money import format_fen

TRANSACTIONAL = "transactional"  # about the member's own account: sent while the shop's setting allows them
MARKETING = "marketing"  # greetings and offers: only with the member's marketing consent, never in quiet hours

LANGUAGES = ("zh_CN", "en")
# The events that make a notice (what the outbox follower selects).
EVENT_TYPES = frozenset({MEMBER_REGISTERED, TOPPED_UP, SALE_COMPLETED, SALE_REFUNDED, POINTS_ADJUSTED, TIER_CHANGED})


@dataclass(frozen=True)
class Template:
    """A notice's consent class and its words; `{name}` and `{shop}` are filled in when it is sent."""

    kind: str
    zh_CN: str
    en: str


TEMPLATES: dict[str, Template] = {
    "registered": Template(TRANSACTIONAL, "【{shop}】{name}您好，欢迎成为会员！您的会员号是{member}。",
                           "[{shop}] Welcome, {name}! Your member number is {member}."),
    "topped_up": Template(TRANSACTIONAL, "【{shop}】您已充值{amount_fen}{bonus}，储值余额{balance_fen}。",
                          "[{shop}] You topped up {amount_fen}{bonus}. Stored value: {balance_fen}."),
    "sale": Template(TRANSACTIONAL, "【{shop}】您本次消费{paid_fen}，获得积分{earned}，积分余额{points}，储值余额{balance_fen}。",
                     "[{shop}] You spent {paid_fen} and earned {earned} points. Points: {points}, stored value: "
                     "{balance_fen}."),
    "refund": Template(TRANSACTIONAL, "【{shop}】您的退款{amount_fen}已办理，积分余额{points}，储值余额{balance_fen}。",
                       "[{shop}] Your refund of {amount_fen} is done. Points: {points}, stored value: {balance_fen}."),
    "points_adjusted": Template(TRANSACTIONAL, "【{shop}】您的积分变动{delta:+d}，积分余额{points}。",
                                "[{shop}] Your points changed by {delta:+d}. Points: {points}."),
    "tier_changed": Template(TRANSACTIONAL, "【{shop}】您的会员等级已由{previous}变更为{tier}。",
                             "[{shop}] Your membership tier changed from {previous} to {tier}."),
    "low_balance": Template(TRANSACTIONAL, "【{shop}】您的储值余额仅剩{balance_fen}，欢迎到店充值。",
                            "[{shop}] Your stored value is down to {balance_fen}; top up at the counter."),
    "points_expiring": Template(TRANSACTIONAL, "【{shop}】您有{points}积分将于{date}过期，请及时使用。",
                                "[{shop}] {points} of your points expire on {date}; use them before then."),
    "birthday": Template(MARKETING, "【{shop}】{name}，祝您生日快乐！本月到店有生日惊喜。",
                         "[{shop}] Happy birthday, {name}! A birthday treat waits for you in store."),
}
_NOBODY = {"zh_CN": "会员", "en": "member"}


class UnknownTemplate(InvalidInput):
    """A notice names a template this software does not have (written by a newer version)."""


@dataclass(frozen=True)
class Notice:
    """One message to one member, not yet sent; `key` makes it unique for ever."""

    key: str
    member_id: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)
    scheduled: bool = False  # a daily notice: it waits for the end of quiet hours


@dataclass(frozen=True)
class Policy:
    """The shop's choices: the stored-value alert level, reminder lead time, how late a birthday wish may be, and
    the quiet hours (local times; start > end means overnight)."""

    low_balance: int = 2000  # fen: alert when a spend leaves less than this
    expiry_days: int = 30  # remind this many days before points expire
    birthday_late_days: int = 2  # a missed day's birthday wish goes out at most this many days late
    quiet_start: dt.time = dt.time(21, 0)
    quiet_end: dt.time = dt.time(8, 0)


@dataclass(frozen=True)
class MemberFacts:
    """What the daily run knows of a member: birthday, marketing consent, and the points that expire at the end of
    the day's year (core.points.expiring_points; 0 when not a reminder day)."""

    member_id: str
    birthday: dt.date | None
    marketing: bool
    expiring: int = 0


def template_of(name: str) -> Template:
    """The template called `name`, or UnknownTemplate."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownTemplate(f"notice template '{name}' is unknown to this version; upgrade memberkiosk") from None


def kind_of(template: str) -> str:
    """TRANSACTIONAL or MARKETING."""
    return template_of(template).kind


def may_send(template: str, marketing_consent: bool, transactional_on: bool, erased: bool) -> bool:
    """Whether this member may get this notice now: never after erasure, marketing only with consent."""
    if erased:
        return False
    return marketing_consent if kind_of(template) == MARKETING else transactional_on


def for_event(event: Event, points: int, stored_value: int, policy: Policy) -> list[Notice]:
    """The notices a committed event makes; `points` and `stored_value` are the member's balances right after it."""
    if not event.member_id:
        return []
    made: list[tuple[str, dict[str, Any]]] = []
    p = payloads.of(event) if event.type in EVENT_TYPES else None
    if event.type == MEMBER_REGISTERED:
        made.append(("registered", {"member": event.member_id}))
    elif event.type == TOPPED_UP:
        bonus = p.bonus_value or 0
        made.append(("topped_up", {"amount_fen": p.amount, "bonus_fen": bonus,
                                   "balance_fen": stored_value}))
    elif event.type == SALE_COMPLETED:
        spent = sum(line.stored_value for line in p.lines)
        made.append(("sale", {"paid_fen": sum(line.net for line in p.lines), "earned": sum(line.earned for line in p.lines),
                              "points": points, "balance_fen": stored_value}))
        if spent > 0 and stored_value < policy.low_balance:
            made.append(("low_balance", {"balance_fen": stored_value}))
    elif event.type == SALE_REFUNDED:
        made.append(("refund", {"amount_fen": p.cash + p.external + p.stored_value, "points": points,
                                "balance_fen": stored_value}))
    elif event.type == POINTS_ADJUSTED:
        made.append(("points_adjusted", {"delta": int(event.deltas.get("points", 0)), "points": points}))
    elif event.type == TIER_CHANGED:
        made.append(("tier_changed", {"tier": p.tier, "previous": p.previous}))
    return [Notice(f"{event.id}:{name}", event.member_id, name, params) for name, params in made]



def birthday_in(year: int, birthday: dt.date) -> dt.date:
    """The member's birthday in `year` (29 February is kept on 28 February in other years)."""
    if birthday.month == 2 and birthday.day == 29:
        return dt.date(year, 2, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28)
    return birthday.replace(year=year)


def is_reminder_day(day: dt.date, policy: Policy) -> bool:
    """Whether `day` is `expiry_days` before 31 December, when points earned last year expire (core.points)."""
    return day == dt.date(day.year, 12, 31) - dt.timedelta(days=policy.expiry_days)


def scheduled(day: dt.date, today: dt.date, members: Iterable[MemberFacts], policy: Policy) -> list[Notice]:
    """The daily notices of `day`, run on `today` (later than `day` when a kiosk catches up a missed day).

    Birthday wishes (marketing, so only with consent) go out at most `birthday_late_days` late, else never.
    The expiry reminder falls `expiry_days` before 31 December and is still made on a later catch-up as long as
    the points have not expired yet."""
    out = []
    expiry = dt.date(day.year, 12, 31)
    remind = is_reminder_day(day, policy) and today <= expiry
    late = (today - day).days > policy.birthday_late_days
    for m in members:
        if m.marketing and m.birthday and not late and birthday_in(day.year, m.birthday) == day:
            out.append(Notice(f"{m.member_id}:birthday:{day.isoformat()}", m.member_id, "birthday", {}, True))
        if remind and m.expiring > 0:
            out.append(Notice(f"{m.member_id}:points_expiring:{expiry.isoformat()}", m.member_id, "points_expiring",
                              {"points": m.expiring, "date": expiry.isoformat()}, True))
    return out


def render(template: str, params: Mapping[str, Any], shop: str, name: str | None, language: str = "zh_CN") -> str:
    """The message's text in `language`: amounts (keys ending _fen) as ¥0.00, the member's name or a neutral word."""
    words = getattr(template_of(template), language)
    values = {k: format_fen(v) if k.endswith("_fen") else v for k, v in params.items()}
    bonus = params.get("bonus_fen", 0)
    values["bonus"] = "" if not bonus else (f"，赠送{format_fen(bonus)}" if language == "zh_CN"
                                            else f" (bonus {format_fen(bonus)})")
    return words.format(shop=shop, name=name or _NOBODY[language], **values)


def in_quiet_hours(at: dt.time, policy: Policy) -> bool:
    """Whether a local time falls in the quiet hours [start, end)."""
    start, end = policy.quiet_start, policy.quiet_end
    if start == end:
        return False
    return start <= at < end if start < end else at >= start or at < end


def earliest_send(created: dt.datetime, scheduled_notice: bool, policy: Policy) -> dt.datetime:
    """The local time a notice made at `created` may first be sent.

    A transactional notice answers what the member just did at the counter, so it goes at once; a scheduled one
    (birthday, expiry reminder) never goes in quiet hours: it waits for their end."""
    if not scheduled_notice or not in_quiet_hours(created.time(), policy):
        return created
    end = dt.datetime.combine(created.date(), policy.quiet_end)
    return end if end > created else end + dt.timedelta(days=1)


def backoff_s(attempts: int, base_s: float = 30.0, cap_s: float = 3600.0) -> float:
    """Seconds to wait after the `attempts`-th failure: doubling from `base_s`, at most `cap_s`."""
    return min(base_s * 2 ** max(attempts - 1, 0), cap_s)


def parse_clock_range(text: str) -> tuple[dt.time, dt.time]:
    """Quiet hours written as "21:00-08:00" (start-end, local time; equal times mean none)."""
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise InvalidInput(f"quiet hours '{text}' are not like 21:00-08:00") from None
    return start, end
