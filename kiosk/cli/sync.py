"""`memberkiosk sync`: exchange events and member records with another kiosk of the store by signed file, or
with the chain's hub over MQTT (`sync run`, `sync status`, `sync restore`)."""
from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import config
from kiosk.cli.common import add_command, emit, open_kiosk

if TYPE_CHECKING:
    from kiosk.app import Kiosk
    from mqtt.agent.agent import SyncAgent


def _export(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        report = kiosk.sync.export(args.file, args.since)
    payload = {"file": str(report.path), "events": report.events, "member_changes": report.changes,
               "covers": report.covers}
    emit(args, payload, f"wrote {report.events} events and {report.changes} member changes to {report.path}"
                        f" (next time: --since {report.path})")
    return 0


def _import(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        report = kiosk.sync.import_file(args.file)
    e, m = report.events, report.members
    lines = [f"from kiosk {report.kiosk_id}: {e.new} new events, {e.duplicate} already here, {e.flagged} overdrafts flagged;"
             f" {m.new} new member changes, {m.duplicate} already here, {m.conflicts} clashes flagged"]
    if e.flagged or m.conflicts:
        lines.append("see 'memberkiosk sync flags' for what staff must settle")
    emit(args, report.as_dict(), "\n".join(lines))
    return 0


def _flags(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        flags = kiosk.sync.flags()
    lines = [f"overdraft: member {o['member_id'] or '-'} {o['what']} {o['amount']} below zero (event {o['event_id']})"
             for o in flags["overdrafts"]]
    lines += [f"clash: member {c['member_id']} and member {c['kept_by']} both claim {c['field']} {c['value']};"
              f" {c['kept_by']} keeps it" for c in flags["conflicts"]]
    emit(args, flags, "\n".join(lines) or "nothing flagged")
    return 0


def _forget(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        forgot = kiosk.sync.forget(args.kiosk_id)
    emit(args, {"forgot": forgot}, f"forgot the key of kiosk {args.kiosk_id}; its next file is trusted"
         if forgot else f"no key remembered for kiosk {args.kiosk_id}")
    return 0


def _agent(kiosk: "Kiosk", args: argparse.Namespace, role: str = "agent") -> "SyncAgent":
    """The kiosk's sync agent on --broker or sync.broker (paho is imported only by the commands that connect)."""
    from mqtt.agent.agent import SyncAgent
    from mqtt.agent.settings import broker_settings

    cfg = config.load()
    settings = broker_settings(kiosk, cfg, args.broker, role=role, will=role == "agent")
    return SyncAgent(kiosk, settings, kiosk.clock.now_ms, pull_seconds=cfg["sync.pull_seconds"])


def _run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    from mqtt.fleet.kiosk import attach

    with open_kiosk(args) as kiosk:
        agent = _agent(kiosk, args)
        attach(agent, kiosk, config.load(docs=kiosk.docs))  # head office's configs, commands and health reports
        print(f"syncing kiosk {kiosk.who.kiosk_id} with {agent.settings.url} until stopped", flush=True)
        agent.run_until(stop)  # SyncRefused (exit 2 with its message) when the broker refuses this kiosk
    return 0


def _status(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        status = kiosk.chain.status()
    link = "connected" if status["connected"] else "not connected"
    lines = [f"{link} to head office; {status['unacked']} events not yet acknowledged (head {status['head']}, "
             f"acknowledged up to {status['acked_seq']})"]
    if status["lost_tail"] is not None:
        lines.append(f"head office holds this kiosk's events up to {status['lost_tail']}: run 'memberkiosk sync restore'")
    lines += [f"allowance: member {a['member_id']} {a['kind']} {a['amount']} (as of {a['as_of']})"
              for a in status["allowances"]]
    emit(args, status, "\n".join(lines))
    return 0


def _restore(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        report = _agent(kiosk, args, role="restore").restore(args.timeout)  # beside a running agent
    emit(args, report, f"restored {report['restored']} events from head office; this kiosk sells again"
         if report["restored"] else f"nothing was lost: head office holds no event of this kiosk beyond {report['head']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sync export`, `sync import`, `sync flags`, `sync forget`, and `sync run`, `sync status`, `sync restore`."""
    group = add_command(subparsers, "sync", None, "sync with another kiosk of this store by signed file (USB stick)")
    sub = group.add_subparsers(dest="sync_command", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "export", _export, "write every event and member change held here to a signed file")
    p.add_argument("file", type=Path)
    p.add_argument("--since", type=Path, metavar="PREVIOUS_FILE",
                   help="only what is newer than this kiosk's previous export")
    p = add_command(sub, "import", _import, "take another kiosk's sync file (importing it twice changes nothing)")
    p.add_argument("file", type=Path)
    add_command(sub, "flags", _flags, "overdrafts and clashing phones or cards that sync flagged for staff")
    p = add_command(sub, "forget", _forget, "forget a kiosk's key after it was reinstalled with a new one")
    p.add_argument("kiosk_id")
    broker = dict(metavar="URL", help="the chain's broker, mqtts://HOST:PORT (default: sync.broker)")
    p = add_command(sub, "run", _run, "sync with head office over MQTT in the foreground, until SIGTERM or Ctrl-C")
    p.add_argument("--broker", **broker)
    add_command(sub, "status", _status, "the link to head office: connected, events not yet acknowledged, allowances")
    p = add_command(sub, "restore", _restore,
                    "take back from head office the events this kiosk's ledger lost (restored from an old backup)")
    p.add_argument("--broker", **broker)
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="give up after S seconds (default 60)")
