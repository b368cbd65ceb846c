"""Service calls run on one worker thread and report back on the UI thread, so a commit or fsync never freezes a frame."""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from kivy.clock import Clock

log = logging.getLogger(__name__)


class Tasks:
    """One worker keeps the service calls in order (a sale after the lookup that found its member)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-ui-task")
        self._pending = 0
        self._generation = 0

    @property
    def busy(self) -> bool:
        """True while a call has not reported back yet (tests wait on it; screens show a spinner)."""
        return self._pending > 0

    def run(
        self,
        call: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Run `call` off the UI thread; then `done(result)` or `failed(error)` on the UI thread."""
        self._pending += 1
        generation = self._generation
        future = self._pool.submit(call)
        future.add_done_callback(lambda f: Clock.schedule_once(lambda _dt: self._report(f, generation, done, failed)))

    def forget(self) -> None:
        """Drop the answers of calls still running: the customer they were for has gone (inactivity timeout)."""
        self._generation += 1

    def _report(self, future: Future, generation: int, done: Callable, failed: Callable) -> None:
        self._pending -= 1
        if generation != self._generation:
            return
        error = future.exception()
        if error is None:
            done(future.result())
        elif isinstance(error, Exception):
            log.info("service call failed: %s", error)
            failed(error)
        else:
            raise error

    def shutdown(self) -> None:
        """Finish the running call (a commit must not be cut) and stop the worker."""
        self._pool.shutdown(wait=True)
