"""The parameters the flow decides money with (the domain's §6.0 defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from canonical import BankAccount, Party, PartyRole

__all__ = ["DEFAULT_FACTOR", "DEFAULT_FACTOR_ACCOUNT", "FlowPolicy"]

DEFAULT_FACTOR = Party(
    name="演示商业保理有限公司", uscc="91310115MA1H7XQR31", role=PartyRole.FACTOR
)
"""The factor the demo and tests run as (a fictional company with a valid USCC)."""

DEFAULT_FACTOR_ACCOUNT = BankAccount(
    number="310066726018800012345",
    name="演示商业保理有限公司",
    bank_name="交通银行上海分行",
    cnaps_code="301290000007",
)


@dataclass(frozen=True, kw_only=True)
class FlowPolicy:
    """Advance rate and matching tolerances; one per programme (full YAML policies come later)."""

    advance_rate: Decimal = Decimal("0.80")
    amount_tolerance_pct: Decimal = Decimal("0.005")
    amount_tolerance_abs: Decimal = Decimal("100.00")
    quantity_tolerance_pct: Decimal = Decimal("0.02")
    min_ticket: Decimal = Decimal("10000.00")
    registration_months: int = 12
    factor: Party = field(default=DEFAULT_FACTOR)
    factor_account: BankAccount = field(default=DEFAULT_FACTOR_ACCOUNT)
