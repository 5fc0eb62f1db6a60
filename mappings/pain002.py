"""ISO 20022 pain.002 (CustomerPaymentStatusReport, v10 and earlier) -> payment results.

One PaymentResult per TxInfAndSts, keyed by OrgnlEndToEndId (the disbursement id). A transaction
without its own TxSts inherits the status of its payment-information block, then of the group.
When the bank rejects the whole message it may send no transaction entries at all: the report
then carries only `group_status` ("RJCT"), and `rejected_as_a_whole` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from canonical import PaymentResult, PaymentStatus
from mappings._problems import Problems, guarded, require_aware
from mappings._sniff import head_text, xml_root
from mappings._xml import child, children, local_name, namespace, parse_untrusted, text_of
from mappings.catalogue import InboundFormat

__all__ = [
    "INBOUND",
    "PAIN002_NAMESPACE_PREFIX",
    "Pain002Report",
    "pain002_to_canonical",
    "payment_status",
]

SOURCE = "pain.002"
PAIN002_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:pain.002."

_SETTLED = frozenset({"ACSC", "ACCC"})
_REJECTED = frozenset({"RJCT", "CANC", "BLCK"})
_CODE = re.compile(r"[A-Z]{4}")


@dataclass(frozen=True)
class Pain002Report:
    """What one status report says about one original pain.001 message."""

    original_message_id: str
    """OrgnlGrpInfAndSts/OrgnlMsgId: the pain.001 GrpHdr/MsgId it answers."""
    group_status: str | None
    """GrpSts (ACCP, PART, RJCT, ...), when the bank sent one."""
    group_reasons: tuple[str, ...]
    """Group-level StsRsnInf as "CODE: additional information"."""
    results: tuple[PaymentResult, ...]
    """One per TxInfAndSts, in document order."""
    message_id: str = ""
    """The report's own GrpHdr/MsgId (for de-duplicating reports)."""

    @property
    def rejected_as_a_whole(self) -> bool:
        """The group is RJCT and no transaction is listed: every instruction of it failed."""
        return self.group_status == "RJCT" and not self.results


def payment_status(code: str) -> PaymentStatus:
    """ExternalPaymentTransactionStatus1Code -> our three outcomes (unknown codes wait)."""
    if code in _SETTLED:
        return PaymentStatus.SETTLED
    if code in _REJECTED:
        return PaymentStatus.REJECTED
    return PaymentStatus.PENDING


def pain002_to_canonical(raw: bytes, *, reported_at: datetime) -> Pain002Report:
    """Parse a bank's status report; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, reported_at))


def _map(raw: bytes, reported_at: datetime) -> Pain002Report:
    problems = Problems()
    require_aware(problems, "reported_at", reported_at)
    root = parse_untrusted(problems, raw, SOURCE)
    report, path = _report(problems, root)
    original = child(report, "OrgnlGrpInfAndSts")
    original_path = f"{path}/OrgnlGrpInfAndSts"
    if original is None:
        problems.add(original_path, "is required")
    original_message_id = text_of(child(original, "OrgnlMsgId"))
    if original is not None and not original_message_id:
        problems.add(f"{original_path}/OrgnlMsgId", "is required")
    group_status = _code(problems, child(original, "GrpSts"), f"{original_path}/GrpSts")
    results: list[PaymentResult] = []
    for i, block in enumerate(children(report, "OrgnlPmtInfAndSts"), start=1):
        block_path = f"{path}/OrgnlPmtInfAndSts[{i}]"
        block_status = _code(problems, child(block, "PmtInfSts"), f"{block_path}/PmtInfSts")
        inherited = (block_status, _reasons(block)) if block_status else (
            group_status, _reasons(original))
        for j, tx in enumerate(children(block, "TxInfAndSts"), start=1):
            result = _result(problems, tx, f"{block_path}/TxInfAndSts[{j}]", inherited,
                             reported_at)
            if result is not None:
                results.append(result)
    problems.raise_if_any(SOURCE)
    return Pain002Report(
        original_message_id=original_message_id,
        group_status=group_status,
        group_reasons=tuple(_reasons(original)),
        results=tuple(results),
        message_id=text_of(child(child(report, "GrpHdr"), "MsgId")),
    )


def _report(problems: Problems, root: etree._Element) -> tuple[etree._Element, str]:
    """The CstmrPmtStsRpt element (under Document, or as the root) and its path."""
    uri = namespace(root)
    if uri is not None and not uri.startswith(PAIN002_NAMESPACE_PREFIX):
        problems.add(f"/{local_name(root)}", f"namespace {uri!r} is not a pain.002 namespace")
    report = root if local_name(root) == "CstmrPmtStsRpt" else child(root, "CstmrPmtStsRpt")
    if local_name(root) not in ("Document", "CstmrPmtStsRpt") or report is None:
        problems.add(f"/{local_name(root)}", "not a pain.002 document: expected "
                     "Document/CstmrPmtStsRpt")
    problems.raise_if_any(SOURCE)
    if report is None:
        raise AssertionError("unreachable: a problem was recorded")
    path = "/CstmrPmtStsRpt" if report is root else f"/{local_name(root)}/CstmrPmtStsRpt"
    return report, path


def _code(problems: Problems, element: etree._Element | None, path: str) -> str | None:
    value = text_of(element)
    if not value:
        return None
    if not _CODE.fullmatch(value):
        problems.add(path, "must be a four-letter ISO status code", value)
        return None
    return value


def _reasons(element: etree._Element | None) -> list[str]:
    """Each StsRsnInf as "CODE: additional information" (either part may be absent)."""
    reasons = []
    for info in children(element, "StsRsnInf"):
        reason = child(info, "Rsn")
        code = text_of(child(reason, "Cd")) or text_of(child(reason, "Prtry"))
        extra = " ".join(filter(None, (text_of(e) for e in children(info, "AddtlInf"))))
        text = f"{code}: {extra}" if code and extra else code or extra
        if text:
            reasons.append(text)
    return reasons


def _result(problems: Problems, tx: etree._Element, path: str,
            inherited: tuple[str | None, list[str]], reported_at: datetime
            ) -> PaymentResult | None:
    """One transaction; without its own TxSts it takes the block's (else the group's) status."""
    instruction_id = text_of(child(tx, "OrgnlEndToEndId")) or text_of(child(tx, "OrgnlInstrId"))
    if not instruction_id:
        problems.add(f"{path}/OrgnlEndToEndId", "is required (nor is there an OrgnlInstrId)")
    status = _code(problems, child(tx, "TxSts"), f"{path}/TxSts")
    reasons = _reasons(tx)
    if status is None and not problems.any_at(f"{path}/TxSts"):
        inherited_status, inherited_reasons = inherited
        if inherited_status is None or inherited_status == "PART":
            problems.add(f"{path}/TxSts", "is required: no block or group status says what "
                         "happened to this transaction", inherited_status)
        else:
            status, reasons = inherited_status, reasons or inherited_reasons
    if not instruction_id or status is None:
        return None
    return PaymentResult(
        instruction_id=instruction_id,
        status=payment_status(status),
        bank_code=status,
        reason="; ".join(reasons),
        bank_reference=text_of(child(tx, "AcctSvcrRef")),
        reported_at=reported_at,
    )


def _looks_like_status_report(raw: bytes) -> bool:
    root = xml_root(raw)
    head = head_text(raw)
    return root is not None and root[1] == "Document" and (
        "pain.002." in head or "CstmrPmtStsRpt" in head
    )


INBOUND = (
    InboundFormat(
        name="pain002",
        family="bank",
        title="ISO 20022 pain.002 payment status report (v10 and earlier) -> payment results",
        read=lambda raw, at: pain002_to_canonical(raw, reported_at=at),
        recognise=_looks_like_status_report,
    ),
)
