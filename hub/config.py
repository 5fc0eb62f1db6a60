"""Settings, resolved from arguments, then the environment, then defaults.

| variable | meaning | default |
|---|---|---|
| FACTORHUB_DATABASE_URL | SQLAlchemy async URL | sqlite+aiosqlite:///./var/factorhub.db |
| FACTORHUB_BROKER_URL | kafka://host:port or amqp://user:pass@host:port/vhost | unset: embedded |
| FACTORHUB_SIMULATORS_FILE | ports file of `factorhub simulators up`: partner URLs | unset |
| FACTORHUB_REGISTRY_URL | base URL of the 中登网 registry service | http://127.0.0.1:8101 |
| FACTORHUB_BANK_URL | base URL of the bank's ISO 20022 channel | http://127.0.0.1:8102 |
| FACTORHUB_VAT_URL | the VAT platform's 查验 service; unset: invoices are not verified | unset |
| FACTORHUB_CREDIT_URL | the credit bureau (天眼查 OpenAPI); unset: no credit checks | unset |
| FACTORHUB_CREDIT_TOKEN | our 天眼查 token (`Authorization`); needed with the URL | see below |
| FACTORHUB_CREDIT_CACHE_SECONDS | an answer about one enterprise is used again this long | 300 |
| FACTORHUB_TENANT | tenant of ERP pushes without credentials | default |
| FACTORHUB_MAX_BODY_BYTES | largest accepted request body | 5242880 |
| FACTORHUB_HTTP_TIMEOUT | seconds for one outbound call | 10 |
| FACTORHUB_POLICY_FILE | risk policy YAML the flow runs under | §6.0 defaults |
| FACTORHUB_INGRESS_WORKERS | processes mapping ERP pushes (0: in-process) | see below |
| FACTORHUB_BANKCORE_URL | the bank core's SOAP service (channel `soap`) | unset |
| FACTORHUB_ECNY_URL | the e-CNY operator's payment API (channel `ecny`) | unset |
| FACTORHUB_ECNY_APP_ID | our AppId at the operator (`X-Ecny-AppId`) | factorhub |
| FACTORHUB_ECNY_PRIVATE_KEY_FILE | our SM2 private key (PKCS#8 PEM), signs every order | unset |
| FACTORHUB_ECNY_SIGN_SN | the serial of that key's certificate (`X-Ecny-SignSN`) | unset |
| FACTORHUB_ECNY_OPERATOR_KEY_FILE | the operator's SM2 public key (PEM): verifies it | unset |
| FACTORHUB_ECNY_PAYER_WALLET | the factor's 对公钱包 id the money leaves from | unset |
| FACTORHUB_ECNY_PAYEE_WALLETS_FILE | JSON object: seller USCC -> its e-CNY wallet id | unset |
| FACTORHUB_ECNY_NOTIFY_URL | where the operator sends its notify (our `/v1/ecny/notify`) | unset |
| FACTORHUB_ECNY_FROM_SIMULATOR | QA only: e-CNY keys, wallets from the simulator | see below |
| FACTORHUB_OTEL_* | tracing: exporters, service, endpoint, sampler | `observability.tracing` |
| FACTORHUB_CA_BUNDLE | PEM file of CAs the partner clients trust besides the usual roots | unset |
| FACTORHUB_INGRESS_AUTH | `on`: ERP pushes must be signed by a tenant (`factorhub tenants`) | off |

Every partner client verifies the partner's certificate and host name; FACTORHUB_CA_BUNDLE adds
CAs (a bank's private CA) to the roots it trusts (`hub.security.tls.partner_verify`). The
ingress's own TLS (FACTORHUB_TLS_CERT, FACTORHUB_TLS_KEY, FACTORHUB_TLS_CLIENT_CA) is read by
`factorhub serve` as its `--tls-*` options, like its host and port.

FACTORHUB_INGRESS_WORKERS defaults to 1 for `serve`, `demo` and `bench` on a machine with two or
more cores, and to 0 otherwise (tests, one-off commands).

The partner URLs (registry, bank, VAT platform, credit bureau, bank core, e-CNY operator) come
from their variable, else from the simulators' ports file (FACTORHUB_SIMULATORS_FILE); a credit
bureau URL from that file comes with the `credit` simulator's default token (QA only). The bank
core and e-CNY settings are needed only when the policy's `disbursement_channel` chooses them:
the hub then refuses to start (ConfigurationError) naming every one that is missing. A credit
bureau URL without a token stops the hub the same way.
FACTORHUB_ECNY_FROM_SIMULATOR (QA against `simulators/ecny` only) reads the e-CNY keys and
wallets left unset from the simulator's `/admin` API when the hub starts; it is on by default
only when the ports file gives the `ecny` URL and FACTORHUB_ECNY_URL is unset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from canonical import ConfigurationError
from hub.runtime.retry import DEFAULT_RETRY, RetryPolicy
from observability.tracing import TracingSettings, tracing_settings

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "TransportKind", "serving_defaults"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/factorhub.db"
TransportKind = Literal["embedded", "kafka", "rabbitmq"]


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str | None = None
    registry_url: str = "http://127.0.0.1:8101"
    bank_url: str = "http://127.0.0.1:8102"
    vat_url: str | None = None
    """The tax platform's 查验 service (a provider's API); None: invoices are not verified."""
    credit_url: str | None = None
    """The credit bureau (天眼查 OpenAPI): 注销/吊销 and 失信 checks before a limit is held, as
    the policy's `credit_checks` say; None: no credit checks."""
    credit_token: str | None = None
    """Our 天眼查 token, sent as `Authorization` (required when `credit_url` is set)."""
    credit_cache_seconds: float = 300.0
    """How long an answer about one enterprise is used again without asking the bureau."""
    tenant: str = "default"
    max_body_bytes: int = 5 * 1024 * 1024
    http_timeout: float = 10.0
    retry: RetryPolicy = field(default=DEFAULT_RETRY)
    consumer_batch: int = 200
    retention_days: float = 7.0
    """How long handled outbox/inbox rows are kept (0: the hub never prunes by itself)."""
    broker_namespace: str = ""
    """Prefix of every topic, exchange and queue the hub uses: several hubs (or a benchmark
    beside a running hub) can share one broker without reading each other's messages."""
    ingress_workers: int = 0
    """Worker processes that map ERP pushes (0: map in the hub's own process)."""
    policy_file: str | None = None
    """Risk policy YAML (advance rate, tolerances, minimum ticket); None: the §6.0 defaults."""
    bankcore_url: str | None = None
    """The bank core's SOAP service (needed when the policy pays through `soap`)."""
    ecny_url: str | None = None
    """The e-CNY operator's payment API (needed when the policy pays through `ecny`)."""
    ecny_app_id: str = "factorhub"
    """Our AppId at the e-CNY operator."""
    ecny_private_key_pem: str | None = None
    """Our SM2 private key (PKCS#8 PEM) that signs every e-CNY request."""
    ecny_sign_sn: str | None = None
    """The serial of our signing certificate (`X-Ecny-SignSN`)."""
    ecny_operator_public_key_pem: str | None = None
    """The operator's SM2 public key (PEM): its answers and notifies are verified with it."""
    ecny_payer_wallet_id: str | None = None
    """The factor's 对公钱包 the disbursements leave from."""
    ecny_payee_wallets: Mapping[str, str] | None = None
    """The payee directory: seller USCC -> its e-CNY wallet id."""
    ecny_notify_url: str | None = None
    """Where the operator sends its final-state notify: our ingress's `/v1/ecny/notify`."""
    ecny_from_simulator: bool = False
    """QA only: fill the e-CNY keys and wallets left unset from the e-CNY simulator's `/admin`
    API when the hub starts (`hub.channels.simulator_ecny_settings`); never for production."""
    tracing: TracingSettings = field(default_factory=TracingSettings)
    """OpenTelemetry tracing (FACTORHUB_OTEL_*); no exporter: off, at no cost. The long-running
    commands (`serving_defaults`) default to the `local` span store."""
    ca_bundle_pem: str | None = None
    """PEM certificates of CAs the partner clients trust besides httpx's roots (a bank's
    private CA); None: those roots only. Certificates are verified either way."""
    ingress_auth: Literal["off", "on"] = "off"
    """`on`: every ERP push and ingested document must be signed by a known tenant
    (`hub.security.ingress_auth`), and its tenant is the signer; `off`: the `X-FactorHub-Tenant`
    header (or `tenant`) is believed. Off only while the ERP connectors learn to sign."""
    http_connections: int = 16
    """Connections per partner, and calls in flight per route. httpcore scans every pooled
    connection on each request, so a big pool costs more CPU than it saves in waiting."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        simulated = simulator_urls(env.get("FACTORHUB_SIMULATORS_FILE"))
        ecny_url = env.get("FACTORHUB_ECNY_URL") or None
        credit_url = env.get("FACTORHUB_CREDIT_URL") or None
        settings = cls(
            database_url=env.get("FACTORHUB_DATABASE_URL", DEFAULT_DATABASE_URL),
            broker_url=env.get("FACTORHUB_BROKER_URL") or None,
            registry_url=env.get("FACTORHUB_REGISTRY_URL")
            or simulated.get("registry", cls.registry_url),
            bank_url=env.get("FACTORHUB_BANK_URL") or simulated.get("bank", cls.bank_url),
            vat_url=env.get("FACTORHUB_VAT_URL") or simulated.get("vat"),
            credit_url=credit_url or simulated.get("credit"),
            credit_token=env.get("FACTORHUB_CREDIT_TOKEN")
            or (_simulator_credit_token() if not credit_url and "credit" in simulated else None),
            credit_cache_seconds=_float(
                env, "FACTORHUB_CREDIT_CACHE_SECONDS", cls.credit_cache_seconds
            ),
            tenant=env.get("FACTORHUB_TENANT", "default"),
            max_body_bytes=_int(env, "FACTORHUB_MAX_BODY_BYTES", cls.max_body_bytes),
            http_timeout=float(env.get("FACTORHUB_HTTP_TIMEOUT", cls.http_timeout)),
            http_connections=_int(env, "FACTORHUB_HTTP_CONNECTIONS", cls.http_connections),
            broker_namespace=env.get("FACTORHUB_BROKER_NAMESPACE", ""),
            retention_days=float(env.get("FACTORHUB_RETENTION_DAYS", cls.retention_days)),
            ingress_workers=_int(env, "FACTORHUB_INGRESS_WORKERS", cls.ingress_workers),
            policy_file=env.get("FACTORHUB_POLICY_FILE") or None,
            bankcore_url=env.get("FACTORHUB_BANKCORE_URL") or simulated.get("bankcore"),
            ecny_url=ecny_url or simulated.get("ecny"),
            ecny_app_id=env.get("FACTORHUB_ECNY_APP_ID") or cls.ecny_app_id,
            ecny_private_key_pem=_text_file(env, "FACTORHUB_ECNY_PRIVATE_KEY_FILE"),
            ecny_sign_sn=env.get("FACTORHUB_ECNY_SIGN_SN") or None,
            ecny_operator_public_key_pem=_text_file(env, "FACTORHUB_ECNY_OPERATOR_KEY_FILE"),
            ecny_payer_wallet_id=env.get("FACTORHUB_ECNY_PAYER_WALLET") or None,
            ecny_payee_wallets=_wallet_directory(env, "FACTORHUB_ECNY_PAYEE_WALLETS_FILE"),
            ecny_notify_url=env.get("FACTORHUB_ECNY_NOTIFY_URL") or None,
            ecny_from_simulator=_flag(
                env, "FACTORHUB_ECNY_FROM_SIMULATOR", ecny_url is None and "ecny" in simulated
            ),
            tracing=tracing_settings(env),
            ca_bundle_pem=_text_file(env, "FACTORHUB_CA_BUNDLE"),
            ingress_auth=_ingress_auth(env),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given)  # type: ignore[arg-type]

    @property
    def transport(self) -> TransportKind:
        if not self.broker_url:
            return "embedded"
        scheme = urlsplit(self.broker_url).scheme
        if scheme == "kafka":
            return "kafka"
        if scheme in {"amqp", "amqps"}:
            return "rabbitmq"
        raise ConfigurationError(
            f"FACTORHUB_BROKER_URL scheme {scheme!r} is not kafka:// or amqp://"
        )

    @property
    def kafka_bootstrap(self) -> str:
        return urlsplit(self.broker_url or "").netloc

    def __repr__(self) -> str:
        return (
            f"Settings(transport={self.transport!r}, database={_redact(self.database_url)!r}, "
            f"broker={_redact(self.broker_url or '')!r})"
        )


def _ingress_auth(env: Mapping[str, str]) -> Literal["off", "on"]:
    raw = env.get("FACTORHUB_INGRESS_AUTH", "").strip().lower()
    if raw in ("", "off"):
        return "off"
    if raw == "on":
        return "on"
    raise ConfigurationError(f"FACTORHUB_INGRESS_AUTH must be on or off, got {raw!r}")


def simulator_urls(path: str | None) -> dict[str, str]:
    """Simulator name -> base URL, from the ports file `factorhub simulators up` writes."""
    if not path:
        return {}
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return {name: str(entry["base_url"]) for name, entry in document.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise ConfigurationError(
            f"FACTORHUB_SIMULATORS_FILE {path!r} is not a simulators ports file: {error}"
        ) from error


def serving_defaults(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """What the long-running commands add to the defaults: a mapping worker when the machine
    has a core to spare, and traces in the local span store, so `factorhub trace` works on a
    laptop with no collector (the environment still decides when it says)."""
    env = os.environ if env is None else env
    defaults: dict[str, object] = {}
    if "FACTORHUB_INGRESS_WORKERS" not in env:
        defaults["ingress_workers"] = 1 if (os.cpu_count() or 1) >= 2 else 0
    if "FACTORHUB_OTEL_EXPORTERS" not in env:
        defaults["tracing"] = tracing_settings(env, default_exporters=("local",))
    return defaults


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from error


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from error
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative, got {raw!r}")
    return value


def _simulator_credit_token() -> str:
    """The `credit` simulator's default 天眼查 token (QA against the simulators' ports file)."""
    from simulators.credit.subjects import TycAccount

    return TycAccount().token


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _text_file(env: Mapping[str, str], name: str) -> str | None:
    """The text of the file the variable names (a key in PEM), or None when it is unset."""
    path = env.get(name)
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{name} {path!r} cannot be read: {error}") from error


def _wallet_directory(env: Mapping[str, str], name: str) -> dict[str, str] | None:
    """A JSON object of seller USCC -> e-CNY wallet id, from the file the variable names."""
    text = _text_file(env, name)
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(f"{name}: not JSON: {error}") from error
    if not isinstance(document, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in document.items()
    ):
        raise ConfigurationError(f"{name}: must be a JSON object of USCC -> wallet id strings")
    return dict(document)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
