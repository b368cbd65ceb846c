"""The hub's half of zero-touch enrolment: an enrolment token is good once, and the hub is where "once" is kept.

A kiosk that scanned a token asks on its own up/enrol (MQTT v5 request/response, logged in with the token's
credential) whether the token's nonce is unused. The first asker's installation (a random id the machine keeps)
is recorded with the nonce in the hub's database; the same installation asking again, after a reply was lost, is
told yes again, any other is refused as a reuse. The hub's clock also refuses an expired token, since a fresh
kiosk's clock may be far behind.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from kiosk.clock import wall_ms
from mqtt import messages, topics
from mqtt.connection import Connection, Inbound
from mqtt.hub.dialects import Dialect
from mqtt.hub.store import HubStore

log = logging.getLogger(__name__)
SENDER = "hub"
TABLE = ("CREATE TABLE IF NOT EXISTS enrol_nonces (nonce TEXT PRIMARY KEY, store_id TEXT NOT NULL,"
         " kiosk_id TEXT NOT NULL, installation TEXT NOT NULL, used_at BIGINT NOT NULL)")


def check_nonce(db: Dialect, store: str, kiosk: str, nonce: str, installation: str, expires_at: int,
                now: int) -> str | None:
    """Record the nonce as used by `installation`; None when that is allowed, else the reason it is refused."""
    if now > expires_at:
        return f"expired: this enrolment token was valid until {_when(expires_at)} (head office's clock)"
    with db.transaction() as tx:
        tx.run("INSERT INTO enrol_nonces (nonce, store_id, kiosk_id, installation, used_at) VALUES (?, ?, ?, ?, ?)"
               " ON CONFLICT (nonce) DO NOTHING", (nonce, store, kiosk, installation, now))
        row = tx.one("SELECT store_id, kiosk_id, installation, used_at FROM enrol_nonces WHERE nonce = ?", (nonce,))
    assert row is not None  # inserted above or already there
    used_store, used_kiosk, used_by, used_at = row
    if (used_store, used_kiosk, used_by) == (store, kiosk, installation):
        return None
    return (f"reused: this enrolment token was already used by a machine enrolled as {used_kiosk} of {used_store}"
            f" at {_when(used_at)}; make a new token with `memberkiosk fleet enrol`")


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class EnrolmentDesk:
    """Answers enrol requests on a hub connection; `start()` after the connection is up, `stop()` before it closes."""

    def __init__(self, store: HubStore, conn: Connection, clock: Callable[[], int] = wall_ms) -> None:
        self._store, self._conn, self._clock = store, conn, clock
        self._own: HubStore | None = None

    def start(self) -> None:
        """Open a database connection of its own (requests are answered on paho's thread) and subscribe."""
        self._own = self._store.reopen()
        with self._own.db.transaction() as tx:
            tx.run(TABLE)
        self._conn.subscribe(topics.hub_subscription("enrol"), self._on_request)

    def stop(self) -> None:
        """Stop answering and close the database connection."""
        self._conn.unsubscribe(topics.hub_subscription("enrol"))
        if self._own is not None:
            self._own.close()
            self._own = None

    def _on_request(self, inbound: Inbound) -> None:
        try:
            msg = messages.received(inbound)
        except messages.BadMessage as e:
            log.warning("dropped %s: %s", inbound.topic, e.reason)
            return
        if self._own is None:
            return
        store, kiosk, body = msg.route.store, msg.route.kiosk or "", msg.body
        reason = check_nonce(self._own.db, store, kiosk, body["nonce"], body["installation"], body["expires_at"],
                             self._clock())
        log.info("enrolment of %s/%s: %s", store, kiosk, reason or "accepted")
        reply = messages.encode("enrol", SENDER, self._clock(), {"ok": reason is None,
                                                                 "reason": reason and reason[:200]})
        self._conn.publish(topics.down(store, kiosk, "enrol"), reply, correlation=msg.correlation)
