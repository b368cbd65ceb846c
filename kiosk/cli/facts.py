"""`memberkiosk facts status|rebuild`: the sales fact tables that reports, analytics and simulate read."""
from __future__ import annotations

import argparse
import dataclasses
import sys

from kiosk.app import Kiosk
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.followers.base import Batch
from kiosk.followers.facts import FactsFollower, status
from kiosk.followers.runner import catch_up


class _Progress:
    """A follower that hands every batch to the facts follower and moves a tqdm bar by the positions it covered."""

    def __init__(self, follower: FactsFollower, bar) -> None:
        self.follower, self.bar = follower, bar
        self.name, self.kiosk_id, self.types, self.batch = (follower.name, follower.kiosk_id, follower.types,
                                                            follower.batch)

    def position(self) -> int:
        return self.follower.position()

    def handle(self, events: Batch, upto: int) -> None:
        self.follower.handle(events, upto)
        self.bar.update(max(0, upto - self.bar.n))

    def rewind(self) -> None:
        self.follower.rewind()


def catch_up_facts(kiosk: Kiosk, rebuild: bool = False) -> int:
    """Bring the fact tables up to the ledger's end (from zero with `rebuild`), with a progress bar on a terminal;
    returns how many events were read."""
    follower = FactsFollower(kiosk.db, kiosk.clock)
    if rebuild:
        follower.rewind()
    if not sys.stderr.isatty():
        return catch_up(kiosk.db, follower)
    from tqdm import tqdm  # the `reports` extra; only a terminal shows it

    done = status(kiosk.db, follower)
    with tqdm(total=done.end, initial=done.position, desc="facts", unit=" events", file=sys.stderr) as bar:
        return catch_up(kiosk.db, _Progress(follower, bar))


def _status(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        s = status(kiosk.db, FactsFollower(kiosk.db, kiosk.clock))
    lag = "up to date" if s.pending == 0 else f"{s.pending} events to write (the kiosk's follower, a report or " \
                                               "'memberkiosk facts rebuild' writes them)"
    text = [f"facts at ledger position {s.position} of {s.end}: {lag}"]
    text += [f"  {table:<13} {n:>12,} rows" for table, n in s.rows.items()]
    emit(args, dataclasses.asdict(s), "\n".join(text))
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        read = catch_up_facts(kiosk, rebuild=True)
        s = status(kiosk.db, FactsFollower(kiosk.db, kiosk.clock))
    emit(args, {"events": read, **dataclasses.asdict(s)},
         f"facts rebuilt from {read:,} events: {s.rows['fact_sales']:,} sales and refunds, "
         f"{s.rows['fact_lines']:,} lines, {s.rows['fact_moves']:,} balance moves")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `facts status` and `facts rebuild`."""
    facts = add_command(subparsers, "facts", None, "the sales fact tables behind reports, analytics and simulate")
    sub = facts.add_subparsers(dest="facts_command", metavar="COMMAND", required=True)
    add_command(sub, "status", _status, "how far the facts have read the ledger, and the rows of each table")
    add_command(sub, "rebuild", _rebuild, "delete the facts and write them again from the ledger's first event")
