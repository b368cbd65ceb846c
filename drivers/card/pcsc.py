"""IC card reader over PC/SC (pyscard): watches one reader, reads each card once, survives pcscd and USB churn.

We drive pyscard's `scard` layer directly rather than its CardMonitor threads because we must see the
errors (service stopped, reader gone) to report health and re-establish the context; the monitors hide them.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from drivers.base import DeviceConfigError, DeviceLost, DriverUnavailable, Watcher, safe_emit
from drivers.card.apdu import CardReadError, read_member_no, read_uid
from drivers.events import CardRemoved, CardTapped, OnEvent, UnknownCard

log = logging.getLogger(__name__)


def usable() -> tuple[bool, str]:
    """Whether pyscard imports here (the PC/SC service itself is checked when the reader starts)."""
    try:
        import smartcard.scard  # noqa: F401
    except ImportError as exc:
        return False, f"pyscard is not installed ({exc}); pip install pyscard"
    return True, ""


def _scard() -> Any:
    ok, why = usable()
    if not ok:
        raise DriverUnavailable(why)
    from smartcard import scard
    return scard


class PcscCardReader(Watcher):
    """Emits CardTapped / UnknownCard once per card presence and CardRemoved when it leaves."""

    def __init__(self, on_event: OnEvent, reader: str = "", name: str = "card",
                 poll_ms: int = 250, retry_s: float = 1.0):
        super().__init__(name, on_event, retry_s)
        self._emit = on_event
        try:
            self._pattern = re.compile(reader, re.IGNORECASE)
        except re.error as exc:
            raise DeviceConfigError(f"card reader pattern '{reader}' is not a valid regular expression: {exc}") from None
        self._poll_ms = poll_ms
        self._ctx: Any = None
        self._present = False  # a card is on the reader and its event was sent
        self._uid: str | None = None
        self.sc = _scard()

    def _interrupt(self) -> None:
        ctx = self._ctx
        if ctx is not None:
            self.sc.SCardCancel(ctx)

    @property
    def card_present(self) -> bool:
        """Whether a card is on the reader now (its tap event was sent)."""
        return self._present

    def readers(self) -> list[str]:
        """Names of all readers PC/SC sees now (for `memberkiosk devices`); raises DriverUnavailable without pcscd."""
        hr, ctx = self.sc.SCardEstablishContext(self.sc.SCARD_SCOPE_USER)
        if hr != self.sc.SCARD_S_SUCCESS:
            raise DriverUnavailable(f"PC/SC service not running (pcscd): {self.sc.SCardGetErrorMessage(hr)}")
        try:
            hr, names = self.sc.SCardListReaders(ctx, [])
            return list(names) if hr == self.sc.SCARD_S_SUCCESS else []
        finally:
            self.sc.SCardReleaseContext(ctx)

    def _session(self) -> None:
        sc = self.sc
        hr, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
        if hr != sc.SCARD_S_SUCCESS:
            raise DeviceLost(f"PC/SC service not running (pcscd): {sc.SCardGetErrorMessage(hr)}")
        self._ctx = ctx
        reader = ""
        try:
            reader = self._pick(ctx)
            self._health.set("ok", f"reader '{reader}'")
            self._watch(ctx, reader)
        finally:
            self._ctx = None
            sc.SCardReleaseContext(ctx)
            self._left(reader)  # a card on a reader we lost is gone as far as the app can tell

    def _pick(self, ctx: Any) -> str:
        hr, names = self.sc.SCardListReaders(ctx, [])
        names = list(names) if hr == self.sc.SCARD_S_SUCCESS else []
        for name in names:
            if self._pattern.search(name):
                return name
        seen = ", ".join(names) or "none"
        raise DeviceLost(f"no card reader matching '{self._pattern.pattern}' (readers seen: {seen}); check the USB cable")

    def _watch(self, ctx: Any, reader: str) -> None:
        sc = self.sc
        known = sc.SCARD_STATE_UNAWARE
        while not self._stop.is_set():
            hr, states = sc.SCardGetStatusChange(ctx, self._poll_ms, [(reader, known)])
            if hr == sc.SCARD_E_TIMEOUT or (hr == sc.SCARD_E_CANCELLED and self._stop.is_set()):
                continue
            if hr != sc.SCARD_S_SUCCESS:
                raise DeviceLost(f"lost the card reader '{reader}': {sc.SCardGetErrorMessage(hr)}")
            _, state, atr = states[0]
            if state & (sc.SCARD_STATE_UNKNOWN | sc.SCARD_STATE_UNAVAILABLE):
                raise DeviceLost(f"card reader '{reader}' was unplugged")
            known = state & ~sc.SCARD_STATE_CHANGED
            present = bool(state & sc.SCARD_STATE_PRESENT) and not state & sc.SCARD_STATE_MUTE
            if present and not self._present:
                self._arrived(ctx, reader, bytes(atr))
            elif not present and self._present:
                self._left(reader)

    def _arrived(self, ctx: Any, reader: str, atr: bytes) -> None:
        uid: str | None = None
        try:
            with _Connection(self.sc, ctx, reader) as transmit:
                uid = read_uid(transmit)
                event: Any = CardTapped(uid, read_member_no(transmit), reader)
        except CardReadError as exc:
            log.warning("card on %s unreadable: %s", reader, exc)
            event = UnknownCard(exc.code, str(exc), uid, atr.hex().upper(), reader)
        self._present, self._uid = True, uid
        safe_emit(self._emit, event)

    def _left(self, reader: str) -> None:
        if self._present:
            self._present = False
            safe_emit(self._emit, CardRemoved(self._uid, reader))


class _Connection:
    """A shared connection to the card on `reader`, yielding a transmit(bytes) -> bytes function."""

    def __init__(self, sc: Any, ctx: Any, reader: str):
        self.sc, self.ctx, self.reader = sc, ctx, reader
        self.handle: Any = None
        self.protocol = 0

    def __enter__(self) -> Any:
        sc = self.sc
        hr, self.handle, self.protocol = sc.SCardConnect(
            self.ctx, self.reader, sc.SCARD_SHARE_SHARED, sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1)
        if hr != sc.SCARD_S_SUCCESS:
            self.handle = None
            raise CardReadError("comm_error", f"could not talk to the card ({sc.SCardGetErrorMessage(hr)}); tap again")
        return self.transmit

    def transmit(self, apdu: bytes) -> bytes:
        hr, resp = self.sc.SCardTransmit(self.handle, self.protocol, list(apdu))
        if hr != self.sc.SCARD_S_SUCCESS:
            raise CardReadError("comm_error", f"the card stopped answering ({self.sc.SCardGetErrorMessage(hr)}); "
                                "hold it still and tap again")
        return bytes(resp)

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.sc.SCardDisconnect(self.handle, self.sc.SCARD_LEAVE_CARD)
