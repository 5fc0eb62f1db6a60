"""YonBIP sales-invoice detail answers -> InvoicePush: numbers or strings, parties, problems."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from canonical import MappingError, Party, PartyRole
from mappings.yonyou_detail import yonbip_invoice_detail_to_canonical

DETAIL = "yonyou/yonbip_invoice_detail.json"
SELLER = Party(
    name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER, erp_code="SZ01"
)


def _problems(raw: bytes, received_at, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        yonbip_invoice_detail_to_canonical(raw, received_at=received_at, **kwargs)
    assert caught.value.source == "yonyou"
    return [(p.path, p.reason) for p in caught.value.problems]


def test_json_fractions_and_strings_for_money_read_the_same(fixture_json, encode, received_at):
    document = fixture_json(DETAIL)
    for line in document["data"]["saleInvoiceDetails"]:
        for key in ("oriMoney", "oriTax", "oriSum"):
            line[key] = f"{line[key]:,}"
    invoice = yonbip_invoice_detail_to_canonical(encode(document), received_at=received_at).invoice

    assert [line.amount for line in invoice.lines] == [Decimal("13200.00"), Decimal("5000.00")]
    assert invoice.total.amount == Decimal("20566.00")


def test_a_seller_passed_by_the_caller_replaces_the_org_block(fixture_json, encode, received_at):
    document = fixture_json(DETAIL)
    del document["org"]
    invoice = yonbip_invoice_detail_to_canonical(
        encode(document), received_at=received_at, seller=SELLER
    ).invoice

    assert invoice.seller == SELLER


def test_without_a_seller_anywhere_the_org_block_is_asked_for(fixture_json, encode, received_at):
    document = fixture_json(DETAIL)
    del document["org"]

    assert [path for path, _ in _problems(encode(document), received_at)] == ["/org"]


def test_a_bare_invoice_object_is_read_like_the_answer(fixture_json, encode, received_at):
    document = fixture_json(DETAIL)
    bare = {**document["data"], "org": document["org"]}
    invoice = yonbip_invoice_detail_to_canonical(encode(bare), received_at=received_at).invoice

    assert invoice.number == "26322000000987650011"


def test_an_error_answer_is_reported_with_its_message(received_at):
    raw = json.dumps(
        {"code": "999", "message": "服务端逻辑异常", "data": None}, ensure_ascii=False
    ).encode()

    assert _problems(raw, received_at) == [
        ("/code", "an error answer, not a document: 服务端逻辑异常")
    ]


def test_every_problem_is_listed_with_its_path(fixture_json, encode, received_at):
    document = fixture_json(DETAIL)
    data = document["data"]
    data["oriTax"] = "2366.5"
    data["saleInvoiceDetails"][0]["oriTax"] = 1700
    data["vouchdate"] = "2026-02-30"
    del data["saleInvoiceDetails"][1]["taxRate"]

    assert _problems(encode(document), received_at) == [
        ("/data/saleInvoiceDetails/1/taxRate", "is required but missing"),
        ("/data/vouchdate", "is not a real date (day is out of range for month)"),
        (
            "/data/saleInvoiceDetails/0/oriTax",
            "tax 1700 is not amount 13200.00 x rate 0.13 = 1716.00 (tolerance 0.01)",
        ),
        (
            "/data/oriSum",
            "amount + tax = 20566.5 does not equal the total 20566.00 "
            "(difference 0.50, tolerance 0.01)",
        ),
    ]


def test_a_red_invoice_names_the_blue_invoice_it_reverses(fixture_bytes, received_at):
    invoice = yonbip_invoice_detail_to_canonical(
        fixture_bytes("yonyou/yonbip_invoice_detail_red_gbk.json"), received_at=received_at
    ).invoice

    assert (invoice.status.value, invoice.reverses) == ("red_flushed", "330026113001234500")


def test_the_same_answer_with_a_utf8_bom_maps_alike(fixture_bytes, received_at):
    raw = fixture_bytes(DETAIL)
    plain = yonbip_invoice_detail_to_canonical(raw, received_at=received_at).invoice
    bom = yonbip_invoice_detail_to_canonical(b"\xef\xbb\xbf" + raw, received_at=received_at).invoice

    assert bom.model_dump(exclude={"provenance"}) == plain.model_dump(exclude={"provenance"})
