"""Points upkeep: what expires at year end, the expiry run, and the yearly tier review."""
from __future__ import annotations

import argparse

from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.services.points import describe_events


def _expiring(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        amount, day = kiosk.points.expiring(args.member_id)
    emit(args, {"member_id": args.member_id, "expiring": amount, "on": day.isoformat()},
         f"{amount} points of {args.member_id} expire on {day}")
    return 0


def _expire(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        events = kiosk.points.expire()
    total = -sum(e.deltas["points"] for e in events)
    emit(args, describe_events(events), f"{total} points expired for {len({e.member_id for e in events})} members")
    return 0


def _review(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        events = kiosk.points.review_tiers()
    emit(args, describe_events(events),
         "\n".join(f"{e.member_id}: {e.data['from']} -> {e.data['tier']}" for e in events) or "no tier changes")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `points expiring|expire` and `tiers review`."""
    points = add_command(subparsers, "points", None, "points expiry")
    sub = points.add_subparsers(dest="points_command", metavar="COMMAND", required=True)
    add_command(sub, "expiring", _expiring, "points of a member that expire at the end of this year").add_argument(
        "member_id")
    add_command(sub, "expire", _expire, "expire points earned two or more years ago (run after each new year)")
    tiers = add_command(subparsers, "tiers", None, "membership tiers")
    sub = tiers.add_subparsers(dest="tiers_command", metavar="COMMAND", required=True)
    add_command(sub, "review", _review, "yearly review: tiers follow qualifying spend, down as well as up")
