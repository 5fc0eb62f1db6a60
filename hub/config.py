"""Settings, resolved from arguments, then the environment, then defaults.

| variable | meaning | default |
|---|---|---|
| FACTORHUB_DATABASE_URL | SQLAlchemy async URL | sqlite+aiosqlite:///./var/factorhub.db |
| FACTORHUB_BROKER_URL | kafka://host:port or amqp://user:pass@host:port/vhost | unset: embedded |
| FACTORHUB_SIMULATORS_FILE | ports file of `factorhub simulators up`: partner URLs | unset |
| FACTORHUB_REGISTRY_URL | base URL of the 中登网 registry service | http://127.0.0.1:8101 |
| FACTORHUB_BANK_URL | base URL of the bank's ISO 20022 channel | http://127.0.0.1:8102 |
| FACTORHUB_VAT_URL | the VAT platform's 查验 service; unset: invoices are not verified | unset |
| FACTORHUB_TENANT | tenant of ERP pushes without credentials | default |
| FACTORHUB_MAX_BODY_BYTES | largest accepted request body | 5242880 |
| FACTORHUB_HTTP_TIMEOUT | seconds for one outbound call | 10 |
| FACTORHUB_POLICY_FILE | risk policy YAML the flow runs under | §6.0 defaults |
| FACTORHUB_INGRESS_WORKERS | processes mapping ERP pushes (0: in-process) | see below |

FACTORHUB_INGRESS_WORKERS defaults to 1 for `serve`, `demo` and `bench` on a machine with two or
more cores, and to 0 otherwise (tests, one-off commands).
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
    """Worker processes that map ERP pushes (0: map in the hub's own process)."""
    http_connections: int = 16
    """Connections per partner, and calls in flight per route. httpcore scans every pooled
    connection on each request, so a big pool costs more CPU than it saves in waiting."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        simulated = simulator_urls(env.get("FACTORHUB_SIMULATORS_FILE"))
        settings = cls(
            database_url=env.get("FACTORHUB_DATABASE_URL", DEFAULT_DATABASE_URL),
            broker_url=env.get("FACTORHUB_BROKER_URL") or None,
            registry_url=env.get("FACTORHUB_REGISTRY_URL")
            or simulated.get("registry", cls.registry_url),
            bank_url=env.get("FACTORHUB_BANK_URL") or simulated.get("bank", cls.bank_url),
            vat_url=env.get("FACTORHUB_VAT_URL") or simulated.get("vat"),
            tenant=env.get("FACTORHUB_TENANT", "default"),
            max_body_bytes=_int(env, "FACTORHUB_MAX_BODY_BYTES", cls.max_body_bytes),
            http_timeout=float(env.get("FACTORHUB_HTTP_TIMEOUT", cls.http_timeout)),
            http_connections=_int(env, "FACTORHUB_HTTP_CONNECTIONS", cls.http_connections),
            broker_namespace=env.get("FACTORHUB_BROKER_NAMESPACE", ""),
            retention_days=float(env.get("FACTORHUB_RETENTION_DAYS", cls.retention_days)),
            ingress_workers=_int(env, "FACTORHUB_INGRESS_WORKERS", cls.ingress_workers),
            policy_file=env.get("FACTORHUB_POLICY_FILE") or None,
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
    has a core to spare (the environment still decides when it says)."""
    env = os.environ if env is None else env
    if "FACTORHUB_INGRESS_WORKERS" in env:
        return {}
    return {"ingress_workers": 1 if (os.cpu_count() or 1) >= 2 else 0}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from error


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
