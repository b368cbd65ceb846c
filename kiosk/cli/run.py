"""`memberkiosk kiosk`: the production kiosk (what systemd starts), and the shop settings it shows."""
from __future__ import annotations

import argparse

from core.events import EventDraft
from core.payloads import SettingsChanged
from core.text import check_name
from kiosk import config
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.services.audit import fingerprint
from kiosk.services.receipts import SETTINGS_TABLE
from kiosk.store.documents import replace_table


def _kiosk(args: argparse.Namespace) -> int:
    from kiosk.ui.main import run  # Kivy only when the UI really starts
    from mqtt.agent.agent import syncing

    with open_kiosk(args) as kiosk:
        flags = {"ui.fullscreen": False if args.windowed else None, "ui.idle_seconds": args.idle_seconds}
        cfg = config.load(flags=flags, docs=kiosk.docs)
        with syncing(kiosk, cfg):  # with a broker configured, the sync agent runs beside the UI
            run(
                kiosk,
                fullscreen=cfg["ui.fullscreen"],
                store_name=cfg["ui.store_name"] or kiosk.who.store_id,
                devices=cfg["devices"],
                idle_seconds=cfg["ui.idle_seconds"],
                staff_idle_seconds=cfg["ui.staff_idle_seconds"],
            )
    return 0


def _settings(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        rows = kiosk.docs.table(SETTINGS_TABLE).all()
        settings = dict(rows[0]) if rows else {}
        if args.store_name is not None:
            settings["store_name"] = check_name(args.store_name, "the store name")
            with kiosk.gateway.unit(kiosk.acting()) as unit:  # recorded in the ledger for `audit log`
                unit.append([EventDraft.of(SettingsChanged(fingerprint(settings), ("store_name",)))])
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
