"""中登网 registration records and search certificates in; the 保理 registration request out."""

from __future__ import annotations

import calendar
import copy
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from canonical import MappingError, Money, Party, PartyRole
from canonical.registry import (
    BusinessType,
    MainContract,
    RegistrationKind,
    RegistrationState,
    RegistryIdType,
    RegistryPartyKind,
)
from canonical.uscc import USCC_ALPHABET, uscc_check_char
from mappings.zhongdeng import (
    INBOUND,
    OUTBOUND,
    RegistrantDetails,
    ZhongdengRegistrationRequest,
    add_months,
    canonical_to_zhongdeng_request,
    zhongdeng_record_to_canonical,
    zhongdeng_request_from_json,
    zhongdeng_search_to_canonical,
)
from simulators.registry.models import RegistrationRequest as SimulatorRequest

FIXTURES = Path(__file__).parent / "fixtures"
ZHONGDENG = FIXTURES / "zhongdeng"
GOLDEN = {
    "registration_record.json": zhongdeng_record_to_canonical,
    "registration_record_messy.json": zhongdeng_record_to_canonical,
    "registration_record_gbk.json": zhongdeng_record_to_canonical,
    "search_certificate.json": zhongdeng_search_to_canonical,
    "search_certificate_empty.json": zhongdeng_search_to_canonical,
}
DESCRIPTION = "转让人对上海示例制造股份有限公司的应收账款，发票号码26322000000987654321"
SELLER = Party(name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER)
FACTOR = Party(name="深圳示例商业保理有限公司", uscc="91330106569821743D", role=PartyRole.FACTOR)


def _raw(name: str) -> bytes:
    return (ZHONGDENG / name).read_bytes()


def _json(name: str) -> Any:
    return json.loads(_raw(name).decode("utf-8"))


def _encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, default=str).encode()


def _problems(mapper: Callable[..., Any], raw: bytes, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        mapper(raw, **kwargs)
    return [(p.path, p.reason) for p in caught.value.problems]


def _request(**changes: Any) -> ZhongdengRegistrationRequest:
    fields: dict[str, Any] = {
        "filer_reference": "FR-2026-0001",
        "assignor": SELLER,
        "assignee": FACTOR,
        "property_description": DESCRIPTION,
        "period_months": 12,
        "main_contract": MainContract(number="BL-2026-0001", amount=Money.of("1130000.00")),
        "invoices": ("26322000000987654321",),
    }
    fields.update(changes)
    return ZhongdengRegistrationRequest.model_validate(fields)


class TestGoldenOutputs:
    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name, received_at):
        result = GOLDEN[name](_raw(name), received_at=received_at)
        expected = json.loads((ZHONGDENG / name.replace(".json", ".expected.json")).read_text())

        assert to_jsonable_python(result) == expected
        assert result.provenance.fingerprint == hashlib.new("sm3", _raw(name)).hexdigest()


class TestRecord:
    def test_the_receipt_keeps_the_modification_code_out_of_repr(self, received_at):
        record = zhongdeng_record_to_canonical(
            _raw("registration_record.json"), received_at=received_at
        )

        assert record.modification_code == "K7QZ3M9A"
        assert "K7QZ3M9A" not in repr(record)
        assert record.kind is RegistrationKind.INITIAL
        assert record.business_type is BusinessType.FACTORING
        assert record.expires_on == date(2027, 11, 20)
        assert record.assignor.province == "江苏省"

    def test_messy_record_folds_full_width_ids_and_clamps_month_ends(self, received_at):
        record = zhongdeng_record_to_canonical(
            _raw("registration_record_messy.json"), received_at=received_at
        )

        assert record.registration_no == "0451202611200009877"
        assert record.assignor.id_number == "9132050571358240X0"
        assert record.kind is RegistrationKind.EXTENSION
        assert record.expires_on == date(2026, 2, 28)  # 31 Jan + 1 month
        assert record.main_contract.amount == Money.of("1285000.50")

    def test_an_individual_assignor_is_identified_by_resident_id(self, received_at):
        record = zhongdeng_record_to_canonical(
            _raw("registration_record_gbk.json"), received_at=received_at
        )

        assert record.assignor.kind is RegistryPartyKind.INDIVIDUAL
        assert record.assignor.id_type is RegistryIdType.RESIDENT_ID
        assert record.assignor.id_number == "11010519491231002X"
        assert record.state is RegistrationState.CANCELLED

    def test_every_bad_field_is_reported_together_with_its_path(self, received_at):
        document = _json("registration_record.json")
        document["expires_at"] = "2027-11-21"
        document["business_type"] = "典当"
        document["assignor"]["uscc"] = "91320594794160355Z"
        document["assignee"] = "深圳示例商业保理有限公司"
        document["main_contract"]["amount"] = "1,000,000.005"
        document["registration_type"] = "变更登记"

        assert _problems(
            zhongdeng_record_to_canonical, _encode(document), received_at=received_at
        ) == [
            ("/original_registration_no", "is required for a 变更登记"),
            ("/business_type", "unknown business type"),
            ("/expires_at", "is not the registration date plus 12 months (2027-11-20)"),
            (
                "/assignor/uscc",
                "invalid 统一社会信用代码: characters 'Z' are not in the USCC alphabet",
            ),
            ("/assignee", "must be an object"),
            ("/main_contract/amount", "must be whole fen"),
        ]

    def test_a_period_outside_one_month_to_thirty_years_is_refused(self, received_at):
        document = _json("registration_record.json")
        document["period_months"] = 361

        assert _problems(
            zhongdeng_record_to_canonical, _encode(document), received_at=received_at
        ) == [("/period_months", "must be 1 to 360 months")]


class TestSearchCertificate:
    def test_hits_are_listed_with_their_parties_and_state(self, received_at):
        certificate = zhongdeng_search_to_canonical(
            _raw("search_certificate.json"), received_at=received_at
        )

        assert certificate.criteria.assignor_name == "苏州示例新材料有限公司"
        assert certificate.searched_at.isoformat() == "2026-11-20T10:05:11+08:00"
        assert [h.registration_no for h in certificate.hits] == [
            "04512025060100000777",
            "04512024010200000001",
        ]
        assert [h.state for h in certificate.hits] == [
            RegistrationState.ACTIVE,
            RegistrationState.EXPIRED,
        ]
        assert certificate.hits[1].invoice_numbers == ("24322000000000000001",)

    def test_a_total_that_disagrees_with_the_list_and_bad_hits_are_reported(self, received_at):
        document = _json("search_certificate.json")
        document["total"] = 3
        document["registrations"][1]["registered_at"] = "昨天"
        document["query"] = {"assignor_name": "", "assignor_uscc": None}

        assert _problems(
            zhongdeng_search_to_canonical, _encode(document), received_at=received_at
        ) == [
            ("/query", "names no assignor and no registration number"),
            ("/registrations/1/registered_at", "is not a date-time (expected YYYY-MM-DD HH:MM:SS)"),
            ("/total", "says 3 registrations but 2 are listed"),
        ]


class TestRegistrationRequest:
    def test_a_plain_filing_is_exactly_what_the_registry_simulator_accepts(self):
        body = canonical_to_zhongdeng_request(_request())

        assert json.loads(body) == {
            "filer_reference": "FR-2026-0001",
            "business_type": "保理",
            "assignor": {"name": "苏州示例新材料有限公司", "uscc": "91320594794160355G"},
            "assignee": {"name": "深圳示例商业保理有限公司", "uscc": "91330106569821743D"},
            "property_description": DESCRIPTION,
            "period_months": 12,
            "main_contract": {"number": "BL-2026-0001", "currency": "CNY", "amount": "1130000.00"},
            "invoices": ["26322000000987654321"],
        }
        SimulatorRequest.model_validate_json(body)  # the simulator's strict model

    def test_the_full_field_set_is_written_when_given(self):
        details = RegistrantDetails(
            legal_representative="王建国",
            industry="制造业",
            size="中型",
            province="江苏省",
            city="苏州市",
            address="星湖街328号",
        )
        request = _request(
            kind=RegistrationKind.CHANGE,
            original_registration_no="04512026112000123456",
            assignor_details=details,
            receivables_amount=Money.of("1130000.00"),
            main_contract=MainContract(
                number="BL-1",
                amount=Money.of("10.00"),
                starts_on=date(2026, 11, 20),
                ends_on=date(2027, 5, 19),
            ),
            attachments=("发票清单.pdf",),
        )
        body = json.loads(canonical_to_zhongdeng_request(request))

        assert body["registration_type"] == "变更登记"
        assert body["original_registration_no"] == "04512026112000123456"
        assert body["assignor"] == {
            "name": "苏州示例新材料有限公司",
            "uscc": "91320594794160355G",
            "legal_representative": "王建国",
            "industry": "制造业",
            "scale": "中型",
            "address": {"province": "江苏省", "city": "苏州市", "detail": "星湖街328号"},
        }
        assert body["main_contract"]["term_end"] == "2027-05-19"
        assert body["receivables_amount"] == {"currency": "CNY", "amount": "1130000.00"}
        assert zhongdeng_request_from_json(canonical_to_zhongdeng_request(request)) == request

    @pytest.mark.parametrize(
        ("changes", "fragment"),
        [
            ({"assignor": FACTOR}, "the assignor (担保人) must be the SELLER"),
            ({"assignee": SELLER}, "the assignee (担保权人) must be the FACTOR"),
            ({"kind": RegistrationKind.EXTENSION}, "original_registration_no is required"),
            ({"original_registration_no": "123"}, "original_registration_no is required"),
            ({"receivables_amount": Money.of("0.001")}, "receivables amount must be positive"),
            ({"main_contract": MainContract(number="X")}, "needs its number and amount"),
            ({"period_months": 0}, "greater than or equal to 1"),
            ({"property_description": " 前后空格 "}, "must not start or end with whitespace"),
        ],
    )
    def test_requests_the_registry_would_refuse_cannot_be_built(self, changes, fragment):
        with pytest.raises(ValidationError, match=re.escape(fragment)):
            _request(**changes)

    def test_writing_anything_but_a_request_is_a_mapping_error(self):
        with pytest.raises(MappingError):
            canonical_to_zhongdeng_request({"filer_reference": "x"})  # type: ignore[arg-type]

    def test_a_request_read_back_reports_every_problem(self):
        body = json.loads(canonical_to_zhongdeng_request(_request()))
        body["assignor"]["uscc"] = "123"
        body["period_months"] = "十二"
        body["business_type"] = "抵押"

        assert _problems(zhongdeng_request_from_json, _encode(body)) == [
            ("/assignor/uscc", "invalid 统一社会信用代码: must be 18 characters, got 3"),
            ("/business_type", "unknown business type"),
            ("/period_months", "must be a non-negative integer below 10^9"),
        ]


_HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_NAMES = st.text(_HAN, min_size=2, max_size=30)
_CODES = st.text(
    st.sampled_from("ABCDEFGHJKLMNPQRTUWXY0123456789-"), min_size=1, max_size=30
).filter(lambda s: s == s.strip())


@st.composite
def _usccs(draw: st.DrawFn) -> str:
    body = "9" + draw(st.text(st.sampled_from(USCC_ALPHABET), min_size=16, max_size=16))
    return body + uscc_check_char(body)


_MONEY = st.builds(
    lambda cents, currency: Money(amount=Decimal(cents).scaleb(-2), currency=currency),
    st.integers(min_value=1, max_value=10**14),
    st.sampled_from(["CNY", "USD", "HKD"]),
)
_DETAILS = st.builds(
    RegistrantDetails,
    kind=st.sampled_from(
        [
            RegistryPartyKind.ENTERPRISE,
            RegistryPartyKind.PUBLIC_INSTITUTION,
            RegistryPartyKind.OTHER,
        ]
    ),
    legal_representative=st.one_of(st.just(""), _NAMES),
    industry=st.one_of(st.just(""), _NAMES),
    size=st.sampled_from(["", "大型", "中型", "小型", "微型"]),
    province=st.one_of(st.just(""), _NAMES),
    address=st.one_of(st.just(""), _NAMES),
)
_DATES = st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 1, 1)))
_CONTRACTS = st.one_of(
    st.none(),
    st.builds(MainContract, number=_CODES, amount=_MONEY, starts_on=_DATES, ends_on=_DATES),
)


@st.composite
def _requests(draw: st.DrawFn) -> ZhongdengRegistrationRequest:
    kind = draw(st.sampled_from(list(RegistrationKind)))
    original = (
        ""
        if kind is RegistrationKind.INITIAL
        else draw(st.text(st.sampled_from("0123456789"), min_size=1, max_size=32))
    )
    contract = draw(_CONTRACTS)
    if (
        contract
        and contract.starts_on
        and contract.ends_on
        and (contract.ends_on < contract.starts_on)
    ):
        contract = contract.model_copy(update={"ends_on": contract.starts_on})
    return ZhongdengRegistrationRequest(
        filer_reference=draw(_CODES),
        kind=kind,
        business_type=draw(st.sampled_from(list(BusinessType))),
        original_registration_no=original,
        assignor=Party(name=draw(_NAMES), uscc=draw(_usccs()), role=PartyRole.SELLER),
        assignee=Party(name=draw(_NAMES), uscc=draw(_usccs()), role=PartyRole.FACTOR),
        assignor_details=draw(_DETAILS),
        assignee_details=draw(_DETAILS),
        property_description=draw(_NAMES),
        period_months=draw(st.integers(1, 360)),
        main_contract=contract,
        receivables_amount=draw(st.one_of(st.none(), _MONEY)),
        invoices=tuple(draw(st.lists(_CODES, max_size=4))),
        attachments=tuple(draw(st.lists(_NAMES, max_size=2))),
    )


class TestRoundTrip:
    @settings(max_examples=150, deadline=None)
    @given(_requests())
    def test_request_write_then_read_gives_back_an_equal_request(self, request):
        assert zhongdeng_request_from_json(canonical_to_zhongdeng_request(request)) == request

    @settings(max_examples=200, deadline=None)
    @given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 360))
    def test_add_months_lands_in_the_right_month_never_past_its_end(self, start, months):
        end = add_months(start, months)
        assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
        assert end.day == min(start.day, calendar.monthrange(end.year, end.month)[1])


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))


def _outcome(read: Callable[[bytes], Any], raw: Any) -> str:
    try:
        read(raw)
    except MappingError as exc:
        if any(p.reason.startswith("unexpected ") for p in exc.problems):
            return f"crashed inside the mapper: {exc}"
        return "refused" if exc.problems else "refused without a problem"
    return "mapped"


def _readers(received_at) -> dict[str, Callable[[bytes], Any]]:
    return {
        "registration_record.json": lambda raw: zhongdeng_record_to_canonical(
            raw, received_at=received_at
        ),
        "search_certificate.json": lambda raw: zhongdeng_search_to_canonical(
            raw, received_at=received_at
        ),
        "request": zhongdeng_request_from_json,
    }


def _document_bytes(name: str) -> bytes:
    return canonical_to_zhongdeng_request(_request()) if name == "request" else _raw(name)


WRONG_VALUES = [None, True, [], {}, "", "垃圾", -1, 10**30, "1e400", 1.5, "９９９９"]


class TestOnlyMappingErrorEscapes:
    @pytest.mark.parametrize(
        "name", ["registration_record.json", "search_certificate.json", "request"]
    )
    def test_truncations_flips_and_wrong_encodings_are_mapping_errors(self, name, received_at):
        read = _readers(received_at)[name]
        raw = _document_bytes(name)
        for end in range(0, len(raw) - 2, 5):
            assert _outcome(read, raw[:end]) == "refused"
        rng = random.Random(20261120)
        for _ in range(300):
            corrupted = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
            assert _outcome(read, bytes(corrupted)) in ("mapped", "refused")
        text = raw.decode("utf-8")
        for encoding in ("utf-16-le", "utf-32-be", "latin-1"):
            assert _outcome(read, text.encode(encoding, errors="replace")) in ("mapped", "refused")
        for junk in (None, "{}", b"", b"[]", b"{" * 50_000):
            assert _outcome(read, junk) == "refused"

    @pytest.mark.parametrize(
        "name", ["registration_record.json", "search_certificate.json", "request"]
    )
    def test_any_field_swapped_for_a_wrong_type_only_raises_mapping_error(self, name, received_at):
        read = _readers(received_at)[name]
        document = json.loads(_document_bytes(name))
        for path in list(_leaves(document))[1:]:
            for replacement in WRONG_VALUES:
                mutated = copy.deepcopy(document)
                holder = mutated
                for step in path[:-1]:
                    holder = holder[step]
                holder[path[-1]] = replacement
                assert _outcome(read, _encode(mutated)) in ("mapped", "refused")


class TestCatalogue:
    def test_inbound_formats_recognise_their_own_fixtures_and_no_other(self):
        formats = {f.name: f for f in INBOUND}
        own = {
            "zhongdeng-registration-record": {p.name for p in ZHONGDENG.glob("registration_*")},
            "zhongdeng-search-certificate": {p.name for p in ZHONGDENG.glob("search_*")},
        }
        every = [
            p for p in FIXTURES.rglob("*") if p.is_file() and not p.name.endswith(".expected.json")
        ]
        for name, fmt in formats.items():
            assert fmt.family == "registry"
            for path in every:
                assert fmt.recognise(path.read_bytes()) is (path.name in own[name]), path.name
            assert fmt.recognise(canonical_to_zhongdeng_request(_request())) is False
            assert fmt.recognise(None) is False  # type: ignore[arg-type]

    def test_the_outbound_format_validates_and_writes_its_model(self):
        (fmt,) = OUTBOUND
        assert fmt.name == "zhongdeng-registration-request"
        request = fmt.model.model_validate_json(json.dumps(to_jsonable_python(_request())))
        assert fmt.write(request) == canonical_to_zhongdeng_request(_request())
