"""Who is asking and whether the form is theirs: the logged-in account of a request, roles, and the CSRF token.

The session is a cookie signed with the console's secret (Starlette's SessionMiddleware, itsdangerous); it holds
the account name and a random per-session CSRF token. Every POST must echo that token in a hidden field, which a
page on another site cannot read, so it cannot forge the form. The account is looked up on every request: a
removed account is logged out at once, and a changed role applies at once.
"""
from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from mqtt.hub.web.accounts import Account

CSRF_FIELD = "csrf"
MAX_FORM_BYTES = 512 * 1024  # a config document is at most 240 KiB on the wire; nothing else posted is large


class LoginNeeded(Exception):
    """The page needs a logged-in account; the app answers with a redirect to the login page."""


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def start_session(request: Request, account: Account) -> None:
    """A fresh session for `account`: nothing from before the login survives (no session fixation)."""
    request.session.clear()
    request.session["account"] = account.name
    csrf_token(request)


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token matches the session's; else 403 (and 413 when too large)."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, f"a form must give its length and be at most {MAX_FORM_BYTES // 1024} KiB")
    form = await request.form(max_files=1, max_fields=20)
    sent, expected = form.get(CSRF_FIELD), request.session.get(CSRF_FIELD)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "This form has expired or did not come from this console: reload the page and"
                                 " send it again.")
    return form


def require(account: Account | None, role: str = "viewer") -> Account:
    """The account when it may see this page (viewer) or act on it (operator); else login or 403."""
    if account is None:
        raise LoginNeeded()
    if role == "operator" and not account.operator:
        raise HTTPException(403, "Only an operator may do this; ask an operator, or an administrator for the role.")
    return account
