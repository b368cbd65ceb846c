"""Look a member up without their card: phone number, then the payment PIN (a phone alone is not proof)."""
from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from core.errors import KioskError
from core.members import normalize_phone
from kiosk.services.members import MemberView
from kiosk.ui.screens.base import KioskScreen


class PhoneLookupScreen(KioskScreen):
    """Two stages on one keypad: the phone, then the PIN; wrong PINs count towards the service's lock."""

    stage = StringProperty("phone")
    phone = StringProperty("")

    def enter(self, phone: str = "", **_: Any) -> None:
        """Start at the phone (or at the PIN when the phone is known, as from registration)."""
        super().enter()
        self.ids.pad.value = ""
        self.phone = phone
        self.stage = "pin" if phone else "phone"

    def next(self) -> None:
        """Phone typed: ask for the PIN. PIN typed: check both off the UI thread and show the member."""
        typed = self.ids.pad.value
        if self.stage == "phone":
            try:
                self.phone = normalize_phone(typed)
            except KioskError as exc:
                self.show_error(exc)
                return
            self.ids.pad.value, self.stage, self.message = "", "pin", ""
            return
        self.ids.pad.value = ""
        self.call(lambda: self._verify(self.phone, typed), lambda view: self.app.go("member", member=view))

    def _verify(self, phone: str, pin: str) -> MemberView:
        """Worker thread: the member of this phone, if the PIN is theirs."""
        view = self.kiosk.members.by_phone(phone)
        self.kiosk.members.check_pin(view.member.member_id, pin)
        return view


SCREEN = PhoneLookupScreen
