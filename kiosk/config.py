"""Typed, layered configuration: every key's type, default and check, and the layer its value came from.

Layers, lowest first: the defaults below -> /etc/memberkiosk/kiosk.toml (or the file $MEMBERKIOSK_CONFIG names)
-> memberkiosk.toml on the boot partition -> the documents the operator pushes -> the environment -> the
command's flags. A higher layer replaces a value whole: a `devices` table is not merged with the one below.
The keys are declared here in one fragment per component that reads them, so a file naming a key no component
knows is refused wherever the configuration is loaded, and this module imports nothing above drivers.
"""
from __future__ import annotations

import os
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from core.errors import KioskError
from core.text import check_name
from drivers.factory import DRIVERS, KINDS
from kiosk.clock import zone

CONFIG_ENV = "MEMBERKIOSK_CONFIG"
ETC_FILE = Path("/etc/memberkiosk/kiosk.toml")
BOOT_FILE = Path("/boot/firmware/memberkiosk.toml")  # field settings written when the SD card is flashed
DEFAULT = "default"
FLAG = "flag"


class ConfigError(KioskError):
    """A configuration value that is missing or malformed; the message names the key and where it was set."""


@dataclass(frozen=True)
class Key:
    """One setting: its dotted name, default, check (raw -> typed, ValueError says what is expected) and sources."""

    name: str
    default: Any
    check: Callable[[Any], Any]
    help: str
    env: str | None = None
    document: tuple[str, str | None] | None = None  # (TinyDB table, field), field None for the whole document


@dataclass(frozen=True)
class Setting:
    """A key's effective value and the layer it came from ("default", a file's path, "env NAME", ...)."""

    value: Any
    layer: str


# --- checks: each takes what a TOML file, a document, an env var (always a string) or a flag holds ---

ID_PATTERN = re.compile(r"(?!-)[A-Za-z0-9_-]{1,32}(?<!-)")


def identifier(raw: Any) -> str:
    """A kiosk or store id: 1-32 letters, digits, '_' or '-', not starting or ending with '-' (as in ID-NNNNNN)."""
    if not isinstance(raw, str) or not ID_PATTERN.fullmatch(raw):
        raise ValueError("expected 1-32 letters, digits, '_' or '-', not starting or ending with '-'")
    return raw


def seconds(raw: Any) -> float:
    """A positive number of seconds, at most a day."""
    try:
        value = float(raw) if isinstance(raw, (int, float, str)) and not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None or not 0 < value <= 86_400:
        raise ValueError("expected a number of seconds between 0 and 86400")
    return value


def boolean(raw: Any) -> bool:
    """true/false, or from the environment 1/0, yes/no, on/off."""
    if isinstance(raw, bool):
        return raw
    words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
    if isinstance(raw, str) and raw.strip().lower() in words:
        return words[raw.strip().lower()]
    raise ValueError("expected true or false")


def text(raw: Any) -> str:
    """A non-empty line of text without control characters, short enough for a receipt (a name)."""
    if not isinstance(raw, str):
        raise ValueError("expected one non-empty line of text")
    return check_name(raw, "the text")


def directory(raw: Any) -> Path:
    """A directory's path."""
    if not isinstance(raw, (str, Path)) or not str(raw).strip():
        raise ValueError("expected a path such as /var/lib/memberkiosk")
    return Path(raw)


def timezone(raw: Any) -> str:
    """An IANA time zone name such as Asia/Shanghai."""
    if not isinstance(raw, str):
        raise ValueError("expected a time zone name such as Asia/Shanghai")
    zone(raw)  # InvalidInput saying so when unknown
    return raw


def broker(raw: Any) -> str:
    """mqtts://host:port, or plain mqtt://127.0.0.1:port to a broker on this machine (no TLS off the machine)."""
    try:
        url = urlsplit(raw) if isinstance(raw, str) else None
        port = url.port if url else None
    except ValueError:
        url = port = None
    plain_local = url is not None and url.scheme == "mqtt" and url.hostname == "127.0.0.1"
    if url is None or not (url.scheme == "mqtts" or plain_local) or not url.hostname or port is None \
            or url.path not in ("", "/") or url.query or url.username:
        raise ValueError("expected mqtts://HOST:PORT (or mqtt://127.0.0.1:PORT for a broker on this machine)")
    return raw


def devices(raw: Any) -> dict[str, dict[str, Any]]:
    """One table per device, {"type": ..., options}; its kind is its "kind" option or its name."""
    if not isinstance(raw, Mapping):
        raise ValueError('expected a table per device, e.g. printer = {type = "sim"}')
    checked = {}
    for name, cfg in raw.items():
        if not isinstance(cfg, Mapping):
            raise ValueError(f"device '{name}' must be a table with a type")
        kind = str(cfg.get("kind", name))
        if kind not in KINDS:
            raise ValueError(f"device '{name}': kind '{kind}' must be one of {', '.join(KINDS)}")
        if (kind, str(cfg.get("type"))) not in DRIVERS:
            types = sorted(t for k, t in DRIVERS if k == kind)
            raise ValueError(f"device '{name}': {kind} type '{cfg.get('type')}' is unknown; "
                             f"use one of {', '.join(types)}")
        checked[str(name)] = dict(cfg)
    return checked


def sha256_hex(raw: Any) -> str:
    """A SHA-256 fingerprint: 64 hex digits (case and ':' separators ignored)."""
    digits = raw.replace(":", "").lower() if isinstance(raw, str) else ""
    if not re.fullmatch(r"[0-9a-f]{64}", digits):
        raise ValueError("expected a SHA-256 fingerprint of 64 hex digits")
    return digits


def one_of(*choices: str) -> Callable[[Any], str]:
    """One of `choices`, as a word."""
    def check(raw: Any) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw
    return check


def whole(raw: Any) -> int:
    """A whole number, 0 or more."""
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise ValueError("expected a whole number, 0 or more")
    return raw


def http_url(raw: Any) -> str:
    """An http(s)://host[:port]/path URL."""
    url = urlsplit(raw) if isinstance(raw, str) else None
    if url is None or url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError("expected a URL such as https://sms.example.com/send")
    return raw


def quiet_hours(raw: Any) -> str:
    """Local times HH:MM-HH:MM (21:00-08:00 spans midnight; equal times mean no quiet hours)."""
    if not isinstance(raw, str) or not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]", raw):
        raise ValueError("expected local times like 21:00-08:00")
    return raw


def optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`check`, and None for a key left unset."""
    return lambda raw: None if raw is None else check(raw)


# --- the keys, one fragment per component that reads them ---

# The bootstrap (kiosk/app.py), the command line (kiosk/cli) and the clock.
MIN_FREE_MB = 64  # store.min_free_mb: a day of sales, the WAL and a checkpoint, with margin
KIOSK = (
    Key("kiosk.id", None, optional(identifier), "this kiosk's id, fixed in a new data directory (members: ID-NNNNNN)",
        env="MEMBERKIOSK_KIOSK_ID"),
    Key("kiosk.store_id", "store-1", identifier, "the store's id, fixed in a new data directory",
        env="MEMBERKIOSK_STORE_ID"),
    Key("kiosk.data_dir", Path("/var/lib/memberkiosk"), directory, "where the ledger and documents live",
        env="MEMBERKIOSK_DATA_DIR"),
    Key("kiosk.timezone", None, optional(timezone), "the shop's IANA time zone (unset: the system's)",
        env="MEMBERKIOSK_TIMEZONE"),
    Key("kiosk.key_dir", Path("/etc/memberkiosk/keys"), directory,
        "the kiosk's keys (signing, audit, personal data), outside the data directory and its backups",
        env="MEMBERKIOSK_KEY_DIR"),
    Key("store.min_free_mb", MIN_FREE_MB, whole, "sales pause while the data directory's disk has less free than this "
        "(MB; doctor faults below it too); 0: only a really full disk stops them", env="MEMBERKIOSK_MIN_FREE_MB"),
)
# The touch UI (kiosk/ui, started by `memberkiosk kiosk`).
VOICE_MODES = ("off", "zh", "en", "auto")  # ui.voice: silent, Chinese, English, the screen's language (kiosk/ui/voice)
UI = (
    Key("ui.store_name", None, optional(text), "the shop's name on screen and receipts (unset: the store id)",
        document=("settings", "store_name")),
    Key("ui.idle_seconds", 60.0, seconds, "back to the start screen after this long untouched"),
    Key("ui.staff_idle_seconds", 120.0, seconds, "a logged-in staff member is logged out after this long untouched"),
    Key("ui.fullscreen", True, boolean, "full screen and locked down (false: a window, for a technician)"),
    Key("ui.voice", "off", one_of(*VOICE_MODES),
        "spoken prompts at the customer's steps (espeak-ng): off, zh, en, or auto (the screen's language)",
        document=("settings", "voice")),
)
# The device runtime (drivers.factory builds them; `memberkiosk devices --save` pushes the document).
DEVICES = (
    Key("devices", {}, devices, "the card reader, scanner and printer (none: simulators)", document=("devices", None)),
)
# The sync agent (mqtt/).
SYNC = (
    Key("sync.broker", None, optional(broker), "the chain's MQTT broker (unset: the kiosk works offline)",
        env="MEMBERKIOSK_BROKER"),
    Key("sync.ca_file", None, optional(directory), "the CA that signed the broker's certificate (unset: the system's)",
        env="MEMBERKIOSK_BROKER_CA_FILE"),
    Key("sync.password_file", None, optional(directory),
        "this kiosk's broker password (unset: mqtt.password in kiosk.key_dir)", env="MEMBERKIOSK_BROKER_PASSWORD_FILE"),
    Key("sync.pull_seconds", 2.0, seconds, "how often the kiosk asks head office for what it lacks"),
)
# PIN checks of staff and members (kiosk/services/pins.py).
PINS = (
    Key("pins.lock_seconds", 900.0, seconds,
        "a PIN locked by too many wrong tries unlocks this long after the last one (a manager can unlock sooner)"),
)
# Zero-touch enrolment (mqtt/fleet/enrol.py): the operator key a fresh kiosk trusts, e.g. on the boot partition.
ENROLMENT = (
    Key("fleet.operator_key_sha256", None, optional(sha256_hex),
        "SHA-256 of the operator's public key (raw bytes); an enrolment token signed by another key is refused"),
)
# The fleet agent (mqtt/fleet/kiosk.py): health reports to head office.
FLEET = (
    Key("fleet.telemetry_seconds", 30.0, seconds, "how often the kiosk reports its health to head office "
        "(and at once when a device or the lock changes)"),
)
# Member notifications (kiosk/notices): the outbox follower, the daily run and the sender.
NOTIFY_GATEWAYS = ("log", "file", "http")
NOTIFY = (
    Key("notify.gateway", "log", one_of(*NOTIFY_GATEWAYS), "where messages go: log (the journal), file "
        "(notify.file), http (an SMS provider); the kiosk sends in the background only when this is set"),
    Key("notify.file", None, optional(directory), "the file gateway's file (unset: notices.log in the data directory)"),
    Key("notify.http_url", None, optional(http_url), "the SMS provider's send URL (http gateway)"),
    Key("notify.app_key", None, optional(text), "this shop's app key at the SMS provider (http gateway)"),
    Key("notify.secret_file", None, optional(directory),
        "the file holding the provider's signing secret (unset: sms.secret in kiosk.key_dir)"),
    Key("notify.timeout_seconds", 10.0, seconds, "a provider that does not answer within this is tried again later"),
    Key("notify.language", "zh_CN", one_of("zh_CN", "en"), "the language of the messages"),
    Key("notify.transactional", True, boolean, "send account notices (registration, top-ups, purchases, tier, "
        "low stored value, points expiring)", document=("settings", "notify_transactional")),
    Key("notify.quiet_hours", "21:00-08:00", quiet_hours,
        "scheduled messages (birthday, expiry reminders) wait until these local hours end"),
    Key("notify.low_balance_fen", 2000, whole, "a spend leaving less stored value than this (fen) sends an alert"),
    Key("notify.expiry_days", 30, whole, "remind members this many days before their points expire"),
    Key("notify.birthday_late_days", 2, whole,
        "a kiosk catching up missed days sends a birthday wish at most this many days late, else skips it"),
    Key("notify.max_attempts", 8, whole, "a message that failed this many times is given up (notify retry resends)"),
    Key("notify.retry_seconds", 30.0, seconds, "the wait after a failed send, doubling with each failure (at most 1 h)"),
)
def command_line(raw: Any) -> str:
    """A command line, split as a shell would split it (no shell runs it); empty: no command."""
    try:
        if isinstance(raw, str) and "\n" not in raw:
            shlex.split(raw)
            return raw
    except ValueError:
        pass
    raise ValueError("expected one command line, e.g. systemctl restart memberkiosk.service")


# Updates (mqtt/fleet/update_fetch.py on the kiosk; mqtt/fleet/update_apply.py, the root updater).
UPDATE = (
    Key("update.root", Path("/opt/memberkiosk"), directory, "where releases/<version>/ and the current link live"),
    Key("update.max_bundle_mb", 512, whole, "the largest update bundle this kiosk fetches (MB)"),
    Key("update.fetch_seconds", 120.0, seconds, "a bundle download stalled this long is given up"),
    Key("update.health_seconds", 120.0, seconds,
        "a new version must be ready and pass verify this soon after its restart, else it is rolled back"),
    Key("update.restart", "systemctl restart memberkiosk.service", command_line,
        "how the updater restarts the kiosk ({release}, {version}, {root} are filled in)"),
    Key("update.ready", "systemctl is-active --quiet memberkiosk.service", command_line,
        "the check, repeated until it passes, that the restarted kiosk is ready"),
    Key("update.verify", "systemd-run --quiet --wait --collect --uid=kiosk --gid=kiosk -E "
        "MEMBERKIOSK_DATA_DIR=/var/lib/memberkiosk {release}/bin/memberkiosk verify --quick --if-present", command_line,
        "the store check the new version must pass, as the kiosk user (the updater itself holds no capability)"),
)
SCHEMA: dict[str, Key] = {key.name: key for key in KIOSK + UI + DEVICES + SYNC + PINS + ENROLMENT + FLEET + NOTIFY
                          + UPDATE}


class Config:
    """The effective configuration: `config["ui.idle_seconds"]` is the value, `config.layer(...)` where it came from."""

    def __init__(self, settings: Mapping[str, Setting]) -> None:
        self.settings = dict(settings)

    def __getitem__(self, name: str) -> Any:
        return self.settings[name].value

    def layer(self, name: str) -> str:
        """Where the value of `name` came from."""
        return self.settings[name].layer

    def is_set(self, name: str) -> bool:
        """Whether some layer above the defaults set `name`."""
        return self.layer(name) != DEFAULT

    def __iter__(self) -> Iterator[tuple[str, Setting]]:
        return iter(self.settings.items())


def config_files(environ: Mapping[str, str]) -> list[Path]:
    """The files to read, lowest first: $MEMBERKIOSK_CONFIG (which must exist) or /etc's, then the boot partition's."""
    named = environ.get(CONFIG_ENV)
    if named and not Path(named).is_file():
        raise ConfigError(f"{CONFIG_ENV}={named} is not a file")
    return [path for path in (Path(named) if named else ETC_FILE, BOOT_FILE) if path.is_file()]


def load(
    *,
    flags: Mapping[str, Any] | None = None,
    docs: Any = None,
    environ: Mapping[str, str] | None = None,
    files: Iterable[Path] | None = None,
) -> Config:
    """Every key's effective value; `docs` is the TinyDB of documents (None: that layer is skipped), flags left
    None are not given. Raises ConfigError naming the key and the layer of the first bad value."""
    environ = os.environ if environ is None else environ
    layers: list[tuple[str, dict[str, Any]]] = []
    for path in config_files(environ) if files is None else files:
        layers.append((str(path), _read_file(path)))
    if docs is not None:
        layers += _documents(docs)
    layers += [(f"env {key.env}", {key.name: environ[key.env]})
               for key in SCHEMA.values() if key.env and environ.get(key.env)]
    layers.append((FLAG, {name: value for name, value in (flags or {}).items() if value is not None}))
    settings = {name: Setting(key.default, DEFAULT) for name, key in SCHEMA.items()}
    for layer, values in layers:
        for name, raw in values.items():
            if name not in SCHEMA:
                raise ConfigError(f"{layer}: unknown key '{name}'; known keys: {', '.join(SCHEMA)}")
            try:
                settings[name] = Setting(SCHEMA[name].check(raw), layer)
            except (ValueError, KioskError) as exc:
                raise ConfigError(f"{name} = {raw!r} ({layer}): {exc}") from None
    return Config(settings)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return dict(_flatten(table, str(path)))


def _flatten(table: Mapping[str, Any], where: str, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """TOML tables to dotted keys, stopping at a key whose value is itself a table (devices)."""
    for part, value in table.items():
        name = prefix + part
        if name in SCHEMA:
            yield name, value
        elif isinstance(value, dict) and any(known.startswith(name + ".") for known in SCHEMA):
            yield from _flatten(value, where, name + ".")
        else:
            raise ConfigError(f"{where}: unknown key '{name}'; known keys: {', '.join(SCHEMA)}")


def _documents(docs: Any) -> list[tuple[str, dict[str, Any]]]:
    """The keys the operator's documents set, one layer per document."""
    layers: dict[str, dict[str, Any]] = {}
    for key in SCHEMA.values():
        if key.document is None:
            continue
        table, field = key.document
        rows = docs.table(table).all()
        if field is None and rows:
            layers.setdefault(f"document {table}", {})[key.name] = dict(rows[0])
        elif field is not None:
            value = next((row[field] for row in rows if row.get(field) not in (None, "")), None)
            if value is not None:
                layers.setdefault(f"document {table}", {})[key.name] = value
    return list(layers.items())
