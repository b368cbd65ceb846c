"""Keeps followers caught up with the ledger: woken after each commit of this process, polling for other processes'."""
from __future__ import annotations

import logging
import time
from typing import Sequence

from kiosk.background import BackgroundLoop, cyclic_gc_paused
from kiosk.followers.base import Follower
from kiosk.store import cursors
from kiosk.store.db import Database

log = logging.getLogger(__name__)


def catch_up(db: Database, follower: Follower) -> int:
    """Hand the follower every selected event after its position, batch by batch; returns how many it got."""
    handled = 0
    while True:
        pos = follower.position()
        with cyclic_gc_paused():  # a batch is thousands of events: a facts rebuild ran a third slower without
            with db.reading() as conn:
                end = cursors.max_pos(conn)
                if end <= pos:
                    return handled
                events = cursors.events_after(conn, pos, follower.batch, follower.kiosk_id, follower.types)
            full = len(events) == follower.batch
            follower.handle(events, events[-1][0] if full else end)  # a short batch read everything up to the end
        handled += len(events)
        if not full:
            return handled


def replay(db: Database, follower: Follower) -> int:
    """Run a follower again from the ledger's first event; returns how many events it saw."""
    follower.rewind()
    return catch_up(db, follower)


class FollowerRunner(BackgroundLoop):
    """One background thread for the kiosk's followers; a failing follower is retried later, the others go on.
    `wake()` after a commit; positions are durable, so a stopped runner resumes where it stopped."""

    thread_name = "ledger-followers"

    def __init__(self, db: Database, followers: Sequence[Follower], poll_s: float = 1.0,
                 retry_s: float = 1.0, max_retry_s: float = 60.0) -> None:
        self.db, self.followers = db, list(followers)
        self._poll_s, self._retry_s, self._max_retry_s = poll_s, retry_s, max_retry_s
        self._failures = {f.name: 0 for f in self.followers}
        self._not_before = {f.name: 0.0 for f in self.followers}
        super().__init__()

    def run_once(self) -> None:
        """Catch every follower up whose retry time has come."""
        for follower in self.followers:
            if time.monotonic() < self._not_before[follower.name]:
                continue
            try:
                catch_up(self.db, follower)
                self._failures[follower.name] = 0
            except Exception:  # a follower bug or a full disk: keep the thread, retry this follower later
                failures = self._failures[follower.name] = self._failures[follower.name] + 1
                delay = min(self._retry_s * 2 ** (failures - 1), self._max_retry_s)
                log.exception("ledger follower %s failed (try %d); retrying in %.1f s", follower.name, failures, delay)
                self._not_before[follower.name] = time.monotonic() + delay

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.run_once()
            self._wake.wait(self._poll_s)  # the poll sees commits made by other processes (the CLI)
