"""Self-registration: consent, phone, name, birthday, payment PIN twice, then tap a new card to link it."""
from __future__ import annotations

import datetime as dt
from typing import Any

from kivy.properties import ObjectProperty, StringProperty

from core.errors import KioskError, NotFound
from core.members import mask_phone, normalize_phone
from drivers.events import CardTapped
from kiosk.services.members import MemberView, Registration
from kiosk.ui.screens.base import KioskScreen

STEPS = ("consent", "phone", "name", "birthday", "pin", "pin_again", "card")


class RegisterScreen(KioskScreen):
    """A short wizard on one screen; nothing is stored until the PIN is confirmed, and only with consent."""

    step = StringProperty(STEPS[0])
    existing_phone = StringProperty("")  # set when the phone typed is already a member's
    member = ObjectProperty(None, allownone=True)  # the MemberView once registered

    def enter(self, **context: Any) -> None:
        """Start over with empty fields (a new customer)."""
        super().enter()
        self.existing_phone = ""
        self.member = None
        for pad in ("phone_pad", "pin_pad", "pin_again_pad"):
            self.ids[pad].value = ""
        self.ids.names.clear()
        self.ids.birthday_pick.date = dt.date(1990, 1, 1)
        self.ids.marketing.active = False  # marketing messages only when this customer ticks the box
        self._birthday = None
        self.go_step("consent")

    def go_step(self, step: str) -> None:
        """Show one step of the wizard."""
        self.step = step
        self.ids.steps.current = step

    def agree(self) -> None:
        """The customer read the privacy notice and agreed: only now may we ask for personal data."""
        self.go_step("phone")

    def phone_done(self) -> None:
        """Check the number's form here, then whether it is already registered (in the store, off the UI thread)."""
        try:
            phone = normalize_phone(self.ids.phone_pad.value)
        except KioskError as exc:
            self.show_error(exc)
            return
        self.call(lambda: self.kiosk.members.by_phone(phone), self._phone_taken, self._phone_checked)

    def _phone_taken(self, view: MemberView) -> None:
        self.existing_phone = view.member.phone
        self.message = self.app.t("register.phone_taken", phone=mask_phone(view.member.phone))

    def _phone_checked(self, exc: BaseException) -> None:
        if isinstance(exc, NotFound):
            self.go_step("name")
        else:
            self.show_error(exc)

    def look_up_instead(self) -> None:
        """The phone is a member's already: offer lookup (it asks for their PIN) instead of a second account."""
        self.app.go("phone_lookup", phone=self.existing_phone)

    def birthday_done(self, picked: bool) -> None:
        """Keep the picked birthday, or none when skipped."""
        self._birthday = self.ids.birthday_pick.date if picked else None
        self.go_step("pin")

    def pin_done(self) -> None:
        """First entry of the 6-digit payment PIN."""
        if len(self.ids.pin_pad.value) == 6:
            self.message = ""
            self.go_step("pin_again")
        else:
            self.message = self.app.t("register.pin_six")

    def pin_again_done(self) -> None:
        """The PIN twice the same: register now, in one transaction."""
        if self.ids.pin_again_pad.value != self.ids.pin_pad.value:
            self.ids.pin_pad.value = self.ids.pin_again_pad.value = ""
            self.go_step("pin")
            self.message = self.app.t("register.pin_mismatch")
            return
        registration = Registration(
            phone=self.ids.phone_pad.value,
            consent=True,
            name=self.ids.names.name,
            birthday=self._birthday,
            pin=self.ids.pin_pad.value,
            marketing=self.ids.marketing.active,
        )
        operator = self.operator
        self.call(lambda: self.kiosk.members.register(registration, operator=operator), self._registered)

    def _registered(self, view: MemberView) -> None:
        self.member = view
        self.go_step("card")

    def on_device(self, event: Any, arrived: float) -> bool:
        """On the last step a tapped card is the new member's; elsewhere the app routes it as usual."""
        if self.step != "card" or not isinstance(event, CardTapped):
            return False
        member_id = self.member.member.member_id
        operator = self.operator
        self.call(lambda: self.kiosk.members.link_card(member_id, event.uid, operator=operator), self._linked)
        return True

    def _linked(self, view: MemberView) -> None:
        self.app.go("member", member=view)

    def skip_card(self) -> None:
        """No card: the member shows the QR e-card on the receipt or types their phone next time."""
        self.app.go("member", member=self.member)


SCREEN = RegisterScreen
