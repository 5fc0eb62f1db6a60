"""PBOC 企业信用报告 (second generation) summary -> CreditReportSummary (formats-outbound §4.1).

The report reaches the hub as the JSON tree the reference proposes, one key per section:
`reportHeader` (reportNo, reportTime, queryInstitution, queryReason), `identity` (name, uscc,
zhongzhengCode) and `summary` (信息概要): `firstCreditYear`; `loans` {outstanding[{type, accounts,
balance}], totalBalance, settledAccounts, fiveTier{normal, specialMention, substandard, doubtful,
loss}}; `guarantees` {outstanding[...], totalBalance}; `overdue` {accounts, amount, maxDays};
`recovered` {balance}; `repaymentResponsibility` {amount}; `publicRecords` {taxArrears,
civilJudgments, enforcements, administrativePenalties}. Detail sections (信贷记录明细, 公共记录,
声明, 查询记录) may be present and are not read.

Amounts are yuan unless `summary.amountUnit` is "万元" (the printed report's unit). The category
balances must add up to `totalBalance`, and the five-tier split to the loan total, within the
tolerance: a mismatch is an error, never a silent fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from pydantic import ValidationError

from canonical import FEN, Money
from canonical.credit import (
    CreditReportSummary,
    GuaranteeBalance,
    GuaranteeCategory,
    LoanBalance,
    LoanCategory,
)
from mappings._credit import fold_id, provenance, read_moment, read_uscc, sniff_json
from mappings._fields import Node, Reader, read_document
from mappings._invoice import DEFAULT_TOLERANCE, check_tolerance
from mappings._problems import Problems, guarded, require_aware
from mappings.catalogue import InboundFormat

__all__ = ["GUARANTEE_TYPES", "INBOUND", "LOAN_TYPES", "pboc_report_to_canonical", "recognise_pboc"]

SOURCE = "pboc"
E = TypeVar("E", bound=StrEnum)

LOAN_TYPES: dict[str, LoanCategory] = {
    "非循环贷账户": LoanCategory.NON_REVOLVING,
    "非循环贷": LoanCategory.NON_REVOLVING,
    "循环额度下分账户": LoanCategory.REVOLVING_SUB_ACCOUNT,
    "循环贷账户": LoanCategory.REVOLVING,
    "循环贷": LoanCategory.REVOLVING,
    "贴现账户": LoanCategory.DISCOUNT,
    "贴现": LoanCategory.DISCOUNT,
    "保理": LoanCategory.FACTORING,
    "应收账款融资": LoanCategory.FACTORING,
    "保理/应收账款融资": LoanCategory.FACTORING,
    "其他": LoanCategory.OTHER,
    **{member.value: member for member in LoanCategory},
}
GUARANTEE_TYPES: dict[str, GuaranteeCategory] = {
    "银行承兑汇票": GuaranteeCategory.BANK_ACCEPTANCE,
    "信用证": GuaranteeCategory.LETTER_OF_CREDIT,
    "银行保函": GuaranteeCategory.LETTER_OF_GUARANTEE,
    "保函": GuaranteeCategory.LETTER_OF_GUARANTEE,
    "其他": GuaranteeCategory.OTHER,
    **{member.value: member for member in GuaranteeCategory},
}
_UNITS = {"元": Decimal(1), "万元": Decimal(10_000)}
_TIERS = (
    ("normal", "normal"),
    ("specialMention", "special_mention"),
    ("substandard", "substandard"),
    ("doubtful", "doubtful"),
    ("loss", "loss"),
)
_PUBLIC = (
    ("taxArrears", "tax_arrears"),
    ("civilJudgments", "civil_judgments"),
    ("enforcements", "enforcements"),
    ("administrativePenalties", "administrative_penalties"),
)


def pboc_report_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> CreditReportSummary:
    """Map a PBOC enterprise credit report (JSON); raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, tolerance))


def recognise_pboc(raw: bytes) -> bool:
    return sniff_json(raw, b'"reportHeader"', b'"summary"')


class _Amounts:
    """Reads money in the summary's unit (yuan or 万元) as exact CNY at the fen."""

    def __init__(self, read: Reader, unit: Decimal) -> None:
        self.read = read
        self.unit = unit

    def money(self, node: Node, *, required: bool = True) -> Money | None:
        if node.blank and not required:
            return Money.zero()
        value = self.read.amount(node)
        if value is None:
            return None
        value *= self.unit
        if value < 0:
            self.read.problems.add(node.path, "must not be negative", node.value)
            return None
        if value.quantize(FEN) != value:
            self.read.problems.add(node.path, "is not a whole number of fen", node.value)
            return None
        return Money(amount=value.quantize(FEN), currency="CNY")

    def count(self, node: Node) -> int | None:
        return 0 if node.blank else self.read.integer(node)


def _map(raw: bytes, received_at: datetime, tolerance: Decimal) -> CreditReportSummary:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = read_document(problems, raw, SOURCE)
    header = read.object(root.get("reportHeader"))
    identity = read.object(root.get("identity"))
    summary = read.object(root.get("summary"))
    if header is None or identity is None or summary is None:
        problems.raise_if_any(SOURCE)
        raise AssertionError("unreachable: a problem was recorded")
    unit = _unit(read, summary.get("amountUnit"))
    amounts = _Amounts(read, unit)
    fields: dict[str, object] = {
        "report_no": _report_no(read, header.get("reportNo")),
        "reported_at": read_moment(read, header.get("reportTime")),
        "query_institution": read.text(header.get("queryInstitution"), required=False, max_len=200),
        "query_reason": read.text(header.get("queryReason"), required=False, max_len=100),
        "subject_name": read.text(identity.get("name"), max_len=200),
        "subject_uscc": read_uscc(read, identity.get("uscc")),
        "zhongzheng_code": _zhongzheng(read, identity.get("zhongzhengCode")),
        "first_credit_year": _year(read, summary.get("firstCreditYear")),
    }
    loans_node = read.object(summary.get("loans"))
    if loans_node is not None:
        loans = _balances(read, amounts, loans_node.get("outstanding"), LOAN_TYPES, "loan type")
        loan_total = _total(read, amounts, loans_node.get("totalBalance"), loans, tolerance)
        fields["loans"] = (
            None
            if loans is None
            else tuple(LoanBalance(category=c, accounts=n, balance=m) for c, n, m in loans)
        )
        fields["loan_balance"] = loan_total
        fields["settled_loan_accounts"] = amounts.count(loans_node.get("settledAccounts"))
        fields["five_tier"] = _five_tier(
            read, amounts, loans_node.get("fiveTier"), loan_total, tolerance
        )
    guarantees_node = read.object(summary.get("guarantees"), required=False)
    if guarantees_node is None:
        fields["guarantees"], fields["guarantee_balance"] = (), Money.zero()
    else:
        guarantees = _balances(
            read, amounts, guarantees_node.get("outstanding"), GUARANTEE_TYPES, "guarantee type"
        )
        fields["guarantee_balance"] = _total(
            read, amounts, guarantees_node.get("totalBalance"), guarantees, tolerance
        )
        fields["guarantees"] = (
            None
            if guarantees is None
            else tuple(
                GuaranteeBalance(category=c, accounts=n, balance=m) for c, n, m in guarantees
            )
        )
    overdue = _optional_object(read, summary.get("overdue"))
    fields["overdue_accounts"] = amounts.count(overdue.get("accounts"))
    fields["overdue_amount"] = amounts.money(overdue.get("amount"), required=False)
    fields["max_overdue_days"] = amounts.count(overdue.get("maxDays"))
    fields["recovered_balance"] = amounts.money(
        _optional_object(read, summary.get("recovered")).get("balance"), required=False
    )
    fields["repayment_responsibility"] = amounts.money(
        _optional_object(read, summary.get("repaymentResponsibility")).get("amount"), required=False
    )
    public = _optional_object(read, summary.get("publicRecords"))
    counts = {name: amounts.count(public.get(key)) for key, name in _PUBLIC}
    fields["public_records"] = None if None in counts.values() else counts
    fields["provenance"] = provenance(
        problems, SOURCE, _text(fields["report_no"]), raw, received_at
    )
    problems.raise_if_any(SOURCE)
    try:
        return CreditReportSummary.model_validate(fields)
    except ValidationError as exc:
        problems.add_validation_error("", exc)
        problems.raise_if_any(SOURCE)
        raise


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _optional_object(read: Reader, node: Node) -> Node:
    """The object, or an empty one when absent (its fields then read as zero)."""
    if node.blank or read.object(node) is None:
        return Node({}, node.path)
    return node


def _unit(read: Reader, node: Node) -> Decimal:
    if node.blank:
        return Decimal(1)
    text = read.text(node, max_len=8)
    if text is not None and text in _UNITS:
        return _UNITS[text]
    if text is not None:
        read.problems.add(node.path, "must be 元 or 万元", node.value)
    return Decimal(1)


def _report_no(read: Reader, node: Node) -> str | None:
    text = read.text(node, max_len=64)
    if text is None:
        return None
    number = fold_id(text)
    if not (number.isascii() and number.isalnum()):
        read.problems.add(node.path, "must be letters and digits", node.value)
        return None
    return number


def _zhongzheng(read: Reader, node: Node) -> str | None:
    text = read.text(node, required=False, max_len=32)
    if not text:
        return text
    code = fold_id(text)
    if len(code) != 16 or not (code.isascii() and code.isalnum()):
        read.problems.add(node.path, "a 中征码 is 16 letters and digits", node.value)
        return None
    return code


def _year(read: Reader, node: Node) -> int | None:
    if node.blank:
        return None
    year = read.integer(node)
    if year is not None and not 1950 <= year <= 2100:
        read.problems.add(node.path, "is not a plausible year", node.value)
        return None
    return year


def _balances(
    read: Reader, amounts: _Amounts, node: Node, types: Mapping[str, E], what: str
) -> list[tuple[E, int, Money]] | None:
    """Each category once, with its account count and balance; None when any is wrong."""
    items = read.array(node, required=False)
    if items is None:
        return None
    out: list[tuple[E, int, Money]] = []
    seen: set[E] = set()
    broken = False
    for item in items:
        if read.object(item) is None:
            broken = True
            continue
        type_node = item.get("type")
        label = read.text(type_node, max_len=32)
        category = None if label is None else types.get(label)
        if label is not None and category is None:
            read.problems.add(type_node.path, f"unknown {what}", type_node.value)
        elif category is not None and category in seen:
            read.problems.add(type_node.path, f"{what} listed twice", type_node.value)
            category = None
        count = amounts.count(item.get("accounts"))
        balance = amounts.money(item.get("balance"))
        if category is None or count is None or balance is None:
            broken = True
            continue
        seen.add(category)
        out.append((category, count, balance))
    return None if broken else out


def _total(
    read: Reader,
    amounts: _Amounts,
    node: Node,
    parts: list[tuple[E, int, Money]] | None,
    tolerance: Decimal,
) -> Money | None:
    """The stated total, checked against Σ parts; Σ parts when no total is stated."""
    added = None if parts is None else sum((m for _, _, m in parts), Money.zero())
    if node.blank:
        return added
    total = amounts.money(node)
    if total is not None and added is not None and abs(total.amount - added.amount) > tolerance:
        read.problems.add(
            node.path, f"is not the sum of the categories ({added.amount})", node.value
        )
        return None
    return total


def _five_tier(
    read: Reader, amounts: _Amounts, node: Node, loan_total: Money | None, tolerance: Decimal
) -> dict[str, Money] | None:
    if read.object(node) is None:
        return None
    tiers = {name: amounts.money(node.get(key), required=False) for key, name in _TIERS}
    values = [m for m in tiers.values() if m is not None]
    if len(values) != len(tiers):
        return None
    added = sum(values, Money.zero())
    if loan_total is not None and abs(added.amount - loan_total.amount) > tolerance:
        read.problems.add(
            node.path, f"adds up to {added.amount}, not the loan balance {loan_total.amount}"
        )
        return None
    return {name: money for name, money in tiers.items() if money is not None}


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="pboc-credit-report",
        family="credit",
        title="PBOC 企业信用报告 (second generation, JSON) -> CreditReportSummary",
        read=lambda raw, received_at: pboc_report_to_canonical(raw, received_at=received_at),
        recognise=recognise_pboc,
    ),
)
