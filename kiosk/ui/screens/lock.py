"""Head office locked this kiosk (`fleet command lock`): the screen says why until the unlock command comes."""
from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from kiosk.ui.screens.base import KioskScreen


class LockScreen(KioskScreen):
    """Shows the reason; cards and scans are swallowed, since every sale is refused while locked."""

    reason = StringProperty("")

    def enter(self, reason: str = "", **_: Any) -> None:
        """Show why the kiosk is locked."""
        super().enter()
        self.reason = reason

    def on_device(self, event: Any, arrived: float) -> bool:
        """Nothing a card or a scan could start would be allowed."""
        return True


SCREEN = LockScreen
