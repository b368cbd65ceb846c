"""`memberkiosk kiosk`: the production kiosk (what systemd starts), and the shop settings it shows."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from core.events import EventDraft
from core.payloads import SettingsChanged
from core.text import check_name
from kiosk import config
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.services.audit import fingerprint
from kiosk.services.receipts import SETTINGS_TABLE
from kiosk.store.db import LEDGER_FILE
from kiosk.store.documents import replace_table

log = logging.getLogger(__name__)


def _kiosk(args: argparse.Namespace) -> int:
    from kiosk.ui.main import run  # Kivy only when the UI really starts
    from mqtt.agent.agent import syncing
    from mqtt.fleet.kiosk import riding_on

    if _unenrolled(args):
        return _enrol_then_restart(args)
    with open_kiosk(args) as kiosk:
        flags = {"ui.fullscreen": False if args.windowed else None, "ui.idle_seconds": args.idle_seconds}
        cfg = config.load(flags=flags, docs=kiosk.docs)
        with syncing(kiosk, cfg) as agent:  # with a broker configured, the sync agent runs beside the UI
            fleet = riding_on(agent)  # it reports the UI's devices and prints head office's test receipts
            run(
                kiosk,
                fullscreen=cfg["ui.fullscreen"],
                store_name=cfg["ui.store_name"] or kiosk.who.store_id,
                devices=cfg["devices"],
                idle_seconds=cfg["ui.idle_seconds"],
                staff_idle_seconds=cfg["ui.staff_idle_seconds"],
                voice=cfg["ui.voice"],
                use_devices=fleet.use_devices if fleet is not None else None,
            )
    return 0


def _unenrolled(args: argparse.Namespace) -> bool:
    """No kiosk id configured and no store yet: the kiosk must be enrolled before it can sell."""
    return config.load()["kiosk.id"] is None and not (args.data_dir / LEDGER_FILE).exists()


def _enrol_then_restart(args: argparse.Namespace) -> int:
    """Show the enrol screen; once a scanned token enrolled the kiosk, start this command again as that kiosk."""
    from kiosk.ui.main import enrol
    from mqtt.fleet.enrol_kiosk import Place, enrol as enrol_with

    cfg = config.load(flags={"ui.fullscreen": False if args.windowed else None})
    place = Place.of(cfg, os.environ)
    enrolled = enrol(lambda text: enrol_with(text, place), args.data_dir, fullscreen=cfg["ui.fullscreen"],
                     devices=cfg["devices"], store_name=cfg["ui.store_name"] or "memberkiosk")
    if enrolled is None:
        return 0  # stopped before a token was scanned
    log.info("enrolled as kiosk %s of store %s: restarting to sell", enrolled.kiosk, enrolled.store)
    logging.shutdown()
    sys.stdout.flush()
    os.execv(sys.executable, sys.orig_argv)  # a fresh process: Kivy opens its window once per process


def _settings(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        rows = kiosk.docs.table(SETTINGS_TABLE).all()
        settings = dict(rows[0]) if rows else {}
        changed = {field: value for field, value in (
            ("store_name", None if args.store_name is None else check_name(args.store_name, "the store name")),
            ("voice", args.voice)) if value is not None}
        if changed:
            settings.update(changed)
            with kiosk.gateway.unit(kiosk.acting()) as unit:  # recorded in the ledger for `audit log`
                unit.append([EventDraft.of(SettingsChanged(fingerprint(settings), tuple(changed)))])
                replace_table(kiosk.docs, SETTINGS_TABLE, [settings])
    emit(args, settings, "\n".join(f"{k}: {v}" for k, v in settings.items()) or "no settings yet")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `kiosk` and `settings`."""
    p = add_command(subparsers, "kiosk", _kiosk, "run the kiosk UI full screen with the configured devices")
    p.add_argument("--windowed", action="store_true",
                   help="a window instead of full screen, for a technician (ui.fullscreen = false)")
    p.add_argument("--idle-seconds", type=float,
                   help="return to the start screen after this idle time (ui.idle_seconds)")
    p = add_command(subparsers, "settings", _settings, "show or change the shop settings the kiosk shows")
    p.add_argument("--store-name", help="the shop's name on screen and receipts")
    p.add_argument("--voice", choices=config.VOICE_MODES,
                   help="spoken prompts at the customer's steps (ui.voice; auto: the screen's language)")
