"""Helpers every command module shares: sub-command creation, output in text or JSON, opening the kiosk."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from kiosk.app import Kiosk

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
