"""HTTP face of the credit bureau simulator: PBOC report, 企查查 and 天眼查 on their own paths.

    GET /pboc/enterprise-reports/{uscc}?queryReason=02[&queryInstitution=...]
    GET /ECIV4/GetBasicDetailsByName?key=&keyword=        (headers Token, Timespan)
    GET /CourtV4/SearchShiXin?key=&searchKey=[&isExactlySame=true]
    GET /CourtV4/SearchZhiXing?key=&searchKey=
    GET /services/open/ic/baseinfo/normal?keyword=       (header Authorization)
    GET /services/open/jr/dishonest/2.0?keyword=
    GET /services/open/jr/zhixinginfo/2.0?keyword=

Vendor refusals use each vendor's envelope with HTTP 200 (企查查 `Status`, 天眼查 `error_code`);
the PBOC channel answers `{"returnCode", "returnMessage"}` with a 4xx status.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from simulators import uscc as uscc_rules
from simulators.common.admin import ScenarioError, install
from simulators.common.clock import Clock, now_cst
from simulators.credit import vendors
from simulators.credit.subjects import (
    CreditScenario,
    Subject,
    apply_setting,
    normalize_name,
    seeded_subjects,
)

__all__ = ["TIMESPAN_TOLERANCE_S", "create_app"]

TIMESPAN_TOLERANCE_S = 600
"""How far a 企查查 `Timespan` may be from the bureau's clock. [guess]"""
PBOC_INSTITUTION = "FactorHub 保理有限公司"


class _Bureau:
    """Subjects, accounts and per-subject query counts; one lock, no awaits inside."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self.apply(CreditScenario())

    def apply(self, scenario: CreditScenario) -> None:
        subjects = seeded_subjects(self.seed)
        for index, setting in enumerate(scenario.companies):
            try:
                subjects[setting.uscc] = apply_setting(self.seed, subjects, setting)
            except ValueError as error:
                raise ScenarioError(f"companies.{index}.name: {error}") from error
        with self._lock:
            self.subjects = subjects
            self.by_key = {normalize_name(s.name): s.uscc for s in subjects.values()}
            self.by_key.update({s.key_no: s.uscc for s in subjects.values()})
            self.by_key.update({str(s.tyc_id): s.uscc for s in subjects.values()})
            self.qcc, self.tyc = scenario.qcc, scenario.tianyancha
            self.qcc_used = self.tyc_used = 0
            self.queries: dict[str, Counter[str]] = {}
            self.unknown: Counter[str] = Counter()
            self.refused: Counter[str] = Counter()
            self.reports: dict[str, list[dict[str, str]]] = {}
            self.orders = 0
            self.reports_issued = 0

    def reset(self) -> None:
        self.apply(CreditScenario())

    def find(self, vendor: str, keyword: str) -> Subject | None:
        """The subject a keyword names (USCC, name, KeyNo or 天眼查 id), counted per vendor."""
        key = keyword.strip()
        with self._lock:
            code = (
                key.upper()
                if key.upper() in self.subjects
                else self.by_key.get(normalize_name(key))
            )
            if code is None:
                self.unknown[f"{vendor}:{key}"] += 1
                return None
            self.queries.setdefault(code, Counter())[vendor] += 1
            return self.subjects[code]

    def refuse(self, vendor: str, code: str) -> None:
        with self._lock:
            self.refused[f"{vendor}:{code}"] += 1

    def bill(self, vendor: str) -> bool:
        """Take one billed call from the account; False when its quota is used up."""
        with self._lock:
            if vendor == "qcc":
                if self.qcc.quota is not None and self.qcc_used >= self.qcc.quota:
                    return False
                self.qcc_used += 1
            else:
                if self.tyc.quota is not None and self.tyc_used >= self.tyc.quota:
                    return False
                self.tyc_used += 1
            return True

    def order_number(self, prefix: str, clock: Clock) -> str:
        with self._lock:
            self.orders += 1
            return f"{prefix}{clock():%Y%m%d%H%M%S}{self.orders:08d}"

    def report_number(self, at: datetime) -> str:
        """22 characters: E, the report time (yyyyMMddHHmmss), a 7-digit serial."""
        with self._lock:
            self.reports_issued += 1
            return f"E{at:%Y%m%d%H%M%S}{self.reports_issued:07d}"

    def record_report(self, code: str, entry: dict[str, str]) -> list[dict[str, str]]:
        """The subject's earlier 查询记录, then this query added to them."""
        with self._lock:
            earlier = list(self.reports.get(code, []))
            self.reports.setdefault(code, []).append(entry)
            return earlier

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queries": {code: dict(c) for code, c in self.queries.items()},
                "unknown": dict(self.unknown),
                "refused": dict(self.refused),
                "billed": {"qcc": self.qcc_used, "tianyancha": self.tyc_used},
                "companies": [
                    {
                        "uscc": s.uscc,
                        "name": s.name,
                        "status": s.status,
                        **vendors.risk_count(s),
                    }
                    for s in self.subjects.values()
                ],
            }


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh bureau knowing the ERP dataset's companies of the same seed."""
    bureau = _Bureau(seed)
    app = FastAPI(title="credit bureau simulator", openapi_url=None, docs_url=None)
    app.state.bureau = bureau

    def scenario(section: Mapping[str, Any]) -> None:
        bureau.apply(CreditScenario.model_validate(section))

    install(
        app,
        name="credit",
        seed=seed,
        clock=clock,
        state=bureau.state,
        reset=bureau.reset,
        scenario=scenario,
    )
    _pboc(app, bureau, clock)
    _qcc(app, bureau, clock)
    _tianyancha(app, bureau)
    return app


def _pboc(app: FastAPI, bureau: _Bureau, clock: Clock) -> None:
    def refuse(status: int, code: str, message: str) -> JSONResponse:
        bureau.refuse("pboc", code)
        return JSONResponse({"returnCode": code, "returnMessage": message}, status)

    @app.get("/pboc/enterprise-reports/{code}")
    async def report(code: str, queryReason: str = "", queryInstitution: str = "") -> JSONResponse:
        if not uscc_rules.is_valid(code.strip().upper()):
            return refuse(400, "E0001", "统一社会信用代码格式错误")
        reason = vendors.query_reason(queryReason)
        if reason is None:
            return refuse(400, "E0002", f"查询原因代码无效，可选 {vendors.REASON_CHOICES}")
        subject = bureau.find("pboc", code)
        if subject is None:
            return refuse(404, "E0404", "无该企业信用记录")
        at = clock()
        institution = queryInstitution.strip() or PBOC_INSTITUTION
        number = bureau.report_number(at)
        entry = {
            "queryTime": at.isoformat(timespec="seconds"),
            "institution": institution,
            "reason": reason,
        }
        earlier = bureau.record_report(subject.uscc, entry)
        body = vendors.pboc_report(
            subject,
            report_no=number,
            at=at,
            institution=institution,
            reason=reason,
            earlier=earlier,
        )
        return JSONResponse(body)


def _qcc(app: FastAPI, bureau: _Bureau, clock: Clock) -> None:
    def answer(
        status: str, order: str = "", result: Any = None, paging: Any = None
    ) -> JSONResponse:
        if status != "200":
            bureau.refuse("qcc", status)
        body: dict[str, Any] = {
            "Status": status,
            "Message": vendors.QCC_CODES[status],
            "OrderNumber": order,
        }
        if paging is not None:
            body["Paging"] = paging
        body["Result"] = result
        return JSONResponse(body)

    def authenticate(request: Request) -> str | None:
        """None when the call is allowed, else the 企查查 Status that refuses it."""
        key = request.query_params.get("key", "")
        account = bureau.qcc
        if key != account.app_key:
            return "101"
        token = request.headers.get("Token", "")
        timespan = request.headers.get("Timespan", "")
        expected = hashlib.md5(f"{key}{timespan}{account.secret_key}".encode()).hexdigest()
        if not timespan.isdigit() or token != expected.upper():
            return "107"
        if abs(int(timespan) - clock().timestamp()) > TIMESPAN_TOLERANCE_S:
            return "115"
        return None

    def lookup(
        request: Request, param: str, prefix: str, render: Callable[[Subject], Any]
    ) -> JSONResponse:
        refused = authenticate(request)
        if refused is not None:
            return answer(refused)
        keyword = request.query_params.get(param, "").strip()
        if not keyword:
            return answer("202")
        if len(keyword) < 2:
            return answer("213")
        if not bureau.bill("qcc"):
            return answer("112")
        order = bureau.order_number(prefix, clock)
        subject = bureau.find("qcc", keyword)
        result = None if subject is None else render(subject)
        if not result:
            return answer("201", order)
        if isinstance(result, list):
            paging = {"PageSize": 10, "PageIndex": 1, "TotalRecords": len(result)}
            return answer("200", order, result[:10], paging)
        return answer("200", order, result)

    @app.get("/ECIV4/GetBasicDetailsByName")
    async def basic(request: Request) -> JSONResponse:
        return lookup(request, "keyword", "ECI", vendors.qcc_basic)

    @app.get("/CourtV4/SearchShiXin")
    async def shixin(request: Request) -> JSONResponse:
        return lookup(request, "searchKey", "SHIXIN", vendors.qcc_shixin)

    @app.get("/CourtV4/SearchZhiXing")
    async def zhixing(request: Request) -> JSONResponse:
        return lookup(request, "searchKey", "ZHIXING", vendors.qcc_zhixing)


def _tianyancha(app: FastAPI, bureau: _Bureau) -> None:
    def answer(code: int, result: Any = None) -> JSONResponse:
        if code:
            bureau.refuse("tianyancha", str(code))
        return JSONResponse(
            {"result": result, "reason": vendors.TYC_CODES[code], "error_code": code}
        )

    def lookup(request: Request, render: Callable[[Subject], Any], listed: bool) -> JSONResponse:
        if request.headers.get("Authorization", "") != bureau.tyc.token:
            return answer(300002)
        keyword = request.query_params.get("keyword", "").strip()
        if not keyword:
            return answer(300008)
        if not bureau.bill("tianyancha"):
            return answer(300006)
        subject = bureau.find("tianyancha", keyword)
        result = None if subject is None else render(subject)
        if not result:
            return answer(300000)
        if listed:
            return answer(0, {"total": len(result), "items": result[:20]})
        return answer(0, result)

    @app.get("/services/open/ic/baseinfo/normal")
    async def baseinfo(request: Request) -> JSONResponse:
        return lookup(request, vendors.tyc_baseinfo, listed=False)

    @app.get("/services/open/jr/dishonest/2.0")
    async def dishonest(request: Request) -> JSONResponse:
        return lookup(request, vendors.tyc_dishonest, listed=True)

    @app.get("/services/open/jr/zhixinginfo/2.0")
    async def zhixing(request: Request) -> JSONResponse:
        return lookup(request, vendors.tyc_zhixing, listed=True)
