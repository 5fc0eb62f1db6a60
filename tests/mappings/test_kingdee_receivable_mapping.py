"""Kingdee K/3 Cloud AR_receivable (应收单) Save bodies -> ReceivableBill, field by field."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic_core import to_jsonable_python

from canonical import MappingError
from mappings.kingdee_receivable import INBOUND, kingdee_receivable_to_canonical

KINGDEE = Path(__file__).parent / "fixtures" / "kingdee"
FIXTURES = ["ar_receivable.json", "ar_receivable_messy_gbk.json", "ar_receivable_red_native.json"]
OTHER_FORMATS = [
    "../kingdee_iv_salesic.json",
    "../kingdee_native_salesoc.json",
    "../yonyou_sale_invoice.json",
    "../pain002_acsc.xml",
    "sale_order.json",
    "sale_order_native_bom.json",
    "view_ar_receivable.json",
    "query_ar_receivable.json",
    "query_refused.json",
]


def _raw(name: str) -> bytes:
    return (KINGDEE / name).read_bytes()


def _problems(raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        kingdee_receivable_to_canonical(raw, received_at=received_at)
    return [(p.path, p.reason) for p in caught.value.problems]


def _mutated(encode, change) -> bytes:
    document = json.loads(_raw("ar_receivable.json"), parse_float=Decimal)
    change(document["data"]["Model"])
    return encode(document)


class TestGoldenFixtures:
    @pytest.mark.parametrize("name", FIXTURES)
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name, received_at):
        bill = kingdee_receivable_to_canonical(_raw(name), received_at=received_at)
        expected = json.loads((KINGDEE / name.replace(".json", ".expected.json")).read_text())

        assert to_jsonable_python(bill) == expected

    def test_the_plan_and_header_give_instalments_and_due_date(self, received_at):
        bill = kingdee_receivable_to_canonical(_raw("ar_receivable.json"), received_at=received_at)

        assert bill.due_date == date(2027, 2, 18)
        assert [(i.due_date, i.amount.amount) for i in bill.instalments] == [
            (date(2027, 1, 19), Decimal("57230.60")),
            (date(2027, 2, 18), Decimal("57230.60")),
        ]
        assert bill.total.amount == Decimal("114461.20")
        assert bill.red is False
        assert bill.seller is not None
        assert bill.seller.uscc == "91330106569821743D"
        assert bill.order_numbers == ("XSDD2611000001", "XSDD2611000002")

    def test_without_fenddate_h_the_due_date_is_the_latest_plan_date(self, received_at):
        bill = kingdee_receivable_to_canonical(
            _raw("ar_receivable_messy_gbk.json"), received_at=received_at
        )

        assert bill.due_date == date(2027, 2, 19)
        assert bill.bill_date == date(2026, 11, 21)  # 2026年11月21日
        assert bill.buyer is not None
        assert bill.buyer.uscc == "913101156607431925"

    def test_a_negative_total_is_a_red_receivable(self, received_at):
        bill = kingdee_receivable_to_canonical(
            _raw("ar_receivable_red_native.json"), received_at=received_at
        )

        assert bill.red is True
        assert bill.total.amount == Decimal("-1461.20")
        assert bill.seller is None
        assert bill.buyer is None
        assert bill.buyer_code == "CUST-0086"

    def test_provenance_carries_the_bill_number_and_the_sm3_of_the_bytes(self, received_at):
        raw = _raw("ar_receivable_messy_gbk.json")
        provenance = kingdee_receivable_to_canonical(raw, received_at=received_at).provenance

        assert provenance.source_system == "kingdee"
        assert provenance.source_document_id == "AR2611000124"
        assert provenance.fingerprint == hashlib.new("sm3", raw).hexdigest()
        assert provenance.received_at == received_at

    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
    def test_other_encodings_of_the_gbk_fixture_map_alike(self, received_at, encoding):
        raw = _raw("ar_receivable_messy_gbk.json")
        reference = kingdee_receivable_to_canonical(raw, received_at=received_at)
        other = kingdee_receivable_to_canonical(
            raw.decode("gb18030").encode(encoding), received_at=received_at
        )

        assert other.model_dump(exclude={"provenance"}) == reference.model_dump(
            exclude={"provenance"}
        )


class TestProblems:
    def test_every_problem_is_reported_at_once_with_its_path_and_reason(self, encode, received_at):
        def change(model):
            model["FDOCUMENTSTATUS"] = "B"
            model["FEntityDetail"][1]["FTAXAMOUNTFOR_D"] = Decimal("178.10")
            model["FEntityPlan"][1]["FPAYAMOUNTFOR"] = Decimal("57230.00")
            model["FEntityPlan"][0]["FENDDATE"] = "2027-02-30"

        problems = _problems(_mutated(encode, change), received_at)

        assert problems == [
            (
                "/data/Model/FDOCUMENTSTATUS",
                "document status 'B' is not C (已审核): only audited receivables are accepted",
            ),
            (  # one root cause, one problem: no line or header sum is built on this tax
                "/data/Model/FEntityDetail/1/FTAXAMOUNTFOR_D",
                "tax 178.10 is not amount 1293.10 x rate 0.13 = 168.10 (tolerance 0.01)",
            ),
            (
                "/data/Model/FEntityPlan/0/FENDDATE",
                "is not a real date (day is out of range for month)",
            ),
            (
                "/data/Model/FEntityPlan",
                "the receipt plan's FPAYAMOUNTFOR sum to 114460.60, not "
                "the total FALLAMOUNTFOR 114461.20 (整单收款计划应收金额合计不等于整单价税合计; "
                "tolerance 0.01)",
            ),
        ]

    def test_cancelled_bills_wrong_forms_and_foreign_parties_are_refused(self, encode, received_at):
        document = json.loads(_raw("ar_receivable.json"), parse_float=Decimal)
        document["formid"] = "AR_OtherRecAble"
        document["data"]["Model"]["FCancelStatus"] = "B"
        document["data"]["Customer"]["FNumber"] = "CUST-0999"
        document["data"]["Model"]["FEntityPlan"][0]["FPAYRATE"] = 40

        assert _problems(encode(document), received_at) == [
            ("/formid", "must be AR_receivable"),
            (
                "/data/Model/FCancelStatus",
                "the bill is cancelled (作废): cancelled receivables are not accepted",
            ),
            (
                "/data/Customer/FNumber",
                "is not the code the bill references at /data/Model/FCUSTOMERID (CUST-0086)",
            ),
            ("/data/Model/FEntityPlan", "the receipt plan's FPAYRATE sum to 90%, not 100%"),
        ]

    def test_a_header_that_adds_up_only_within_tolerance_is_refused_at_the_fen(
        self, encode, received_at
    ):
        def change(model):
            model["FsubHeadFinc"]["FNoTaxAmountFor"] = Decimal("101293.095")
            model["FsubHeadFinc"]["FTaxAmountFor"] = Decimal("13168.105")

        (problem,) = _problems(_mutated(encode, change), received_at)
        assert problem[0] == "/data/Model/FALLAMOUNTFOR"
        assert "at the fen 101293.10 + 13168.11 != 114461.20" in problem[1]

    def test_missing_model_and_lines_are_problems(self, received_at):
        assert _problems(b'{"formid": "AR_receivable", "data": "{}"}', received_at) == [
            ("/data/Model", "is required but missing")
        ]
        raw = (
            b'{"formid":"AR_receivable","data":{"Model":{"FBillNo":"A1","FDATE":"2026-11-20",'
            b'"FDOCUMENTSTATUS":"C","FCUSTOMERID":{"FNumber":"C1"},"FALLAMOUNTFOR":0}}}'
        )
        assert _problems(raw, received_at) == [
            ("/data/Model/FALLAMOUNTFOR", "total must not be zero"),
            ("/data/Model/FEntityDetail", "is required but missing"),
        ]


class TestRecognise:
    @pytest.mark.parametrize("name", FIXTURES)
    def test_recognises_its_own_fixtures(self, name):
        (fmt,) = INBOUND
        assert fmt.recognise(_raw(name))
        assert fmt.name == "kingdee-ar-receivable"

    @pytest.mark.parametrize("name", OTHER_FORMATS)
    def test_rejects_other_formats(self, name):
        assert not INBOUND[0].recognise(_raw(name))

    @pytest.mark.parametrize("raw", [b"", b"\xff" * 10, b"[]", b"{", None, "text"])
    def test_never_raises_on_garbage(self, raw):
        assert INBOUND[0].recognise(raw) is False


def _leaves(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))


def _replace(document, path, value):
    if not path:
        return value
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


def _outcome(raw, received_at) -> str:
    try:
        kingdee_receivable_to_canonical(raw, received_at=received_at)
    except MappingError as exc:
        crashed = any(p.reason.startswith("unexpected ") for p in exc.problems)
        return f"crashed: {exc}" if crashed else "refused"
    return "mapped"


class TestFuzzing:
    def test_every_truncation_is_a_mapping_error(self, received_at):
        raw = _raw("ar_receivable_red_native.json")
        for end in range(0, len(raw) - 2, 3):
            assert _outcome(raw[:end], received_at) == "refused"

    def test_random_byte_flips_only_ever_raise_mapping_error(self, received_at):
        raw = _raw("ar_receivable_messy_gbk.json")
        rng = random.Random(20261120)
        for _ in range(400):
            corrupted = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
            assert _outcome(bytes(corrupted), received_at) in ("mapped", "refused")

    def test_any_field_swapped_for_a_wrong_type_only_raises_mapping_error(
        self, encode, received_at
    ):
        original = json.loads(_raw("ar_receivable.json"), parse_float=Decimal)
        wrong = [None, True, [], {}, "", "垃圾", -1, Decimal("1e400"), 10**30, Decimal("1e-400")]
        rng = random.Random(7)
        for path in list(_leaves(original)):
            for value in rng.sample(wrong, 4):
                document = _replace(
                    json.loads(_raw("ar_receivable.json"), parse_float=Decimal), path, value
                )
                assert _outcome(encode(document), received_at) in ("mapped", "refused"), path
