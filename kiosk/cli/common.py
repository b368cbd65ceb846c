"""Helpers every command module shares: sub-command creation, output in text or JSON, opening the kiosk, and
the credentials of the staff member a money-moving command acts for."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from core.errors import InvalidInput, KioskError
from kiosk.store.db import LEDGER_FILE
from kiosk.store.errors import StoreDamaged

if TYPE_CHECKING:
    from kiosk.app import Kiosk
    from kiosk.services.staff import Staff

# --json and --data-dir are accepted before or after the sub-command; SUPPRESS keeps the top-level value
# when the sub-command does not repeat them.
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
COMMON.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help="data directory")
COMMON.add_argument("--operator", default=argparse.SUPPRESS, help="who does this: a staff number (default cli:USER)")


def add_command(
    subparsers: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int] | None, help: str
) -> argparse.ArgumentParser:
    """A sub-command that takes the common options; `func` runs it (None for a group of sub-commands)."""
    parser = subparsers.add_parser(name, parents=[COMMON], help=help, description=help)
    if func is not None:
        parser.set_defaults(func=func)
    return parser


def emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    """Print `text` for a person, or `payload` as JSON with --json."""
    if args.json:
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def open_kiosk(args: argparse.Namespace) -> "Kiosk":
    """The kiosk at --data-dir, acting as --operator; damaged files stop the command here with their message."""
    from kiosk.app import Kiosk

    return Kiosk.open(args.data_dir, operator=args.operator)


class CredentialMissing(KioskError):
    """A command that moves money was given no PIN to check."""


def add_staff_option(parser: argparse.ArgumentParser, role: str, required: bool = True) -> None:
    """`--staff NO`: who acts; their PIN is asked on the terminal (or read from stdin's first line), never argv."""
    parser.add_argument("--staff", metavar="NO", required=required,
                        help=f"your staff number ({role} or above); the PIN is asked, or read from stdin's first line")


def read_secret(prompt: str) -> str:
    """A PIN typed on the terminal without echo or, when stdin is not a terminal, stdin's next line."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise CredentialMissing(f"{prompt.rstrip(': ')}: nothing on stdin; type it, or pipe it as a line")
    return line.rstrip("\r\n")


def acting_staff(kiosk: "Kiosk", args: argparse.Namespace, role: str) -> "Staff":
    """The staff member `--staff` names, authenticated by their PIN and holding `role`; raises before anything is
    written. The ledger records them as the operator, never an unchecked --operator."""
    if getattr(args, "operator", None):
        raise InvalidInput(f"--operator does not apply to `{args.command}`: --staff names who acts, with their PIN")
    staff = kiosk.staff.authenticate(args.staff, read_secret(f"PIN of staff {args.staff}: "))
    staff.require(role)
    ask_head_office(kiosk)
    return staff


def ask_head_office(kiosk: "Kiosk") -> None:
    """In a chain, let a spend beyond this kiosk's allowance ask the hub over a connection of this process's own,
    made at the first such spend (the running agent is another process)."""
    if kiosk.gateway.escrow is None:
        return
    from kiosk.config import load
    from mqtt.agent.asker import OneShotAsker
    from mqtt.agent.settings import broker_settings, one_shot_role

    cfg = load()
    kiosk.set_asker(OneShotAsker(lambda: broker_settings(kiosk, cfg, role=one_shot_role(), will=False), kiosk.who,
                                 kiosk.clock.now_ms))


def manager_before_restore(args: argparse.Namespace) -> None:
    """Check `--staff` (a manager) against the store about to be replaced. A data directory with no ledger (new
    hardware) or a damaged one (what a restore repairs) has nobody to ask: the restore goes on and says so."""
    if not (args.data_dir / LEDGER_FILE).exists():
        print(f"note: no store at {args.data_dir} to check --staff {args.staff} against", file=sys.stderr)
        return
    try:
        with open_kiosk(args) as kiosk:
            acting_staff(kiosk, args, "manager")
    except StoreDamaged as exc:
        print(f"note: --staff {args.staff} not checked, the store to replace is damaged: {exc}", file=sys.stderr)
