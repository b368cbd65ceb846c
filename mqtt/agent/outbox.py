"""The ledger as the outbox: publish what the hub has not acknowledged, a bounded window of messages at a time.

A lane is one up feed (own events by sequence, own directory changes by feed position). It remembers only marks:
`acked` (durable at the kiosk, from the hub's acks), `sent` (the last mark published) and the last mark of each
message in flight. It reads the ledger again from `sent` whenever the window has room, at most MAX_BATCH items a
read, so memory stays bounded however long the kiosk was offline. paho keeps what it has not delivered in memory
only, so after a reconnect, an ack timeout or a `resend_from`, the lane rewinds and reads again: the hub dedupes.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Iterator, Sequence

from mqtt import messages

Rows = Sequence[tuple[int, Any]]  # (mark, item) in mark order
Reader = Callable[[int, int], Rows]  # (after mark, limit) -> rows
Packer = Callable[[Rows], Iterator[tuple[bytes, int]]]  # rows -> (payload, last mark it carries), in order
Publish = Callable[[str, bytes], None]


class Lane:
    """One up feed: at most `window` messages beyond the hub's acknowledgement, resent when no ack comes."""

    def __init__(self, name: str, topic: str, read: Reader, pack: Packer, acked: int, window: int = 8,
                 ack_timeout: float = 5.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.name, self.topic, self._read, self._pack = name, topic, read, pack
        self.window, self.ack_timeout, self._monotonic = window, ack_timeout, monotonic
        self.acked = self.sent = acked
        self.inflight: deque[int] = deque()  # the last mark of each message not yet acknowledged
        self.read_ahead = 0  # items read from the ledger beyond `acked` (what the window bounds), for tests
        self._waiting_since = 0.0  # when the oldest message in flight started waiting for an ack
        self.resends = 0

    def pump(self, publish: Publish) -> int:
        """Publish from `sent` while the window has room; returns how many messages went out."""
        published = 0
        while len(self.inflight) < self.window:
            rows = self._read(self.sent, messages.MAX_BATCH)
            if not rows:
                break
            self.read_ahead = max(self.read_ahead, rows[-1][0] - self.acked)
            for payload, mark in self._pack(rows):
                if not self.inflight:
                    self._waiting_since = self._monotonic()
                publish(self.topic, payload)
                self.inflight.append(mark)
                self.sent = mark
                published += 1
                if len(self.inflight) >= self.window:
                    break
        return published

    def ack(self, acked: int) -> None:
        """The hub committed everything up to `acked` (a durable watermark the kiosk stored first)."""
        if acked <= self.acked:
            return
        self.acked = acked
        self.sent = max(self.sent, acked)
        while self.inflight and self.inflight[0] <= acked:
            self.inflight.popleft()
        self._waiting_since = self._monotonic()

    def resend_from(self, mark: int) -> None:
        """The hub lacks `mark` (a gap): publish again from there."""
        self._rewind(mark - 1)

    def rewind(self) -> None:
        """Publish again from the hub's acknowledgement (after a reconnect: paho's queue is gone)."""
        self._rewind(self.acked)

    def check_timeout(self) -> bool:
        """Rewind when messages wait longer than `ack_timeout` for an ack; True when it did."""
        if self.inflight and self._monotonic() - self._waiting_since > self.ack_timeout:
            self.resends += 1
            self.rewind()
            return True
        return False

    @property
    def due_in(self) -> float | None:
        """Seconds until the ack timeout of what is in flight, or None with nothing in flight."""
        if not self.inflight:
            return None
        return max(0.0, self._waiting_since + self.ack_timeout - self._monotonic())

    def _rewind(self, mark: int) -> None:
        self.sent = max(mark, 0)
        self.inflight.clear()
