"""systemd supervises the UI: ready when the first frame is on screen, alive while the Kivy main loop turns.

The pings come from a Clock interval, so they run on the main loop itself: a UI whose loop hangs (a deadlock, a
blocking call on the UI thread) stops pinging and systemd restarts it after WatchdogSec; a busy one, whose work runs
on kiosk.ui.tasks threads or in frames shorter than that, keeps pinging.
"""
from __future__ import annotations

from typing import Any

from kiosk.notify import Notifier

PINGS_PER_PERIOD = 3  # a ping every WatchdogSec/3: one late frame is not yet a restart


def supervise(app: Any, notifier: Notifier | None = None) -> Notifier:
    """Wire `app` (a Kivy App, before run()) to the service manager; a no-op outside systemd."""
    notifier = notifier or Notifier.from_env()
    if not notifier.enabled:
        return notifier
    from kivy.clock import Clock
    from kivy.core.window import Window

    pinging: list[Any] = []

    def first_frame(*_args: Any) -> None:
        Window.funbind("on_flip", first_frame)
        notifier.ready(f"showing {type(app).__name__}")
        if notifier.watchdog_seconds:  # until now TimeoutStartSec= bounded the start
            pinging.append(Clock.schedule_interval(lambda _dt: notifier.ping(),
                                                   notifier.watchdog_seconds / PINGS_PER_PERIOD))

    def started(*_args: Any) -> None:
        Window.fbind("on_flip", first_frame)

    def stopped(*_args: Any) -> None:
        for event in pinging:
            event.cancel()
        notifier.stopping()
        notifier.close()

    app.fbind("on_start", started)
    app.fbind("on_stop", stopped)
    return notifier
