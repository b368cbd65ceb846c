"""`memberkiosk fleet enrol`: a short-lived signed enrolment token for one new kiosk, as a QR PNG and as text."""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from core.errors import InvalidInput
from kiosk.cli.common import add_command, emit
from kiosk.clock import wall_ms


def _enrol(args: argparse.Namespace) -> int:
    from mqtt.fleet import enrol, signing  # paho and qrcode only when the command runs

    password_file = args.credentials / f"{args.kiosk}.password"
    try:
        password = password_file.read_text(encoding="utf-8").strip()
        ca = args.ca_file.read_text(encoding="ascii")
        pii = args.pii_key.read_bytes() if args.pii_key else None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read {getattr(e, 'filename', None) or 'an input file'}: {e}; kiosk passwords "
                           "come from `fleet broker-config --kiosks STORE:KIOSK` (its credentials/ folder)") from None
    operator = signing.load_private(args.key_dir, signing.read_passphrase())
    try:
        token = enrol.make(broker=args.broker, ca=ca, store=args.store, kiosk=args.kiosk, password=password,
                           operator=operator, pii_key=pii, now=wall_ms(),
                           ttl=enrol.DEFAULT_TTL if args.ttl is None else args.ttl)
        text = enrol.encode(token, operator)
    except (ValueError, enrol.Refusal) as e:
        raise InvalidInput(f"no token made: {e}") from None
    modules = enrol.write_qr(text, args.out)
    expires = datetime.fromtimestamp(token.expires_at / 1000, timezone.utc).isoformat(timespec="seconds")
    emit(args, {"store": token.store, "kiosk": token.kiosk, "broker": token.broker, "expires_at": token.expires_at,
                "nonce": token.nonce, "qr": str(args.out), "modules": modules, "text": text},
         f"enrolment token for kiosk {token.kiosk} of store {token.store}, valid until {expires}\n"
         f"QR code ({modules}x{modules} modules): {args.out}\n{text}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `enrol` to the `fleet` group."""
    p = add_command(subparsers, "enrol", _enrol,
                    "a signed, short-lived token that enrols a new kiosk when its scanner reads the QR code")
    p.add_argument("--store", required=True, help="the store the kiosk belongs to")
    p.add_argument("--kiosk", required=True, help="the kiosk's id (its broker user name)")
    p.add_argument("--out", type=Path, required=True, help="where to write the QR code (PNG)")
    p.add_argument("--broker", required=True, help="the broker URL the kiosk connects to (mqtts://HOST:PORT)")
    p.add_argument("--ca-file", type=Path, required=True, help="the CA that signed the broker's certificate (PEM)")
    p.add_argument("--credentials", type=Path, required=True,
                   help="broker-config's credentials/ folder, holding KIOSK.password")
    p.add_argument("--key-dir", type=Path, required=True,
                   help="the folder of operator.key (its passphrase from $MEMBERKIOSK_OPERATOR_PASSPHRASE or stdin)")
    p.add_argument("--pii-key", type=Path, help="the chain's pii.key, so the kiosk reads members sealed elsewhere")
    p.add_argument("--ttl", type=int, help="seconds the token is valid (default: an hour)")
