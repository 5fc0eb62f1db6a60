"""天眼查 失信被执行人 and 被执行人 list answers -> CourtRecords (mappings.credit_court)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from canonical import MappingError
from canonical.credit import CourtRecordKind
from mappings.credit_court import tianyancha_records_to_canonical

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))
USCC = "913101156607431925"


def _read(body: object, kind: CourtRecordKind = CourtRecordKind.DISHONEST):
    raw = json.dumps(body, ensure_ascii=False).encode()
    return tianyancha_records_to_canonical(raw, kind=kind, keyword=USCC, received_at=NOW)


def test_a_dishonest_list_reads_its_total_and_each_record():
    item = {
        "iname": "上海申联汽车零部件有限公司",
        "cardnum": USCC,
        "casecode": "(2026)沪0115执1234号",
        "courtname": "上海市浦东新区人民法院",
        "performance": "全部未履行",
        "unperformPart": "1250000.00",
        "regdate": 1772380800000,  # 2026-03-02 China time
    }
    records = _read({"result": {"total": 3, "items": [item]}, "reason": "ok", "error_code": 0})
    assert (records.kind, records.total) == (CourtRecordKind.DISHONEST, 3)  # a page of one
    (record,) = records.records
    assert record.case_no == "(2026)沪0115执1234号"
    assert record.performance == "全部未履行"
    assert record.amount is not None
    assert record.amount.amount == Decimal("1250000.00")
    assert record.registered_on == date(2026, 3, 2)
    assert records.provenance.source_document_id == f"dishonest:{USCC}"


def test_an_executed_list_reads_its_own_field_names():
    item = {"caseCode": "(2026)沪0115执5678号", "execCourtName": "某法院", "execMoney": "86000.50"}
    body = {"result": {"total": 1, "items": [item]}, "reason": "ok", "error_code": 0}
    records = _read(body, CourtRecordKind.EXECUTED)
    assert records.records[0].amount is not None
    assert records.records[0].amount.amount == Decimal("86000.50")
    assert records.records[0].kind is CourtRecordKind.EXECUTED


def test_no_result_is_an_empty_list_not_a_refusal():
    records = _read({"result": None, "reason": "经查无结果", "error_code": 300000})
    assert (records.total, records.records) == (0, ())


def test_a_refusal_and_broken_records_are_each_named():
    with pytest.raises(MappingError, match="300006"):
        _read({"result": None, "reason": "余额不足", "error_code": 300006})
    broken = {"result": {"total": 0, "items": [{"courtname": "x", "unperformPart": "-1"}]}}
    with pytest.raises(MappingError) as caught:
        _read({**broken, "reason": "ok", "error_code": 0})
    assert sorted(p.path for p in caught.value.problems) == [
        "/result/items/0/casecode",
        "/result/items/0/unperformPart",
        "/result/total",
    ]
