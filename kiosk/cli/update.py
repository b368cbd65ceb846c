"""`memberkiosk update apply|status` (the kiosk's root updater) and `memberkiosk fleet update build|announce`
(the operator): signed update bundles, installed beside the running release and rolled back when unhealthy."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import KioskError
from kiosk import config
from kiosk.cli.common import add_command, emit
from kiosk.clock import wall_ms
from mqtt.fleet import protocol, signing, update_bundle
from mqtt.fleet.kiosk import pinned_operator_key
from mqtt.fleet.update_apply import Checks, Updater
from mqtt.fleet.update_fetch import INSTALLED, pending_dir


class BundleError(KioskError):
    """A bundle that cannot be built or announced as given; the message says what to fix."""


def _updater(args: argparse.Namespace) -> Updater:
    cfg = config.load(flags={"kiosk.data_dir": args.data_dir})
    key = pinned_operator_key(cfg["kiosk.key_dir"], cfg)
    if key is None:
        raise BundleError(f"no operator key in {cfg['kiosk.key_dir']}: this kiosk installs only what the operator"
                          " signed; enrol it first")
    checks = Checks(cfg["update.restart"], cfg["update.ready"], cfg["update.verify"], cfg["update.health_seconds"])
    return Updater(cfg["update.root"], pending_dir(args.data_dir), key, checks, wall_ms)


def _apply(args: argparse.Namespace) -> int:
    done = _updater(args).apply()
    lines = [f"{o['version'] or o['command_id']}: {o['state']}" + (f" ({o['reason']})" if o["reason"] else "")
             for o in done]
    emit(args, done, "\n".join(lines) or "no update is waiting")
    return 0 if all(o["state"] == INSTALLED for o in done) else 3


def _status(args: argparse.Namespace) -> int:
    found = _updater(args).status()
    last = found["last"]
    emit(args, found, f"running {found['current'] or '-'} (releases: {', '.join(found['releases']) or '-'}; "
                      f"waiting: {len(found['pending'])})\nlast update: "
                      + (f"{last['version']} {last['state']}" + (f": {last['reason']}" if last["reason"] else "")
                         if last else "none"))
    return 0


def _build(args: argparse.Namespace) -> int:
    key = signing.load_private(args.key, signing.read_passphrase())
    try:
        with args.output.open("wb") as out:
            manifest = update_bundle.build(args.wheelhouse, args.version, key, wall_ms(), out, args.name)
    except protocol.Malformed as e:
        args.output.unlink(missing_ok=True)
        raise BundleError(f"bundle not built: {e.detail}") from None
    sha = update_bundle.sha256_file(args.output)
    emit(args, {"bundle": str(args.output), "version": args.version, "sha256": sha,
                "size": args.output.stat().st_size, "files": len(manifest["files"])},
         f"wrote {args.output}: {args.name} {args.version}, {len(manifest['files'])} wheels, sha256 {sha}")
    return 0


def _announce(args: argparse.Namespace) -> int:
    from kiosk.cli.fleet import _key_dir, _send, _targets  # the command path every fleet command takes

    key = signing.load_private(_key_dir(args), signing.read_passphrase())
    try:
        with args.bundle.open("rb") as f:
            bundle = update_bundle.read(f, key.public_key())
    except OSError as e:
        raise BundleError(f"cannot read {args.bundle}: {e.strerror}") from None
    except protocol.Refusal as e:  # the operator sees it before any kiosk does
        raise BundleError(f"{args.bundle} would be refused: {e.reason}") from None
    if bundle.version != args.version:
        raise BundleError(f"{args.bundle} holds version {bundle.version}, not {args.version}")
    target, expected = _targets(args)
    now = wall_ms()
    cmd_args = {"version": args.version, "url": args.url, "size": args.bundle.stat().st_size,
                "sha256": update_bundle.sha256_file(args.bundle)}
    try:
        payload = protocol.new_command("update", target, now, now + int(args.expires * 1000), cmd_args)
    except protocol.Malformed as e:
        raise BundleError(f"update not announced: {e.detail}") from None
    print("each kiosk answers when it has fetched and staged the bundle; the install's own outcome (installed or"
          " rolled back) follows when it has restarted: see `memberkiosk fleet status` and the console",
          file=sys.stderr)
    return _send(args, protocol.command_topic(target), signing.sign(payload, key), payload, expected, retain=False)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `update apply` and `update status` (the kiosk's side)."""
    group = add_command(subparsers, "update", None, "install staged update bundles (root, from memberkiosk-update)")
    sub = group.add_subparsers(dest="update_command", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "apply", _apply, "install each staged bundle, switch, check health, roll back if unhealthy")
    p.set_defaults(root_writes=True)  # root on purpose: it writes only under update.root, never the kiosk's data
    add_command(sub, "status", _status, "the running release, those kept, what waits, the last outcome")


def register_fleet(fleet_sub: argparse._SubParsersAction) -> None:
    """Add `fleet update build` and `fleet update announce` (the operator's side)."""
    from kiosk.cli.fleet import _send_options

    group = add_command(fleet_sub, "update", None, "signed update bundles: build one, announce it to kiosks")
    sub = group.add_subparsers(dest="fleet_update_command", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "build", _build, "sign a wheelhouse (the new memberkiosk and its dependencies, and pip)")
    p.add_argument("--wheelhouse", type=Path, required=True, help="the folder of wheels (pip wheel . pip -w DIR)")
    p.add_argument("--version", required=True, help="the memberkiosk version the bundle installs")
    p.add_argument("--key", type=Path, required=True, help="operator.key, or the folder holding it")
    p.add_argument("--name", default=update_bundle.DISTRIBUTION, help=argparse.SUPPRESS)
    p.add_argument("-o", "--output", type=Path, required=True, help="the bundle to write (.tar)")
    p = add_command(sub, "announce", _announce, "send the signed `update` command; show each kiosk's outcome")
    p.add_argument("--version", required=True, help="the version in the bundle")
    p.add_argument("--url", required=True, help="where kiosks fetch it (hub web --bundles serves /updates/NAME)")
    p.add_argument("--bundle", type=Path, required=True, help="the bundle file (for its size and sha256)")
    p.add_argument("--expires", type=float, default=3600.0, metavar="S",
                   help="seconds after which a kiosk refuses it (3600)")
    _send_options(p)
