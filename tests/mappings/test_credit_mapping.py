"""PBOC credit report summaries and 企查查 / 天眼查 company profiles -> canonical credit models."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from canonical import MappingError, Money
from canonical.credit import EnterpriseStatus, GuaranteeCategory, LoanCategory
from mappings._credit import capital, enterprise_status, moment
from mappings.credit_pboc import INBOUND as PBOC_INBOUND
from mappings.credit_pboc import pboc_report_to_canonical
from mappings.credit_qcc import INBOUND as QCC_INBOUND
from mappings.credit_qcc import qcc_to_canonical
from mappings.credit_tianyancha import INBOUND as TYC_INBOUND
from mappings.credit_tianyancha import tianyancha_to_canonical

FIXTURES = Path(__file__).parent / "fixtures"
CREDIT = FIXTURES / "credit"
Mapper = Callable[..., Any]

GOLDEN = {
    "qcc_basic_details.json": qcc_to_canonical,
    "qcc_foreign_capital_revoked_bom.json": qcc_to_canonical,
    "tianyancha_baseinfo.json": tianyancha_to_canonical,
    "tianyancha_cancelled_hkd_gbk.json": tianyancha_to_canonical,
    "pboc_report.json": pboc_report_to_canonical,
    "pboc_report_wan_bad_debt.json": pboc_report_to_canonical,
}
FORMATS = {f.name: f for f in (*QCC_INBOUND, *TYC_INBOUND, *PBOC_INBOUND)}
OWN_FIXTURES = {
    "qcc-enterprise": [
        "qcc_basic_details.json",
        "qcc_foreign_capital_revoked_bom.json",
        "qcc_no_result.json",
    ],
    "tianyancha-enterprise": [
        "tianyancha_baseinfo.json",
        "tianyancha_cancelled_hkd_gbk.json",
        "tianyancha_no_data.json",
    ],
    "pboc-credit-report": ["pboc_report.json", "pboc_report_wan_bad_debt.json"],
}


def _raw(name: str) -> bytes:
    return (CREDIT / name).read_bytes()


def _json(name: str) -> Any:
    return json.loads(_raw(name).decode("utf-8-sig"))


def _encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, default=str).encode()


def _problems(mapper: Mapper, raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        mapper(raw, received_at=received_at)
    return [(p.path, p.reason) for p in caught.value.problems]


class TestGoldenOutputs:
    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name, received_at):
        result = GOLDEN[name](_raw(name), received_at=received_at)
        expected = json.loads((CREDIT / name.replace(".json", ".expected.json")).read_text())

        assert to_jsonable_python(result) == expected

    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_provenance_is_the_sm3_of_the_bytes_as_received(self, name, received_at):
        raw = _raw(name)
        provenance = GOLDEN[name](raw, received_at=received_at).provenance

        assert provenance.fingerprint == hashlib.new("sm3", raw).hexdigest()
        assert provenance.received_at == received_at


class TestQcc:
    def test_capital_text_and_split_fields_give_exact_money(self, received_at):
        profile = qcc_to_canonical(_raw("qcc_basic_details.json"), received_at=received_at)

        assert profile.registered_capital == Money.of("50000000.00")
        assert str(profile.registered_capital.amount) == "50000000.00"
        assert profile.paid_in_capital == Money.of("20000000")
        assert profile.status is EnterpriseStatus.ACTIVE
        assert profile.provenance.source_document_id == "ECIV42026112010304500012345"

    def test_foreign_capital_full_width_code_and_revocation_are_read(self, received_at):
        profile = qcc_to_canonical(
            _raw("qcc_foreign_capital_revoked_bom.json"), received_at=received_at
        )

        assert profile.uscc == "913101156607431925"
        assert profile.registered_capital == Money.of("1000000", "USD")
        assert profile.status is EnterpriseStatus.REVOKED
        assert profile.revoked_on.isoformat() == "2019-08-20"
        assert profile.industry == "批发和零售业"

    def test_an_error_answer_names_the_vendor_code_and_message(self, received_at):
        assert _problems(qcc_to_canonical, _raw("qcc_no_result.json"), received_at) == [
            ("/Status", "企查查 answered with error 201: 【有效请求】查询无结果")
        ]

    def test_a_missing_status_is_refused(self, received_at):
        raw = b'{"Message": "x", "OrderNumber": "1", "Result": {}}'
        assert _problems(qcc_to_canonical, raw, received_at) == [
            ("/Status", "is required: the 企查查 status code")
        ]

    def test_every_bad_field_is_reported_together_with_its_path(self, received_at):
        document = _json("qcc_basic_details.json")
        result = document["Result"]
        result["CreditCode"] = "91320594794160355A"
        result["StartDate"] = "2012-02-30"
        result["RegistCapi"] = "4000万元人民币"
        result["PaidUpCapitalUnit"] = "千"
        result["Status"] = None
        result["OriginalName"] = "苏州示例材料有限公司"

        assert _problems(qcc_to_canonical, _encode(document), received_at) == [
            ("/Result/Status", "is required but missing"),
            ("/Result/CreditCode", "invalid 统一社会信用代码: check digit is 'A', expected 'G'"),
            ("/Result/RegistCapi", "disagrees with RegisteredCapital/Unit/CCY (50000000.00 CNY)"),
            ("/Result/PaidUpCapitalUnit", "unknown unit (expected 万, 亿 or 元)"),
            ("/Result/StartDate", "is not a real date (day is out of range for month)"),
            ("/Result/OriginalName", "must be an array"),
        ]


class TestTianyancha:
    def test_epoch_millisecond_dates_are_china_calendar_days(self, received_at):
        profile = tianyancha_to_canonical(_raw("tianyancha_baseinfo.json"), received_at=received_at)

        assert profile.established_on.isoformat() == "2011-01-07"  # 2011-01-06T16:00Z
        assert profile.former_names == ("杭州示例物流有限公司", "浙江示例物流有限公司")
        assert profile.provenance.source_document_id == "2318455639"

    def test_gbk_body_with_hkd_capital_and_cancellation(self, received_at):
        profile = tianyancha_to_canonical(
            _raw("tianyancha_cancelled_hkd_gbk.json"), received_at=received_at
        )

        assert profile.registered_capital == Money.of("15005000", "HKD")
        assert profile.status is EnterpriseStatus.CANCELLED
        assert profile.cancelled_on.isoformat() == "2021-01-01"

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            (None, "天眼查 answered with error 300000: 无数据"),
            (
                '{"result":null,"reason":"请求过于频繁","error_code":300004}'.encode(),
                "天眼查 answered with error 300004: 请求过于频繁",
            ),
            (
                b'{"result":null,"reason":"","error_code":"300006"}',
                "天眼查 answered with error 300006: no message",
            ),
        ],
    )
    def test_error_answers_name_the_vendor_code_and_reason(self, raw, reason, received_at):
        raw = raw or _raw("tianyancha_no_data.json")
        assert _problems(tianyancha_to_canonical, raw, received_at) == [("/error_code", reason)]

    def test_every_bad_field_is_reported_together_with_its_path(self, received_at):
        document = _json("tianyancha_baseinfo.json")
        result = document["result"]
        result["regCapital"] = "一千万"
        result["regCapitalCurrency"] = "美元"
        result["actualCapital"] = "1000万人民币"
        result["estiblishTime"] = 10**15
        result["name"] = ""
        result["creditCode"] = "9133010656982174"

        assert _problems(tianyancha_to_canonical, _encode(document), received_at) == [
            ("/result/regCapital", "is not a capital amount (expected e.g. 5000万元人民币)"),
            ("/result/creditCode", "invalid 统一社会信用代码: must be 18 characters, got 16"),
            ("/result/name", "must not be empty"),
            ("/result/estiblishTime", "is not an epoch-millisecond time between 1900 and 2100"),
        ]

    def test_a_currency_field_contradicting_the_capital_text_is_a_problem(self, received_at):
        document = _json("tianyancha_baseinfo.json")
        document["result"]["regCapitalCurrency"] = "美元"

        assert _problems(tianyancha_to_canonical, _encode(document), received_at) == [
            ("/result/regCapitalCurrency", "says USD but the capital is in CNY")
        ]


class TestPboc:
    def test_summary_balances_by_category_and_flags(self, received_at):
        report = pboc_report_to_canonical(_raw("pboc_report.json"), received_at=received_at)

        assert [(b.category, b.accounts, str(b.balance.amount)) for b in report.loans] == [
            (LoanCategory.NON_REVOLVING, 2, "8000000.00"),
            (LoanCategory.REVOLVING_SUB_ACCOUNT, 1, "1500000.00"),
            (LoanCategory.FACTORING, 1, "2000000.00"),
        ]
        assert [b.category for b in report.guarantees] == [
            GuaranteeCategory.BANK_ACCEPTANCE,
            GuaranteeCategory.LETTER_OF_GUARANTEE,
        ]
        assert report.loan_balance == Money.of("11500000.00")
        assert report.reported_at.isoformat() == "2026-11-20T10:15:32+08:00"
        assert not report.has_overdue
        assert not report.has_bad_debt

    def test_amounts_in_wan_yuan_are_scaled_exactly_and_bad_debt_is_flagged(self, received_at):
        report = pboc_report_to_canonical(
            _raw("pboc_report_wan_bad_debt.json"), received_at=received_at
        )

        assert report.report_no == "RP20261120000000000077"
        assert report.loans[0].balance == Money.of("12005000.00")  # "１，２００.５" 万元
        assert report.loan_balance == Money.of("13000000")  # no total given: Σ categories
        assert report.overdue_amount == Money.of("456700")
        assert report.five_tier.non_performing == Money.of("3000000")
        assert report.has_overdue
        assert report.has_bad_debt

    def test_every_inconsistency_is_reported_together(self, received_at):
        document = _json("pboc_report.json")
        document["reportHeader"]["reportTime"] = "2026-11-31 10:00:00"
        loans = document["summary"]["loans"]
        loans["outstanding"][1]["type"] = "信用卡"
        loans["outstanding"][2]["balance"] = "-1"
        document["summary"]["guarantees"]["totalBalance"] = "1900000.00"
        document["summary"]["guarantees"]["outstanding"].append(
            {"type": "银行承兑汇票", "accounts": 1, "balance": "0"}
        )
        document["identity"]["zhongzhengCode"] = "12345"

        assert _problems(pboc_report_to_canonical, _encode(document), received_at) == [
            ("/reportHeader/reportTime", "is not a real date-time (day is out of range for month)"),
            ("/identity/zhongzhengCode", "a 中征码 is 16 letters and digits"),
            ("/summary/loans/outstanding/1/type", "unknown loan type"),
            ("/summary/loans/outstanding/2/balance", "must not be negative"),
            ("/summary/guarantees/outstanding/2/type", "guarantee type listed twice"),
        ]

    def test_totals_that_do_not_add_up_are_errors_never_fixed(self, received_at):
        document = _json("pboc_report.json")
        document["summary"]["loans"]["totalBalance"] = "11,500,000.02"
        document["summary"]["guarantees"]["totalBalance"] = "1800000.02"  # 0.01 is tolerated

        assert _problems(pboc_report_to_canonical, _encode(document), received_at) == [
            ("/summary/loans/totalBalance", "is not the sum of the categories (11500000.00)"),
            ("/summary/guarantees/totalBalance", "is not the sum of the categories (1800000.00)"),
        ]

    def test_the_tolerance_is_configurable(self, received_at):
        document = _json("pboc_report.json")
        document["summary"]["loans"]["totalBalance"] = "11,500,000.02"
        document["summary"]["loans"]["fiveTier"]["normal"] = "11000000.02"

        report = pboc_report_to_canonical(
            _encode(document), received_at=received_at, tolerance=Decimal("0.05")
        )
        assert report.loan_balance == Money.of("11500000.02")

    def test_five_tier_split_must_match_the_loan_balance(self, received_at):
        document = _json("pboc_report.json")
        document["summary"]["loans"]["fiveTier"]["loss"] = "100"

        assert _problems(pboc_report_to_canonical, _encode(document), received_at) == [
            ("/summary/loans/fiveTier", "adds up to 11500100.00, not the loan balance 11500000.00")
        ]


class TestValueParsers:
    @pytest.mark.parametrize(
        ("text", "amount", "currency"),
        [
            ("5000万元人民币", "50000000.00", "CNY"),
            ("100万美元", "1000000.00", "USD"),
            ("1000万人民币", "10000000.00", "CNY"),
            ("1.2亿元", "120000000.00", "CNY"),
            ("3,000万(元)", "30000000.00", "CNY"),
            ("５０００万元", "50000000.00", "CNY"),
            ("12.3456万港元", "123456.00", "HKD"),
            ("100 万 欧元", "1000000.00", "EUR"),
            ("800000", "800000.00", "CNY"),
            ("0.000001万元", "0.01", "CNY"),
        ],
    )
    def test_registered_capital_text_becomes_exact_money(self, text, amount, currency):
        money = capital(text)
        assert (str(money.amount), money.currency) == (amount, currency)

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("一千万", "is not a capital amount (expected e.g. 5000万元人民币)"),
            ("-5万", "is not a capital amount (expected e.g. 5000万元人民币)"),
            ("1e5万", "is not a capital amount (expected e.g. 5000万元人民币)"),
            ("100万卢布币", "unknown currency '卢布币'"),
            ("0.0000001万", "is not a whole number of fen once scaled"),
            ("9" * 12 + "万", "is out of range (magnitude must be below 10^15)"),
        ],
    )
    def test_capital_text_that_cannot_be_exact_is_refused(self, text, reason):
        with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
            capital(text)

    @pytest.mark.parametrize(
        ("text", "status"),
        [
            ("存续（在营、开业、在册）", EnterpriseStatus.ACTIVE),
            ("在业", EnterpriseStatus.ACTIVE),
            ("开业", EnterpriseStatus.ACTIVE),
            ("注销", EnterpriseStatus.CANCELLED),
            ("吊销，未注销", EnterpriseStatus.REVOKED),
            ("吊销，已注销", EnterpriseStatus.CANCELLED),
            ("迁出", EnterpriseStatus.OTHER),
        ],
    )
    def test_registration_statuses_are_normalised(self, text, status):
        assert enterprise_status(text) is status

    @pytest.mark.parametrize(
        ("value", "iso"),
        [
            ("2026-11-20 10:15:32", "2026-11-20T10:15:32+08:00"),
            ("2026/1/5 8:05:00", "2026-01-05T08:05:00+08:00"),
            ("20261120101532", "2026-11-20T10:15:32+08:00"),
            ("2026年11月20日 10:15", "2026-11-20T10:15:00+08:00"),
            ("2026-11-20T02:15:32Z", "2026-11-20T02:15:32+00:00"),
            ("2026-11-20", "2026-11-20T00:00:00+08:00"),
            (1331913600000, "2012-03-17T00:00:00+08:00"),
        ],
    )
    def test_moments_without_offset_are_china_time(self, value, iso):
        assert moment(value).isoformat() == iso


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))


def _outcome(mapper: Mapper, raw: bytes, received_at) -> str:
    try:
        mapper(raw, received_at=received_at)
    except MappingError as exc:
        if any(p.reason.startswith("unexpected ") for p in exc.problems):
            return f"crashed inside the mapper: {exc}"
        return "refused" if exc.problems else "refused without a problem"
    return "mapped"


FUZZED = [
    ("qcc_basic_details.json", qcc_to_canonical),
    ("tianyancha_baseinfo.json", tianyancha_to_canonical),
    ("pboc_report.json", pboc_report_to_canonical),
]
WRONG_VALUES = [None, True, [], {}, "", "垃圾", -1, 10**30, "1e400", 1.5, "９９９９"]


class TestOnlyMappingErrorEscapes:
    @pytest.mark.parametrize(("name", "mapper"), FUZZED)
    def test_every_truncation_is_a_mapping_error(self, name, mapper, received_at):
        raw = _raw(name)
        for end in range(0, len(raw) - 2, 7):
            assert _outcome(mapper, raw[:end], received_at) == "refused"

    @pytest.mark.parametrize(("name", "mapper"), FUZZED)
    def test_random_byte_flips_never_escape_as_another_exception(self, name, mapper, received_at):
        raw = _raw(name)
        rng = random.Random(20261120)
        for _ in range(400):
            corrupted = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
            assert _outcome(mapper, bytes(corrupted), received_at) in ("mapped", "refused")

    @pytest.mark.parametrize(("name", "mapper"), FUZZED)
    def test_any_field_swapped_for_a_wrong_type_only_raises_mapping_error(
        self, name, mapper, received_at
    ):
        document = _json(name)
        for path in list(_leaves(document))[1:]:
            for replacement in WRONG_VALUES:
                mutated = copy.deepcopy(document)
                holder = mutated
                for step in path[:-1]:
                    holder = holder[step]
                holder[path[-1]] = replacement
                assert _outcome(mapper, _encode(mutated), received_at) in ("mapped", "refused")

    @pytest.mark.parametrize(("name", "mapper"), FUZZED)
    @pytest.mark.parametrize("encoding", ["utf-16-le", "utf-32-be", "latin-1"])
    def test_wrong_encodings_are_mapping_errors(self, name, mapper, encoding, received_at):
        text = _raw(name).decode("utf-8")
        raw = text.encode(encoding, errors="replace")
        assert _outcome(mapper, raw, received_at) in ("mapped", "refused")

    @pytest.mark.parametrize("raw", [None, "{}", 42, b"", b"[]", b"<x/>", b"{" * 50_000])
    def test_non_documents_are_mapping_errors(self, raw, received_at):
        for _, mapper in FUZZED:
            assert _outcome(mapper, raw, received_at) == "refused"


class TestRecognise:
    @pytest.mark.parametrize("format_name", sorted(OWN_FIXTURES))
    def test_each_format_recognises_its_own_fixtures(self, format_name):
        for name in OWN_FIXTURES[format_name]:
            assert FORMATS[format_name].recognise(_raw(name)), name

    @pytest.mark.parametrize("format_name", sorted(OWN_FIXTURES))
    def test_each_format_rejects_every_other_fixture(self, format_name):
        own = set(OWN_FIXTURES[format_name])
        others = [
            p
            for p in FIXTURES.rglob("*")
            if p.is_file() and p.name not in own and not p.name.endswith(".expected.json")
        ]
        assert len(others) > 10
        for path in others:
            assert not FORMATS[format_name].recognise(path.read_bytes()), path.name

    def test_recognise_never_raises(self):
        for fmt in FORMATS.values():
            assert fmt.recognise(None) is False  # type: ignore[arg-type]
            assert fmt.recognise(b"") is False

    def test_formats_are_in_the_credit_family(self):
        assert {f.family for f in FORMATS.values()} == {"credit"}
        assert sorted(FORMATS) == ["pboc-credit-report", "qcc-enterprise", "tianyancha-enterprise"]
