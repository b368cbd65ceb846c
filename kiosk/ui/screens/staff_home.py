"""The staff home: what this role may do, and who is logged in."""
from __future__ import annotations

from typing import Any

from kiosk.ui.screens.base import KioskScreen


class StaffHomeScreen(KioskScreen):
    """Cashiers top up, check out, clock in and see device health; managers also refund and may close the kiosk."""

    def enter(self, **_: Any) -> None:
        """Nothing to load: the buttons follow app.staff."""
        super().enter()

    def log_out(self) -> None:
        """Back to the customer side, with nothing of the staff session left."""
        self.app.reset()

    def close_kiosk(self) -> None:
        """Leave full screen: a manager only (the button is hidden from cashiers)."""
        self.app.quit_by_manager()


SCREEN = StaffHomeScreen
