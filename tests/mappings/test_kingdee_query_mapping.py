"""Kingdee K/3 Cloud View and ExecuteBillQuery answers -> canonical documents."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic_core import to_jsonable_python

from canonical import MappingError, Party, PartyRole, PurchaseOrder, ReceivableBill
from mappings.erp import InvoicePush
from mappings.kingdee_query import (
    DEFAULT_FIELD_KEYS,
    INBOUND,
    kingdee_bill_query_to_canonical,
    kingdee_view_to_canonical,
)

KINGDEE = Path(__file__).parent / "fixtures" / "kingdee"
SELLER = Party(
    name="浙江示例供应链科技有限公司",
    uscc="91330106569821743D",
    role=PartyRole.SELLER,
    erp_code="100",
)
ORDER_KEYS = (KINGDEE / "query_sale_order.fieldkeys").read_text().strip()
VIEW, QUERY = INBOUND


def _raw(name: str) -> bytes:
    return (KINGDEE / name).read_bytes()


def _expected(name: str) -> object:
    return json.loads((KINGDEE / name.replace(".json", ".expected.json")).read_text())


def _problems(call) -> list[tuple[str, str, object]]:
    with pytest.raises(MappingError) as caught:
        call()
    return [(p.path, p.reason, p.value) for p in caught.value.problems]


class TestViewAnswers:
    @pytest.mark.parametrize("name", ["view_ar_receivable.json", "view_sale_order.json"])
    def test_each_view_fixture_maps_to_its_reviewed_canonical_json(self, name, received_at):
        document = kingdee_view_to_canonical(_raw(name), received_at=received_at)

        assert to_jsonable_python(document) == _expected(name)

    def test_the_form_comes_from_fformid_and_orm_names_are_read(self, received_at):
        bill = kingdee_view_to_canonical(_raw("view_ar_receivable.json"), received_at=received_at)
        order = kingdee_view_to_canonical(_raw("view_sale_order.json"), received_at=received_at)

        assert isinstance(bill, ReceivableBill)
        assert isinstance(order, PurchaseOrder)
        assert bill.due_date == date(2027, 2, 18)  # "2027-02-18T00:00:00"
        assert bill.lines[1].description == "镀锌卷 DX51D"  # the 2052 name, not the 1033 one
        assert len(bill.instalments) == 2
        assert order.total.amount == Decimal("115938.00")

    def test_a_refused_view_lists_each_error_at_its_pointer(self, received_at):
        assert _problems(
            lambda: kingdee_view_to_canonical(_raw("view_refused.json"), received_at=received_at)
        ) == [
            (
                "/Result/ResponseStatus/Errors/0",
                "Kingdee refused the call: 单据编号为"
                "AR2611000999的应收单不存在 (DIndex 0; MsgCode 10: no data)",
                "",
            ),
        ]

    def test_a_view_without_fformid_needs_the_form_named(self, encode, received_at):
        document = json.loads(_raw("view_sale_order.json"), parse_float=Decimal)
        del document["Result"]["Result"]["FFormId"]
        raw = encode(document)

        assert _problems(lambda: kingdee_view_to_canonical(raw, received_at=received_at)) == [
            ("/Result/Result/FFormId", "is required but missing", None)
        ]
        order = kingdee_view_to_canonical(raw, received_at=received_at, form_id="SAL_SaleOrder")
        assert isinstance(order, PurchaseOrder)

    def test_a_view_naming_its_form_formid_without_the_f_prefix_maps(self, encode, received_at):
        document = json.loads(_raw("view_sale_order.json"), parse_float=Decimal)
        bill = document["Result"]["Result"]
        bill["FormId"] = bill.pop("FFormId")

        order = kingdee_view_to_canonical(encode(document), received_at=received_at)
        assert isinstance(order, PurchaseOrder)

    def test_problems_in_a_view_point_at_the_orm_fields(self, encode, received_at):
        document = json.loads(_raw("view_ar_receivable.json"), parse_float=Decimal)
        bill = document["Result"]["Result"]
        bill["DocumentStatus"] = "B"
        bill["AR_RECEIVABLEPLAN"][0]["PAYAMOUNTFOR"] = Decimal("57000.0")

        assert [
            (p, r)
            for p, r, _ in _problems(
                lambda: kingdee_view_to_canonical(encode(document), received_at=received_at)
            )
        ] == [
            (
                "/Result/Result/DocumentStatus",
                "document status 'B' is not C (已审核): only audited receivables are accepted",
            ),
            (
                "/Result/Result/AR_RECEIVABLEPLAN",
                "the receipt plan's FPAYAMOUNTFOR sum to "
                "114230.6, not the total FALLAMOUNTFOR 114461.2 (整单收款计划应收金额合计不等于"
                "整单价税合计; tolerance 0.01)",
            ),
        ]


class TestBillQueryAnswers:
    def test_the_default_receivable_query_maps_to_its_reviewed_json(self, received_at):
        result = kingdee_bill_query_to_canonical(
            _raw("query_ar_receivable.json"), received_at=received_at
        )

        assert to_jsonable_python(result) == _expected("query_ar_receivable.json")
        assert [d.number for d in result.documents] == ["AR2611000123", "AR2611000127"]
        assert [len(d.lines) for d in result.documents] == [2, 1]  # rows grouped per bill

    def test_a_sale_order_query_reads_the_callers_field_keys(self, received_at):
        result = kingdee_bill_query_to_canonical(
            _raw("query_sale_order.json"),
            received_at=received_at,
            form_id="SAL_SaleOrder",
            field_keys=ORDER_KEYS,
        )

        assert to_jsonable_python(result) == _expected("query_sale_order.json")

    def test_field_keys_may_be_a_list(self, received_at):
        result = kingdee_bill_query_to_canonical(
            _raw("query_sale_order.json"),
            received_at=received_at,
            form_id="SAL_SaleOrder",
            field_keys=ORDER_KEYS.split(","),
        )

        assert result.documents[0].total.amount == Decimal("115938.00")

    def test_an_invoice_query_with_the_seller_maps_to_invoice_pushes(self, received_at):
        result = kingdee_bill_query_to_canonical(
            _raw("query_iv_salesic.json"),
            received_at=received_at,
            form_id="IV_SALESIC",
            seller=SELLER,
        )

        assert to_jsonable_python(result) == _expected("query_iv_salesic.json")
        (push,) = result.documents
        assert isinstance(push, InvoicePush)
        assert push.invoice.number == "26332000000123456789"

    def test_an_invoice_query_without_the_seller_is_refused(self, received_at):
        assert _problems(
            lambda: kingdee_bill_query_to_canonical(
                _raw("query_iv_salesic.json"), received_at=received_at, form_id="IV_SALESIC"
            )
        ) == [
            (
                "/0/12",
                "a K/3 answer does not carry the seller's name and 统一社会信用代码: pass "
                "the seller Party",
                None,
            )
        ]

    def test_a_refused_query_lists_every_error_with_field_message_and_dindex(self, received_at):
        assert _problems(
            lambda: kingdee_bill_query_to_canonical(
                _raw("query_refused.json"), received_at=received_at
            )
        ) == [
            (
                "/0/0/Result/ResponseStatus/Errors/0",
                "Kingdee refused the call: 字段"
                "FCUSTOMERID.FNumbr不存在 (field FCUSTOMERID.FNumbr, DIndex 0; MsgCode 9: field "
                "or value does not exist)",
                "FCUSTOMERID.FNumbr",
            ),
            (
                "/0/0/Result/ResponseStatus/Errors/1",
                "Kingdee refused the call: 过滤条件错误 "
                "(field FBillNo, DIndex 0; MsgCode 9: field or value does not exist)",
                "FBillNo",
            ),
        ]

    def test_malformed_rows_are_all_reported_before_any_bill_is_read(self, received_at):
        rows = json.loads(_raw("query_ar_receivable.json"), parse_float=Decimal)
        rows[0][3] = "A"  # a bad cell: not reported while the rows themselves are broken
        rows[1] = rows[1][:5]
        rows[2] = {"FBillNo": "AR2611000127"}
        raw = json.dumps(rows, default=str, ensure_ascii=False).encode()

        assert _problems(lambda: kingdee_bill_query_to_canonical(raw, received_at=received_at)) == [
            ("/1", "has 5 values but 23 FieldKeys were asked for", 5),
            ("/2", "must be an array of values (a row)", "<object>"),
        ]

    def test_a_header_value_that_does_not_repeat_on_every_row_is_refused(self, received_at):
        rows = json.loads(_raw("query_ar_receivable.json"), parse_float=Decimal)
        rows[1][4] = "B"  # FCancelStatus on the bill's second row contradicts its first
        raw = json.dumps(rows, default=str, ensure_ascii=False).encode()

        assert _problems(lambda: kingdee_bill_query_to_canonical(raw, received_at=received_at)) == [
            ("/1/4", "differs from the bill's first row (/0/4): header fields must repeat", "B")
        ]

    def test_bad_cells_of_several_bills_are_reported_together(self, received_at):
        rows = json.loads(_raw("query_ar_receivable.json"), parse_float=Decimal)
        rows[0][3] = rows[1][3] = "A"  # FDOCUMENTSTATUS of the first bill
        rows[2][19] = "5,300.50"  # FALLAMOUNTFOR_D of the second bill
        raw = json.dumps(rows, default=str, ensure_ascii=False).encode()

        assert [
            (p, r)
            for p, r, _ in _problems(
                lambda: kingdee_bill_query_to_canonical(raw, received_at=received_at)
            )
        ] == [
            (
                "/0/3",
                "document status 'A' is not C (已审核): only audited receivables are accepted",
            ),
            (
                "/2/19",
                "amount + tax = 5300.0 does not equal the total 5300.50 (difference "
                "-0.50, tolerance 0.01)",
            ),
        ]

    def test_field_keys_missing_required_columns_or_mixing_entries_are_refused(self, received_at):
        keys = "FBillNo,FDATE,FCUSTOMERID.FNumber,FPriceQty,FENDDATE"
        assert [
            (p, r)
            for p, r, _ in _problems(
                lambda: kingdee_bill_query_to_canonical(
                    b"[]", received_at=received_at, field_keys=keys
                )
            )
        ] == [
            ("field_keys", "must include FDOCUMENTSTATUS"),
            ("field_keys", "must include FALLAMOUNTFOR"),
            (
                "field_keys",
                "must not mix fields of two entry collections (fentitydetail and "
                "fentityplan): the rows would multiply",
            ),
        ]

    def test_an_empty_answer_is_no_bills_and_an_object_is_refused(self, received_at):
        assert kingdee_bill_query_to_canonical(b"[]", received_at=received_at).documents == ()
        assert _problems(
            lambda: kingdee_bill_query_to_canonical(b'{"a": 1}', received_at=received_at)
        ) == [
            ("/Result", "is required but missing", None),
            ("", "must be a JSON array of rows", "<object>"),
        ]

    def test_the_documented_default_field_keys_cover_every_form(self):
        assert sorted(DEFAULT_FIELD_KEYS) == [
            "AR_receivable",
            "IV_SALESIC",
            "IV_SALESOC",
            "SAL_SaleOrder",
        ]


class TestRecognise:
    @pytest.mark.parametrize("name", ["view_ar_receivable.json", "view_sale_order.json"])
    def test_view_recognises_view_answers_only(self, name):
        assert VIEW.recognise(_raw(name))
        assert not QUERY.recognise(_raw(name))

    @pytest.mark.parametrize(
        "name",
        [
            "query_ar_receivable.json",
            "query_sale_order.json",
            "query_iv_salesic.json",
            "query_refused.json",
        ],
    )
    def test_query_recognises_query_answers_only(self, name):
        assert QUERY.recognise(_raw(name))
        assert not VIEW.recognise(_raw(name))

    @pytest.mark.parametrize(
        "name",
        [
            "../kingdee_iv_salesic.json",
            "../kingdee_native_salesoc.json",
            "../yonyou_sale_invoice.json",
            "../pain002_acsc.xml",
            "ar_receivable.json",
            "sale_order_native_bom.json",
            "view_refused.json",
        ],
    )
    def test_other_formats_are_not_recognised(self, name):
        assert not VIEW.recognise(_raw(name))
        assert not QUERY.recognise(_raw(name))


class TestFuzzing:
    @staticmethod
    def _outcome(call) -> str:
        try:
            call()
        except MappingError as exc:
            crashed = any(p.reason.startswith("unexpected ") for p in exc.problems)
            return f"crashed: {exc}" if crashed else "refused"
        return "mapped"

    @pytest.mark.parametrize("name", ["view_sale_order.json", "query_ar_receivable.json"])
    def test_truncations_and_byte_flips_only_raise_mapping_error(self, name, received_at):
        read = VIEW.read if name.startswith("view") else QUERY.read
        raw = _raw(name)
        for end in range(0, len(raw) - 2, 7):
            assert self._outcome(lambda end=end: read(raw[:end], received_at)) == "refused"
        rng = random.Random(3)
        for _ in range(300):
            corrupted = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
            outcome = self._outcome(lambda c=bytes(corrupted): read(c, received_at))
            assert outcome in ("mapped", "refused")

    @pytest.mark.parametrize("value", [None, True, [], {}, "", "垃圾", -1, 10**30, [[1]]])
    def test_any_query_cell_swapped_for_a_wrong_type_only_raises_mapping_error(
        self, received_at, value
    ):
        rows = json.loads(_raw("query_ar_receivable.json"))
        for column in range(len(rows[0])):
            changed = json.loads(json.dumps(rows))
            changed[0][column] = value
            raw = json.dumps(changed).encode()
            outcome = self._outcome(lambda raw=raw: QUERY.read(raw, received_at))
            assert outcome in ("mapped", "refused"), column
