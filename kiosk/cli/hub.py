"""`memberkiosk hub`: the head office. Serve the chain's kiosks over MQTT, look members, balances, kiosks and the
reconcile list up in the hub's database, and publish the stores' rules and catalog documents."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, KioskError
from core.money import format_fen
from kiosk.cli.common import add_command, emit, read_secret
from kiosk.clock import wall_ms
from mqtt import messages, topics
from mqtt.connection import BrokerError, Connection, Settings
from mqtt.hub.fleet import FleetService
from mqtt.hub.service import HubService
from mqtt.hub.store import HubStore

PASSWORD_ENV = "MEMBERKIOSK_HUB_PASSWORD_FILE"
DB_FILE = "hub.sqlite"
log = logging.getLogger(__name__)


class HubUnavailable(KioskError):
    """The broker or the hub's database cannot be used as given; the message says what to fix."""


def _db_url(args: argparse.Namespace, must_exist: bool) -> str:
    """--db, else the SQLite file in the data directory (which a read command does not create)."""
    if args.db:
        return args.db
    path = Path(args.data_dir).resolve() / DB_FILE
    if must_exist and not path.exists():
        raise HubUnavailable(f"no hub database at {path}: pass --db, or --data-dir where `hub serve` keeps it")
    return f"sqlite:///{path}"


def _open_store(args: argparse.Namespace, must_exist: bool = True) -> HubStore:
    return HubStore.open(_db_url(args, must_exist))


def _settings(args: argparse.Namespace, suffix: str = "") -> Settings:
    """The hub's broker login: user `hub`, client id hub-<host>-<pid>, the password from --password-file."""
    password = None
    path = args.password_file or os.environ.get(PASSWORD_ENV)
    if path:
        try:
            password = Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise HubUnavailable(f"cannot read the hub's broker password from {path}: {e.strerror}") from None
    return Settings(args.broker, client_id=f"hub-{socket.gethostname()}-{os.getpid()}{suffix}", username="hub",
                    password=password, ca_file=args.ca_file)


def _serve(args: argparse.Namespace) -> int:
    if not 0.0 <= args.allowance_share <= 1.0:
        raise HubUnavailable(f"--allowance-share {args.allowance_share}: give a share between 0 and 1, e.g. 0.5")
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with _open_store(args, must_exist=False) as store:
        try:
            service = HubService(store, _settings(args), share=args.allowance_share)
            service.start(timeout=args.connect_timeout)
        except BrokerError as e:
            raise HubUnavailable(f"hub: {e}") from None
        fleet = FleetService(store, _settings(args))  # the kiosks' status, telemetry and outcomes
        try:
            fleet.start(timeout=args.connect_timeout)
            print(f"hub serving {args.broker} with {store.url}", flush=True)
            stop.wait()
        except BrokerError as e:
            raise HubUnavailable(f"hub: {e}") from None
        finally:
            fleet.stop()
            service.stop()
    log.info("hub stopped; dropped messages: %s", dict(service.dropped) or "none")
    return 0


def _members_find(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        found = store.members_find(args.phone)
    payload = [{"member_id": r.member_id, "created_at": r.created_at, "erased_at": r.erased_at,
                "values": {k: v for k, v in r.values.items() if k != "pin_hash"},
                "cards": [asdict(c) for c in r.cards.values()]} for r in found]
    lines = [f"{r.member_id} {r.get('name') or '-'} {r.get('phone')}" for r in found]
    emit(args, payload, "\n".join(lines) or f"no member holds phone {args.phone}")
    return 0


def _balances(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        b, granted = store.balances(args.member), store.allowances(args.member)
    payload: dict[str, Any] = {"member_id": args.member, "points": b.points, "stored_value": b.stored_value,
                               "lifetime_spend": b.lifetime_spend, "visits": dict(b.visits), "tier": b.tier,
                               "allowances": [{"kiosk_id": a.kiosk_id, "kind": a.kind, "amount": a.amount}
                                              for a in granted]}
    visits = ", ".join(f"{pack} {n}" for pack, n in sorted(b.visits.items())) or "none"
    text = (f"{args.member}: stored value {format_fen(b.stored_value)}, points {b.points}, visits {visits},"
            f" tier {b.tier}" + "".join(f"\n  allowance at {a.kiosk_id}: {a.kind} {a.amount}" for a in granted))
    emit(args, payload, text)
    return 0


def _kiosks(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        found = store.kiosks()
    lines = [f"{k.kiosk_id} ({k.store_id or '-'}): watermark {k.watermark}, backlog {k.backlog},"
             f" last seen {k.last_seen or 'never'}" for k in found]
    emit(args, [asdict(k) for k in found], "\n".join(lines) or "no kiosk has spoken to this hub yet")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        items = store.reconcile()
    lines = [f"#{i.id} {i.kiosk_id}: {i.what} {i.amount} of member {i.member_id or '-'} (event {i.event_id})"
             for i in items]
    emit(args, [asdict(i) for i in items], "\n".join(lines) or "nothing to settle")
    return 0


def _publish_document(args: argparse.Namespace) -> int:
    version = wall_ms()
    try:
        body = {"name": args.name, "format": args.format, "version": version,
                "text": args.file.read_text(encoding="utf-8")}
        topic = topics.document(args.store, args.name)
    except (OSError, UnicodeDecodeError, topics.BadTopic) as e:
        raise HubUnavailable(f"document not published: {e}") from None
    try:
        payload = messages.encode("documents", "hub", version, body)
        conn = Connection(_settings(args, "-doc"))
        conn.connect(args.connect_timeout)
        try:
            conn.publish(topic, payload, retain=True).wait(10)
        finally:
            conn.close()
    except (BrokerError, messages.BadMessage) as e:
        raise HubUnavailable(f"document not published: {e}") from None
    emit(args, {"topic": topic, "version": version, "bytes": len(payload)},
         f"published {args.name} ({args.format}) version {version} to store {args.store}")
    return 0


def _facts_rebuild(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        written = store.facts_rebuild(args.timezone)
        timezone = store.facts_timezone()
    emit(args, {"events": written, "timezone": timezone},
         f"rebuilt the sales facts of {written} events (local days and hours in {timezone})")
    return 0


def _report_inputs(args: argparse.Namespace) -> Any:
    """The chain's rulebook and catalog the console's reports value points and name products and categories by."""
    from core.catalog import parse_catalog
    from core.rules_toml import parse_rules
    from kiosk.reports.model import Inputs

    try:
        rules = parse_rules(args.rules.read_text(encoding="utf-8")) if args.rules else None
        products = parse_catalog(args.catalog.read_text(encoding="utf-8"),
                                 args.catalog.suffix.lstrip(".").lower()) if args.catalog else {}
    except (OSError, UnicodeDecodeError) as e:
        raise HubUnavailable(f"cannot read the reports' rulebook or catalog: {e}") from None
    return Inputs(products=products, rules=rules)


def _web(args: argparse.Namespace) -> int:
    # imported here: the console's libraries come with the `web` extra, which a kiosk does not install
    import uvicorn

    from mqtt.hub.web.app import WebConfig, create_app
    from mqtt.hub.web.push import Pusher
    from mqtt.hub.web.secret import session_secret

    if (args.broker is None) != (args.key_dir is None):
        raise HubUnavailable("to push config from the console give both --broker and --key-dir (the operator key)")
    pusher = Pusher(_settings(args, "-web"), args.key_dir) if args.broker else None
    app = create_app(WebConfig(_db_url(args, must_exist=True), session_secret(Path(args.data_dir)), pusher,
                               session_hours=args.session_hours, bundles=args.bundles,
                               report_inputs=_report_inputs(args)))
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    if args.host not in ("127.0.0.1", "::1", "localhost"):  # the cookie is Secure: kept over https, or on loopback
        log.warning("hub web listens on %s: serve people through a TLS proxy, not plain http", args.host)
    print(f"console on http://{args.host}:{args.port} (serve it to people through a TLS proxy)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False)
    return 0


def _users_add(args: argparse.Namespace) -> int:
    from mqtt.hub.web.accounts import Accounts

    password = read_secret(f"password of {args.name}: ")
    if sys.stdin.isatty() and read_secret("again: ") != password:
        raise InvalidInput("the two passwords differ; no account was added")
    with _open_store(args, must_exist=False) as store:
        account = Accounts(store.db).add(args.name, args.role, password)
    emit(args, asdict(account), f"added {account.name} ({account.role})")
    return 0


def _users_list(args: argparse.Namespace) -> int:
    from mqtt.hub.web.accounts import Accounts

    with _open_store(args) as store:
        found = Accounts(store.db).all()
    emit(args, [asdict(a) for a in found], "\n".join(f"{a.name} ({a.role})" for a in found) or "no accounts")
    return 0


def _users_remove(args: argparse.Namespace) -> int:
    from mqtt.hub.web.accounts import Accounts

    with _open_store(args) as store:
        Accounts(store.db).remove(args.name)
    emit(args, {"removed": args.name}, f"removed {args.name}")
    return 0


def _web_commands(sub: argparse._SubParsersAction) -> None:
    """`hub web` and `hub users add|list|remove`: the head-office web console and its accounts."""
    p = add_command(sub, "web", _web, "serve the head-office web console (fleet, kiosks, reconcile, reports, push config)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1: behind a TLS proxy)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    p.add_argument("--session-hours", type=float, default=8.0, help="hours a login lasts (8)")
    p.add_argument("--bundles", type=Path, metavar="DIR",
                   help="serve the signed update bundles in DIR at /updates/ (fleet update announce --url)")
    p.add_argument("--broker", metavar="URL", help="to push config: the broker (mqtts://host:8883)")
    p.add_argument("--ca-file", type=Path, help="the CA that signed the broker's certificate (default: system CAs)")
    p.add_argument("--password-file", help=f"the broker password of user hub (default: env {PASSWORD_ENV})")
    p.add_argument("--key-dir", type=Path, help="to push config: the directory holding operator.key")
    p.add_argument("--rules", type=Path, metavar="FILE", help="the chain's rulebook (TOML): reports value points by"
                                                              " it (the liability report needs it)")
    p.add_argument("--catalog", type=Path, metavar="FILE", help="the chain's catalog (CSV or JSON): reports name"
                                                                " products and categories by it")
    _db_option(p)
    users = add_command(sub, "users", None, "the web console's accounts")
    users_sub = users.add_subparsers(dest="users_command", metavar="SUBCOMMAND", required=True)
    p = add_command(users_sub, "add", _users_add, "add an account; its password is asked (or read from stdin)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=("viewer", "operator"),
                   help="viewer: sees every page; operator: may also push config")
    _db_option(p)
    p = add_command(users_sub, "list", _users_list, "every account and its role")
    _db_option(p)
    p = add_command(users_sub, "remove", _users_remove, "remove an account; its sessions end at once")
    p.add_argument("name")
    _db_option(p)


def _broker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", required=True, metavar="URL", help="mqtts://host:8883 (mqtt:// only to 127.0.0.1)")
    p.add_argument("--ca-file", type=Path, help="the CA that signed the broker's certificate (default: system CAs)")
    p.add_argument("--password-file", help=f"the broker password of user hub (default: env {PASSWORD_ENV})")
    p.add_argument("--connect-timeout", type=float, default=30.0, help="seconds to wait for the broker (30)")


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help=f"sqlite:///PATH or postgresql://... (default: sqlite in --data-dir,"
                                               f" {DB_FILE})")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `hub serve`, `hub members find`, `hub balances`, `hub kiosks`, `hub reconcile`, `hub documents publish`,
    and the web console's `hub web` and `hub users`."""
    group = add_command(subparsers, "hub", None, "the head office: serve the chain's kiosks, look its data up")
    sub = group.add_subparsers(dest="hub_command", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "serve", _serve, "serve the kiosks over MQTT in the foreground until SIGTERM")
    _broker_options(p)
    _db_option(p)
    p.add_argument("--allowance-share", type=float, default=0.5, metavar="X",
                   help="the share of a member's unpromised balance a kiosk may spend offline (0.5)")
    members = add_command(sub, "members", None, "the chain's member directory")
    p = add_command(members.add_subparsers(dest="members_command", metavar="SUBCOMMAND", required=True), "find",
                    _members_find, "the members holding a phone number, the first claim first")
    p.add_argument("--phone", required=True)
    _db_option(p)
    p = add_command(sub, "balances", _balances, "a member's chain-wide balances and the kiosks' allowances")
    p.add_argument("member")
    _db_option(p)
    p = add_command(sub, "kiosks", _kiosks, "every kiosk's watermark, backlog and last contact")
    _db_option(p)
    p = add_command(sub, "reconcile", _reconcile, "overdrafts and sequence clashes a manager must settle")
    _db_option(p)
    documents = add_command(sub, "documents", None, "the stores' rules and catalog documents")
    p = add_command(documents.add_subparsers(dest="documents_command", metavar="SUBCOMMAND", required=True),
                    "publish", _publish_document, "publish a store's rules or catalog to its kiosks (retained)")
    _broker_options(p)
    p.add_argument("--store", required=True)
    p.add_argument("--name", required=True, choices=("rules", "catalog"))
    p.add_argument("--format", required=True, choices=("toml", "csv"))
    p.add_argument("file", type=Path)
    facts = add_command(sub, "facts", None, "the chain's sales facts, which the console's reports read")
    p = add_command(facts.add_subparsers(dest="facts_command", metavar="SUBCOMMAND", required=True), "rebuild",
                    _facts_rebuild, "write the sales facts again from every event held (after an upgrade with"
                                    " history, or to change the time zone)")
    p.add_argument("--timezone", metavar="ZONE", help="count local days and hours in ZONE from now on"
                                                      " (default: as set, first Asia/Shanghai)")
    _db_option(p)
    _web_commands(sub)
