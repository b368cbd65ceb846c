"""The hop from driver threads to the UI thread: the device runtime calls `post` anywhere, screens see events on the UI thread."""
from __future__ import annotations

import time
from typing import Callable

from kivy.clock import Clock

from drivers.events import DeviceEvent

Deliver = Callable[[DeviceEvent, float], None]


class DeviceBridge:
    """Subscribed to the device runtime; hands each event, with the time it arrived, to the UI thread."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def post(self, event: DeviceEvent) -> None:
        """Called on a driver thread: never touch widgets here, hand the event over with Clock.schedule_once."""
        arrived = time.perf_counter()
        Clock.schedule_once(lambda _dt: self._deliver(event, arrived), -1)
