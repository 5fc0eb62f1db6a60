"""Other factors' registrations, filed before the hub's, so QA can make double financing happen.

`seed_registrations` serves both `POST /admin/seed` and the scenario section. A conflict names
the seller as a party or as an index into the ERP dataset's sellers (same seed, same companies),
and gets a property description a factor would write (formats-outbound §3.2): the debtor, the
invoice numbers, or, with no invoices, all of the seller's receivables.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from simulators import uscc
from simulators.common.admin import ScenarioError
from simulators.erp.dataset import Companies, Company, generate_companies
from simulators.registry.models import (
    ConflictSpec,
    DatasetSize,
    MainContract,
    Party,
    RegistrationRequest,
    SeedRequest,
)
from simulators.registry.store import RegistryStore

__all__ = ["other_factors", "seed_registrations"]

_FACTORS = (
    ("杭州恒信商业保理有限公司", "330106"),
    ("深圳前海盈达商业保理有限公司", "440305"),
    ("天津东疆汇融商业保理有限公司", "120116"),
)


@cache
def other_factors(seed: int) -> tuple[Party, ...]:
    """Factors other than the hub's, with valid USCCs drawn from the seed."""
    rng = random.Random(f"factorhub-sim:registry:factors:{seed}")
    return tuple(Party(name=name, uscc=uscc.generate(rng, region)) for name, region in _FACTORS)


@cache
def _companies(seed: int, sellers: int, buyers: int) -> Companies:
    return generate_companies(seed, sellers=sellers, buyers=buyers)


def seed_registrations(store: RegistryStore, body: SeedRequest, seed: int) -> list[dict[str, Any]]:
    """File every registration of `body` as another factor's; the receipts, in order."""
    filings: list[tuple[RegistrationRequest, datetime | None, bool]] = []
    for item in body.registrations:
        fields = item.model_dump(exclude={"registered_at", "cancelled"})
        filings.append(
            (
                RegistrationRequest.model_validate(fields, strict=False),
                item.registered_at,
                item.cancelled,
            )
        )
    now = store.now()
    for index, spec in enumerate(body.conflicts):
        request = _conflict(spec, index, seed, body.companies)
        when = spec.registered_at or now - timedelta(days=spec.days_before)
        filings.append((request, when, spec.cancelled))
    receipts = []
    for filing, registered_at, cancelled in filings:
        registration, _ = store.register(filing, registered_at, seeded=True, cancelled=cancelled)
        receipts.append(registration.receipt())
    return receipts


def _conflict(spec: ConflictSpec, index: int, seed: int, size: DatasetSize) -> RegistrationRequest:
    companies = _companies(seed, size.sellers, size.buyers)
    seller = spec.seller or _dataset_party(companies.sellers, spec.seller_index, "seller_index")
    debtor = spec.debtor
    if spec.debtor_index is not None:
        debtor = _dataset_party(companies.buyers, spec.debtor_index, "debtor_index")
    factor = spec.factor or other_factors(seed)[index % len(_FACTORS)]
    reference = spec.filer_reference or f"CONFLICT-{seed}-{index + 1:04d}"
    contract = None
    if spec.amount is not None:
        contract = MainContract(number=f"BL-{reference}", currency="CNY", amount=spec.amount)
    return RegistrationRequest(
        filer_reference=reference,
        business_type="保理",
        assignor=seller,
        assignee=factor,
        property_description=_description(seller, debtor, factor, spec.invoices),
        period_months=spec.period_months,
        main_contract=contract,
        invoices=list(spec.invoices),
    )


def _dataset_party(companies: tuple[Company, ...], index: int | None, field: str) -> Party:
    if index is None or index >= len(companies):
        raise ScenarioError(f"{field} {index} is outside the dataset's {len(companies)} companies")
    company = companies[index]
    return Party(name=company.name, uscc=company.uscc)


def _description(seller: Party, debtor: Party | None, factor: Party, invoices: list[str]) -> str:
    whom = (
        f"对债务人{debtor.name}（统一社会信用代码{debtor.uscc}）"
        if debtor is not None
        else "对其全部买方"
    )
    if invoices:
        what = f"享有的应收账款，对应发票号码：{'、'.join(invoices)}"
    else:
        what = "现有及将有的全部应收账款"
    return f"转让人{seller.name}将其{whom}{what}转让给{factor.name}（保理）。"
