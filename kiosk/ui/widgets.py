"""Touch inputs a kiosk needs instead of a keyboard: numeric keypad, date picker, surname picker."""
from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image

# The most common Chinese surnames (about 40% of the population); rarer ones are completed by staff later.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
TITLES = ("先生", "女士")


class Keypad(GridLayout):
    """Digits, delete and clear; `value` grows up to `max_length` digits; `secret` shows dots (PINs)."""

    value = StringProperty("")
    max_length = NumericProperty(11)
    secret = BooleanProperty(False)

    def press(self, key: str) -> None:
        """A key was tapped: a digit, 'back' or 'clear'."""
        if key == "back":
            self.value = self.value[:-1]
        elif key == "clear":
            self.value = ""
        elif len(self.value) < self.max_length:
            self.value += key

    def shown(self, value: str, secret: bool) -> str:
        """What the display shows: the digits, or one dot per digit for a PIN."""
        return "●" * len(value) if secret else value


class DatePicker(BoxLayout):
    """Year, month and day each with steppers: a date cannot be mistyped, and never lies in the future."""

    date = ObjectProperty(dt.date(1990, 1, 1))
    latest = ObjectProperty(dt.date.today())

    def shift(self, part: str, step: int) -> None:
        """Move the year, month or day by `step`, keeping the day valid and the date not after `latest`."""
        year, month, day = self.date.year, self.date.month, self.date.day
        if part == "year":
            year += step
        elif part == "month":
            month = (month - 1 + step) % 12 + 1
        else:
            day = (day - 1 + step) % calendar.monthrange(year, month)[1] + 1
        day = min(day, calendar.monthrange(year, month)[1])
        self.date = min(dt.date(max(year, self.latest.year - 120), month, day), self.latest)


class QrCode(Image):
    """A QR code drawn from `data` (the member e-card): a phone camera or our scanner reads it off the screen."""

    data = StringProperty("")

    def on_data(self, _instance: Any, data: str) -> None:
        """Render the code into a texture (a few ms for a member payload)."""
        if not data:
            self.texture = None
            return
        import io

        import qrcode
        from kivy.core.image import Image as CoreImage

        buffer = io.BytesIO()
        qrcode.make(data, border=2).save(buffer, format="PNG")
        buffer.seek(0)
        texture = CoreImage(buffer, ext="png").texture
        texture.mag_filter = "nearest"  # keep the modules sharp when scaled up
        self.texture = texture


class SurnamePicker(BoxLayout):
    """A surname and 先生/女士, chosen by touch: Chinese names cannot be typed without an input method."""

    surname = StringProperty("")
    title = StringProperty("")

    def on_kv_post(self, _base: Any) -> None:
        """One toggle per common surname."""
        from kivy.factory import Factory

        for char in SURNAMES:
            button = Factory.KToggle(text=char, group=f"surname-{id(self)}")
            button.bind(on_release=lambda b: setattr(self, "surname", b.text if b.state == "down" else ""))
            self.ids.surnames.add_widget(button)

    def pick_title(self, title: str, down: bool) -> None:
        """先生 or 女士 toggled."""
        self.title = title if down else ""

    @property
    def name(self) -> str | None:
        """'王先生', '王' or None when nothing was picked."""
        return (self.surname + self.title) if self.surname else None

    def clear(self) -> None:
        """Forget the choice (a new customer)."""
        self.surname = self.title = ""
        for child in [*self.ids.surnames.children, *self.ids.titles.children]:
            child.state = "normal"
