"""The demo's stand-in for the hardware: buttons that tap demo cards and scan demo products."""
from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.uix.boxlayout import BoxLayout

from drivers.events import CardTapped, Scanned


class DemoPanel(BoxLayout):
    """Each button makes the event a simulated reader or scanner would, through the same bridge as real devices."""

    def on_kv_post(self, _base: Any) -> None:
        """Add one button per demo card and demo product named in the settings."""
        app = App.get_running_app()
        for label, uid in app.settings.demo_cards:
            self.ids.buttons.add_widget(self._button(label, lambda uid=uid: app.devices.post(CardTapped(uid, None, "demo"))))
        for label, code in app.settings.demo_products:
            scan = Scanned(code, "ean13", "product", "demo")
            self.ids.buttons.add_widget(self._button(label, lambda scan=scan: app.devices.post(scan)))

    @staticmethod
    def _button(text: str, action: Any) -> Any:
        from kivy.factory import Factory

        button = Factory.KButton(text=text, font_size=18)
        button.bind(on_release=lambda _b: action())
        return button
