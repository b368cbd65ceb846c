"""The attract screen: the store's name and "tap your card"; every timeout comes back here."""
from __future__ import annotations

from kiosk.ui.screens.base import KioskScreen


class AttractScreen(KioskScreen):
    """Waits for a card tap (routed by the app) or a choice: register, look up by phone, check out, staff."""


SCREEN = AttractScreen
