"""Where a message goes: the journal, a file, or an SMS provider's HTTP API; chosen by `notify.gateway`.

The HTTP adapter signs each request the way the common Chinese SMS APIs do (Aliyun, Tencent Cloud, Yunpian):
the request's parameters, with a timestamp and a one-time nonce among them, are sorted by name and joined as
`k=v&k=v` (each percent-encoded, RFC 3986, '~' kept); the signature is the lowercase hex HMAC-SHA256 of that
string under the shop's secret, sent as the `signature` parameter. The idempotency key goes both as a parameter
(so it is signed) and as the `Idempotency-Key` header, so the provider can drop the second copy of a message that
was sent again after a crash between sending and recording it. It uses urllib: one small POST per message needs
no client library on the appliance, and urllib's timeout and HTTPError give every case we tell apart.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol
from urllib.parse import quote

from core.errors import KioskError
from core.members import mask_phone
from kiosk import config

log = logging.getLogger(__name__)
FILE_MODE = 0o600  # the file gateway writes phone numbers


@dataclass(frozen=True)
class Message:
    """One SMS to send: the idempotency key, the recipient and the rendered text."""

    key: str
    phone: str
    text: str
    template: str


class SendFailed(KioskError):
    """A message was not accepted; `retryable` says whether trying again later may help."""

    retryable = True


class TryLater(SendFailed):
    """The provider is busy, down or unreachable (429, 5xx, a timeout): the sender tries again with backoff."""


class Rejected(SendFailed):
    """The provider refused the message itself (a bad number, a template not approved, a wrong signature): trying
    again would fail the same way, so it is kept as failed with the provider's reason for staff to read."""

    retryable = False


class Gateway(Protocol):
    """Sends one message; returns when the provider accepted it, raises SendFailed when it did not."""

    name: str

    def send(self, message: Message) -> None:
        """Deliver `message` (the same key twice must be harmless: the provider dedupes)."""


class LogGateway:
    """The default: the message goes to the journal (phone masked), for a shop without an SMS provider yet."""

    name = "log"

    def send(self, message: Message) -> None:
        """Log it."""
        log.info("notice %s to %s: %s", message.key, mask_phone(message.phone), message.text)


class FileGateway:
    """Appends one JSON line per message to a file (0600: it holds phone numbers), for a script that sends them."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, message: Message) -> None:
        """Append and fsync, so an accepted message is on disk."""
        line = json.dumps({"key": message.key, "phone": message.phone, "template": message.template,
                           "text": message.text}, ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def canonical(params: dict[str, str]) -> str:
    """The string that is signed: parameters sorted by name, `k=v` joined by '&', each percent-encoded."""
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(params.items()))


def sign(params: dict[str, str], secret: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the canonical string under `secret`."""
    return hmac.new(secret, canonical(params).encode(), hashlib.sha256).hexdigest()


class HttpSmsGateway:
    """POSTs a signed form to the provider; 2xx with code OK is accepted, 429/5xx/timeouts are TryLater, any other
    answer is Rejected with the provider's code and message."""

    name = "http"

    def __init__(self, url: str, app_key: str, secret: bytes, timeout_s: float = 10.0,
                 now_s: Callable[[], float] = time.time) -> None:
        self.url, self.app_key, self.secret, self.timeout_s, self._now_s = url, app_key, secret, timeout_s, now_s

    def request(self, message: Message) -> urllib.request.Request:
        """The signed request for `message`."""
        params = {"app_key": self.app_key, "phone": message.phone, "content": message.text,
                  "template": message.template, "idempotency_key": message.key,
                  "timestamp": str(int(self._now_s())), "nonce": secrets.token_hex(16)}
        params["signature"] = sign(params, self.secret)
        return urllib.request.Request(self.url, data=canonical(params).encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Idempotency-Key": message.key})

    def send(self, message: Message) -> None:
        """Send once; SendFailed says whether to try again."""
        try:
            with urllib.request.urlopen(self.request(message), timeout=self.timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            detail = _provider_error(exc.read())
            if exc.code == 429 or exc.code >= 500:
                raise TryLater(f"SMS provider answered HTTP {exc.code}{detail}; will try again") from None
            raise Rejected(f"SMS provider refused the message: HTTP {exc.code}{detail}") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TryLater(f"SMS provider {self.url} not reachable ({reason}); will try again") from None
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            raise TryLater(f"SMS provider answered something that is not JSON: {body[:80]!r}") from None
        if str(answer.get("code", "OK")).upper() != "OK":
            raise Rejected(f"SMS provider refused the message:{_provider_error(body)}")


def _provider_error(body: bytes) -> str:
    """' (code: message)' from a provider's JSON error body, or its first bytes."""
    try:
        answer = json.loads(body)
        return f" ({answer.get('code', '?')}: {answer.get('message', '')})"
    except (ValueError, AttributeError):
        return f" ({body[:80].decode(errors='replace')})" if body else ""


def build(cfg: config.Config, data_dir: Path) -> Gateway:
    """The gateway `notify.gateway` names, from its settings; a missing setting is a ConfigError naming the key."""
    kind = cfg["notify.gateway"]
    if kind == "log":
        return LogGateway()
    if kind == "file":
        return FileGateway(cfg["notify.file"] or data_dir / "notices.log")
    missing = [key for key in ("notify.http_url", "notify.app_key") if cfg[key] is None]
    if missing:
        raise config.ConfigError(f"notify.gateway is http but {', '.join(missing)} is not set")
    secret_file = cfg["notify.secret_file"] or cfg["kiosk.key_dir"] / "sms.secret"
    try:
        secret = secret_file.read_bytes().strip()
    except OSError as exc:
        raise config.ConfigError(f"the SMS provider's secret cannot be read from {secret_file} ({exc.strerror}); put "
                                 "the secret the provider gave you there (owner kiosk, mode 0600), or set "
                                 "notify.secret_file") from None
    return HttpSmsGateway(cfg["notify.http_url"], cfg["notify.app_key"], secret, cfg["notify.timeout_seconds"])
