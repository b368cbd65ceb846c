"""The broker connection of a kiosk, from its configuration: URL, CA, password file, client id and last will."""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import KioskError
from kiosk import config
from kiosk.app import Kiosk
from mqtt import topics
from mqtt.connection import Settings, Will
from mqtt.fleet.protocol import software_version, state_payload

PASSWORD_FILE = "mqtt.password"  # in kiosk.key_dir, beside the kiosk's other secrets


class SyncNotConfigured(KioskError):
    """The kiosk has no broker, or no password to log in to it with."""


def broker_settings(kiosk: Kiosk, cfg: config.Config, broker: str | None = None, role: str = "agent",
                    will: bool = True) -> Settings:
    """How `kiosk` logs in to the chain's broker (user name = kiosk id); `broker` overrides sync.broker.

    `role` makes the client id unique per process (`<kiosk>-agent`, `<kiosk>-cli-<pid>`): a broker drops the
    older of two connections with one client id. Only the agent leaves a last will: its status is the kiosk's.
    """
    who = kiosk.who
    try:
        url = config.broker(broker) if broker else cfg["sync.broker"]
    except ValueError as e:
        raise config.ConfigError(f"--broker {broker}: {e}") from None
    if url is None:
        raise SyncNotConfigured("no broker configured: set sync.broker (env MEMBERKIOSK_BROKER) or give --broker URL")
    offline = state_payload("offline", software_version(), who.store_id, who.kiosk_id, kiosk.fleet.config_version(),
                            kiosk.clock.now_ms())  # the agent makes it again at each connect, with what is new
    status = Will(topics.status(who.store_id, who.kiosk_id), offline) if will else None
    return Settings(url=url, client_id=f"{who.kiosk_id}-{role}", username=who.kiosk_id,
                    password=_password(cfg, kiosk.keys.directory), ca_file=cfg["sync.ca_file"], will=status)


def one_shot_role() -> str:
    """The client id suffix of a command-line process: its own, so it never drops the running agent."""
    return f"cli-{os.getpid()}"


def _password(cfg: config.Config, key_dir: Path) -> str:
    path: Path = cfg["sync.password_file"] or key_dir / PASSWORD_FILE
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise SyncNotConfigured(f"cannot read this kiosk's broker password from {path} ({e.strerror}): put it there "
                                f"(one line, mode 0640) or set sync.password_file") from None
    if not secret:
        raise SyncNotConfigured(f"{path} is empty: it must hold this kiosk's broker password")
    return secret
