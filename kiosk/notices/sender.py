"""Delivers due notices through a gateway, recording each attempt; failures wait with exponential backoff.

A message is sent outside any transaction (the network must not hold the ledger's write lock) and recorded
after. A crash between the two sends it again on restart with the same idempotency key, which the provider
uses to drop the copy: at-least-once here, exactly-once at the provider. Whether the member may still get it
(erased, consent withdrawn, account notices switched off) is checked again at send time.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Callable

from core.notices import earliest_send, backoff_s, may_send, render
from kiosk.background import BackgroundLoop
from kiosk.clock import Clock
from kiosk.notices import outbox
from kiosk.notices.gateways import Gateway, Message, SendFailed
from kiosk.notices.settings import NoticeSettings
from kiosk.store import members
from kiosk.store.db import Database

log = logging.getLogger(__name__)
BATCH = 50


class Sender:
    """One pass over the due notices: send, then record the outcome of each."""

    def __init__(self, db: Database, clock: Clock, gateway: Gateway, settings: Callable[[], NoticeSettings]) -> None:
        self.db, self.clock, self.gateway, self._settings = db, clock, gateway, settings

    def send_due(self, limit: int = BATCH) -> Counter:
        """Send up to `limit` due notices; returns how many ended sent, retrying, failed, cancelled or postponed."""
        settings, outcome = self._settings(), Counter()
        with self.db.reading() as conn:
            rows = outbox.due(conn, self.clock.now_ms(), limit)
        for row in rows:
            outcome[self._one(row, settings)] += 1
        return outcome

    def _one(self, row: outbox.Row, settings: NoticeSettings) -> str:
        now = self.clock.now_ms()
        local = self.clock.local(now)
        if row.scheduled:  # a scheduled notice that came due while the kiosk was off may meet quiet hours
            at = earliest_send(local, True, settings.policy)
            if at > local:
                with self.db.transaction() as conn:
                    outbox.postpone(conn, row.id, now + round((at - local).total_seconds() * 1000))
                return "postponed"
        with self.db.reading() as conn:
            member = members.get(conn, row.member_id)
        marketing = member is not None and member.marketing_consent_at is not None
        erased = member is None or member.erased_at is not None or not member.phone
        if not may_send(row.template, marketing, settings.transactional, erased):
            with self.db.transaction() as conn:
                outbox.record(conn, row.id, now, outbox.CANCELLED, "no longer allowed: member erased, no phone, "
                              "consent withdrawn or account notices switched off")
            return outbox.CANCELLED
        text = render(row.template, row.params, settings.shop, member.name, settings.language)
        try:
            self.gateway.send(Message(row.key, member.phone, text, row.template))
        except SendFailed as exc:
            return self._failed(row, exc, settings)
        with self.db.transaction() as conn:
            outbox.record(conn, row.id, self.clock.now_ms(), outbox.SENT)
        return outbox.SENT

    def _failed(self, row: outbox.Row, exc: SendFailed, settings: NoticeSettings) -> str:
        now, tries = self.clock.now_ms(), row.attempts + 1
        give_up = not exc.retryable or tries >= settings.max_attempts
        retry_at = None if give_up else now + round(backoff_s(tries, settings.retry_s) * 1000)
        with self.db.transaction() as conn:
            outbox.record(conn, row.id, now, outbox.FAILED if give_up else outbox.QUEUED, str(exc), retry_at)
        log.warning("notice %s (%s) not sent, try %d: %s%s", row.id, row.template, tries, exc,
                    "; given up (memberkiosk notify retry)" if give_up else "")
        return outbox.FAILED if give_up else "retrying"


class SenderLoop(BackgroundLoop):
    """The kiosk's background sender: a pass every `poll_s`, or at once when woken (a notice was queued)."""

    thread_name = "notices-sender"

    def __init__(self, sender: Sender, poll_s: float = 5.0) -> None:
        self.sender, self._poll_s = sender, poll_s
        super().__init__()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while sum(self.sender.send_due().values()) and not self._stop.is_set():
                    pass  # a full batch: more may be due
            except Exception:  # a full disk or a bug: keep the thread, the outbox keeps the messages
                log.exception("sending notices failed; trying again in %.0f s", self._poll_s)
            self._wake.wait(self._poll_s)


def due_in(settings: NoticeSettings, created: dt.datetime, scheduled: bool, clock: Clock) -> int:
    """The first send time (ms) of a notice made at local time `created`."""
    at = earliest_send(created, scheduled, settings.policy)
    return clock.now_ms() + round((at - created).total_seconds() * 1000)
