"""The doctor's broker check: can this kiosk reach the chain's broker, and for how long is its certificate good?"""
from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.clock import wall_ms
from kiosk.services.doctor.finding import Finding

TIMEOUT_S = 3.0
WARN_DAYS = 30
DAY_S = 86_400


def check_broker(url: str | None, ca_file: Path | None) -> list[Finding]:
    """A TCP connection and, for mqtts, a TLS handshake verified with the configured CA; no MQTT login."""
    if url is None:
        return [Finding("broker", "ok", "no broker configured (sync.broker unset): the kiosk works offline")]
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 0
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
            if parts.scheme != "mqtts":
                return [Finding("broker", "ok", f"{url} answers (plain MQTT on this machine, no TLS)")]
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            with context.wrap_socket(sock, server_hostname=host) as tls:
                cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return [Finding("broker", "fault", f"{url}: the broker's certificate is refused ({exc.verify_message})",
                        f"renew the broker's certificate, or set sync.ca_file to the CA that signed it "
                        f"(now {ca_file or 'the system store'})")]
    except (OSError, ssl.SSLError) as exc:
        return [Finding("broker", "fault", f"cannot reach {url}: {exc.strerror or exc}",
                        "check the network cable or Wi-Fi, that the broker runs at head office and listens on "
                        f"port {port}, and sync.broker (`memberkiosk config show`); selling goes on offline meanwhile")]
    return [_expiry(url, cert)]


def _expiry(url: str, cert: dict) -> Finding:
    """How long the broker's verified certificate has left."""
    ends = ssl.cert_time_to_seconds(cert["notAfter"])
    days = int((ends - wall_ms() / 1000) // DAY_S)
    found = f"{url} reached over TLS; its certificate expires {cert['notAfter']} (in {days} days)"
    if days < WARN_DAYS:
        return Finding("broker", "warn", found, "renew the broker's certificate at head office before it expires: "
                                                "kiosks then cannot sync", {"days_left": days})
    return Finding("broker", "ok", found, detail={"days_left": days})
