"""Incoming credit transfers at the bank simulator: QA books a buyer's repayment with
POST /admin/credits and the hub reads it as a booked CRDT entry of the collection account's
camt.054. The XML is read here with plain XPath, never with the simulator's or the hub's code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from simulators import bank
from tests.simulators.conftest import asgi_client
from tests.simulators.sim_pain001 import FACTOR_ACCOUNT, one

SCHEMAS = Path(__file__).resolve().parents[2] / "simulators" / "bank" / "schemas"
C = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"}
XML = {"Content-Type": "application/xml"}
OTHER_ACCOUNT = "6225880137009999"
BUYER = "杭州示例电子科技（集团）有限公司"
BUYER_ACCOUNT = "19010101040012345"
BUYER_BANK = "103331000015"


@pytest.fixture(scope="module")
def camt054_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "camt.054.001.08.xsd")))


def _credit(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account": FACTOR_ACCOUNT,
        "amount": "452000.00",
        "currency": "CNY",
        "debtor_name": BUYER,
        "debtor_account": BUYER_ACCOUNT,
        "debtor_agent": BUYER_BANK,
        "remittance": "还款 FR-2026-0077 发票 25332000000012345678",
        "value_date": "2026-11-28",
        "reference": "REPAY-0001",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def _book(client: httpx.AsyncClient, **changes: Any) -> httpx.Response:
    return await client.post("/admin/credits", json=_credit(**changes))


async def _pay(client: httpx.AsyncClient, msg_id: str, e2e: str, amount: str) -> None:
    answer = await client.post("/iso20022/pain.001", content=one(msg_id, e2e, amount), headers=XML)
    assert answer.status_code == 200, answer.text


async def _camt054(
    client: httpx.AsyncClient, account: str, after: int = 0, schema: etree.XMLSchema | None = None
) -> etree._Element:
    params = {"account": account, "after": str(after)}
    answer = await client.get("/iso20022/camt.054", params=params)
    assert answer.status_code == 200, answer.text
    document = etree.fromstring(answer.content)
    if schema is not None:
        schema.assertValid(document)
    return document


def _entries(document: etree._Element) -> list[etree._Element]:
    return list(document.iterfind("c:BkToCstmrDbtCdtNtfctn/c:Ntfctn/c:Ntry", C))


def _text(element: etree._Element | None, path: str) -> str | None:
    assert element is not None
    return element.findtext(path, namespaces=C)


def _texts(element: etree._Element, path: str) -> list[str]:
    return [str(found.text) for found in element.iterfind(path, C)]


def _sequence(document: etree._Element) -> list[tuple[str | None, str | None]]:
    return [(_text(e, "c:NtryRef"), _text(e, "c:CdtDbtInd")) for e in _entries(document)]


async def test_a_booked_credit_appears_as_a_booked_crdt_entry_with_the_debtor_and_remittance(
    bank_client, camt054_schema
):
    booked = await _book(bank_client)
    assert booked.status_code == 201, booked.text
    assert (booked.json()["sequence"], booked.json()["acct_svcr_ref"]) == (1, "REPAY-0001")

    (entry,) = _entries(await _camt054(bank_client, FACTOR_ACCOUNT, schema=camt054_schema))

    assert _text(entry, "c:NtryRef") == "1"
    amount = entry.find("c:Amt", C)
    assert amount is not None
    assert (amount.text, amount.get("Ccy")) == ("452000.00", "CNY")
    assert _text(entry, "c:CdtDbtInd") == "CRDT"
    assert _text(entry, "c:Sts/c:Cd") == "BOOK"
    assert _text(entry, "c:ValDt/c:Dt") == "2026-11-28"
    assert _text(entry, "c:BookgDt/c:DtTm") == booked.json()["booked_at"]
    assert _text(entry, "c:AcctSvcrRef") == "REPAY-0001"
    code = entry.find("c:BkTxCd/c:Domn", C)
    assert (
        _text(code, "c:Cd"),
        _text(code, "c:Fmly/c:Cd"),
        _text(code, "c:Fmly/c:SubFmlyCd"),
    ) == ("PMNT", "RCDT", "DMCT")
    (tx,) = entry.findall("c:NtryDtls/c:TxDtls", C)
    assert _text(tx, "c:Refs/c:AcctSvcrRef") == "REPAY-0001"
    assert _text(tx, "c:Refs/c:EndToEndId") == "NOTPROVIDED"
    assert (_text(tx, "c:Amt"), _text(tx, "c:CdtDbtInd")) == ("452000.00", "CRDT")
    assert _text(tx, "c:RltdPties/c:Dbtr/c:Pty/c:Nm") == BUYER
    assert _text(tx, "c:RltdPties/c:DbtrAcct/c:Id/c:Othr/c:Id") == BUYER_ACCOUNT
    member = tx.find("c:RltdAgts/c:DbtrAgt/c:FinInstnId/c:ClrSysMmbId", C)
    assert (_text(member, "c:ClrSysId/c:Cd"), _text(member, "c:MmbId")) == ("CNAPS", BUYER_BANK)
    assert _texts(tx, "c:RmtInf/c:Ustrd") == ["还款 FR-2026-0077 发票 25332000000012345678"]
    # a credit is no executed payment: the debit views stay as they were
    assert (await bank_client.get("/admin/ledger")).json() == []
    listed = (await bank_client.get("/admin/credits")).json()
    assert listed == [booked.json()]
    assert listed[0]["remittance"] == "还款 FR-2026-0077 发票 25332000000012345678"


async def test_credits_mixed_with_debits_validate_against_the_camt_054_xsd(camt054_schema):
    # 23:30 UTC is already the next day in China: the default value date is the CST day
    app = bank.create_app(seed=1, clock=lambda: datetime(2026, 11, 28, 23, 30, tzinfo=UTC))
    remittance = "".join(f"FR-2026-{n:04d} 发票 2533200000001234{n:04d};" for n in range(12))
    async with asgi_client(app) as client:
        await _pay(client, "MSG-1", "E2E-1", "1500.00")
        plain = await _book(
            client,
            amount="452000",
            debtor_agent=None,
            remittance=None,
            value_date=None,
            reference=None,
        )
        assert plain.status_code == 201, plain.text
        long = await _book(
            client, remittance=remittance, end_to_end_id="BUYER-E2E-7", amount="0.01"
        )
        assert long.status_code == 201, long.text
        document = await _camt054(client, FACTOR_ACCOUNT, schema=camt054_schema)

    debit, first, second = _entries(document)
    assert _text(debit, "c:CdtDbtInd") == "DBIT"
    assert _text(first, "c:AcctSvcrRef") == plain.json()["acct_svcr_ref"]
    assert plain.json()["acct_svcr_ref"] != debit.findtext("c:AcctSvcrRef", namespaces=C)
    assert _text(first, "c:Amt") == "452000.00"
    assert _text(first, "c:ValDt/c:Dt") == "2026-11-29"
    assert first.find(".//c:RmtInf", C) is None
    assert first.find(".//c:RltdAgts", C) is None
    assert _text(second, "c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId") == "BUYER-E2E-7"
    lines = _texts(second, "c:NtryDtls/c:TxDtls/c:RmtInf/c:Ustrd")
    assert len(lines) > 1
    assert all(len(line) <= 140 for line in lines)
    assert "".join(lines) == remittance
    for n in range(12):  # lines break between words: no reference is cut in two
        assert any(f"FR-2026-{n:04d}" in line for line in lines)
        assert any(f"2533200000001234{n:04d}" in line for line in lines)


async def test_booking_the_same_reference_twice_books_once_and_answers_the_existing_entry(
    bank_client,
):
    first = await _book(bank_client)
    again = await _book(bank_client, value_date=None)  # a replay may leave the value date out
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    other_terms = await _book(bank_client, amount="452000.01")
    assert other_terms.status_code == 409
    assert other_terms.json()["existing"] == first.json()

    assert len(_entries(await _camt054(bank_client, FACTOR_ACCOUNT))) == 1
    assert len((await bank_client.get("/admin/credits")).json()) == 1
    assert (await bank_client.get("/admin/stats")).json()["credits_booked"] == 1


async def test_a_reference_already_used_by_a_debit_is_refused(bank_client):
    await _pay(bank_client, "MSG-1", "E2E-1", "10.00")
    (debit,) = (await bank_client.get("/admin/ledger")).json()
    answer = await _book(bank_client, reference=debit["acct_svcr_ref"])
    assert answer.status_code == 409
    assert (await bank_client.get("/admin/credits")).json() == []


async def test_after_pages_over_debits_and_credits_in_one_numbering(bank_client, camt054_schema):
    await _pay(bank_client, "MSG-1", "E2E-1", "1.00")  # 1
    assert (await _book(bank_client, reference="C-1")).json()["sequence"] == 2
    await _pay(bank_client, "MSG-2", "E2E-2", "2.00")  # 3
    assert (await _book(bank_client, reference="C-2")).json()["sequence"] == 4
    elsewhere = await _book(bank_client, reference="C-3", account=OTHER_ACCOUNT)
    assert elsewhere.json()["sequence"] == 5
    await _pay(bank_client, "MSG-3", "E2E-3", "3.00")  # 6

    pages = {
        after: _sequence(await _camt054(bank_client, FACTOR_ACCOUNT, after, camt054_schema))
        for after in (0, 1, 2, 4, 6)
    }
    assert pages[0] == [
        ("1", "DBIT"),
        ("2", "CRDT"),
        ("3", "DBIT"),
        ("4", "CRDT"),
        ("6", "DBIT"),
    ]
    assert pages[1] == [("2", "CRDT"), ("3", "DBIT"), ("4", "CRDT"), ("6", "DBIT")]
    assert pages[2] == [("3", "DBIT"), ("4", "CRDT"), ("6", "DBIT")]
    assert pages[4] == [("6", "DBIT")]
    assert pages[6] == []
    later = await _camt054(bank_client, FACTOR_ACCOUNT, 2)
    refs = _texts(later, "c:BkToCstmrDbtCdtNtfctn/c:Ntfctn/c:Ntry/c:AcctSvcrRef")
    assert "C-2" in refs
    assert "C-1" not in refs


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"account": None}, "account"),
        ({"account": "6225 8801"}, "account"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "10.005"}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"amount": "１００.００"}, "amount"),
        ({"amount": 452000.0}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"debtor_name": ""}, "debtor_name"),
        ({"debtor_name": "x" * 141}, "debtor_name"),
        ({"debtor_name": "bad\x00name"}, "debtor_name"),
        ({"debtor_account": None}, "debtor_account"),
        ({"debtor_agent": "10333100001"}, "debtor_agent"),
        ({"debtor_agent": "ICBKCNBJ"}, "debtor_agent"),
        ({"remittance": " "}, "remittance"),
        ({"remittance": "FR\x01-2026"}, "remittance"),
        ({"value_date": "2026-02-30"}, "value_date"),
        ({"value_date": "28/11/2026"}, "value_date"),
        ({"reference": "R" * 36}, "reference"),
        ({"end_to_end_id": "E" * 36}, "end_to_end_id"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_credit_input_is_422_naming_the_field(bank_client, changes, field_name):
    answer = await _book(bank_client, **changes)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field_name]
    assert (await bank_client.get("/admin/credits")).json() == []


async def test_a_body_that_is_not_json_is_422(bank_client):
    answer = await bank_client.post("/admin/credits", content=b"account=1")
    assert answer.status_code == 422
    assert (await bank_client.get("/admin/credits")).json() == []


async def test_credits_to_another_account_are_not_listed(bank_client, camt054_schema):
    await _book(bank_client, account=OTHER_ACCOUNT)

    assert _entries(await _camt054(bank_client, FACTOR_ACCOUNT, schema=camt054_schema)) == []
    (entry,) = _entries(await _camt054(bank_client, OTHER_ACCOUNT, schema=camt054_schema))
    assert _text(entry, "c:CdtDbtInd") == "CRDT"
    mine = await bank_client.get("/admin/credits", params={"account": FACTOR_ACCOUNT})
    theirs = await bank_client.get("/admin/credits", params={"account": OTHER_ACCOUNT})
    assert (mine.json(), len(theirs.json())) == ([], 1)


async def test_a_credit_raises_a_set_balance_and_reset_forgets_credits(bank_client):
    await bank_client.post("/admin/balances", json={"account": FACTOR_ACCOUNT, "balance": "100.00"})
    await _book(bank_client, amount="50.25")
    state = (await bank_client.get("/admin/state")).json()
    assert state["balances"] == {FACTOR_ACCOUNT: "150.25"}
    assert [c["acct_svcr_ref"] for c in state["credits"]] == ["REPAY-0001"]

    await bank_client.post("/admin/reset")
    assert (await bank_client.get("/admin/credits")).json() == []
    assert _entries(await _camt054(bank_client, FACTOR_ACCOUNT)) == []
    again = await _book(bank_client)
    assert (again.status_code, again.json()["sequence"]) == (201, 1)
