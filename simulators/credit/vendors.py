"""What each vendor puts on the wire for a subject: 企查查 (formats-outbound §4.2), 天眼查 (§4.3)
and the PBOC enterprise credit report summary (§4.1), each in its own field names and units.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from simulators.common.clock import CST
from simulators.credit.subjects import ACTIVE, Subject

__all__ = [
    "QCC_CODES",
    "REASON_CHOICES",
    "TYC_CODES",
    "pboc_report",
    "qcc_basic",
    "qcc_shixin",
    "qcc_zhixing",
    "query_reason",
    "risk_count",
    "tyc_baseinfo",
    "tyc_dishonest",
    "tyc_zhixing",
]

QCC_CODES = {
    "200": "【有效请求】查询成功",
    "201": "【有效请求】查询无结果",
    "202": "【有效请求】查询参数错误，请检查",
    "213": "【有效请求】参数长度不能小于2",
    "101": "【无效请求】当前的KEY无效或者还未生效中",
    "107": "【无效请求】被禁止的IP或者签名错误",
    "112": "【无效请求】您的账号剩余使用量已不足或已过期",
    "115": "【无效请求】身份验证错误或者已过期",
}
"""企查查 Status -> Message, as the vendor words them."""

TYC_CODES = {
    0: "ok",
    300000: "经查无结果",
    300002: "账号失效",
    300006: "余额不足",
    300008: "缺少必要参数",
}
"""天眼查 error_code -> reason ([MEMORY] in the reference except 0 and 300000)."""

_QCC_STATUS = {"存续": "存续（在营、开业、在册）", "注销": "注销", "吊销": "吊销，未注销"}
_QUERY_REASONS = {"01": "贷后管理", "02": "贷前审查", "03": "保理业务审查", "04": "担保资格审查"}
REASON_CHOICES = " ".join(f"{code} {text}" for code, text in _QUERY_REASONS.items())


def qcc_basic(s: Subject) -> dict[str, Any]:
    """GetBasicDetailsByName `Result`."""
    cancelled = s.status_date if s.status == "注销" else None
    revoked = s.status_date if s.status == "吊销" else None
    return {
        "KeyNo": s.key_no,
        "Name": s.name,
        "No": s.registration_no,
        "BelongOrg": s.registration_authority,
        "OperId": s.key_no[::-1],
        "OperName": s.legal_representative,
        "StartDate": s.established.isoformat(),
        "EndDate": "",
        "Status": _QCC_STATUS[s.status],
        "Province": s.uscc[2:4],
        "UpdatedDate": "",
        "CreditCode": s.uscc,
        "RegistCapi": f"{s.capital_wan}万元人民币",
        "RegisteredCapital": str(s.capital_wan),
        "RegisteredCapitalUnit": "万",
        "RegisteredCapitalCCY": "CNY",
        "EconKind": s.enterprise_type,
        "Address": s.address,
        "Scope": s.scope,
        "TermStart": s.established.isoformat(),
        "TermEnd": "",
        "CheckDate": s.established.isoformat(),
        "OrgNo": s.org_no,
        "IsOnStock": "0",
        "StockNumber": "",
        "StockType": "",
        "OriginalName": [],
        "ImageUrl": "",
        "EntType": "0",
        "RecCap": f"{s.paid_in_wan}万元人民币",
        "PaidUpCapital": str(s.paid_in_wan),
        "PaidUpCapitalUnit": "万",
        "PaidUpCapitalCCY": "CNY",
        "RevokeInfo": None
        if s.status == ACTIVE
        else {
            "CancelDate": _iso(cancelled),
            "CancelReason": s.status_reason if cancelled else "",
            "RevokeDate": _iso(revoked),
            "RevokeReason": s.status_reason if revoked else "",
        },
        "Area": {"Province": "", "City": f"{s.city}市", "County": ""},
        "AreaCode": s.uscc[2:8],
    }


def qcc_shixin(s: Subject) -> list[dict[str, Any]]:
    return [
        {
            "Id": _risk_id(s, "sx", n),
            "Name": s.name,
            "Liandate": r.registered_on.isoformat(),
            "Anno": r.case_no,
            "Orgno": s.uscc,
            "Executegov": r.court,
            "Province": "",
            "Executeunite": r.court,
            "Yiwu": r.duty,
            "Executestatus": r.performance,
            "Actionremark": "有履行能力而拒不履行生效法律文书确定义务",
            "Publicdate": r.published_on.isoformat(),
            "Executeno": r.case_no,
            "Amount": f"{r.amount:.2f}",
        }
        for n, r in enumerate(s.dishonest)
    ]


def qcc_zhixing(s: Subject) -> list[dict[str, Any]]:
    return [
        {
            "Id": _risk_id(s, "zx", n),
            "Name": s.name,
            "Liandate": r.registered_on.isoformat(),
            "Anno": r.case_no,
            "ExecuteGov": r.court,
            "Biaodi": f"{r.amount:.2f}",
            "PartyCardNum": s.uscc,
        }
        for n, r in enumerate(s.executed)
    ]


def tyc_baseinfo(s: Subject) -> dict[str, Any]:
    """ic/baseinfo/normal `result`: dates as epoch milliseconds (China midnight)."""
    return {
        "id": s.tyc_id,
        "name": s.name,
        "creditCode": s.uscc,
        "regNumber": s.registration_no,
        "orgNumber": s.org_no,
        "taxNumber": s.uscc,
        "legalPersonName": s.legal_representative,
        "type": 2,
        "regStatus": s.status,
        "regCapital": f"{s.capital_wan}万人民币",
        "regCapitalCurrency": "人民币",
        "actualCapital": f"{s.paid_in_wan}万人民币",
        "estiblishTime": _epoch_ms(s.established),
        "fromTime": _epoch_ms(s.established),
        "toTime": None,
        "approvedTime": _epoch_ms(s.established),
        "regInstitute": s.registration_authority,
        "regLocation": s.address,
        "businessScope": s.scope,
        "companyOrgType": s.enterprise_type,
        "industry": "制造业",
        "staffNumRange": "100-499人",
        "socialStaffNum": 120,
        "isMicroEnt": 0,
        "historyNames": "",
        "cancelDate": _epoch_ms(s.status_date) if s.status == "注销" else None,
        "cancelReason": s.status_reason if s.status == "注销" else "",
        "revokeDate": _epoch_ms(s.status_date) if s.status == "吊销" else None,
        "revokeReason": s.status_reason if s.status == "吊销" else "",
        "percentileScore": 7000,
        "tags": "",
    }


def tyc_dishonest(s: Subject) -> list[dict[str, Any]]:
    return [
        {
            "iname": s.name,
            "cardnum": s.uscc,
            "casecode": r.case_no,
            "courtname": r.court,
            "areaname": "",
            "gistid": r.case_no,
            "gistunit": r.court,
            "duty": r.duty,
            "performance": r.performance,
            "performedPart": "",
            "unperformPart": f"{r.amount:.2f}",
            "disrupttypename": "有履行能力而拒不履行生效法律文书确定义务",
            "regdate": _epoch_ms(r.registered_on),
            "publishdate": _epoch_ms(r.published_on),
            "type": "1",
            "businessentity": s.legal_representative,
        }
        for r in s.dishonest
    ]


def tyc_zhixing(s: Subject) -> list[dict[str, Any]]:
    return [
        {
            "pname": s.name,
            "partyCardNum": s.uscc,
            "caseCode": r.case_no,
            "execCourtName": r.court,
            "caseCreateTime": _epoch_ms(r.registered_on),
            "execMoney": f"{r.amount:.2f}",
        }
        for r in s.executed
    ]


def query_reason(code: str) -> str | None:
    return _QUERY_REASONS.get(code)


def pboc_report(
    s: Subject,
    *,
    report_no: str,
    at: datetime,
    institution: str,
    reason: str,
    earlier: list[dict[str, str]],
) -> dict[str, Any]:
    """The report tree: header, identity, 信息概要 (summary) and 查询记录; amounts in yuan."""
    loan_total = sum((loan.balance for loan in s.loans), Decimal("0.00"))
    troubled = bool(s.dishonest or s.executed)
    substandard = (
        (loan_total * Decimal("0.3")).quantize(Decimal("0.01")) if troubled else Decimal(0)
    )
    guarantees = (
        [{"type": "银行承兑汇票", "accounts": 1, "balance": _yuan(s.guarantee_balance)}]
        if s.guarantee_balance
        else []
    )
    return {
        "reportHeader": {
            "reportNo": report_no,
            "reportTime": at.astimezone(CST).isoformat(timespec="seconds"),
            "queryInstitution": institution,
            "queryReason": reason,
        },
        "identity": {
            "name": s.name,
            "uscc": s.uscc,
            "zhongzhengCode": s.zhongzheng_code,
            "registeredCapital": f"{s.capital_wan}万元",
            "establishedYear": s.established.year,
            "address": s.address,
            "status": s.status,
            "legalRepresentative": s.legal_representative,
        },
        "summary": {
            "amountUnit": "元",
            "firstCreditYear": s.first_credit_year,
            "loans": {
                "outstanding": [
                    {
                        "type": loan.category,
                        "accounts": loan.accounts,
                        "balance": _yuan(loan.balance),
                    }
                    for loan in s.loans
                ],
                "totalBalance": _yuan(loan_total),
                "settledAccounts": s.settled_accounts,
                "fiveTier": {
                    "normal": _yuan(loan_total - substandard),
                    "specialMention": "0.00",
                    "substandard": _yuan(substandard),
                    "doubtful": "0.00",
                    "loss": "0.00",
                },
            },
            "guarantees": {
                "outstanding": guarantees,
                "totalBalance": _yuan(s.guarantee_balance),
            },
            "overdue": {
                "accounts": 1 if troubled else 0,
                "amount": _yuan(substandard),
                "maxDays": 95 if troubled else 0,
            },
            "recovered": {"balance": "0.00"},
            "repaymentResponsibility": {"amount": _yuan(s.guarantee_balance)},
            "publicRecords": {
                "taxArrears": 0,
                "civilJudgments": len(s.dishonest),
                "enforcements": len(s.executed) + len(s.dishonest),
                "administrativePenalties": 0,
            },
        },
        "queryRecords": earlier,
    }


def _yuan(value: Decimal) -> str:
    return f"{value:.2f}"


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _epoch_ms(value: date | None) -> int | None:
    if value is None:
        return None
    moment = datetime.combine(value, time(), CST).astimezone(UTC)
    return int(moment.timestamp()) * 1000


def _risk_id(s: Subject, kind: str, n: int) -> str:
    return f"{s.key_no[:24]}{kind}{n:06d}"


def risk_count(s: Subject) -> dict[str, int]:
    return {"dishonest": len(s.dishonest), "executed": len(s.executed)}
