"""天眼查 (Tianyancha) court-record answers -> CourtRecords (formats-outbound §4.3): the
失信被执行人 list (`jr/dishonest/2.0`) and the 被执行人 list (`jr/zhixinginfo/2.0`).

The envelope is the one of `ic/baseinfo` (`{"result", "reason", "error_code"}`), with `result`
holding `{"total", "items": [...]}`. For a list, 300000 (经查无结果) is an answer, not a refusal:
the enterprise has no record of that kind. Any other non-zero `error_code` is refused as one
problem naming the vendor's code and reason. Dates are epoch milliseconds or date text.

These answers are looked up by the credit connector, never pushed to the hub, so they are not in
the format catalogue (their envelope is also the one `tianyancha-enterprise` recognises).
"""

from __future__ import annotations

from datetime import date, datetime

from canonical import FEN, Money
from canonical.credit import CourtRecord, CourtRecordKind, CourtRecords
from mappings._credit import epoch_or_date, provenance, tianyancha_code, vendor_refusal
from mappings._fields import Node, Reader, read_document
from mappings._problems import Problems, guarded, require_aware

__all__ = ["NO_RESULT", "tianyancha_records_to_canonical"]

SOURCE = "tianyancha"
NO_RESULT = 300000
"""天眼查's 经查无结果: for a record list, "none of that kind"."""

_FIELDS: dict[CourtRecordKind, tuple[str, str, str, str, str]] = {
    # case number, court, amount, registered on, performance
    CourtRecordKind.DISHONEST: ("casecode", "courtname", "unperformPart", "regdate", "performance"),
    CourtRecordKind.EXECUTED: ("caseCode", "execCourtName", "execMoney", "caseCreateTime", ""),
}


def tianyancha_records_to_canonical(
    raw: bytes, *, kind: CourtRecordKind, keyword: str, received_at: datetime
) -> CourtRecords:
    """Map a 失信 or 被执行 list answer to the search by `keyword` (kept in the provenance);
    raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, kind, keyword, received_at))


def _map(raw: bytes, kind: CourtRecordKind, keyword: str, received_at: datetime) -> CourtRecords:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    root = read_document(problems, raw, SOURCE)
    error = root.get("error_code")
    code = tianyancha_code(error.value)
    empty = code == NO_RESULT
    if code is None:
        problems.add(error.path, "is required: the 天眼查 error code (0 = ok)", error.value)
    elif code not in (0, NO_RESULT):
        vendor_refusal(problems, error, "天眼查", code, root.get("reason").value)
    problems.raise_if_any(SOURCE)
    total: int | None = 0
    records: list[CourtRecord] = []
    if not empty:
        result = read.object(root.get("result"))
        if result is None:
            problems.raise_if_any(SOURCE)
            raise AssertionError("unreachable: a problem was recorded")
        items = read.array(result.get("items"), required=False) or []
        total_node = result.get("total")
        total = len(items) if total_node.blank else read.integer(total_node)
        if total is not None and total < len(items):
            problems.add(total_node.path, f"is below the {len(items)} records sent", total)
        for item in items:
            record = _record(read, item, kind)
            if record is not None:
                records.append(record)
    origin = provenance(problems, SOURCE, f"{kind.value}:{keyword.strip()}", raw, received_at)
    problems.raise_if_any(SOURCE)
    assert origin is not None  # else a problem was recorded and raised
    return CourtRecords(kind=kind, total=total or 0, records=tuple(records), provenance=origin)


def _record(read: Reader, item: Node, kind: CourtRecordKind) -> CourtRecord | None:
    if read.object(item) is None:
        return None
    case_key, court_key, amount_key, date_key, performance_key = _FIELDS[kind]
    case_no = read.text(item.get(case_key), max_len=100)
    court = read.text(item.get(court_key), required=False, max_len=200)
    amount = _amount(read, item.get(amount_key))
    registered_on = _date(read, item.get(date_key))
    performance = (
        read.text(item.get(performance_key), required=False, max_len=100) if performance_key else ""
    )
    if case_no is None or court is None or performance is None:
        return None  # the problem is recorded: the mapping fails as a whole
    return CourtRecord(
        kind=kind,
        case_no=case_no,
        court=court,
        amount=amount,
        registered_on=registered_on,
        performance=performance,
    )


def _amount(read: Reader, node: Node) -> Money | None:
    """The amount in yuan; None when not given, or wrong (then a problem is recorded)."""
    if node.blank:
        return None
    value = read.amount(node)
    if value is None:
        return None
    if value < 0 or value.quantize(FEN) != value:
        read.problems.add(node.path, "must be a non-negative amount in fen", node.value)
        return None
    return Money(amount=value.quantize(FEN), currency="CNY")


def _date(read: Reader, node: Node) -> date | None:
    if node.blank:
        return None
    try:
        return epoch_or_date(node.value)
    except ValueError as exc:
        read.problems.add(node.path, str(exc), node.value)
        return None
