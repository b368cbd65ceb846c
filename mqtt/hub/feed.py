"""The hub's answers to a kiosk's pull: pages of other kiosks' events and of the directory feed, after its cursors.

Only events at or below their origin's watermark are served: those are committed and contiguous, so a cursor that
says "up to N" never skips an event, whichever worker commits what. Only events that name a member travel (the
anonymous rest concern no other kiosk), but a page still moves an origin's cursor over anonymous-only ranges.
Pages are spliced from the stored canonical JSON of each event, byte for byte, under the size and count limits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from core import directory as directory_codec
from core.codec import dumps
from mqtt import messages
from mqtt.hub import directory
from mqtt.hub.dialects import Tx

SENDER = "hub"
_ENVELOPE = 400  # bytes of envelope and body keys around a page's list, with room to spare
_PER_CURSOR = 90  # bytes an `upto` entry may take: a 64-character id and a sequence


@dataclass
class Page:
    """One page of a feed: the items' canonical JSON, how far it completes the feed (`upto`), whether more follows."""

    items: list[bytes] = field(default_factory=list)
    upto: Any = field(default_factory=dict)  # {origin: seq} for events, a feed position for the directory
    more: bool = False
    size: int = _ENVELOPE

    def fits(self, text: bytes, extra: int = 0) -> bool:
        """Whether one more item (and `extra` bytes beside it) stays within the limits."""
        return len(self.items) < messages.MAX_BATCH and self.size + len(text) + 1 + extra <= messages.MAX_PAYLOAD

    def add(self, text: bytes) -> None:
        self.items.append(text)
        self.size += len(text) + 1


def events_page(tx: Tx, requester: str, cursors: Mapping[str, int], restore: int | None) -> Page:
    """Events of every other kiosk after the requester's cursors (with `restore`, its own after that sequence too,
    anonymous ones included: a restoring kiosk needs its whole tail), in (origin, seq) order."""
    page = Page()
    for origin, watermark in tx.rows("SELECT kiosk_id, watermark FROM kiosks ORDER BY kiosk_id"):
        own = origin == requester
        if own and restore is None:
            continue
        after = restore if own else cursors.get(origin, 0)
        if watermark <= after:
            continue
        if page.size + _PER_CURSOR > messages.MAX_PAYLOAD or not _fill(tx, page, origin, after, watermark, own):
            page.more = True
            break
    return page


def _fill(tx: Tx, page: Page, origin: str, after: int, watermark: int, everything: bool) -> bool:
    """Add the origin's events after `after` up to its watermark while they fit (only those naming a member unless
    `everything`); whether its range was completed. An anonymous-only range completes with no event."""
    room = messages.MAX_BATCH - len(page.items)
    rows = tx.rows("SELECT seq, body FROM events WHERE kiosk_id = ? AND seq > ? AND seq <= ?"
                   + ("" if everything else " AND member_id IS NOT NULL") + " ORDER BY seq LIMIT ?",
                   (origin, after, watermark, room + 1))
    page.size += _PER_CURSOR
    upto = after
    for seq, body in rows[:room]:
        text = body.encode()
        if not page.fits(text):
            break
        page.add(text)
        upto = seq
    else:
        if len(rows) <= room:
            upto = watermark
    if upto > after:
        page.upto[origin] = upto
    return upto == watermark


def directory_page(tx: Tx, after: int) -> Page:
    """Directory changes after feed position `after`, in position order; `upto` is the last position included."""
    page = Page(upto=after)
    rows = directory.feed(tx, after, messages.MAX_BATCH + 1)
    for pos, change in rows[:messages.MAX_BATCH]:
        text = dumps(directory_codec.to_wire(change)).encode()
        if not page.fits(text):
            page.more = True
            break
        page.add(text)
        page.upto = pos
    else:
        page.more = len(rows) > messages.MAX_BATCH
    return page


def payload(kind: str, key: str, page: Page, ts: int) -> bytes:
    """The down/events or down/directory message of a page: its items spliced into the envelope as they are."""
    frame = messages.encode(kind, SENDER, ts, {key: [], "upto": page.upto, "more": page.more})
    empty = f'"{key}":[]'.encode()
    return frame.replace(empty, b'"%s":[%s]' % (key.encode(), b",".join(page.items)), 1)
