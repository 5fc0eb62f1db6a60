"""对公钱包 of the companies in the shared ERP dataset, plus the factor's own wallet.

The same seed gives the same wallets, named after the same companies every simulator uses, so a
supplier paid here is the seller of the invoices the ERP simulators push.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from simulators import uscc
from simulators.erp.dataset import generate_companies

__all__ = ["FACTOR_NAME", "Wallet", "default_wallets"]

FACTOR_NAME = "苏州保理通商业保理有限公司"
FACTOR_BALANCE = Decimal("100000000.00")


@dataclass
class Wallet:
    wallet_id: str
    name: str
    type: str  # WT09 对公钱包, WT10 子对公钱包, ...
    balance: Decimal | None  # None: unlimited
    frozen: bool = False
    uscc: str = ""
    role: str = ""  # factor / seller / buyer / scenario

    def to_json(self) -> dict[str, object]:
        return {
            "wallet_id": self.wallet_id,
            "name": self.name,
            "type": self.type,
            "balance": "unlimited" if self.balance is None else f"{self.balance:.2f}",
            "frozen": self.frozen,
            "uscc": self.uscc,
            "role": self.role,
        }


def default_wallets(seed: int) -> list[Wallet]:
    """The factor's wallet (¥100,000,000.00) first, then one per seller and buyer (¥0.00)."""
    rng = random.Random(f"factorhub-sim:ecny:wallets:{seed}")
    companies = generate_companies(seed)
    ids: set[str] = set()

    def wallet_id() -> str:
        while True:  # 16 digits as the app displays them; collisions are redrawn
            candidate = str(rng.randint(10**15, 10**16 - 1))
            if candidate not in ids:
                ids.add(candidate)
                return candidate

    factor_uscc = uscc.generate(rng, "320505")
    wallets = [
        Wallet(wallet_id(), FACTOR_NAME, "WT09", FACTOR_BALANCE, uscc=factor_uscc, role="factor")
    ]
    for role, group in (("seller", companies.sellers), ("buyer", companies.buyers)):
        wallets.extend(
            Wallet(wallet_id(), c.name, "WT09", Decimal("0.00"), uscc=c.uscc, role=role)
            for c in group
        )
    return wallets
