"""`memberkiosk notify status|retry|run|daily`: the member notifications outbox, by hand and from the timer."""
from __future__ import annotations

import argparse
import datetime as dt
import signal
import time
from collections import Counter

from core.errors import InvalidInput, NotFound
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.config import load as load_config
from kiosk.followers.notices import NoticesFollower
from kiosk.followers.runner import catch_up
from kiosk.notices import outbox
from kiosk.notices.daily import run_daily
from kiosk.notices.gateways import build
from kiosk.notices.sender import Sender
from kiosk.notices.settings import load_settings
from kiosk.services.topup import shop_rules


def _when(kiosk, ms: int | None) -> str:
    return kiosk.clock.local(ms).strftime("%Y-%m-%d %H:%M:%S") if ms is not None else "—"


def _status(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk, kiosk.db.reading() as conn:
        counts, nxt = outbox.counts(conn), outbox.next_try(conn)
        failed = outbox.listing(conn, [outbox.FAILED], args.limit)
        waiting = outbox.listing(conn, [outbox.QUEUED], args.limit)
        last = outbox.last_day(conn)
        lines = [f"queued {counts['queued']}, sent {counts['sent']}, failed {counts['failed']}, "
                 f"cancelled {counts['cancelled']}; next try {_when(kiosk, nxt)}; daily run last did {last or 'never'}"]
        lines += [f"failed  #{r.id} {r.template} to {r.member_id} after {r.attempts} tries: {r.last_error}"
                  for r in failed]
        lines += [f"queued  #{r.id} {r.template} to {r.member_id}, try {r.attempts + 1} at {_when(kiosk, r.next_at)}"
                  + (f" (last: {r.last_error})" if r.last_error else "") for r in waiting]
    emit(args, {**counts, "next_try": nxt, "last_daily": last, "failed_notices": [r.as_dict() for r in failed],
                "queued_notices": [r.as_dict() for r in waiting]}, "\n".join(lines))
    return 0


def _retry(args: argparse.Namespace) -> int:
    if args.id is None and not args.all:
        raise InvalidInput("name the notice to send again (notify retry ID, see notify status) or give --all")
    with open_kiosk(args) as kiosk:
        with kiosk.db.transaction() as conn:
            if args.id is not None:
                row = outbox.get(conn, args.id)
                if row is None or row.status != outbox.FAILED:
                    raise NotFound(f"notice {args.id} is not a failed notice; see memberkiosk notify status")
            n = outbox.retry(conn, kiosk.clock.now_ms(), args.id)
    emit(args, {"requeued": n}, f"{n} notice(s) queued again")
    return 0


class _Stop(Exception):
    """SIGTERM (systemctl stop): leave the loop; what was sent is recorded, the rest stays queued."""


def _raise_stop(*_: object) -> None:
    raise _Stop()


def _run(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        cfg = load_config(docs=kiosk.docs)

        def settings():
            return load_settings(kiosk.docs, kiosk.who.store_id)

        follower = NoticesFollower(kiosk.db, kiosk.clock, kiosk.who.kiosk_id, settings)
        sender = Sender(kiosk.db, kiosk.clock, build(cfg, kiosk.data_dir), settings)
        total: Counter = Counter()
        signal.signal(signal.SIGTERM, _raise_stop)
        try:
            while True:
                catch_up(kiosk.db, follower)
                while done := sender.send_due():
                    total.update(done)
                if args.once:
                    break
                time.sleep(args.poll)
        except (_Stop, KeyboardInterrupt):
            pass
    emit(args, dict(total), ", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "nothing was due")
    return 0


def _daily(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        day = dt.date.fromisoformat(args.day) if args.day else None
        report = run_daily(kiosk.db, kiosk.clock, kiosk.who.kiosk_id, load_settings(kiosk.docs, kiosk.who.store_id),
                           shop_rules(kiosk.docs), day)
    emit(args, report.as_dict(), f"did {', '.join(map(str, report.days)) or 'nothing (already done)'}: "
                                 f"{report.queued} notice(s) queued")
    return 0


def _day(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-11-23") from None
    return text


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `notify status|retry|run|daily`."""
    group = add_command(subparsers, "notify", None, "member notifications (SMS): the outbox and the daily run")
    sub = group.add_subparsers(dest="notify_command", metavar="COMMAND", required=True)
    p = add_command(sub, "status", _status, "how many notices are queued, sent and failed; failures with their error")
    p.add_argument("--limit", type=int, default=20, help="list at most this many failed and queued notices")
    p = add_command(sub, "retry", _retry, "queue failed notices again (one by id, or --all)")
    p.add_argument("id", type=int, nargs="?", help="the notice's number from notify status")
    p.add_argument("--all", action="store_true", help="every failed notice")
    p = add_command(sub, "run", _run, "queue the notices of new events and send what is due, until stopped")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--poll", type=float, default=5.0, help="seconds between passes (default 5)")
    p = add_command(sub, "daily", _daily, "queue birthday wishes and expiry reminders of every day not yet done")
    p.add_argument("--day", type=_day, help="run as of this day (default: today); missed days before it are done once")
