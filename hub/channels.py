"""The payment channel a programme's policy chooses, and the gateway that pays through it.

| policy `disbursement_channel` | gateway | partner (settings) |
|---|---|---|
| `iso20022` (default) | `IsoBankGateway`: a pain.001 per batch | the ISO channel (`bank_url`) |
| `soap` | `SoapBankGateway`: a `SubmitPayment` per instruction | the bank core (`bankcore_url`) |
| `ecny` | `EcnyGateway`: a signed payment order per instruction | the e-CNY operator (`ecny_*`) |

`make_bank_gateway` builds it; the hub uses it as `Services.bank`, starts it (`start`) before its
consumers run and closes it (`aclose`) with the other partners' clients. Every gateway pays each
instruction id at most once and, after a lost answer, asks before it sends again.

A channel chosen without its settings stops the hub with a ConfigurationError naming each
missing variable. For QA only, `simulator_ecny_settings` fills the e-CNY keys and wallets left
unset from the e-CNY simulator's admin API (`FACTORHUB_ECNY_FROM_SIMULATOR`); production
configuration comes from the environment and files (`hub/config.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

import httpx

from canonical import ConfigurationError, DisbursementInstruction, PaymentResult
from connectors.bank_iso import IsoBankGateway
from connectors.bank_soap import SoapBankGateway
from connectors.ecny import EcnyGateway
from connectors.http import DEFAULT_TIMEOUT
from hub.config import Settings
from hub.security.tls import partner_verify
from observability.http import traced_client
from routes.policy import FlowPolicy

__all__ = [
    "ECNY_SETTINGS",
    "BankChannel",
    "ChannelName",
    "make_bank_gateway",
    "missing_ecny_settings",
    "simulator_ecny_settings",
]

log = logging.getLogger("factorhub.channels")

ChannelName = Literal["iso20022", "soap", "ecny"]
Gateway = IsoBankGateway | SoapBankGateway | EcnyGateway

ECNY_SETTINGS: dict[str, str] = {
    "ecny_url": "FACTORHUB_ECNY_URL",
    "ecny_private_key_pem": "FACTORHUB_ECNY_PRIVATE_KEY_FILE",
    "ecny_sign_sn": "FACTORHUB_ECNY_SIGN_SN",
    "ecny_operator_public_key_pem": "FACTORHUB_ECNY_OPERATOR_KEY_FILE",
    "ecny_payer_wallet_id": "FACTORHUB_ECNY_PAYER_WALLET",
    "ecny_payee_wallets": "FACTORHUB_ECNY_PAYEE_WALLETS_FILE",
    "ecny_notify_url": "FACTORHUB_ECNY_NOTIFY_URL",
}
"""Every setting the e-CNY channel needs -> the variable that sets it."""

_FROM_SIMULATOR = frozenset(
    {
        "ecny_private_key_pem",
        "ecny_sign_sn",
        "ecny_operator_public_key_pem",
        "ecny_payer_wallet_id",
        "ecny_payee_wallets",
    }
)
"""What `simulator_ecny_settings` can fill in (never the URLs: those are ours to say)."""


def missing_ecny_settings(settings: Settings, *, discoverable: bool = False) -> list[str]:
    """The variables of the e-CNY settings that are unset (`discoverable`: not counting what
    the simulator's admin API will fill in)."""
    return [
        variable
        for name, variable in ECNY_SETTINGS.items()
        if not getattr(settings, name) and not (discoverable and name in _FROM_SIMULATOR)
    ]


class BankChannel:
    """The chosen channel's gateway (a `routes.ports.BankGateway`) and the HTTP client under it.

    Built complete, except for an e-CNY channel whose keys and wallets are to be read from the
    simulator: that one is finished by `start`. `settings` are the ones the channel runs with
    (after that discovery), so `ecny_operator_public_key` is what the operator's notifies are
    verified with.
    """

    def __init__(
        self,
        name: ChannelName,
        client: httpx.AsyncClient,
        settings: Settings,
        build: Callable[[Settings], Gateway],
        *,
        discover: bool = False,
    ) -> None:
        self.name = name
        self.settings = settings
        self._client = client
        self._build = build
        self._discover = discover
        self._gateway: Gateway | None = None if discover else build(settings)

    @property
    def client(self) -> httpx.AsyncClient:
        """The channel's HTTP client (its requests are timed per partner in the metrics)."""
        return self._client

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            raise RuntimeError(f"the {self.name} payment channel is not started yet")
        return self._gateway

    @property
    def ecny_operator_public_key(self) -> str | None:
        """The e-CNY operator's public key (PEM) when the hub knows it: notifies are verified
        with it, whichever channel pays new disbursements."""
        return self.settings.ecny_operator_public_key_pem

    async def start(self) -> None:
        """QA only: read the e-CNY simulator's keys and wallets, then build the gateway."""
        if self._gateway is not None:
            return
        self.settings = await simulator_ecny_settings(self.settings, self._client)
        missing = missing_ecny_settings(self.settings)
        if missing:
            raise ConfigurationError(
                f"the policy pays through e-CNY but {', '.join(missing)} "
                "is not set and the e-CNY simulator did not give it"
            )
        self._gateway = self._build(self.settings)
        where = self.settings.ecny_url
        log.warning("e-CNY keys and wallets taken from the simulator at %s (QA only)", where)

    async def submit_many(
        self, instructions: Sequence[DisbursementInstruction]
    ) -> list[PaymentResult | Exception]:
        return await self.gateway.submit_many(instructions)

    async def status(self, instruction_id: str) -> PaymentResult | None:
        """The partner's verdict on an instruction, or None if it never received it."""
        return await self.gateway.status(instruction_id)

    async def aclose(self) -> None:
        await self._client.aclose()


def make_bank_gateway(
    settings: Settings,
    policy: FlowPolicy,
    clock: Callable[[], datetime],
    *,
    timeout: httpx.Timeout | None = None,
    limits: httpx.Limits | None = None,
) -> BankChannel:
    """The gateway of the channel `policy.disbursement_channel` names, over its own client.
    ConfigurationError (at hub start) names every setting that channel lacks."""
    timeout = timeout or httpx.Timeout(settings.http_timeout, connect=DEFAULT_TIMEOUT.connect)
    pool = settings.http_connections
    limits = limits or httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    verify = partner_verify(settings.ca_bundle_pem)  # a bank's private CA, when given
    channel = policy.disbursement_channel
    if channel == "iso20022":
        client = traced_client(
            httpx.AsyncClient(
                base_url=settings.bank_url, timeout=timeout, limits=limits, verify=verify
            ),
            "bank",
        )
        return BankChannel(channel, client, settings, lambda s: IsoBankGateway(client, clock=clock))
    if channel == "soap":
        if not settings.bankcore_url:
            raise ConfigurationError(
                "the policy pays through the bank core (disbursement_channel: soap) "
                "but FACTORHUB_BANKCORE_URL is not set"
            )
        client = traced_client(
            httpx.AsyncClient(
                base_url=settings.bankcore_url, timeout=timeout, limits=limits, verify=verify
            ),
            "bankcore",
        )
        return BankChannel(
            channel,
            client,
            settings,
            lambda s: SoapBankGateway(client, concurrency=s.http_connections, clock=clock),
        )
    if channel == "ecny":
        discover = settings.ecny_from_simulator
        missing = missing_ecny_settings(settings, discoverable=discover)
        if missing:
            raise ConfigurationError(
                "the policy pays through e-CNY (disbursement_channel: ecny) but "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set"
            )
        assert settings.ecny_url is not None  # checked just above
        client = traced_client(
            httpx.AsyncClient(
                base_url=settings.ecny_url, timeout=timeout, limits=limits, verify=verify
            ),
            "ecny",
        )
        complete = not missing_ecny_settings(settings)
        return BankChannel(
            channel,
            client,
            settings,
            lambda s: _ecny_gateway(client, s, clock),
            discover=discover and not complete,
        )
    raise ConfigurationError(f"unknown disbursement channel {channel!r}")


def _ecny_gateway(
    client: httpx.AsyncClient, settings: Settings, clock: Callable[[], datetime]
) -> EcnyGateway:
    # every one of these was checked to be set (missing_ecny_settings)
    assert settings.ecny_private_key_pem
    assert settings.ecny_sign_sn
    assert settings.ecny_operator_public_key_pem
    assert settings.ecny_payer_wallet_id
    assert settings.ecny_payee_wallets is not None
    assert settings.ecny_notify_url
    return EcnyGateway(
        client,
        private_key_pem=settings.ecny_private_key_pem,
        sign_sn=settings.ecny_sign_sn,
        app_id=settings.ecny_app_id,
        operator_public_key_pem=settings.ecny_operator_public_key_pem,
        payer_wallet_id=settings.ecny_payer_wallet_id,
        payee_wallets=dict(settings.ecny_payee_wallets),
        notify_url=settings.ecny_notify_url,
        max_concurrency=settings.http_connections,
        clock=clock,
    )


# --- QA only: the e-CNY simulator's admin API ---------------------------------------------------


async def simulator_ecny_settings(settings: Settings, client: httpx.AsyncClient) -> Settings:
    """SIMULATOR-ONLY CONVENIENCE, for QA against `simulators/ecny`: `settings` with the e-CNY
    keys and wallets it leaves unset taken from the simulator's admin API (`client` is on the
    simulator's base URL). A real operator has no such API: there the keys and the wallet
    directory come from FACTORHUB_ECNY_* (see hub/config.py).

    - `GET /admin/keys`: the operator's public key, and our caller's (AppId
      `settings.ecny_app_id`) private key and certificate serial, derived from the seed;
    - `GET /admin/state` → `wallets`: the factor's wallet (role `factor`) pays; each seller's
      wallet (role `seller`, with its USCC) is the payee directory.
    """
    try:
        keys = (await client.get("/admin/keys")).raise_for_status().json()
        wallets = (await client.get("/admin/state")).raise_for_status().json()["wallets"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        raise ConfigurationError(
            f"FACTORHUB_ECNY_FROM_SIMULATOR: no keys and wallets from the e-CNY simulator at "
            f"{client.base_url}: {error!r}"
        ) from error
    caller: dict[str, Any] = next(
        (c for c in keys.get("callers", []) if c.get("app_id") == settings.ecny_app_id), {}
    )
    payer: dict[str, Any] = next((w for w in wallets if w.get("role") == "factor"), {})
    found: dict[str, Any] = {
        "ecny_private_key_pem": caller.get("private_key_pem"),
        "ecny_sign_sn": caller.get("sign_sn"),
        "ecny_operator_public_key_pem": keys.get("operator", {}).get("public_key_pem"),
        "ecny_payer_wallet_id": payer.get("wallet_id"),
        "ecny_payee_wallets": {
            w["uscc"]: w["wallet_id"] for w in wallets if w.get("role") == "seller" and w["uscc"]
        },
    }
    given = {
        name: value
        for name, value in found.items()
        if value and getattr(settings, name) is None  # what is configured stays
    }
    return replace(settings, **given)
