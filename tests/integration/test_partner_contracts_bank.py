"""The hub's ISO 20022 readers (mappings.pain002, mappings.camt054) read what the bank simulator,
written separately from the same reference (formats-outbound §1), answers to the pain.001 the
hub's own writer (mappings.pain001) builds: a contract test of the whole ISO channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from canonical import BankAccount, DisbursementInstruction, Money, Party, PartyRole, PaymentStatus
from canonical.payments import EntryDirection, EntryStatus
from mappings.camt054 import camt054_to_canonical
from mappings.formats import recognise
from mappings.pain001 import canonical_to_pain001
from mappings.pain002 import pain002_to_canonical
from simulators import bank
from tests.simulators.conftest import asgi_client

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=CST)
FACTOR = Party(name="深圳示例商业保理有限公司", uscc="91330106569821743D", role=PartyRole.FACTOR)
SELLER = Party(name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER)
FACTOR_ACCOUNT = BankAccount(
    number="755912345610801",
    name="深圳示例商业保理有限公司",
    bank_name="招商银行深圳分行营业部",
    cnaps_code="308584000013",
)
SELLER_ACCOUNT = BankAccount(
    number="1102020309000123456",
    name="苏州示例新材料有限公司",
    bank_name="中国工商银行苏州分行",
    cnaps_code="102305002018",
)
XML = {"content-type": "application/xml"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(bank.create_app(seed=1)) as c:
        yield c


def _instruction(number: int, amount: str, message_id: str) -> DisbursementInstruction:
    return DisbursementInstruction.model_validate(
        {
            "id": f"DSB-2026-{number:06d}",
            "request_id": f"FR-2026-{number:04d}",
            "message_id": message_id,
            "amount": Money.of(amount),
            "debtor": FACTOR,
            "debtor_account": FACTOR_ACCOUNT,
            "creditor": SELLER,
            "creditor_account": SELLER_ACCOUNT,
            "execution_date": date(2026, 11, 28),
            "remittance": f"保理融资放款 FR-2026-{number:04d}",
            "created_at": NOW,
        }
    )


async def _pay(client: httpx.AsyncClient, message_id: str, *amounts: tuple[int, str]) -> bytes:
    instructions = [_instruction(n, amount, message_id) for n, amount in amounts]
    xml = canonical_to_pain001(
        instructions, message_id=message_id, created_at=NOW, initiating_party=FACTOR
    )
    answer = await client.post("/iso20022/pain.001", content=xml, headers=XML)
    assert answer.status_code == 200, answer.text
    return answer.content


async def test_the_synchronous_pain002_settles_each_instruction_by_its_id(client):
    raw = await _pay(client, "FH20261128-0001", (1, "361600.00"), (2, "1000.50"))
    assert recognise(raw).name == "pain002"
    report = pain002_to_canonical(raw, reported_at=NOW)
    assert recognise(raw).read(raw, NOW) == report
    assert report.original_message_id == "FH20261128-0001"
    assert report.group_status == "ACSC"
    assert [(r.instruction_id, r.status) for r in report.results] == [
        ("DSB-2026-000001", PaymentStatus.SETTLED),
        ("DSB-2026-000002", PaymentStatus.SETTLED),
    ]
    assert all(r.bank_reference for r in report.results)


async def test_the_status_query_for_one_payment_answers_a_pain002_for_it(client):
    await _pay(client, "FH20261128-0001", (1, "361600.00"))
    raw = (await client.get("/iso20022/payments/DSB-2026-000001")).content
    (result,) = pain002_to_canonical(raw, reported_at=NOW).results
    assert (result.instruction_id, result.status) == ("DSB-2026-000001", PaymentStatus.SETTLED)


async def test_a_payment_over_the_balance_is_rejected_with_its_reason_code(client):
    balance = {"account": FACTOR_ACCOUNT.number, "balance": "1000.00"}
    assert (await client.post("/admin/balances", json=balance)).status_code == 200
    raw = await _pay(client, "FH20261128-0002", (3, "1000.01"))
    (result,) = pain002_to_canonical(raw, reported_at=NOW).results
    assert result.status is PaymentStatus.REJECTED
    assert result.bank_code == "RJCT"
    assert result.reason.startswith("AM04")


async def test_a_resend_with_other_terms_is_rejected_and_pays_nothing_twice(client):
    await _pay(client, "FH20261128-0001", (1, "361600.00"))
    raw = await _pay(client, "FH20261128-0003", (1, "361600.01"))
    (result,) = pain002_to_canonical(raw, reported_at=NOW).results
    assert (result.status, result.reason[:4]) == (PaymentStatus.REJECTED, "AM05")
    ledger = camt054_to_canonical(
        (await client.get("/iso20022/camt.054", params={"account": "755912345610801"})).content,
        received_at=NOW,
    )
    assert len(ledger.notifications[0].entries) == 1


async def test_the_camt054_books_each_executed_payment_as_a_debit_with_our_ids(client):
    await _pay(client, "FH20261128-0001", (1, "361600.00"), (2, "1000.50"))
    raw = (await client.get("/iso20022/camt.054", params={"account": "755912345610801"})).content
    assert recognise(raw).name == "camt054"
    notification = camt054_to_canonical(raw, received_at=NOW)
    assert recognise(raw).read(raw, NOW) == notification
    (account,) = notification.notifications
    assert account.account_number == FACTOR_ACCOUNT.number
    assert account.account_currency == "CNY"
    first, _second = account.entries
    assert [e.amount.amount for e in account.entries] == [Decimal("361600.00"), Decimal("1000.50")]
    assert sum((e.amount.amount for e in account.entries), Decimal(0)) == Decimal("362600.50")
    assert {e.direction for e in account.entries} == {EntryDirection.DEBIT}
    assert {e.status for e in account.entries} == {EntryStatus.BOOKED}
    assert first.bank_transaction_code == "PMNT/ICDT/DMCT"
    (tx,) = first.transactions
    assert (tx.end_to_end_id, tx.instruction_id, tx.message_id) == (
        "DSB-2026-000001",
        "DSB-2026-000001",
        "FH20261128-0001",
    )
    assert tx.counterparty is not None
    assert (tx.counterparty.name, tx.counterparty.account_number) == (
        SELLER.name,
        SELLER_ACCOUNT.number,
    )
    assert tx.counterparty.bank_code == SELLER_ACCOUNT.cnaps_code

    later = (
        await client.get(
            "/iso20022/camt.054",
            params={"account": "755912345610801", "after": first.entry_reference},
        )
    ).content
    (only,) = camt054_to_canonical(later, received_at=NOW).notifications[0].entries
    assert only.transactions[0].end_to_end_id == "DSB-2026-000002"
