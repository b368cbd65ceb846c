"""Device and sync health, and products running low, for the staff on duty."""
from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty

from kiosk.ui.screens.base import KioskScreen


class StatusScreen(KioskScreen):
    """Health comes from the devices (pushed as DeviceHealth events); stock from the catalog with live levels."""

    low_stock = ListProperty([])  # (name, stock)

    def enter(self, **_: Any) -> None:
        """Read the stock levels off the UI thread."""
        super().enter()
        self.low_stock = []
        self.call(self._low_stock, lambda rows: setattr(self, "low_stock", rows))

    def _low_stock(self) -> list[tuple[str, int]]:
        products = self.app.sales.catalog().values()
        return sorted(((p.name, p.stock) for p in products
                       if p.stock is not None and p.low_stock is not None and p.stock <= p.low_stock), key=lambda r: r[1])

    def devices_text(self, _lang: str) -> str:
        """One line per device: name, state and the reason a technician can act on."""
        t = self.app.t
        health = {h.device: h for h in self.app.devices.health()} | self.app.health
        rows = [f"{h.device}: {t('status.' + h.state)} {h.reason}" for h in health.values()]
        return "\n".join(rows or [t("status.no_devices")]) + "\n" + t("status.sync_offline")

    def stock_text(self, low_stock: list[tuple[str, int]], _lang: str) -> str:
        """The products at or below their catalog's low-stock level."""
        return "\n".join(f"{name}  {stock}" for name, stock in low_stock) or self.app.t("status.stock_ok")


SCREEN = StatusScreen
