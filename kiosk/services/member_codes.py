"""The member e-card QR: made for the member screen each minute and checked when scanned, with the kiosk's `qr` key."""
from __future__ import annotations

from functools import cached_property

from core.barcodes import member_code, member_of_code
from kiosk.clock import Clock
from kiosk.store.keyring import KeyRing

KEY_NAME = "qr"  # one key per kiosk for now; a chain-wide key later lets a code shown in one store work in another


class MemberCodes:
    """Short-lived signed member codes: a photo of one stops identifying the member within two minutes."""

    def __init__(self, keys: KeyRing, clock: Clock) -> None:
        self.keys, self.clock = keys, clock

    @cached_property
    def _key(self) -> bytes:
        return self.keys.secret(KEY_NAME)

    def current(self, member_id: str) -> str:
        """The code to show for `member_id` this minute."""
        return member_code(member_id, self._key, self.clock.now_ms())

    def member_of(self, code: str) -> str:
        """The member a scanned code names while it is fresh; ExpiredMemberCode or InvalidBarcode otherwise."""
        return member_of_code(code, self._key, self.clock.now_ms())
