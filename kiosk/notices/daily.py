"""The daily run: birthday wishes and points-expiry reminders, each missed day caught up once, never twice.

The kiosk remembers the last day it ran (`notice_days`, written in the same transaction as that day's notices).
A run on day T does every day after the last one up to T in order, each in its own transaction; a kiosk off for
three days does those three days when it comes back. Scheduled notices are keyed by (member, template, date), so
even a day run twice (a restored backup) queues nothing new. Birthdays of a missed day are wished at most
`notify.birthday_late_days` late, else skipped; an expiry reminder is still made while its points have not expired.
A kiosk only schedules notices for the members it registered (member numbers KIOSK-NNNNNN), so the kiosks of a
chain, which all know every member, do not each wish them a happy birthday.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from core.notices import MemberFacts, is_reminder_day, scheduled
from core.points import expiring_points
from core.rules import Rules
from kiosk.clock import Clock
from kiosk.notices import outbox
from kiosk.notices.sender import due_in
from kiosk.notices.settings import NoticeSettings
from kiosk.store import members
from kiosk.store.db import Database

log = logging.getLogger(__name__)
MAX_CATCH_UP_DAYS = 60  # a kiosk off longer than this does only the last 60 days: older reminders are moot


@dataclass
class DailyReport:
    """The days this run did and how many notices it queued."""

    days: list[dt.date] = field(default_factory=list)
    queued: int = 0

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {"days": [d.isoformat() for d in self.days], "queued": self.queued}


def days_to_run(last: dt.date | None, today: dt.date) -> list[dt.date]:
    """The days after `last` up to `today` (only today on a first run), at most MAX_CATCH_UP_DAYS of them."""
    first = today if last is None else max(last + dt.timedelta(days=1), today - dt.timedelta(days=MAX_CATCH_UP_DAYS - 1))
    return [first + dt.timedelta(days=n) for n in range((today - first).days + 1)]


def run_daily(db: Database, clock: Clock, kiosk_id: str, settings: NoticeSettings, rules: Rules | None,
              today: dt.date | None = None) -> DailyReport:
    """Queue the scheduled notices of every day not yet done, up to `today` (default: the shop's date now)."""
    today = today or clock.today()
    report = DailyReport()
    with db.reading() as conn:
        last = outbox.last_day(conn)
    for day in days_to_run(dt.date.fromisoformat(last) if last else None, today):
        with db.transaction() as conn:
            facts = _facts(conn, clock, kiosk_id, day, settings, rules)
            made = scheduled(day, today, facts, settings.policy)
            created = clock.local()
            report.queued += outbox.add(conn, [(n, due_in(settings, created, True, clock)) for n in made],
                                        clock.now_ms())
            outbox.set_last_day(conn, day.isoformat())
        report.days.append(day)
    if report.days:
        log.info("daily notices: %s, %d queued", ", ".join(map(str, report.days)), report.queued)
    return report


def _facts(conn, clock: Clock, kiosk_id: str, day: dt.date, settings: NoticeSettings,
           rules: Rules | None) -> list[MemberFacts]:
    """The members registered here, with what the day's notices need (points history only on a reminder day)."""
    own = [m for m in members.all_members(conn)
           if m.member_id.startswith(f"{kiosk_id}-") and m.erased_at is None and m.phone]
    expiring: dict[str, int] = {}
    if rules is not None and is_reminder_day(day, settings.policy):
        for member_id, moves in outbox.points_history(conn, [m.member_id for m in own]).items():
            history = [(d, delta) for d, delta in ((clock.local(ts).date(), delta) for ts, delta in moves) if d <= day]
            expiring[member_id] = expiring_points(history, day, rules)[0]
    return [MemberFacts(m.member_id, m.birthday, m.marketing_consent_at is not None, expiring.get(m.member_id, 0))
            for m in own]
