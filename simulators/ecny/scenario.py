"""The `ecny:` section of a scenario YAML: keys, wallets, outcomes and notify faults.

Every field is optional; a field that is given replaces what the simulator had, a field that is
left out keeps it. Validation errors name the field (`wallets.0.balance`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulators.common.callbacks import CallbackFaults
from simulators.ecny.models import AMOUNT, WalletType

__all__ = ["CallerSpec", "EcnyScenario", "OutcomeRule", "WalletSpec"]

FinalStatus = Literal["PR00", "PR01", "PR03", "PR04"]
"""成功, 失败, 推定成功, 推定失败: what the final-state notify says."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallerSpec(_Section):
    """A caller (the hub) allowed to order payments, with the key its signatures verify by."""

    app_id: Annotated[str, Field(min_length=1, max_length=64)]
    public_key_pem: str | None = None
    """SM2 public key (PEM). Left out: a key pair derived from the seed (see /admin/keys)."""
    sign_sn: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """The certificate serial expected in X-Ecny-SignSN (default: derived from the key)."""


class WalletSpec(_Section):
    """Adds a wallet or changes one (matched by id; what is left out keeps its value)."""

    wallet_id: Annotated[str, Field(min_length=1, max_length=68)]
    name: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    type: WalletType | None = None
    balance: str | None = None
    """Yuan, e.g. "1000000.00"; "unlimited" for no limit."""
    frozen: bool | None = None

    @field_validator("balance")
    @classmethod
    def _balance(cls, value: str | None) -> str | None:
        if value is not None and value != "unlimited" and not AMOUNT.fullmatch(value):
            raise ValueError('yuan with two decimals ("1000.00") or "unlimited"')
        return value

    @property
    def balance_value(self) -> Decimal | None:
        return None if self.balance in (None, "unlimited") else Decimal(str(self.balance))


class OutcomeRule(_Section):
    """How an accepted order ends. A rule matches by `out_trade_no` and/or `amount`; the first
    matching rule wins, else `default_outcome`."""

    out_trade_no: str | None = None
    amount: str | None = None
    prc_sts: FinalStatus = "PR00"
    rjct_cd: Annotated[str, Field(max_length=8)] | None = None
    rjct_inf: Annotated[str, Field(max_length=256)] | None = None
    corrected_to: Literal["PR00", "PR01"] | None = None
    """For PR03/PR04: the truth that /admin/reconcile later reports (default: the presumed one).
    Money moves at acceptance only when the truth is a success."""

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str | None) -> str | None:
        if value is not None and not AMOUNT.fullmatch(value):
            raise ValueError('yuan with two decimals, e.g. "1285.50"')
        return value

    @model_validator(mode="after")
    def _corrections_follow_presumptions(self) -> OutcomeRule:
        if self.corrected_to is not None and self.prc_sts not in ("PR03", "PR04"):
            raise ValueError("corrected_to applies to presumed statuses (PR03, PR04) only")
        return self

    def matches(self, out_trade_no: str, amount: str) -> bool:
        if self.out_trade_no is None and self.amount is None:
            return True
        return (self.out_trade_no in (None, out_trade_no)) and (self.amount in (None, amount))

    @property
    def pays(self) -> bool:
        """Whether the money really moves (the truth, whatever is presumed first)."""
        truth = self.corrected_to or {"PR03": "PR00", "PR04": "PR01"}.get(self.prc_sts)
        return (truth or self.prc_sts) == "PR00"


class EcnyScenario(_Section):
    verify_signatures: bool | None = None
    """Default true. False only for a hub that cannot sign yet; answers are signed anyway."""
    timestamp_window_s: Annotated[int, Field(ge=1, le=86_400)] | None = None
    callers: list[CallerSpec] | None = None
    operator_private_key_pem: str | None = None
    wallets: list[WalletSpec] | None = None
    open_payees: bool | None = None
    """Accept payee wallets the simulator does not know (created on the fly)."""
    default_outcome: OutcomeRule | None = None
    outcomes: list[OutcomeRule] | None = None
    settle_delay_ms: Annotated[int, Field(ge=0, le=600_000)] | None = None
    """How long an accepted order stays PR02 before it ends and its notify goes out."""
    notify: CallbackFaults | None = None
