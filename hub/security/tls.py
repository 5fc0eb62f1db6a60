"""TLS in transit: the ingress speaks TLS 1.3 only (mutual TLS optional); partners are verified.

The ingress's context is built here, not by uvicorn: uvicorn's `ssl_version` can only name a
protocol family, never a floor and a ceiling, and TLS 1.3 only means both (an ERP client
offering TLS 1.2 at most fails the handshake). With a client CA the ingress asks for a client
certificate and refuses a handshake without one that CA signed (`CERT_REQUIRED`). Each file is
read and checked before anything starts, and a problem names the option it came from, so
`factorhub serve` stops with a sentence rather than an OpenSSL error code.

Outbound, every partner client verifies the partner's certificate and host name (httpx's
default; nothing in the hub turns it off). `partner_verify` adds the CAs of
FACTORHUB_CA_BUNDLE (a bank's private CA, say) to the roots httpx trusts anyway.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import httpx

from canonical import ConfigurationError

__all__ = [
    "CA_BUNDLE_VARIABLE",
    "CERT_OPTION",
    "CLIENT_CA_OPTION",
    "KEY_OPTION",
    "ingress_context",
    "partner_verify",
]

CERT_OPTION = "--tls-cert"
KEY_OPTION = "--tls-key"
CLIENT_CA_OPTION = "--tls-client-ca"
CA_BUNDLE_VARIABLE = "FACTORHUB_CA_BUNDLE"


def ingress_context(*, cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """The ingress's server context: TLS 1.3 as floor and ceiling, `cert` (PEM, the server's
    certificate first, then its intermediates) with its unencrypted PEM `key`; with
    `client_ca`, clients must present a certificate that CA signed.

    ConfigurationError names the option of a file that is missing, unreadable or not what it
    should be, and says so when the key is not the certificate's.
    """
    _check_certificates(CERT_OPTION, cert)
    _readable(KEY_OPTION, key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    try:
        context.load_cert_chain(cert, key, password=_encrypted(key))
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise ConfigurationError(
                f"{KEY_OPTION} {str(key)!r} is not the key of the certificate in "
                f"{CERT_OPTION} {str(cert)!r}"
            ) from error
        raise ConfigurationError(f"{KEY_OPTION} {str(key)!r} is not a PEM private key") from error
    if client_ca is not None:
        _check_certificates(CLIENT_CA_OPTION, client_ca)
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def partner_verify(ca_bundle_pem: str | None) -> ssl.SSLContext | Literal[True]:
    """What the partner clients get as httpx's `verify`: True (httpx's own roots, which also
    honours SSL_CERT_FILE/SSL_CERT_DIR) without a bundle; with one, those roots plus the
    bundle's CAs, host names still checked."""
    if ca_bundle_pem is None:
        return True
    context = httpx.create_ssl_context()
    try:
        context.load_verify_locations(cadata=ca_bundle_pem)
    except ssl.SSLError as error:
        raise ConfigurationError(f"{CA_BUNDLE_VARIABLE} holds no PEM certificate") from error
    return context


def _readable(option: str, path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except UnicodeDecodeError as error:
        raise ConfigurationError(f"{option} {str(path)!r} is not a PEM file") from error
    except OSError as error:
        raise ConfigurationError(
            f"{option} {str(path)!r} cannot be read: {error.strerror or error}"
        ) from error


def _check_certificates(option: str, path: Path) -> None:
    """The file must hold at least one PEM certificate OpenSSL can parse."""
    text = _readable(option, path)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except ssl.SSLError as error:
        raise ConfigurationError(f"{option} {str(path)!r} holds no PEM certificate") from error


def _encrypted(key: Path) -> Callable[[], str]:
    """A password callback that refuses: without it OpenSSL would prompt on the terminal for
    an encrypted key, and a server started by systemd would hang there."""

    def refuse() -> str:
        raise ConfigurationError(
            f"{KEY_OPTION} {str(key)!r} is encrypted; give the key unencrypted (readable by the "
            "hub's user only)"
        )

    return refuse
