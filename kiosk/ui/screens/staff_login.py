"""Staff log in on the customer's device: tap the staff card, or pick your name and type your PIN.

A cashier's card logs in alone; a manager's card asks for the PIN too (cards are easily cloned), and a manager
who picks their name and types the PIN works as a cashier. The staff service decides both; this screen follows.
"""
from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import StringProperty

from drivers.events import CardTapped
from kiosk.services.staff import PinNeeded
from kiosk.ui.screens.base import KioskScreen


class StaffLoginScreen(KioskScreen):
    """Sets app.staff and opens the staff home; the staff inactivity timeout logs out again."""

    staff_no = StringProperty("")  # the name picked (or the manager whose card was tapped), waiting for the PIN
    card_uid = StringProperty("")  # a manager's card tapped, waiting for their PIN
    card_name = StringProperty("")  # that manager's name, for the prompt

    def enter(self, uid: str | None = None, **_: Any) -> None:
        """With a staff card's UID log in by card; otherwise list the staff to pick from."""
        super().enter()
        self.staff_no = self.card_uid = self.card_name = ""
        self.ids.pin_pad.value = ""
        self.call(self.kiosk.staff.list, self._show_staff)
        if uid:
            self._card(uid)

    def _show_staff(self, staff: list[Any]) -> None:
        self.ids.names.clear_widgets()
        for person in staff:
            button = Factory.KToggle(text=f"{person.name} ({person.staff_no})", group="staff-login")
            button.bind(on_release=lambda b, no=person.staff_no: self._pick(no if b.state == "down" else ""))
            self.ids.names.add_widget(button)

    def _pick(self, staff_no: str) -> None:
        """A name picked by touch: a PIN login, whatever card was tapped before."""
        self.staff_no, self.card_uid, self.card_name = staff_no, "", ""

    def on_device(self, event: Any, arrived: float) -> bool:
        """A card tapped here is taken as a staff card."""
        if not isinstance(event, CardTapped):
            return False
        self._card(event.uid)
        return True

    def _card(self, uid: str) -> None:
        self.call(lambda: self.kiosk.staff.login_card(uid), self._logged_in, lambda exc: self._card_failed(uid, exc))

    def _card_failed(self, uid: str, exc: BaseException) -> None:
        if not isinstance(exc, PinNeeded):
            self.show_error(exc)
            return
        self.staff_no, self.card_uid, self.card_name = exc.staff.staff_no, uid, exc.staff.name
        self.ids.pin_pad.value = ""

    def log_in(self) -> None:
        """The PIN typed: with the manager's card tapped before, card + PIN; else the picked staff number + PIN."""
        staff_no, uid, pin = self.staff_no, self.card_uid, self.ids.pin_pad.value
        self.ids.pin_pad.value = ""
        if uid:
            self.call(lambda: self.kiosk.staff.login_card(uid, pin), self._logged_in)
        else:
            self.call(lambda: self.kiosk.staff.login_pin(staff_no, pin), self._logged_in)

    def _logged_in(self, staff: Any) -> None:
        self.app.staff = staff
        self.app.go("staff_home")


SCREEN = StaffLoginScreen
