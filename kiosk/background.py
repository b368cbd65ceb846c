"""A daemon thread that loops until stopped and can be woken early: the follower runner and the print worker."""
from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch of background work that allocates many objects, none in a
    cycle (refcounting frees them): its passes over them took a quarter of a facts rebuild's time."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class BackgroundLoop:
    """Runs `_run` on its own thread; `_run` waits on `self._wake` and returns once `self._stop` is set."""

    thread_name = "background"

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop in the background."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the work in hand: what the loop keeps is durable, so the next start resumes from there."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def wake(self, *_why: object) -> None:
        """Look now instead of at the next poll (any thread; callers may say why, it is not needed)."""
        self._wake.set()

    def _run(self) -> None:
        raise NotImplementedError
