"""What every page of the console shares: the database backend, the logged-in account, and rendering a page.

Blocking work (database reads, argon2) runs in Starlette's thread pool; the console's one database connection is
used by one request at a time, as a hub store requires.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from core.money import format_fen
from kiosk.clock import Clock
from mqtt.hub.store import HubStore
from mqtt.hub.web.accounts import Account, Accounts
from mqtt.hub.web.guard import csrf_token, require

HERE = Path(__file__).parent
T = TypeVar("T")


class Backend:
    """The console's database connection: the hub store and the accounts, one request at a time."""

    def __init__(self, db_url: str) -> None:
        self.store = HubStore.open(db_url)
        self.accounts = Accounts(self.store.db)
        self._lock = threading.Lock()

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` on a worker thread, holding the connection."""
        return await run_in_threadpool(self._locked, work, *args)

    def _locked(self, work: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return work(*args)

    def close(self) -> None:
        """Close the connection."""
        self.store.close()


def templates(clock: Clock) -> Jinja2Templates:
    """The page templates, with filters for times (the hub's local time) and sizes."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    env.filters["when"] = lambda ms: "—" if ms is None else clock.local(ms).strftime("%Y-%m-%d %H:%M:%S")
    env.filters["size"] = size
    env.filters["money"] = format_fen
    return Jinja2Templates(env=env)


def size(n: float | None) -> str:
    """A byte count for people: 512 B, 3.5 GiB."""
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def backend(request: Request) -> Backend:
    """The app's backend."""
    return request.app.state.backend


async def account_of(request: Request) -> Account | None:
    """The logged-in account of this request, or None (also when the account was removed since)."""
    name = request.session.get("account")
    return await backend(request).run(backend(request).accounts.get, name) if name else None


async def viewer(request: Request, role: str = "viewer") -> Account:
    """The logged-in account when it holds `role`: else a redirect to the login page, or 403."""
    return require(await account_of(request), role)


def render(request: Request, name: str, account: Account | None, context: dict[str, Any],
           status: int = 200) -> Response:
    """Page `name` with the account, whether pushing is set up, and the session's CSRF token for its forms."""
    return request.app.state.templates.TemplateResponse(
        request, name, {"account": account, "csrf": csrf_token(request), "can_push": request.app.state.pusher
                        is not None, **context}, status_code=status)
