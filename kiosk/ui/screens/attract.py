"""The attract screen: the store's name and "tap your card"; every timeout comes back here."""
from __future__ import annotations

from typing import Any

from kiosk.ui.screens.base import KioskScreen


class AttractScreen(KioskScreen):
    """Waits for a card tap (routed by the app) or a choice: register, look up by phone, check out, staff."""

    def enter(self, **context: Any) -> None:
        """Greet the next customer: "tap your card", aloud when voice prompts are on."""
        super().enter(**context)
        self.app.say("tap_card")


SCREEN = AttractScreen
