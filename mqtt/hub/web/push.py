"""The operator-only "push config" form: a document signed with the chain's operator key and published retained.

The operator key stays encrypted on the head-office machine (`--key-dir`); the form asks its passphrase each
time and the key is decrypted only for that one signature. Viewers get no form and a 403 on any POST; every POST
also needs the session's CSRF token. The kiosks' outcomes arrive later, on each kiosk's page.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kiosk.clock import wall_ms
from mqtt.connection import BrokerError, Connection, Settings
from mqtt.fleet import protocol, signing
from mqtt.fleet.protocol import Malformed, Target
from mqtt.hub.web.guard import checked_form, require
from mqtt.hub.web.views import backend, render, viewer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pushed:
    """A config document signed and handed to the broker."""

    id: str
    kind: str
    version: int
    target: str
    topic: str
    size: int


class Pusher:
    """Signs config documents with the operator key in `key_dir` and publishes them retained through the broker."""

    def __init__(self, settings: Settings, key_dir: Path, clock: Callable[[], int] = wall_ms,
                 timeout: float = 10.0) -> None:
        self.settings, self.key_dir, self.clock, self.timeout = settings, key_dir, clock, timeout
        self._ids = itertools.count(1)  # each push its own client id: two operators pushing at once never clash

    def push(self, kind: str, fmt: str, target: Target, body: str, passphrase: bytes) -> Pushed:
        """Sign and publish; KeyFileError (passphrase), Malformed (document) or BrokerError say what failed."""
        key = signing.load_private(self.key_dir, passphrase)
        now = self.clock()  # the operator's clock orders versions: a kiosk refuses one not newer than it holds
        payload, data = signing.signed_config(kind, target, fmt, body, key, now)
        topic = protocol.config_topic(target, kind)
        conn = Connection(replace(self.settings, client_id=f"{self.settings.client_id}-{next(self._ids)}"))
        conn.connect(self.timeout)
        try:
            conn.publish(topic, data, retain=True).wait(self.timeout)
        finally:
            conn.close()
        return Pushed(payload["id"], kind, now, str(target), topic, len(data))


def kinds() -> list[tuple[str, tuple[str, ...]]]:
    """The config kinds and the formats each comes in, for the form."""
    return sorted(protocol.FORMATS.items())


async def form(request: Request) -> Response:
    """The push form (operators only)."""
    account = await viewer(request, "operator")
    return render(request, "push.html", account, _form_context())


async def submit(request: Request) -> Response:
    """Sign and publish the uploaded document; the form again with the reason when anything is wrong."""
    account = await viewer(request)
    fields = await checked_form(request)
    require(account, "operator")
    pusher: Pusher | None = request.app.state.pusher
    if pusher is None:
        raise HTTPException(503, "This console was started without --broker and --key-dir, so it cannot push.")
    upload, kind = fields.get("file"), str(fields.get("kind", ""))
    fmt, target_text = str(fields.get("format", "")), str(fields.get("target", "")).strip()
    context = _form_context(kind=kind, format=fmt, target=target_text)
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Malformed("choose the document to push")
        fmt = fmt or Path(upload.filename).suffix.lstrip(".").lower()
        body = (await upload.read()).decode("utf-8")
        target = await _target(request, target_text)
        pushed = await run_in_threadpool(pusher.push, kind, fmt, target, body,
                                         str(fields.get("passphrase", "")).encode())
    except UnicodeDecodeError:
        return render(request, "push.html", account, {**context, "error": "The document is not UTF-8 text."}, 400)
    except Malformed as e:
        return render(request, "push.html", account, {**context, "error": e.detail}, 400)
    except signing.KeyFileError as e:
        return render(request, "push.html", account, {**context, "error": str(e)}, 400)
    except BrokerError as e:
        return render(request, "push.html", account, {**context, "error": f"The broker did not take it: {e}"}, 502)
    log.info("console: %s pushed %s version %s to %s (%s)", account.name, pushed.kind, pushed.version,
             pushed.target, pushed.id)
    return render(request, "pushed.html", account, {"pushed": pushed})


async def _target(request: Request, text: str) -> Target:
    """The target the form names; kiosk:K is found in the hub's fleet table (kiosk:S/K is taken as it is)."""
    kiosk_id = text.removeprefix("kiosk:") if text.startswith("kiosk:") and "/" not in text else None
    if kiosk_id is None:
        return Target.parse(text)
    found = await backend(request).run(backend(request).store.fleet_kiosk, kiosk_id)
    if found is None:
        raise Malformed(f"the hub has never heard of kiosk {kiosk_id}: give kiosk:STORE/{kiosk_id}")
    return Target.parse(f"kiosk:{found.store}/{kiosk_id}")


def _form_context(**values: str) -> dict[str, object]:
    return {"kinds": kinds(), "formats": sorted({f for fs in protocol.FORMATS.values() for f in fs}), **values}
