"""`memberkiosk fleet`: the operator's view of the chain's kiosks and hand on them. Status from the hub's tables;
configs and commands signed with the operator key, published, and each kiosk's outcome shown as it arrives; the
operator key pair; and the broker configuration (TLS, one login per kiosk, per-kiosk ACLs) of the chain."""
from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import KioskError
from kiosk.cli import enrol
from kiosk.cli.common import add_command, emit
from kiosk.cli.hub import HubUnavailable, _broker_options, _db_option, _db_url, _settings
from kiosk.clock import wall_ms
from mqtt import topics
from mqtt.connection import BrokerError, Connection, Inbound
from mqtt.fleet import broker_config, protocol, signing
from mqtt.fleet.update_apply import REFUSED
from mqtt.fleet.update_fetch import INSTALLED
from mqtt.hub.fleetdb import FleetKiosk
from mqtt.messages import MAX_PAYLOAD
from mqtt.hub.store import HubStore

STATUS_KEYS = ("store", "kiosk", "online", "version", "config_version", "unacked", "last_seen", "devices",
               "disk_free")
KEY_DIR = "operator"  # in the data directory, unless --key-dir says where the operator key is
OUTCOMES = f"{topics.ROOT}/+/+/up/outcome"
SUFFIX_FORMATS = {".toml": "toml", ".csv": "csv", ".json": "json"}
NOT_ALL_OK = 3  # the exit code when a kiosk refused or did not answer


class FleetError(KioskError):
    """A config or command that cannot be sent as given; the message says what to fix."""


def _status(args: argparse.Namespace) -> int:
    with HubStore.open(_db_url(args, must_exist=True)) as store:
        found = store.fleet_kiosks(args.store)
    payload = [{**{key: getattr(k, key) for key in STATUS_KEYS},
                **{key: (k.telemetry or {}).get(key) for key in ("verify", "update")}} for k in found]
    emit(args, payload, _table(found) if found else "no kiosk has reported to this hub yet")
    return 0


def _table(kiosks: list[FleetKiosk]) -> str:
    rows = [("STORE", "KIOSK", "STATE", "VERSION", "CONFIG", "UNACKED", "LAST SEEN", "DISK", "VERIFY", "UPDATE",
             "DEVICES")]
    for k in kiosks:
        devices = ", ".join(f"{kind} {state}" for kind, state in sorted(k.devices.items())) or "-"
        locked = (k.telemetry or {}).get("locked")
        rows.append((k.store, k.kiosk, ("online" if k.online else "OFFLINE") + (" LOCKED" if locked else ""),
                     k.version or "-", str(k.config_version), _or_dash(k.unacked), _when(k.last_seen),
                     "-" if k.disk_free is None else f"{k.disk_free / 2**30:.1f}G", _verify(k), _update(k),
                     devices))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows)


def _verify(kiosk: FleetKiosk) -> str:
    """The kiosk's last nightly full verify: ok or FAILED, and when."""
    found = (kiosk.telemetry or {}).get("verify")
    if not found:
        return "-"
    return f"{'ok' if found['ok'] else 'FAILED'} {_short(found['at'])}"


def _update(kiosk: FleetKiosk) -> str:
    """The kiosk's last update: the version tried and ok, rolled back, failed or refused (with the refusal's kind;
    the whole reason is in --json and on the console), and when."""
    found = (kiosk.telemetry or {}).get("update")
    if not found:
        return "-"
    state, reason = found["state"], found["reason"] or ""
    if state == INSTALLED:
        state = "ok"
    elif state == REFUSED and reason.startswith(f"{REFUSED}: "):
        state += ": " + reason.removeprefix(f"{REFUSED}: ").split(":")[0]  # refused: forged, stale, corrupt...
    return f"{found['version'] or '?'} {state} {_short(found['at'])}"


def _short(ms: int) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(ms / 1000))


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _when(ms: int | None) -> str:
    return "never" if ms is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def _push_config(args: argparse.Namespace) -> int:
    fmt = args.format or SUFFIX_FORMATS.get(args.file.suffix.lower())
    if fmt is None:
        raise FleetError(f"cannot tell the format of {args.file.name}: give --format "
                         f"({' or '.join(protocol.FORMATS[args.kind])})")
    try:
        body = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FleetError(f"cannot read {args.file}: {e}") from None
    key = signing.load_private(_key_dir(args), signing.read_passphrase())
    target, expected = _targets(args)
    now = wall_ms()
    try:
        payload, data = signing.signed_config(args.kind, target, fmt, body, key, now)
    except protocol.Malformed as e:
        raise FleetError(f"config not sent: {e.detail}") from None
    return _send(args, protocol.config_topic(target, args.kind), data, payload, expected, retain=True)


def _command(args: argparse.Namespace) -> int:
    try:
        cmd_args = json.loads(args.args) if args.args else {}
    except ValueError as e:
        raise FleetError(f"--args {args.args!r} is not JSON: {e}") from None
    key = signing.load_private(_key_dir(args), signing.read_passphrase())
    target, expected = _targets(args)
    now = wall_ms()
    try:
        payload = protocol.new_command(args.cmd, target, now, now + int(args.expires * 1000), cmd_args)
        data = signing.sign(payload, key)
    except protocol.Malformed as e:
        raise FleetError(f"command not sent: {e.detail}") from None
    return _send(args, protocol.command_topic(target), data, payload, expected, retain=False)


def _key_dir(args: argparse.Namespace) -> Path:
    return args.key_dir or Path(args.data_dir) / KEY_DIR


def _targets(args: argparse.Namespace) -> tuple[protocol.Target, list[FleetKiosk] | None]:
    """The target of --to (kiosk:K resolved through the hub's table) and the kiosks of it the hub knows (None when
    no hub database is at hand: then every outcome until --timeout is shown)."""
    try:
        url = _db_url(args, must_exist=True)
    except HubUnavailable:
        if args.to.startswith("kiosk:") and "/" not in args.to:
            raise FleetError(f"--to {args.to}: without the hub database (--db or --data-dir) name the store too,"
                             f" as kiosk:STORE/KIOSK") from None
        return _parse_target(args.to), None
    with HubStore.open(url) as store:
        def resolve(kiosk: str) -> str:
            known = store.fleet_kiosk(kiosk)
            if known is None:
                raise FleetError(f"--to kiosk:{kiosk}: the hub has never heard of that kiosk; name its store as"
                                 f" kiosk:STORE/{kiosk}")
            return known.store
        target = _parse_target(args.to, resolve)
        return target, [k for k in store.fleet_kiosks() if target.includes(k.store, k.kiosk)]


def _parse_target(text: str, resolve: Any = None) -> protocol.Target:
    try:
        return protocol.Target.parse(text, resolve)
    except protocol.Malformed as e:
        raise FleetError(f"--to: {e.detail}") from None


def _send(args: argparse.Namespace, topic: str, data: bytes, payload: dict[str, Any],
          expected: list[FleetKiosk] | None, retain: bool) -> int:
    """Publish, then show each kiosk's outcome as it arrives until every online target answered or --timeout."""
    what = f"{payload['type']} {payload.get('kind') or payload.get('cmd')} {payload['id']}"
    if len(data) > MAX_PAYLOAD:
        raise FleetError(f"{what} not sent: {len(data)} bytes signed is over the {MAX_PAYLOAD}-byte limit of a message")
    waiting = {k.kiosk for k in expected if k.online} if expected is not None else None
    offline = sorted(k.kiosk for k in expected or () if not k.online)
    arrived: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()

    def receive(m: Inbound) -> None:
        route = topics.parse(m.topic)
        try:
            outcome = protocol.parse_outcome(m.payload)
        except protocol.Malformed:
            return  # not ours to judge: the hub records and logs it
        if outcome["id"] == payload["id"]:
            arrived.put((route.store, route.kiosk or "", outcome))

    conn = Connection(replace(_settings(args, "-operator"), username=args.user))
    outcomes: list[dict[str, Any]] = []
    try:
        conn.connect(args.connect_timeout)
        conn.subscribe(OUTCOMES, receive)
        conn.publish(topic, data, retain=retain).wait(10)
        _say(args, f"sent {what} to {payload['target']} on {topic}"
             + (f"; waiting for {len(waiting)} online kiosk(s)" if waiting is not None else ""))
        if offline:
            _say(args, f"offline, not waited for: {', '.join(offline)}"
                 + (" (they apply the retained config when they connect)" if retain else ""))
        deadline = time.monotonic() + args.timeout
        while waiting is None or waiting:
            try:
                store, kiosk, outcome = arrived.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if waiting is not None:
                waiting.discard(kiosk)
            outcomes.append({"store": store, "kiosk": kiosk, **outcome})
            _say(args, f"{store}/{kiosk}: " + ("ok" if outcome["ok"] else f"refused: {outcome['reason']}")
                 + (f" {json.dumps(outcome['result'], ensure_ascii=False)}" if outcome["result"] else ""))
    except BrokerError as e:
        raise FleetError(f"{payload['type']} not sent: {e}") from None
    finally:
        conn.close()
    missing = sorted(waiting or ())
    if missing:
        _say(args, f"no answer within {args.timeout:g} s from: {', '.join(missing)}")
    if args.json:
        emit(args, {"id": payload["id"], "topic": topic, "target": payload["target"], "outcomes": outcomes,
                    "missing": missing, "offline": offline}, "")
    all_ok = not missing and all(o["ok"] for o in outcomes) and (waiting is not None or bool(outcomes))
    return 0 if all_ok else NOT_ALL_OK


def _say(args: argparse.Namespace, line: str) -> None:
    """A progress line, as it happens: on stdout for a person, on stderr beside --json's document."""
    print(line, file=sys.stderr if args.json else sys.stdout, flush=True)


def _keys_init(args: argparse.Namespace) -> int:
    directory = args.dir or Path(args.data_dir) / KEY_DIR
    private, public = signing.init_keys(directory, signing.read_passphrase(confirm=True))
    sha = signing.fingerprint(signing.load_public(public))
    emit(args, {"private": str(private), "public": str(public), "sha256": sha},
         f"operator key written: {private} (encrypted with the passphrase), {public}\n"
         f"fingerprint (fleet.operator_key_sha256): {sha}")
    return 0


def _broker_config(args: argparse.Namespace) -> int:
    try:
        written = broker_config.write(args.out, broker_config.parse_kiosks(args.kiosks or ""), args.port, args.bind,
                                      args.host)
    except (broker_config.BrokerConfigError, OSError) as e:
        raise FleetError(f"broker configuration not written: {e}") from None
    emit(args, {"conf": str(written.conf), "ca_file": str(written.ca_file), "credentials": str(written.credentials),
                "kiosks": [f"{s}:{k}" for s, k in written.kiosks]},
         f"wrote {written.conf} for {len(written.kiosks)} kiosk(s); run: mosquitto -c {written.conf}\n"
         f"kiosks trust {written.ca_file}; their passwords (and hub's, operator's) are in {written.credentials}/")
    return 0


def _send_options(p: argparse.ArgumentParser) -> None:
    _broker_options(p)
    _db_option(p)
    p.add_argument("--to", required=True, metavar="TARGET", help="all, store:STORE, kiosk:KIOSK or kiosk:STORE/KIOSK")
    p.add_argument("--user", default=broker_config.OPERATOR, help="the broker login (operator, or hub)")
    p.add_argument("--key-dir", type=Path, help=f"where operator.key is (default: {KEY_DIR}/ in the data directory;"
                                                f" passphrase from ${signing.PASSPHRASE_ENV}, the terminal or stdin)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the kiosks' outcomes (30)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fleet status`, `push-config`, `command`, `keys init`, `broker-config`, `enrol` (kiosk.cli.enrol) and
    `update build|announce` (kiosk.cli.update)."""
    group = add_command(subparsers, "fleet", None, "the chain's kiosks: state, signed config and commands, broker")
    sub = group.add_subparsers(dest="fleet_command", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "status", _status, "every kiosk's state, versions, backlog, devices and disk")
    _db_option(p)
    p.add_argument("--store", help="only the kiosks of this store")
    p = add_command(sub, "push-config", _push_config, "sign and publish a config; show each kiosk's outcome")
    p.add_argument("file", type=Path)
    p.add_argument("--kind", required=True, choices=sorted(protocol.CONFIG_KINDS))
    p.add_argument("--format", choices=sorted({f for fs in protocol.FORMATS.values() for f in fs}),
                   help="the file's format (default: from its suffix)")
    _send_options(p)
    p = add_command(sub, "command", _command, "sign and send a command; show each kiosk's outcome")
    p.add_argument("cmd", choices=sorted(protocol.COMMANDS))
    p.add_argument("--args", metavar="JSON", help='the command\'s arguments, e.g. \'{"reason": "stocktaking"}\'')
    p.add_argument("--expires", type=float, default=300.0, metavar="S",
                   help="seconds after which a kiosk refuses it (300)")
    _send_options(p)
    keys = add_command(sub, "keys", None, "the operator's signing key")
    p = add_command(keys.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True), "init",
                    _keys_init, "make the operator key pair; the private key encrypted with a passphrase")
    p.add_argument("--dir", type=Path, help=f"where to write them (default: {KEY_DIR}/ in the data directory)")
    p = add_command(sub, "broker-config", _broker_config,
                    "write the chain's mosquitto configuration: TLS, one login per kiosk, per-kiosk ACLs")
    p.add_argument("--out", type=Path, required=True, help="the folder to write (run again to add kiosks)")
    p.add_argument("--port", type=int, default=8883, help="the TLS listener's port (8883)")
    p.add_argument("--bind", metavar="ADDR", help="listen on this address only (default: every interface)")
    p.add_argument("--kiosks", metavar="STORE:KIOSK,...", help="the kiosks to add, e.g. shop1:shop1-k1,shop2:shop2-k1")
    p.add_argument("--host", action="append", default=[], metavar="NAME",
                   help="a name or address kiosks reach the broker by (repeat; localhost and this host are in)")
    enrol.register(sub)
    from kiosk.cli import update  # it builds on this module's sending, so it is imported after it

    update.register_fleet(sub)
