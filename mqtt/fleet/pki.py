"""The chain's broker TLS: a CA that kiosks trust, and a server certificate for the broker's names that it signs.

The CA is made once and kept (every kiosk holds its certificate, from enrolment); the server certificate is issued
again on every call, so adding a host name to the broker never changes what kiosks must trust. EC P-256 keys, as
mosquitto and every MQTT client in use handle them.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650  # kiosks in the field trust this CA; replacing it means enrolling every kiosk again
SERVER_DAYS = 825  # the longest validity clients accept for a server certificate
DEFAULT_HOSTS = ("localhost", "127.0.0.1")


class PkiError(RuntimeError):
    """A CA or key file that exists but cannot be used; the message names the file."""


@dataclass(frozen=True)
class Pki:
    """Where the CA and the broker's certificate and key are."""

    ca_file: Path
    ca_key_file: Path
    cert_file: Path
    key_file: Path


def make_pki(directory: Path, hosts: Sequence[str] = DEFAULT_HOSTS, server_days: int = SERVER_DAYS) -> Pki:
    """The CA in `directory` (made when missing, else kept) and a fresh server certificate for `hosts` signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory / "ca.crt", directory / "ca.key", directory / "server.crt", directory / "server.key")
    now = datetime.datetime.now(datetime.timezone.utc)
    if pki.ca_file.exists() and pki.ca_key_file.exists():
        ca, ca_key = _load_ca(pki)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _ca_certificate(ca_key, now)
        _write_key(pki.ca_key_file, ca_key)
        pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _server_certificate(ca, ca_key, key, list(hosts) or list(DEFAULT_HOSTS), now, server_days)
    _write_key(pki.key_file, key)
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pki


def _ca_certificate(ca_key: ec.EllipticCurvePrivateKey, now: datetime.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "memberkiosk chain CA")])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _server_certificate(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, key: ec.EllipticCurvePrivateKey,
                        hosts: list[str], now: datetime.datetime, days: int) -> x509.Certificate:
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([_alt_name(h) for h in dict.fromkeys(hosts)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _alt_name(host: str) -> x509.GeneralName:
    """An IP address entry for an address (clients check IPs against those), else a DNS name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _load_ca(pki: Pki) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        ca = x509.load_pem_x509_certificate(pki.ca_file.read_bytes())
        key = serialization.load_pem_private_key(pki.ca_key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise PkiError(f"cannot use the CA in {pki.ca_file} and {pki.ca_key_file}: {e}; move both away to make a new"
                       f" CA (every kiosk must then be enrolled again)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != ca.public_key():
        raise PkiError(f"{pki.ca_key_file} is not the key of the CA certificate {pki.ca_file}")
    return ca, key


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """A private key file that only its owner can read, from the moment it exists."""
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
