"""U8 OpenAPI sales invoices -> InvoicePush: parties by keyword or block, sums, problems."""

from __future__ import annotations

from decimal import Decimal

import pytest

from canonical import InvoiceKind, MappingError, Party, PartyRole
from mappings.u8 import u8_invoice_to_canonical

INVOICE = "yonyou/u8_saleinvoice.json"
SELLER = Party(
    name="天津示例铝业有限公司", uscc="91110108MA01ABCD2H", role=PartyRole.SELLER, erp_code="001"
)
BUYER = Party(name="北京示例精密机械有限公司", uscc="91440300MA5FXXXX1Y", role=PartyRole.BUYER)
SELLER_MISSING = (
    "is required: U8 names the seller by account, not by tax number; pass seller= "
    "or send a seller block {code, name, regcode}"
)


def _problems(raw: bytes, received_at, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        u8_invoice_to_canonical(raw, received_at=received_at, **kwargs)
    assert caught.value.source == "u8"
    return [(p.path, p.reason) for p in caught.value.problems]


def test_parties_passed_as_keywords_need_no_blocks(fixture_json, encode, received_at):
    document = fixture_json(INVOICE)
    del document["seller"], document["customer"]
    invoice = u8_invoice_to_canonical(
        encode(document), received_at=received_at, seller=SELLER, buyer=BUYER
    ).invoice

    assert invoice.seller == SELLER
    assert invoice.buyer == BUYER.model_copy(update={"erp_code": "0107"})


def test_without_parties_both_places_are_named(fixture_json, encode, received_at):
    document = fixture_json(INVOICE)
    del document["seller"], document["customer"]

    assert _problems(encode(document), received_at) == [
        ("/seller", SELLER_MISSING),
        (
            "/customer",
            "is required: a U8 invoice names its customer by customercode only; pass "
            "buyer= or send the customer master block {code, name, regcode}",
        ),
    ]


def test_header_totals_are_the_sums_of_the_lines(fixture_bytes, received_at):
    invoice = u8_invoice_to_canonical(fixture_bytes(INVOICE), received_at=received_at).invoice

    assert (invoice.amount.amount, invoice.tax.amount, invoice.total.amount) == (
        Decimal("67370.00"),
        Decimal("8758.10"),
        Decimal("76128.10"),
    )
    assert invoice.kind is InvoiceKind.SPECIAL


def test_every_problem_is_listed_with_its_path(fixture_json, encode, received_at):
    document = fixture_json(INVOICE)
    header = document["saleinvoice"]
    header["vouchertype"] = "28"
    header["entry"][0]["originaltax"] = "6000"
    header["isnegative"] = "maybe"
    document["customer"]["code"] = "0108"
    del document["seller"]

    assert _problems(encode(document), received_at) == [
        ("/saleinvoice/isnegative", "must be a boolean (true/false, 1/0, Y/N, 是/否)"),
        (
            "/saleinvoice/entry/0/originaltax",
            "tax 6000 is not amount 46250 x rate 0.13 = 6012.50 (tolerance 0.01)",
        ),
        ("/saleinvoice/vouchertype", "must be 26 (专用发票) or 27 (普通发票)"),
        ("/seller", SELLER_MISSING),
        ("/customer/code", "is not the invoice's customercode '0107'"),
    ]


def test_a_negative_invoice_with_positive_lines_is_refused(fixture_json, encode, received_at):
    document = fixture_json(INVOICE)
    document["saleinvoice"]["isnegative"] = True

    assert _problems(encode(document), received_at) == [
        ("/saleinvoice/entry", "a negative invoice (isnegative) must have a negative total")
    ]


def test_an_error_answer_is_reported(fixture_json, encode, received_at):
    document = fixture_json(INVOICE)
    document.update(errcode="20001", errmsg="新增失败")

    assert _problems(encode(document), received_at) == [
        ("/errcode", "an error answer, not a document: 新增失败")
    ]


def test_an_unknown_currency_name_is_a_problem(fixture_json, encode, received_at):
    document = fixture_json(INVOICE)
    document["saleinvoice"]["foreigncurrency"] = "卢布"

    ((path, reason),) = _problems(encode(document), received_at)
    assert path == "/saleinvoice/foreigncurrency"
    assert reason.startswith("must be an ISO 4217 currency code or a currency name (人民币")
