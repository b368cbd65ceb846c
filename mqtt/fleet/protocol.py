"""The fleet's payloads: a kiosk's state, telemetry and outcomes, the operator's configs and commands, and their checks.

Configs and commands travel signed (signing.py); everything here is plain canonical JSON. A kiosk checks what it
receives in a fixed order and reports the first failure as an outcome whose `reason` is the Refusal's:
    size and JSON (Malformed) -> signature (Forged) -> fields (Malformed) -> address: the payload's target is this
    kiosk's and the topic's (Misaddressed) -> config: version newer than the applied one (Stale) -> the body
    parses as its kind (Malformed); command: not expired (Expired), then run once per id.
The target is inside the signed payload, so a message re-published on another kiosk's topic is refused: the
topic alone (which anyone allowed to write there chooses) never decides who a config is for.
"""
from __future__ import annotations

import importlib.metadata
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from core.codec import dumps
from kiosk.ids import new_event_id
from mqtt import topics
from mqtt.messages import MAX_PAYLOAD
from mqtt.topics import BadTopic, Route

CONFIG_KINDS = topics.CONFIG_KINDS
FORMATS = {"rules": ("toml",), "catalog": ("csv", "json"), "prices": ("csv", "json"), "settings": ("json", "toml"),
           "devices": ("json", "toml")}  # the formats each config kind comes in
COMMANDS = frozenset({"sync_now", "reload_config", "print_test", "lock", "unlock", "logs", "restart", "update"})
UPDATE_ARGS = {"version", "url", "size", "sha256"}  # an update names its bundle: fetched, then checked against these
MAX_LOG_LINES = 500
STATES = ("online", "offline")
DEVICE_KINDS = ("reader", "scanner", "printer")
DEVICE_STATES = frozenset({"ok", "offline", "paper_out", "cover_open", "absent"})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MAX_REASON = 200  # characters of a lock reason shown on the lock screen


class Refusal(Exception):
    """A config or command refused; `reason` ("<code>: what") is what the outcome reports."""

    code = "refused"

    def __init__(self, detail: str) -> None:
        self.detail, self.reason = detail, f"{self.code}: {detail}"
        super().__init__(self.reason)


class Malformed(Refusal):
    """Not JSON, too big, a field missing or of the wrong type, or a body that does not parse as its kind."""

    code = "malformed"


class Forged(Refusal):
    """The signature does not verify under the operator's key held here (altered, or signed by another key)."""

    code = "forged"


class Misaddressed(Refusal):
    """Signed for another kiosk or store, or re-published on a topic other than its target's."""

    code = "misaddressed"


class Stale(Refusal):
    """A config whose version is not newer than the one applied: an older one, or a replay."""

    code = "stale"


class Expired(Refusal):
    """A command received after its expiry (this kiosk's clock is past expires_at): a late delivery or a replay."""

    code = "expired"


class Failed(Refusal):
    """Checked and addressed, but applying or running it failed on the kiosk (its store refused, no printer)."""

    code = "failed"


@dataclass(frozen=True)
class Target:
    """Whom a config or command is for: every kiosk ("all"), one store, or one kiosk of a store."""

    kind: str
    store: str | None = None
    kiosk: str | None = None

    @classmethod
    def parse(cls, text: str, resolve: Callable[[str], str] | None = None) -> "Target":
        """"all", "store:S" or "kiosk:S/K"; "kiosk:K" needs `resolve` (kiosk id -> its store, e.g. the hub's table)."""
        kind, _, rest = text.partition(":") if isinstance(text, str) else ("", "", "")
        try:
            if text == "all":
                return cls("all")
            if kind == "store" and rest:
                return cls("store", topics.check_id(rest, "store"))
            if kind == "kiosk" and rest:
                store, _, kiosk = rest.rpartition("/")
                if not store and resolve is not None:
                    store = resolve(kiosk)
                if store:
                    return cls("kiosk", topics.check_id(store, "store"), topics.check_id(kiosk, "kiosk"))
        except BadTopic as e:
            raise Malformed(f"target {text!r}: {e}") from None
        raise Malformed(f"target {text!r}: use all, store:STORE or kiosk:STORE/KIOSK")

    @classmethod
    def of_route(cls, route: Route) -> "Target":
        """The target a config or command topic addresses."""
        if route.store == topics.FLEET:
            return cls("all")
        return cls("store", route.store) if route.kiosk is None else cls("kiosk", route.store, route.kiosk)

    def includes(self, store: str, kiosk: str) -> bool:
        """Whether kiosk `kiosk` of store `store` is one of those addressed."""
        return self.kind == "all" or self.store == store and (self.kind == "store" or self.kiosk == kiosk)

    def __str__(self) -> str:
        return {"all": "all", "store": f"store:{self.store}"}.get(self.kind, f"kiosk:{self.store}/{self.kiosk}")


def config_topic(target: Target, kind: str) -> str:
    """The retained topic a config of `kind` for `target` is published on."""
    return topics.config(kind, target.store, target.kiosk)


def command_topic(target: Target) -> str:
    """The topic a command for `target` is published on."""
    return topics.command(target.store, target.kiosk)


def kiosk_filters(store: str, kiosk: str) -> list[str]:
    """What a kiosk subscribes to: configs and commands for it, its store and every kiosk."""
    return [f for address in ((store, kiosk), (store, None), (None, None))
            for f in (topics.configs(*address), topics.command(*address))]


def software_version() -> str:
    """The installed memberkiosk version (what a kiosk reports in its state and telemetry)."""
    try:
        return importlib.metadata.version("memberkiosk")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- the kiosk's retained state: birth and last will ---

def state_payload(state: str, version: str, store: str, kiosk: str, config_version: int, ts: int) -> bytes:
    """The retained JSON on a kiosk's status topic: "online" on connect, "offline" as its last will."""
    if state not in STATES:
        raise ValueError(f"state {state!r}: expected online or offline")
    return dumps({"state": state, "version": version, "store": store, "kiosk": kiosk,
                  "config_version": config_version, "ts": ts}).encode()


def parse_state(data: bytes) -> dict[str, Any]:
    """A kiosk's state from its status topic; Malformed says what is wrong."""
    doc = json_object(data)
    _fields(doc, {"state": lambda v: v in STATES, "version": _str, "store": _str, "kiosk": _str,
                  "config_version": _count, "ts": _count}, "state")
    return doc


# --- the operator's signed payloads ---

def new_config(kind: str, version: int, target: Target, fmt: str, body: str, issued_at: int,
               config_id: str | None = None) -> dict[str, Any]:
    """A config payload to sign (checked here, so a bad one is never signed)."""
    return check_config({"type": "config", "id": config_id or new_event_id(issued_at), "kind": kind,
                         "version": version, "target": str(target), "format": fmt, "body": body,
                         "issued_at": issued_at})


def new_command(cmd: str, target: Target, issued_at: int, expires_at: int, args: Mapping[str, Any] | None = None,
                command_id: str | None = None) -> dict[str, Any]:
    """A command payload to sign (checked here)."""
    return check_command({"type": "command", "id": command_id or new_event_id(issued_at), "cmd": cmd,
                          "args": dict(args or {}), "target": str(target), "issued_at": issued_at,
                          "expires_at": expires_at})


def check_config(doc: Any) -> dict[str, Any]:
    """A config payload's fields (not its body's schema: that is the kiosk's to check); Malformed otherwise."""
    _fields(doc, {"type": lambda v: v == "config", "id": _uuid, "kind": lambda v: v in CONFIG_KINDS,
                  "version": _positive, "target": _target, "format": _str, "body": _str, "issued_at": _count},
            "config")
    if doc["format"] not in FORMATS[doc["kind"]]:
        raise Malformed(f"a {doc['kind']} config comes as {' or '.join(FORMATS[doc['kind']])}, not {doc['format']!r}")
    return doc


def check_command(doc: Any) -> dict[str, Any]:
    """A command payload's fields and arguments; Malformed otherwise."""
    _fields(doc, {"type": lambda v: v == "command", "id": _uuid, "cmd": lambda v: v in COMMANDS,
                  "args": lambda v: isinstance(v, dict), "target": _target, "issued_at": _count,
                  "expires_at": _count}, "command")
    args, cmd = doc["args"], doc["cmd"]
    expected = {"lock": {"reason"}, "logs": {"lines"}, "update": UPDATE_ARGS}.get(cmd, set())
    if set(args) - expected:
        raise Malformed(f"command {cmd} takes {', '.join(sorted(expected)) or 'no arguments'}, "
                        f"not {', '.join(sorted(set(args) - expected))}")
    if cmd == "lock" and not (isinstance(args.get("reason"), str) and 0 < len(args["reason"].strip()) <= _MAX_REASON):
        raise Malformed(f"lock needs a reason of 1-{_MAX_REASON} characters (shown on the lock screen)")
    if cmd == "update" and not (set(args) == UPDATE_ARGS and _str(args["version"]) and _str(args["url"])
                                and _positive(args["size"]) and bool(_SHA256.match(str(args["sha256"])))):
        raise Malformed("update needs version, url, size (bytes) and sha256 (64 hex digits) of its bundle")
    if cmd == "logs" and not (_count(args.get("lines", 100)) and 0 < args.get("lines", 100) <= MAX_LOG_LINES):
        raise Malformed(f"logs takes lines from 1 to {MAX_LOG_LINES}")
    return doc


def check_address(doc: Mapping[str, Any], route: Route, store: str, kiosk: str) -> Target:
    """The payload's target, when it is the topic's and includes this kiosk; Misaddressed otherwise."""
    target, topic_target = Target.parse(doc["target"]), Target.of_route(route)
    if target != topic_target:
        raise Misaddressed(f"signed for {target} but published to {topic_target}")
    if not target.includes(store, kiosk):
        raise Misaddressed(f"signed for {target}, not this kiosk ({store}/{kiosk})")
    if route.kind == topics.CONFIG and route.name != doc.get("kind"):
        raise Misaddressed(f"a {doc.get('kind')} config published on the {route.name} topic")
    if route.kind != doc.get("type"):
        raise Misaddressed(f"a {doc.get('type')} published on a {route.kind} topic")
    return target


def check_fresh(doc: Mapping[str, Any], now: int) -> None:
    """Expired when this kiosk's clock is past the command's expiry."""
    if now > doc["expires_at"]:
        raise Expired(f"command {doc['cmd']} expired {(now - doc['expires_at']) // 1000} s ago")


# --- what a kiosk sends up ---

def outcome(type_: str, name: str | None, ok: bool, at: int, *, item_id: str | None = None,
            reason: str | None = None, version: int | None = None,
            result: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What became of a config or command: applied/ran (ok) or refused with its reason."""
    return {"id": item_id, "type": type_, "name": name, "ok": ok, "reason": reason, "version": version,
            "result": dict(result or {}), "at": at}


def refusal_outcome(type_: str, name: str | None, claimed: Mapping[str, Any], refusal: Refusal,
                    at: int) -> dict[str, Any]:
    """The outcome of a refused config or command, naming the id and version it claims when those are readable."""
    item_id, version = claimed.get("id"), claimed.get("version")
    return outcome(type_, name if name in CONFIG_KINDS | COMMANDS else None, False, at,
                   item_id=item_id if _uuid(item_id) else None, reason=refusal.reason,
                   version=version if _positive(version) else None)


def parse_outcome(data: bytes) -> dict[str, Any]:
    """An outcome received on up/outcome; Malformed says what is wrong."""
    doc = json_object(data)
    return _fields(doc, {"id": lambda v: v is None or _uuid(v), "type": lambda v: v in ("config", "command"),
                         "name": lambda v: v is None or _str(v), "ok": lambda v: isinstance(v, bool),
                         "reason": lambda v: v is None or _str(v), "version": lambda v: v is None or _count(v),
                         "result": lambda v: isinstance(v, dict), "at": _count}, "outcome")


TELEMETRY_KEYS = ("version", "uptime_s", "unacked", "last_sync_at", "devices", "disk_free", "cpu_temp",
                  "last_sale_at", "config_version", "locked", "verify", "update")


def parse_telemetry(data: bytes) -> dict[str, Any]:
    """A kiosk's telemetry received on up/telemetry; Malformed says what is wrong."""
    doc = json_object(data)
    doc.setdefault("verify", None)  # kiosks older than the nightly verify's report send none
    doc.setdefault("update", None)  # nor do kiosks older than the update outcome's report
    optional_count = lambda v: v is None or _count(v)  # noqa: E731
    return _fields(doc, {"version": _str, "uptime_s": _count, "unacked": _count, "last_sync_at": optional_count,
                         "devices": _devices, "disk_free": _count,
                         "cpu_temp": lambda v: v is None or isinstance(v, (int, float)) and not isinstance(v, bool),
                         "last_sale_at": optional_count, "config_version": _count,
                         "locked": lambda v: v is None or _str(v), "verify": _verify, "update": _update},
                   "telemetry")


def encode(doc: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of a payload; Malformed when too big for the broker."""
    data = dumps(doc).encode()
    if len(data) > MAX_PAYLOAD:
        raise Malformed(f"{len(data)} bytes is over the {MAX_PAYLOAD}-byte limit of a message")
    return data


# --- field checks ---

def json_object(data: bytes) -> dict[str, Any]:
    """A received message as a JSON object; Malformed when it is too big, not JSON, or not an object."""
    if len(data) > MAX_PAYLOAD:
        raise Malformed(f"{len(data)} bytes is over the {MAX_PAYLOAD}-byte limit of a message")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise Malformed(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise Malformed("not a JSON object")
    return doc


def _fields(doc: Any, spec: Mapping[str, Callable[[Any], bool]], what: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise Malformed(f"a {what} must be a JSON object")
    missing, extra = sorted(set(spec) - set(doc)), sorted(set(doc) - set(spec))
    if missing or extra:
        raise Malformed(f"a {what} " + "; ".join(
            part for part in (f"lacks {', '.join(missing)}" if missing else "",
                              f"has unknown {', '.join(extra)}" if extra else "") if part))
    for key, ok in spec.items():
        if not ok(doc[key]):
            raise Malformed(f"{what} field {key} = {doc[key]!r:.80} is not valid")
    return doc


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive(value: Any) -> bool:
    return _count(value) and value > 0


def _uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def _target(value: Any) -> bool:
    try:
        Target.parse(value)
    except Malformed:
        return False
    return True


def _nested(spec: Mapping[str, Callable[[Any], bool]], what: str) -> Callable[[Any], bool]:
    """The check of a document nested in telemetry: None (not yet), or exactly `spec`'s fields."""
    def check(value: Any) -> bool:
        if value is None:
            return True
        try:
            _fields(value, spec, what)
        except Malformed:
            return False
        return True
    return check


_optional_str = lambda v: v is None or _str(v)  # noqa: E731
# the last nightly verify's result (kiosk.store.checkpoint.VerifyResult)
_verify = _nested({"ok": lambda v: isinstance(v, bool), "at": _count, "events": _count, "problem": _optional_str},
                  "verify result")
# the root updater's last outcome (mqtt.fleet.update_apply): the version tried (None when unreadable), from which,
# installed / rolled back / refused / failed, and why not
_UPDATE = {"version": _optional_str, "from_version": _optional_str, "state": _str, "reason": _optional_str,
           "at": _count}
_update = _nested(_UPDATE, "update outcome")
UPDATE_KEYS = tuple(_UPDATE)  # what telemetry carries of the updater's record (mqtt.fleet.update_fetch)


def is_update_outcome(value: Any) -> bool:
    """Whether the hub takes `value` as telemetry's update outcome (a kiosk sends none rather than be refused)."""
    return _update(value)


def _devices(value: Any) -> bool:
    return isinstance(value, dict) and all(k in DEVICE_KINDS and v in DEVICE_STATES for k, v in value.items())
