"""A fake SMS provider on 127.0.0.1: checks the signature, dedupes by idempotency key like a real provider, and
fails, rate-limits or answers late when a test asks it to."""
from __future__ import annotations

import collections
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qsl

import pytest

from kiosk.notices.gateways import sign

SECRET = b"test-sms-secret"
APP_KEY = "shop-app-key"


class FakeSms:
    """What the provider saw: every request per key, and the keys it delivered (the first accepted copy only)."""

    def __init__(self) -> None:
        self.delivered: dict[str, list[str]] = {}  # key -> [phone, text] of the one copy delivered to the phone
        self.requests: collections.Counter = collections.Counter()  # key -> requests (copies included)
        self.copies = 0  # requests for a key already delivered: a resend after a crash or a late answer
        self.script: collections.deque[str] = collections.deque()  # forced answers: ok, 500, 429, 400, timeout
        self.fail_rate = 0.0  # random 500/429 share when the script is empty
        self.delay_s = 0.0  # between accepting and answering: a client killed then has not recorded the send
        self.late_s = 1.0  # how late a 'timeout' answer comes
        self.nonces: set[str] = set()
        self.lock = threading.Lock()
        self.rng = random.Random(12)

    def answer(self, params: dict[str, str], header_key: str | None) -> tuple[int, dict]:
        """The provider's decision for one request."""
        with self.lock:
            given = params.pop("signature", "")
            if given != sign(params, SECRET) or params.get("app_key") != APP_KEY:
                return 401, {"code": "SignatureDoesNotMatch", "message": "bad signature or app key"}
            if params["nonce"] in self.nonces or abs(time.time() - int(params["timestamp"])) > 300:
                return 401, {"code": "Replay", "message": "nonce used or timestamp too old"}
            self.nonces.add(params["nonce"])
            key = params["idempotency_key"]
            if header_key != key:
                return 400, {"code": "BadKey", "message": "Idempotency-Key header differs from the signed key"}
            self.requests[key] += 1
            how = self.script.popleft() if self.script else (
                self.rng.choice(["500", "429"]) if self.rng.random() < self.fail_rate else "ok")
            if how in ("500", "429"):
                return int(how), {"code": "Busy", "message": "try later"}
            if how == "400":
                return 400, {"code": "InvalidPhone", "message": "the number is not a mobile number"}
            duplicate = key in self.delivered
            self.copies += duplicate
            self.delivered.setdefault(key, [params["phone"], params["content"]])
            return (200, {"code": "OK", "duplicate": duplicate, "late": how == "timeout"})


@pytest.fixture
def sms() -> Iterator[tuple[FakeSms, str]]:
    """The provider and its URL, stopped after the test."""
    fake = FakeSms()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            status, answer = fake.answer(dict(parse_qsl(body, keep_blank_values=True)), self.headers["Idempotency-Key"])
            time.sleep(fake.late_s if answer.get("late") else fake.delay_s)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timed out or was killed): the message stays delivered

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
