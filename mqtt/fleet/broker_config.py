"""A chain's mosquitto configuration in one folder: TLS files, one credential per kiosk, and explicit per-kiosk ACLs.

The shipped mqtt/broker/acl says "a kiosk writes under its own id" with patterns, which cannot bind the store level;
here every kiosk gets its own lines naming its store and id, so a kiosk reads exactly its own down topics, its
store's and the fleet-wide ones, and writes only its own up topics and status. Running it again keeps the CA and
every password already issued (kiosks hold them) and adds the kiosks named this time.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from mqtt import topics
from mqtt.fleet import pki

SHIPPED_CONF = Path(__file__).resolve().parents[1] / "broker" / "mosquitto.conf"
HUB, OPERATOR = "hub", "operator"
KIOSKS_FILE = "kiosks.txt"  # store:kiosk per line, every kiosk this folder was written for
CREDENTIALS = "credentials"
FLEET = "fleet"  # the topic level of fleet-wide down topics
PBKDF2_ROUNDS = 101  # mosquitto_passwd's own; the passwords are 32 random bytes, so rounds add nothing


class BrokerConfigError(ValueError):
    """A kiosk list or output folder we cannot write a broker configuration for; the message says what to fix."""


@dataclass(frozen=True)
class BrokerConfig:
    """What was written: the config file to run, the CA kiosks trust, and who may log in."""

    conf: Path
    ca_file: Path
    credentials: Path
    kiosks: tuple[tuple[str, str], ...]  # (store, kiosk)


def parse_kiosks(text: str) -> list[tuple[str, str]]:
    """`store:kiosk,store:kiosk` as (store, kiosk) pairs, each id checked as a topic level."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        store, sep, kiosk = item.partition(":")
        if not sep:
            raise BrokerConfigError(f"--kiosks {item!r}: write each kiosk as store:kiosk, e.g. shop1:shop1-k1")
        pairs.append(_checked(store, kiosk))
    return pairs


def _checked(store: str, kiosk: str) -> tuple[str, str]:
    try:
        topics.check_id(store, "store")
        topics.check_id(kiosk, "kiosk")
    except topics.BadTopic as e:
        raise BrokerConfigError(str(e)) from None
    if FLEET in (store, kiosk) or kiosk in (HUB, OPERATOR):
        raise BrokerConfigError(f"{store}:{kiosk}: {FLEET!r}, {HUB!r} and {OPERATOR!r} name the fleet and the head"
                                f" office's logins, never a store or kiosk")
    return store, kiosk


def write(out: Path, kiosks: Iterable[tuple[str, str]] = (), port: int = 8883, bind: str | None = None,
          hosts: Sequence[str] = ()) -> BrokerConfig:
    """Write (or extend) the configuration in `out`: mosquitto.conf, acl, passwd, credentials/, CA and server cert."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    everyone = _merge(_known(out), kiosks)
    names = list(dict.fromkeys([*default_hosts(), *hosts]))
    tls = pki.make_pki(out, names)
    users = [HUB, OPERATOR, *(kiosk for _, kiosk in everyone)]
    passwords = {user: _password(out / CREDENTIALS, user) for user in users}
    # hashes and rules: readable by the group, so mosquitto (group mosquitto once installed) reloads them on SIGHUP
    _write_private(out / "passwd", "".join(f"{u}:{_hash(p)}\n" for u, p in passwords.items()), 0o640)
    _write_private(out / "acl", acl(everyone), 0o640)
    (out / KIOSKS_FILE).write_text("".join(f"{s}:{k}\n" for s, k in everyone), encoding="utf-8")
    (out / "persist").mkdir(exist_ok=True)
    conf = out / "mosquitto.conf"
    conf.write_text(mosquitto_conf(out, tls, port, bind), encoding="utf-8")
    return BrokerConfig(conf, tls.ca_file, out / CREDENTIALS, tuple(everyone))


def default_hosts() -> list[str]:
    """The names the broker's certificate covers besides --host: loopback and this machine's host name."""
    return [*pki.DEFAULT_HOSTS, socket.gethostname()]


def acl(kiosks: Sequence[tuple[str, str]]) -> str:
    """The ACL file: the hub, the operator CLI, then each kiosk by name."""
    r = topics.ROOT
    lines = [
        "# Written by `memberkiosk fleet broker-config`; run it again to add kiosks (hand edits are overwritten).",
        "# The hub (every worker logs in as hub): reads every kiosk's up topics and status, writes all down topics.",
        f"user {HUB}", f"topic read {r}/+/+/up/#", f"topic read {r}/+/+/status", f"topic write {r}/+/+/down/#",
        f"topic write {r}/+/down/#", f"topic readwrite {r}/hub/#", "",
        "# The operator's CLI: pushes config and commands, reads the kiosks' outcomes and status.",
        f"user {OPERATOR}",
        *(f"topic write {r}/{where}/down/{what}" for where in ("+/+", "+") for what in ("config/#", "command")),
        f"topic read {r}/+/+/up/outcome", f"topic read {r}/+/+/status", f"topic read {r}/hub/status",
    ]
    for store, kiosk in kiosks:
        lines += ["", f"user {kiosk}",
                  f"topic write {r}/{store}/{kiosk}/up/#", f"topic write {r}/{store}/{kiosk}/status",
                  f"topic read {r}/{store}/{kiosk}/down/#", f"topic read {r}/{store}/down/#",
                  f"topic read {r}/{FLEET}/down/#", f"topic read {r}/hub/status"]
    return "\n".join(lines) + "\n"


def mosquitto_conf(out: Path, tls: pki.Pki, port: int, bind: str | None) -> str:
    """The shipped mosquitto.conf (its limits and persistence) with its paths in `out` and the listener given."""
    text = "".join(line for line in SHIPPED_CONF.read_text().splitlines(keepends=True) if not line.startswith("#"))
    replaced = {"/etc/mosquitto/memberkiosk/passwd": out / "passwd", "/etc/mosquitto/memberkiosk/acl": out / "acl",
                "/etc/mosquitto/memberkiosk/server.crt": tls.cert_file,
                "/etc/mosquitto/memberkiosk/server.key": tls.key_file, "/var/lib/mosquitto/": f"{out / 'persist'}/"}
    for old, new in replaced.items():
        if old not in text:
            raise BrokerConfigError(f"{SHIPPED_CONF} no longer names {old}: update mqtt/fleet/broker_config.py")
        text = text.replace(old, str(new))
    text = text.replace("listener 8883\n", f"listener {port}{' ' + bind if bind else ''}\n")
    return (f"# Written by `memberkiosk fleet broker-config` from {SHIPPED_CONF.name}; run: mosquitto -c {out}/"
            f"mosquitto.conf\n" + text)


def _known(out: Path) -> list[tuple[str, str]]:
    path = out / KIOSKS_FILE
    if not path.exists():
        return []
    return parse_kiosks(",".join(path.read_text(encoding="utf-8").split()))


def _merge(known: list[tuple[str, str]], new: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Known kiosks then new ones; a kiosk id belongs to one store for good (its ACL and ledger say so)."""
    stores: dict[str, str] = {}
    for store, kiosk in [*known, *new]:
        if stores.setdefault(kiosk, store) != store:
            raise BrokerConfigError(f"kiosk {kiosk} belongs to store {stores[kiosk]}, not {store}: a kiosk id is"
                                    f" never reused; give the kiosk of {store} an id of its own")
    return [(store, kiosk) for kiosk, store in stores.items()]


def _password(directory: Path, user: str) -> str:
    """The user's password from credentials/<user>.password, made (32 random bytes) the first time."""
    path = directory / f"{user}.password"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    directory.mkdir(mode=0o700, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    _write_private(path, secret + "\n")
    return secret


def _hash(password: str) -> str:
    """mosquitto 2's password hash ($7$: PBKDF2-SHA512), as mosquitto_passwd writes it."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ROUNDS)
    return f"$7${PBKDF2_ROUNDS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a file nobody else reads (passwords; with mode 0640 hashes and the ACL), replacing it whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
