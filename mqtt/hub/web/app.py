"""The head-office web console: a Starlette app rendering Jinja2 pages on the server, no JavaScript needed.

`create_app(WebConfig(...))` wires the hub's database, the session secret and (when the hub can reach the broker
and holds the operator key) the config pusher; `memberkiosk hub web` serves it with uvicorn on 127.0.0.1 behind a
TLS reverse proxy (README). Cookies are signed, HttpOnly, SameSite=Strict and Secure.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kiosk.clock import Clock
from kiosk.reports.model import Inputs
from mqtt.hub.web import pages, push, reports
from mqtt.hub.web.guard import LoginNeeded, checked_form, start_session
from mqtt.hub.web.views import HERE, Backend, account_of, backend, render, templates

COOKIE = "memberkiosk_console"
HEADERS = [  # no script, no frames, nothing from elsewhere: the pages are plain HTML and one stylesheet
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
                                 b" frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebConfig:
    """What the console serves: the hub database, the cookie-signing secret, and the pusher (None: no pushing)."""

    db_url: str
    secret: str
    pusher: push.Pusher | None = None
    clock: Clock = field(default_factory=Clock)
    session_hours: float = 8.0
    bundles: Path | None = None  # update bundles served read-only at /updates/ (they are signed: no login needed)
    report_inputs: Inputs = field(default_factory=Inputs)  # the chain's rulebook and catalog, for the reports


class SecurityHeaders:
    """Adds HEADERS to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                cached = any(name.lower() == b"cache-control" for name, _value in headers)  # a chart says so
                message["headers"] = headers + [h for h in HEADERS if not (cached and h[0] == b"cache-control")]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


async def login_page(request: Request) -> Response:
    if await account_of(request):
        return RedirectResponse("/", 303)
    return render(request, "login.html", None, {"next": _local(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    form = await checked_form(request)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    account = await backend(request).run(backend(request).accounts.authenticate, name, password)
    if account is None:
        log.warning("console: login refused for %r from %s", name, request.client.host if request.client else "?")
        return render(request, "login.html", None, {"next": _local(form.get("next")), "name": name,
                                                    "error": "Wrong name or password."}, status=401)
    start_session(request, account)
    log.info("console: %s logged in (%s)", account.name, account.role)
    return RedirectResponse(_local(form.get("next")), 303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", 303)


def _local(target: object) -> str:
    """`target` when it is a path on this site, else the home page: a login never redirects elsewhere."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def _login_needed(request: Request, exc: Exception) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here)}", 303)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (403, 413):
        log.warning("console: %s %s refused (%d): %s", request.method, request.url.path, exc.status_code, exc.detail)
    return render(request, "error.html", await account_of(request), {"status": exc.status_code,
                                                                     "detail": exc.detail}, exc.status_code)


def create_app(config: WebConfig) -> Starlette:
    """The console as an ASGI app over `config`'s database (opened now, closed when the server stops)."""
    db = Backend(config.db_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            db.close()

    routes = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", pages.fleet, methods=["GET"]),
        Route("/kiosks/{kiosk}", pages.kiosk, methods=["GET"]),
        Route("/reconcile", pages.reconcile, methods=["GET"]),
        Route("/reports", reports.index, methods=["GET"]),
        Route("/reports/{name}", reports.page, methods=["GET"]),
        Route("/reports/{name}/chart.png", reports.chart, methods=["GET"]),
        Route("/reports/{name}/report.csv", reports.csv, methods=["GET"]),
        Route("/push", push.form, methods=["GET"]),
        Route("/push", push.submit, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if config.bundles is not None:
        routes.append(Mount("/updates", StaticFiles(directory=config.bundles), name="updates"))
    middleware = [Middleware(SecurityHeaders),
                  Middleware(SessionMiddleware, secret_key=config.secret, session_cookie=COOKIE,
                             max_age=int(config.session_hours * 3600), same_site="strict",
                             https_only=True)]  # browsers send a Secure cookie over TLS, or to the loopback
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={LoginNeeded: _login_needed, HTTPException: _http_error})
    app.state.backend, app.state.pusher = db, config.pusher
    app.state.clock, app.state.report_inputs = config.clock, config.report_inputs
    app.state.templates = templates(config.clock)
    return app
