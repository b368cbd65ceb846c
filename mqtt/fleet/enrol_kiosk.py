"""A fresh kiosk enrols itself from a scanned token: check it, ask head office once, then store the identity.

The order makes a power cut harmless: nothing of the identity is written before head office said yes (only the
installation id, made once), the key files come next (each atomically), and the config file that names the kiosk
is written last, so until it is there the kiosk still shows its enrol screen. Scanning the same token again then
goes through, because head office knows the nonce as this machine's (its installation id, in the key directory).
"""
from __future__ import annotations

import base64
import logging
import tempfile
import threading
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import tomli_w

from core.errors import KioskError
from kiosk import config
from kiosk.clock import wall_ms
from kiosk.store.documents import atomic_write
from kiosk.store.keyring import KeyRing
from mqtt import messages, topics
from mqtt.agent.settings import PASSWORD_FILE
from mqtt.connection import BrokerError, Connection, Inbound, NotAuthorized, Settings
from mqtt.fleet import signing
from mqtt.fleet.enrol import Reused, Token, read
from mqtt.fleet.protocol import Expired, Refusal

log = logging.getLogger(__name__)
CA_FILE = "ca.crt"
PII_FILE = "pii.key"
USED_FILE = "enrolment.toml"  # the token this kiosk was enrolled with (its nonce is never accepted again here)
INSTALLATION = "installation"  # KeyRing secret whose hex names this machine to head office
TIMEOUT = 5.0


class EnrolFailed(KioskError):
    """Enrolment could not finish for a reason that is not the token's (network, broker login): scan again later."""


@dataclass(frozen=True)
class Place:
    """Where this kiosk keeps its identity: the config file it reads and its key directory."""

    config_file: Path
    key_dir: Path
    pinned_sha256: str | None = None  # fleet.operator_key_sha256

    @classmethod
    def of(cls, cfg: config.Config, environ: Mapping[str, str]) -> Place:
        """The config file the kiosk reads ($MEMBERKIOSK_CONFIG, else /etc's) and its configured key directory."""
        named = environ.get(config.CONFIG_ENV)
        return cls(Path(named) if named else config.ETC_FILE, cfg["kiosk.key_dir"], cfg["fleet.operator_key_sha256"])


def enrol(text: str, place: Place, now: Callable[[], int] = wall_ms, timeout: float = TIMEOUT) -> Token:
    """Enrol this kiosk with the token in `text`; a Refusal (or EnrolFailed) says why it did not."""
    trusted = place.key_dir / signing.PUBLIC_FILE
    token = read(text, now(), pinned_sha256=place.pinned_sha256,
                 trusted=signing.load_public(trusted) if trusted.exists() else None)
    if _used_here(place.key_dir) == token.nonce:
        raise Reused("this kiosk was already enrolled with this token")
    installation = KeyRing(place.key_dir).secret(INSTALLATION).hex()[:32]
    with tempfile.TemporaryDirectory(prefix="memberkiosk-enrol-") as scratch:  # the connection reads the CA as a file
        (Path(scratch) / CA_FILE).write_text(token.ca, encoding="ascii")
        ask_head_office(token, Path(scratch) / CA_FILE, installation, now, timeout)
    ca_file = place.key_dir / CA_FILE
    _write(ca_file, token.ca.encode())
    _write(place.key_dir / PASSWORD_FILE, token.password.encode() + b"\n")
    _write(place.key_dir / signing.PUBLIC_FILE, token.operator_key.encode() + b"\n")
    if token.pii_key is not None:
        _write(place.key_dir / PII_FILE, base64.b64decode(token.pii_key))
    _write_config(place.config_file, token, ca_file)
    _write(place.key_dir / USED_FILE, tomli_w.dumps({"nonce": token.nonce, "store": token.store,
                                                     "kiosk": token.kiosk, "at": now()}).encode())
    log.info("enrolled as kiosk %s of store %s, broker %s", token.kiosk, token.store, token.broker)
    return token


def ask_head_office(token: Token, ca_file: Path, installation: str, now: Callable[[], int], timeout: float) -> None:
    """One MQTT v5 request on the kiosk's own up/enrol, logged in with the token's credential: is the nonce unused?"""
    reply_topic = topics.down(token.store, token.kiosk, "enrol")
    settings = Settings(url=token.broker, client_id=f"{token.kiosk}-enrol", username=token.kiosk,
                        password=token.password, ca_file=ca_file)
    correlation = uuid.uuid4().bytes
    answered, replies = threading.Event(), []

    def on_reply(inbound: Inbound) -> None:
        try:
            msg = messages.received(inbound)
        except messages.BadMessage as e:
            log.warning("dropped %s: %s", inbound.topic, e.reason)
            return
        if msg.correlation == correlation:
            replies.append(msg.body)
            answered.set()

    conn = Connection(settings)
    conn.subscribe(reply_topic, on_reply)
    try:
        conn.connect(timeout)
        body = {"nonce": token.nonce, "expires_at": token.expires_at, "installation": installation}
        conn.publish(topics.up(token.store, token.kiosk, "enrol"), messages.encode("enrol", token.kiosk, now(), body),
                     response_topic=reply_topic, correlation=correlation).wait(timeout)
    except NotAuthorized as e:
        raise EnrolFailed(f"the broker refused the token's login ({e.reason}): the kiosk's password may have been "
                          "changed at head office; make a new token") from None
    except BrokerError as e:
        raise EnrolFailed(f"cannot reach head office at {token.broker}: {e}; check the network and scan again") \
            from None
    else:
        if not answered.wait(timeout):
            raise EnrolFailed(f"head office did not answer within {timeout:g} s; is `memberkiosk hub serve` "
                              "running? Scan again")
    finally:
        conn.close()
    _refuse(replies[0])


def _refuse(reply: Mapping[str, Any]) -> None:
    """Raise what head office refused ("expired: ..." or "reused: ..."); nothing when it said yes."""
    if reply["ok"]:
        return
    code, _, detail = str(reply["reason"] or "reused: refused by head office").partition(": ")
    cls: type[Refusal] = Expired if code == Expired.code else Reused
    raise cls(detail or code)


def _used_here(key_dir: Path) -> str | None:
    """The nonce of the token this kiosk was enrolled with, if any."""
    try:
        return str(tomllib.loads((key_dir / USED_FILE).read_text(encoding="utf-8")).get("nonce"))
    except (OSError, tomllib.TOMLDecodeError):
        return None


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    atomic_write(path, content)


def _write_config(path: Path, token: Token, ca_file: Path) -> None:
    """Set the kiosk's ids and broker in its config file, keeping every other setting there."""
    try:
        current = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise EnrolFailed(f"cannot update {path} ({e}); repair or remove it and scan again") from None
    current.setdefault("kiosk", {}).update(id=token.kiosk, store_id=token.store)
    current.setdefault("sync", {}).update(broker=token.broker, ca_file=str(ca_file))
    header = "# kiosk ids and [sync] written by zero-touch enrolment (`memberkiosk fleet enrol`)\n"
    _write(path, (header + tomli_w.dumps(current)).encode())
