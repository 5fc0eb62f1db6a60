"""camt.054 debit/credit notifications <-> canonical, from hand-written bank notifications."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python

from canonical import MappingError, Money, Provenance
from canonical.payments import (
    AccountNotification,
    Counterparty,
    DebitCreditNotification,
    EntryDirection,
    EntryStatus,
    EntryTransaction,
    NotificationEntry,
)
from mappings.camt054 import (
    INBOUND,
    OUTBOUND,
    camt054_to_canonical,
    canonical_to_camt054,
    recognise_camt054,
    validate_camt054,
)

CHINA = timezone(timedelta(hours=8))
RECEIVED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=CHINA)
FIXTURES = Path(__file__).parent / "fixtures"
PAYMENTS = FIXTURES / "payments"
XSD = Path(__file__).parents[2] / "mappings" / "schemas" / "camt.054.001.08.xsd"
NAMES = [
    "camt054_disbursements_booked",
    "camt054_repayment_gbk_prefixed",
    "camt054_returned_bom_no_namespace",
]
BOOKED = "camt054_disbursements_booked.xml"
NTRY = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry"


def _read(raw: bytes) -> DebitCreditNotification:
    return camt054_to_canonical(raw, received_at=RECEIVED_AT)


def _fixture(name: str) -> bytes:
    return (PAYMENTS / name).read_bytes()


def _problems(raw: bytes) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        _read(raw)
    assert caught.value.source == "camt.054"
    return [(p.path, p.reason) for p in caught.value.problems]


def _without_provenance(notification: DebitCreditNotification) -> dict[str, object]:
    return notification.model_dump(exclude={"provenance"})


class TestNotifications:
    @pytest.mark.parametrize("name", NAMES)
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name):
        result = _read(_fixture(f"{name}.xml"))

        expected = json.loads((PAYMENTS / f"{name}.expected.json").read_text(encoding="utf-8"))
        assert to_jsonable_python(result) == expected

    def test_the_namespaced_fixture_is_valid_camt054(self):
        xmlschema.XMLSchema(str(XSD)).validate(_fixture(BOOKED).decode())
        validate_camt054(_fixture(BOOKED))

    def test_a_disbursement_is_found_by_its_end_to_end_id_in_a_batch_entry(self):
        notification = _read(_fixture(BOOKED))

        (entry,) = notification.entries_for("DSB-2026-000103")
        assert (entry.amount, entry.direction, entry.status) == (
            Money.of("151500.00"),
            EntryDirection.DEBIT,
            EntryStatus.PENDING,
        )
        assert entry.end_to_end_ids == ("DSB-2026-000102", "DSB-2026-000103")
        assert notification.entries_for("DSB-2026-999999") == ()

    def test_a_returned_disbursement_names_the_seller_and_the_return_reason(self):
        (entry,) = _read(_fixture("camt054_returned_bom_no_namespace.xml")).entries_for(
            "DSB-2026-000102"
        )

        assert (entry.reversal, entry.direction) == (True, EntryDirection.CREDIT)
        (tx,) = entry.transactions
        assert tx.counterparty == Counterparty(
            name="江苏示例物流有限公司",
            account_number="32250198883600000567",
            bank_code="105305000016",
        )
        assert (tx.return_code, tx.return_info) == ("AC04", "收款账户已销户 closed account")

    def test_provenance_keeps_the_sm3_of_the_original_bytes(self):
        raw = _fixture("camt054_repayment_gbk_prefixed.xml")

        provenance = _read(raw).provenance
        assert provenance.source_system == "camt.054"
        assert provenance.source_document_id == "ICBC-NTF-20261125-7781"
        assert provenance.fingerprint == __import__("hashlib").new("sm3", raw).hexdigest()

    def test_utf8_bytes_declared_gbk_read_like_the_gbk_original(self):
        gbk = _fixture("camt054_repayment_gbk_prefixed.xml")
        utf8 = gbk.decode("gbk").encode("utf-8")  # the declaration still says GBK

        assert _without_provenance(_read(utf8)) == _without_provenance(_read(gbk))

    def test_gbk_bytes_without_a_declaration_read_like_the_declared_original(self):
        gbk = _fixture("camt054_repayment_gbk_prefixed.xml")
        undeclared = gbk.replace(b'<?xml version="1.0" encoding="GBK"?>\n', b"")

        assert _without_provenance(_read(undeclared)) == _without_provenance(_read(gbk))

    def test_a_datetime_booking_date_is_the_china_calendar_day(self):
        raw = _fixture(BOOKED).replace(
            b"<BookgDt><Dt>2026-11-20</Dt></BookgDt>",
            b"<BookgDt><DtTm>2026-11-20T17:30:00Z</DtTm></BookgDt>",
        )

        entry = _read(raw).notifications[0].entries[0]
        assert entry.booking_date == date(2026, 11, 21)


class TestProblems:
    def test_every_problem_of_a_notification_is_listed_with_its_path(self):
        raw = (
            _fixture(BOOKED)
            .replace(b"<MsgId>CMBNTF20261120000031</MsgId>", b"<MsgId></MsgId>")
            .replace(b'<Amt Ccy="CNY">120000.00</Amt>', b'<Amt Ccy="CNY">12O000.00</Amt>')
            .replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>", 1)
            .replace(b"<Cd>PDNG</Cd>", b"<Cd>WAIT</Cd>")
            .replace(b"<ValDt><Dt>2026-11-21</Dt></ValDt>", b"<ValDt><Dt>2026-02-30</Dt></ValDt>")
            .replace(b'<Amt Ccy="CNY">51500.00</Amt>', '<Amt Ccy="元">51500.001</Amt>'.encode())
        )

        assert _problems(raw) == [
            ("/Document/BkToCstmrDbtCdtNtfctn/GrpHdr/MsgId", "is required"),
            (f"{NTRY}[1]/Amt", "is not a decimal number"),
            (f"{NTRY}[1]/CdtDbtInd", "must be one of CRDT, DBIT"),
            (f"{NTRY}[2]/Sts/Cd", "must be one of BOOK, PDNG, INFO, FUTR"),
            (f"{NTRY}[2]/ValDt/Dt", "is not a real date (day is out of range for month)"),
            (f"{NTRY}[2]/NtryDtls[1]/TxDtls[1]/Amt", "has more than 2 decimals"),
            (
                f"{NTRY}[2]/NtryDtls[1]/TxDtls[1]/Amt/@Ccy",
                "must be a three-letter ISO 4217 currency code",
            ),
        ]

    def test_amounts_and_summaries_that_do_not_add_up_are_errors_not_fixed(self):
        raw = (
            _fixture(BOOKED)
            .replace(b'<Amt Ccy="CNY">100000.00</Amt>', b'<Amt Ccy="CNY">100000.50</Amt>')
            .replace(
                b"<TtlNtries><NbOfNtries>2</NbOfNtries>", b"<TtlNtries><NbOfNtries>3</NbOfNtries>"
            )
        )

        summary = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/TxsSummry"
        assert _problems(raw) == [
            (f"{NTRY}[2]/Amt", "the transactions add up to 151500.50, not to the entry amount"),
            (f"{summary}/TtlNtries/NbOfNtries", "says 3 but there are 2"),
        ]

    def test_a_summary_sum_that_disagrees_with_the_entries_is_an_error(self):
        raw = _fixture(BOOKED).replace(b"<Sum>271500.00</Sum>", b"<Sum>271500.02</Sum>")

        assert _problems(raw) == [
            (
                "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/TxsSummry/TtlDbtNtries/Sum",
                "the entries add up to 271500.00",
            )
        ]

    def test_missing_account_status_and_bank_code_are_all_listed(self):
        raw = (
            _fixture("camt054_returned_bom_no_namespace.xml")
            .replace(
                b"<Acct><Id><Othr><Id>755912345610801</Id></Othr></Id><Ccy>CNY</Ccy></Acct>", b""
            )
            .replace(b"<Sts><Prtry>BOOK</Prtry></Sts>", b"")
            .replace(
                b"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN"
                b"</SubFmlyCd></Fmly></Domn></BkTxCd>",
                b"<BkTxCd/>",
            )
        )

        base = "/BkToCstmrDbtCdtNtfctn/Ntfctn[1]"
        assert _problems(raw) == [
            (f"{base}/Acct", "is required"),
            (f"{base}/Ntry[1]/Sts", "is required"),
            (f"{base}/Ntry[1]/BkTxCd", "is required: Domn or Prtry/Cd"),
        ]

    def test_another_message_type_is_refused(self):
        raw = _fixture(BOOKED).replace(b"camt.054.001.08", b"pain.002.001.10")

        assert _problems(raw)[0] == (
            "/Document",
            "namespace 'urn:iso:std:iso:20022:tech:xsd:pain.002.001.10' is not a "
            "camt.054 namespace",
        )

    @pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe.xml"])
    def test_entity_tricks_are_refused(self, name):
        assert _problems((FIXTURES / name).read_bytes()) == [
            ("", "DOCTYPE and entity declarations are refused (XXE / entity expansion)")
        ]

    def test_a_naive_receive_time_is_refused(self):
        with pytest.raises(MappingError) as caught:
            camt054_to_canonical(_fixture(BOOKED), received_at=datetime(2026, 11, 20))

        assert [p.path for p in caught.value.problems] == ["received_at"]


def _outcome(raw: object) -> str:
    try:
        _read(raw)  # type: ignore[arg-type]
    except MappingError as exc:
        crashed = [p for p in exc.problems if p.reason.startswith("unexpected ")]
        return f"crashed: {crashed}" if crashed else "refused"
    return "mapped"


class TestFuzzing:
    @pytest.mark.parametrize("name", [f"{n}.xml" for n in NAMES])
    def test_truncated_documents_only_raise_mapping_error(self, name):
        raw = _fixture(name)
        for cut in range(0, len(raw), 37):
            assert _outcome(raw[:cut]) in ("refused", "mapped"), cut

    def test_random_byte_flips_only_raise_mapping_error(self):
        rng = random.Random(54)
        raw = bytearray(_fixture(BOOKED))
        for _ in range(300):
            mutated = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            assert _outcome(bytes(mutated)) in ("refused", "mapped")

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "-5.00",
            "1e999",
            "9" * 40,
            "NaN",
            "Infinity",
            "0x10",
            "１,２３４.５６",
            "<x/>",
            "true",
        ],
    )
    def test_odd_amounts_are_refused_or_read_never_crash(self, value):
        raw = _fixture(BOOKED).replace(b"120000.00</Amt>", value.encode() + b"</Amt>")
        assert _outcome(raw) in ("refused", "mapped")

    @pytest.mark.parametrize(
        "raw", [None, "text", 42, b"", b"\xff\xfe\x00", "<a/>".encode("utf-16")]
    )
    def test_wrong_arguments_and_encodings_raise_mapping_error(self, raw):
        assert _outcome(raw) == "refused"


class TestRecognition:
    @pytest.mark.parametrize("name", [f"{n}.xml" for n in NAMES])
    def test_camt054_fixtures_are_recognised(self, name):
        assert recognise_camt054(_fixture(name))

    def test_other_families_are_not_recognised(self):
        others = [
            p
            for p in [*FIXTURES.glob("*.*"), *PAYMENTS.glob("*")]
            if p.is_file() and not p.name.startswith("camt054")
        ]
        assert others
        assert not [p.name for p in others if recognise_camt054(p.read_bytes())]

    def test_the_catalogue_records_describe_the_format(self):
        (inbound,) = INBOUND
        (outbound,) = OUTBOUND
        assert (inbound.name, inbound.family, outbound.name) == ("camt054", "bank", "camt054")
        assert inbound.read(_fixture(BOOKED), RECEIVED_AT) == _read(_fixture(BOOKED))
        assert outbound.model is DebitCreditNotification


# --- round trip -------------------------------------------------------------------------------

_WORD = (
    st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-保理放款还款银行", min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
_REF = _WORD.map(lambda s: s[:35])
_OPTIONAL = st.one_of(st.just(""), _REF)
_MONEY = st.builds(
    lambda cents, ccy: Money(amount=Decimal(cents).scaleb(-2), currency=ccy),
    st.integers(min_value=0, max_value=10**14),
    st.sampled_from(["CNY", "CNY", "USD"]),
)
_DAY = st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
_MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 1, 1),
    timezones=st.sampled_from([CHINA, UTC, timezone(timedelta(hours=-5))]),
)
_COUNTERPARTY = st.one_of(
    st.none(),
    st.builds(
        Counterparty,
        name=_WORD,
        account_number=st.one_of(st.just(""), st.from_regex(r"[0-9]{6,30}", fullmatch=True)),
        bank_code=st.one_of(st.just(""), st.from_regex(r"[0-9]{12}", fullmatch=True)),
        bank_name=st.one_of(st.just(""), _WORD),
    ),
)
_TRANSACTION = st.builds(
    EntryTransaction,
    end_to_end_id=_OPTIONAL,
    instruction_id=_OPTIONAL,
    account_servicer_reference=_OPTIONAL,
    message_id=_OPTIONAL,
    payment_information_id=_OPTIONAL,
    transaction_id=_OPTIONAL,
    amount=st.none(),
    counterparty=_COUNTERPARTY,
    remittance=st.lists(_WORD, max_size=2).map(tuple),
    return_code=_OPTIONAL,
    return_info=st.one_of(st.just(""), _WORD),
)
_ENTRY = st.builds(
    NotificationEntry,
    entry_reference=_OPTIONAL,
    amount=_MONEY,
    direction=st.sampled_from(EntryDirection),
    reversal=st.booleans(),
    status=st.sampled_from(EntryStatus),
    booking_date=_DAY,
    value_date=_DAY,
    account_servicer_reference=_OPTIONAL,
    bank_transaction_code=st.one_of(st.just("PMNT/ICDT/DMCT"), st.just("PMNT/RCDT/DMCT"), _REF),
    transactions=st.lists(_TRANSACTION, max_size=1).map(tuple),
    additional_info=st.one_of(st.just(""), _WORD),
)
_NOTIFICATION = st.builds(
    AccountNotification,
    notification_id=_REF,
    created_at=st.one_of(st.none(), _MOMENT),
    account_number=st.from_regex(r"[0-9]{6,30}", fullmatch=True),
    account_currency=st.sampled_from(["", "CNY"]),
    account_name=st.one_of(st.just(""), _WORD),
    entries=st.lists(_ENTRY, max_size=3).map(tuple),
)
_MESSAGE = st.builds(
    DebitCreditNotification,
    message_id=_REF,
    created_at=_MOMENT,
    notifications=st.lists(_NOTIFICATION, min_size=1, max_size=2).map(tuple),
    provenance=st.just(Provenance(source_system="test", source_document_id="x")),
)


class TestRoundTrip:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_MESSAGE)
    def test_writing_then_reading_gives_back_the_same_notification(self, notification):
        xml = canonical_to_camt054(notification)  # validated against the XSD inside

        assert _without_provenance(_read(xml)) == _without_provenance(notification)

    def test_the_writer_refuses_text_xml_cannot_carry(self):
        notification = _read(_fixture(BOOKED))
        broken = notification.model_copy(update={"message_id": "MSG\x01"})

        with pytest.raises(MappingError) as caught:
            canonical_to_camt054(broken)
        assert [(p.path, p.reason) for p in caught.value.problems] == [
            ("message_id", "contains characters XML cannot carry")
        ]

    def test_a_fixture_survives_writing_and_reading(self):
        notification = _read(_fixture(BOOKED))

        again = _read(canonical_to_camt054(notification))
        assert _without_provenance(again) == _without_provenance(notification)
