"""A card reader for the demo and upper-layer tests: taps happen when the code says so."""
from __future__ import annotations

from drivers.base import Health, safe_emit
from drivers.events import CardRemoved, CardTapped, DeviceHealth, OnEvent

SIM_READER = "Simulated reader"


class SimCardReader:
    """Emits the same events as the PC/SC reader, one tap at a time."""

    simulated = True

    def __init__(self, on_event: OnEvent, name: str = "card"):
        self.name = name
        self._emit = on_event
        self._health = Health(name, on_event)
        self._uid: str | None = None

    def start(self) -> None:
        """The simulated reader is always there."""
        self._health.set("ok", SIM_READER)

    def stop(self) -> None:
        """Take any card off and go away."""
        self.remove()
        self._health.set("gone", "stopped")

    def health(self) -> DeviceHealth:
        """Current health."""
        return self._health.current

    def tap(self, uid: str, member_no: str | None = None) -> None:
        """Put a card on the reader (a card already there is taken off first)."""
        self.remove()
        self._uid = uid
        safe_emit(self._emit, CardTapped(uid, member_no, SIM_READER))

    def remove(self) -> None:
        """Take the card off, if one is there."""
        if self._uid is not None:
            uid, self._uid = self._uid, None
            safe_emit(self._emit, CardRemoved(uid, SIM_READER))
