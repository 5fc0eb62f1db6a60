"""YonBIP 应收事项 and NC Cloud 应收单 -> ReceivableBill: signs, plans, and listed problems."""

from __future__ import annotations

import json

import pytest

from canonical import MappingError
from mappings.yonyou_receivable import (
    ncc_receivable_to_canonical,
    yonbip_receivable_to_canonical,
)

YONBIP = "yonyou/yonbip_receivable.json"
NCC = "yonyou/ncc_receivable.json"


def _problems(mapper, raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        mapper(raw, received_at=received_at)
    return [(p.path, p.reason) for p in caught.value.problems]


def test_the_due_date_falls_back_to_the_last_instalment(fixture_json, encode, received_at):
    document = fixture_json(YONBIP)
    del document["data"][0]["maturitydate"]
    document["data"][0]["oarProtocol"][2]["maturitydate"] = "2027-03-01"
    bill = yonbip_receivable_to_canonical(encode(document), received_at=received_at)

    assert str(bill.due_date) == "2027-03-01"


def test_a_red_direction_with_a_positive_total_is_refused_not_negated(
    fixture_json, encode, received_at
):
    document = fixture_json(YONBIP)
    document["data"][0]["billdirection"] = 1

    assert _problems(yonbip_receivable_to_canonical, encode(document), received_at) == [
        ("/data/0/oriSum", "a red receivable must have a negative total")
    ]


def test_every_problem_of_a_yonbip_bill_is_listed(fixture_json, encode, received_at):
    document = fixture_json(YONBIP)
    bill = document["data"][0]
    bill["oarProtocol"][2]["oriSum"] = "39000"
    bill["billdirection"] = "3"
    bill["currency_code"] = None
    bill["currency"] = 186
    bill["oarDetail"][0]["qty"] = "abc"

    assert _problems(yonbip_receivable_to_canonical, encode(document), received_at) == [
        ("/data/0/billdirection", "must be 1 (red) or 2 (blue)"),
        ("/data/0/oarDetail/0/qty", "is not a decimal number"),
        ("/data/0/currency", "is an internal currency id: currency_code is needed"),
        (
            "/data/0/oarProtocol",
            "the instalments add up to 118100.00, the total is 118650.00 (tolerance 0.01)",
        ),
    ]


def test_a_save_body_must_hold_exactly_one_bill(received_at):
    assert _problems(yonbip_receivable_to_canonical, b'{"data": []}', received_at) == [
        ("/data", "must hold exactly one bill, got 0")
    ]


def test_every_problem_of_an_ncc_bill_is_listed(fixture_json, encode, received_at):
    document = fixture_json(NCC)
    head = document["data"][0]["ar_recbill"]
    head["pk_billtype"] = "F1"
    document["data"][0]["ar_recitem"][1]["tax_de"] = "1200"

    assert _problems(ncc_receivable_to_canonical, encode(document), received_at) == [
        ("/data/0/ar_recbill/pk_billtype", "not an 应收单: pk_billtype must be F0"),
        (
            "/data/0/ar_recitem/1/tax_de",
            "tax 1200 is not amount 10000.00 x rate 0.13 = 1300.00 (tolerance 0.01)",
        ),
    ]


def test_ncc_lines_that_do_not_reach_the_header_total_are_refused(
    fixture_json, encode, received_at
):
    document = fixture_json(NCC)
    document["data"][0]["ar_recbill"]["money"] = "56600.00"

    assert _problems(ncc_receivable_to_canonical, encode(document), received_at) == [
        (
            "/data/0/ar_recbill/money",
            "does not match the lines: the sum of "
            "ar_recitem[*].money_de is 56500.00, the header says 56600.00 (difference 100.00, "
            "tolerance 0.01)",
        )
    ]


def test_an_ncc_error_answer_is_reported(received_at):
    raw = json.dumps(
        {"success": False, "code": "1000000010", "message": "未授权", "data": None},
        ensure_ascii=False,
    ).encode()

    assert _problems(ncc_receivable_to_canonical, raw, received_at) == [
        ("/success", "an error answer, not a document: 未授权")
    ]


def test_a_negative_ncc_bill_is_red(fixture_json, encode, received_at):
    document = fixture_json(NCC)
    document["data"][0]["ar_recbill"]["money"] = "-56500.00"
    for item in document["data"][0]["ar_recitem"]:
        for key in ("notax_de", "tax_de", "money_de", "quantity_de"):
            item[key] = "-" + item[key]
    bill = ncc_receivable_to_canonical(encode(document), received_at=received_at)

    assert bill.red
    assert str(bill.total.amount) == "-56500.00"
