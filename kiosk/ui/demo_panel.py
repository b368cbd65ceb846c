"""The demo's stand-in for the hardware: buttons that tap demo cards and scan demo products."""
from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.uix.boxlayout import BoxLayout



class DemoPanel(BoxLayout):
    """Each button drives the simulated card reader or scanner, whose events reach the UI like real hardware's."""

    def fill(self) -> None:
        """One button per demo card and demo product, once the simulated devices have started."""
        app = App.get_running_app()
        reader, scanner = app.devices.simulator("card"), app.devices.simulator("scanner")
        for label, uid in app.settings.demo_cards if reader else ():
            self.ids.buttons.add_widget(self._button(label, lambda uid=uid: reader.tap(uid)))
        for label, code in app.settings.demo_products if scanner else ():
            self.ids.buttons.add_widget(self._button(label, lambda code=code: scanner.scan(code)))

    @staticmethod
    def _button(text: str, action: Any) -> Any:
        from kivy.factory import Factory

        button = Factory.KButton(text=text, font_size=17)
        button.bind(on_release=lambda _b: action())
        return button
