"""e-CNY payment order out and final-state notify in (simulator contract, formats-outbound §2.3)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python

from canonical import (
    BankAccount,
    DisbursementInstruction,
    MappingError,
    Money,
    Party,
    PartyRole,
    PaymentStatus,
)
from mappings.ecny import (
    INBOUND,
    OUTBOUND,
    EcnyNotify,
    EcnyOrderRequest,
    EcnyPaymentOrder,
    ReleaseContract,
    SubWallet,
    canonical_to_ecny_order,
    ecny_answer_to_canonical,
    ecny_notify_to_canonical,
    ecny_order,
    read_ecny_notify,
    read_ecny_order,
    recognise_ecny_answer,
    recognise_ecny_notify,
    recognise_ecny_order,
    write_ecny_notify,
    write_ecny_order,
)

CHINA = timezone(timedelta(hours=8))
RECEIVED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=CHINA)
FIXTURES = Path(__file__).parent / "fixtures"
PAYMENTS = FIXTURES / "payments"
NOTIFIES = [
    "ecny_notify_settled",
    "ecny_notify_rejected_messy",
    "ecny_notify_presumed_failure_bom",
    "ecny_notify_presumed_success_gbk",
]
MSG_ID = "20261120104010000000000000000101"

FACTOR = Party(name="深圳示例商业保理有限公司", uscc="91330106569821743D", role=PartyRole.FACTOR)
SELLER = Party(name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER)
INSTRUCTION = DisbursementInstruction(
    id="DSB-2026-000101",
    request_id="FR-2026-0101",
    message_id="FH20261120-0001",
    amount=Money.of("120000.00"),
    debtor=FACTOR,
    debtor_account=BankAccount(number="755912345610801", name=FACTOR.name),
    creditor=SELLER,
    creditor_account=BankAccount(number="1102020309000123456", name=SELLER.name),
    execution_date=date(2026, 11, 20),
    remittance="保理融资放款 FR-2026-0101",
    created_at=datetime(2026, 11, 20, 10, 40, 10, tzinfo=CHINA),
)
REQUEST = EcnyOrderRequest(
    instruction=INSTRUCTION,
    msg_id=MSG_ID,
    payer_wallet_id="0021000012345678",
    payee_wallet_id="0031000087654321",
    expire_time=datetime(2026, 11, 20, 12, 40, tzinfo=CHINA),
    notify_url="https://hub.example.cn/v1/ingest/ecny-payment-notify",
)


def _notice(raw: bytes):
    return ecny_notify_to_canonical(raw, received_at=RECEIVED_AT)


def _problems(call, *args) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        call(*args)
    return [(p.path, p.reason) for p in caught.value.problems]


def _crashes(call) -> list[str]:
    """The reasons of "unexpected" problems: what guarded() caught from a bug in the mapper."""
    try:
        call()
    except MappingError as exc:
        return [p.reason for p in exc.problems if p.reason.startswith("unexpected")]
    return []


class TestOrder:
    def test_the_order_carries_the_instruction_ids_and_the_amount_in_yuan(self):
        body = json.loads(canonical_to_ecny_order(REQUEST))

        assert body == {
            "msgId": MSG_ID,
            "outTradeNo": "DSB-2026-000101",
            "payerWalletId": "0021000012345678",
            "payerWalletType": "WT09",
            "payeeWalletId": "0031000087654321",
            "payeeName": "苏州示例新材料有限公司",
            "payeeWalletType": "WT09",
            "amount": "120000.00",
            "ccy": "CNY",
            "bizTp": "C201",
            "purpose": "保理融资放款 FR-2026-0101",
            "expireTime": "2026-11-20T12:40:00+08:00",
            "notifyUrl": "https://hub.example.cn/v1/ingest/ecny-payment-notify",
        }

    def test_a_resend_of_the_same_instruction_is_byte_identical(self):
        assert canonical_to_ecny_order(REQUEST) == canonical_to_ecny_order(REQUEST)

    def test_sub_wallet_and_contract_are_written_nested(self):
        request = REQUEST.model_copy(
            update={
                "sub_wallet": SubWallet(
                    push_id="PUSH-01",
                    limit_amt=Decimal("5000.00"),
                    valid_until=datetime(2026, 12, 31, tzinfo=CHINA),
                ),
                "contract": ReleaseContract(
                    template_id="TPL-DELIVERY",
                    release_condition="签收后放款",
                    lock_until=datetime(2026, 12, 1, tzinfo=CHINA),
                ),
            }
        )
        body = json.loads(canonical_to_ecny_order(request))

        assert body["subWallet"] == {
            "pushId": "PUSH-01",
            "limitAmt": "5000.00",
            "validUntil": "2026-12-31T00:00:00+08:00",
        }
        assert body["contract"]["releaseCondition"] == "签收后放款"

    def test_what_the_platform_would_refuse_is_listed_together(self):
        instruction = INSTRUCTION.model_copy(
            update={"id": "DSB-2026-000101-RETRY-0000000000001", "amount": Money.of("0.005", "USD")}
        )
        request = REQUEST.model_copy(
            update={
                "instruction": instruction,
                "expire_time": datetime(2026, 11, 20, 9, 0, tzinfo=CHINA),
            }
        )

        assert _problems(ecny_order, request) == [
            ("instruction.amount.currency", "e-CNY pays CNY only"),
            ("instruction.amount", "has more than 2 decimals: a payment is never rounded here"),
            ("instruction.id", "is longer than the 32 characters outTradeNo allows"),
            ("expire_time", "must be after the instruction was created"),
        ]

    def test_the_simulator_reads_a_messy_order(self):
        body = json.loads(canonical_to_ecny_order(REQUEST))
        body.update(
            amount=120000,
            msgId=MSG_ID.translate({c: c + 0xFEE0 for c in range(48, 58)}),
            expireTime="2026-11-20 12:40:00",
            unknownKey=True,
        )
        order = read_ecny_order(json.dumps(body, ensure_ascii=False).encode("gb18030"))

        assert order == ecny_order(REQUEST)

    def test_bad_order_fields_are_reported_at_their_json_pointers(self):
        body = json.loads(canonical_to_ecny_order(REQUEST))
        body.update(amount="-1.00", msgId="123", expireTime="tomorrow", payerWalletType="WT01")
        del body["payeeWalletId"]

        assert _problems(read_ecny_order, json.dumps(body).encode()) == [
            ("/amount", "must not be negative"),
            (
                "/expireTime",
                "is not a date-time (expected YYYY-MM-DDThh:mm:ss, optionally with "
                "an offset, or yyyyMMddHHmmss)",
            ),
        ]
        body.update(amount="1.00", expireTime="2026-11-20T12:40:00+08:00")
        assert [p for p, _ in _problems(read_ecny_order, json.dumps(body).encode())] == [
            "/msgId",
            "/payerWalletType",
            "/payeeWalletId",
        ]


class TestNotify:
    @pytest.mark.parametrize("name", NOTIFIES)
    def test_each_notify_maps_to_its_reviewed_canonical_json(self, name):
        notice = _notice((PAYMENTS / f"{name}.json").read_bytes())

        expected = json.loads((PAYMENTS / f"{name}.expected.json").read_text(encoding="utf-8"))
        assert to_jsonable_python(notice) == expected

    @pytest.mark.parametrize(
        ("code", "status"),
        [
            ("PR00", PaymentStatus.SETTLED),
            ("PR01", PaymentStatus.REJECTED),
            ("PR02", PaymentStatus.PENDING),
            ("PR03", PaymentStatus.SETTLED),
            ("PR04", PaymentStatus.PENDING),
        ],
    )
    def test_every_processing_status_maps(self, code, status):
        raw = (PAYMENTS / "ecny_notify_settled.json").read_bytes().replace(b"PR00", code.encode())

        assert (_notice(raw).result.status, _notice(raw).result.bank_code) == (status, code)

    def test_every_problem_of_a_notify_is_listed(self):
        body = json.loads((PAYMENTS / "ecny_notify_settled.json").read_bytes())
        body.update(
            amount="12O.00",
            finishTime="2026-13-01T00:00:00",
            prcSts="PR09",
            ccy="USD",
            outTradeNo=None,
        )

        problems = _problems(_notice, json.dumps(body).encode())
        assert problems[:2] == [
            ("/amount", "is not a decimal number"),
            ("/finishTime", "is not a real date-time (month must be in 1..12)"),
        ]
        body.update(amount="1.00", finishTime="2026-11-20T15:42:07+08:00")
        assert [p for p, _ in _problems(_notice, json.dumps(body).encode())] == [
            "/outTradeNo",
            "/prcSts",
            "/ccy",
        ]

    def test_a_naive_receive_time_is_refused(self):
        raw = (PAYMENTS / "ecny_notify_settled.json").read_bytes()
        assert _problems(
            lambda: ecny_notify_to_canonical(raw, received_at=datetime(2026, 11, 20))
        ) == [("received_at", "must be a timezone-aware datetime")]


class TestFuzzing:
    @pytest.mark.parametrize("name", NOTIFIES)
    def test_truncated_and_flipped_notifies_only_raise_mapping_error(self, name):
        raw = (PAYMENTS / f"{name}.json").read_bytes()
        rng = random.Random(name)
        variants = [raw[:cut] for cut in range(0, len(raw), 11)]
        for _ in range(150):
            mutated = bytearray(raw)
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            variants.append(bytes(mutated))
        for variant in variants:
            assert _crashes(lambda v=variant: _notice(v)) == []

    @pytest.mark.parametrize("value", [True, [], {}, 10**30, "1e9999", -0.0, None, "NaN"])
    def test_type_swapped_values_are_refused_not_crashed(self, value):
        body = json.loads((PAYMENTS / "ecny_notify_settled.json").read_bytes())
        for key in ("amount", "finishTime", "msgId", "prcSts"):
            swapped = {**body, key: value}
            assert _crashes(lambda s=swapped: _notice(json.dumps(s).encode())) == []


ACCEPTED = (
    b'{"code":"ACCEPTED","prcSts":"PR02","rjctCd":"","rjctInf":"",'
    b'"msgId":"20261120000000000000000000000101","outTradeNo":"DSB-2026-000101",'
    b'"ecnyTxId":"DC2026112000000000000000000001","amount":"120000.50","ccy":"CNY"}'
)


class TestAnswers:
    def test_an_accepted_order_is_pending_under_the_operators_transaction_id(self):
        answer = ecny_answer_to_canonical(ACCEPTED, received_at=RECEIVED_AT)

        assert answer.code == "ACCEPTED"
        assert answer.result is not None
        assert (answer.result.instruction_id, answer.result.status) == (
            "DSB-2026-000101",
            PaymentStatus.PENDING,
        )
        assert answer.result.bank_reference == "DC2026112000000000000000000001"
        assert answer.amount == Money.of("120000.50")

    def test_a_query_answer_carries_the_final_state(self):
        raw = ACCEPTED.replace(b'"ACCEPTED"', b'"SUCCESS"').replace(b"PR02", b"PR03")

        answer = ecny_answer_to_canonical(raw, received_at=RECEIVED_AT)
        assert answer.result is not None
        assert answer.result.status is PaymentStatus.SETTLED
        assert answer.result.reason == "推定成功 (presumed success)"

    def test_a_refusal_before_the_books_says_nothing_of_the_instruction(self):
        raw = (
            '{"code":"REJECTED","prcSts":"PR01","rjctCd":"R004",'
            '"rjctInf":"请求非法: 签名验证失败","ecnyTxId":null}'
        ).encode()

        answer = ecny_answer_to_canonical(raw, received_at=RECEIVED_AT)
        assert (answer.code, answer.result, answer.amount) == ("REJECTED", None, None)
        assert answer.provenance.source_document_id == "refused:R004"


class TestRecognition:
    def test_notifies_and_orders_are_told_apart_from_everything_else(self):
        order = canonical_to_ecny_order(REQUEST)
        others = [
            p.read_bytes()
            for p in [*FIXTURES.glob("*.*"), *PAYMENTS.glob("*")]
            if p.is_file() and not p.name.startswith("ecny_notify")
        ]
        notifies = [(PAYMENTS / f"{n}.json").read_bytes() for n in NOTIFIES]

        assert all(recognise_ecny_notify(raw) for raw in notifies)
        assert not any(recognise_ecny_notify(raw) for raw in [*others, order])
        assert recognise_ecny_order(order)
        assert not any(recognise_ecny_order(raw) for raw in [*others, *notifies])
        assert recognise_ecny_answer(ACCEPTED)
        assert not any(recognise_ecny_answer(raw) for raw in [*others, *notifies, order])

    def test_the_catalogue_records_describe_the_formats(self):
        (inbound, answers), (outbound,) = INBOUND, OUTBOUND
        assert (inbound.name, inbound.family) == ("ecny-payment-notify", "ecny")
        assert (answers.name, answers.family) == ("ecny-payment-answer", "ecny")
        assert (outbound.name, outbound.model) == ("ecny-payment-order", EcnyOrderRequest)
        assert outbound.write(REQUEST) == canonical_to_ecny_order(REQUEST)
        assert EcnyOrderRequest.model_validate_json(REQUEST.model_dump_json()) == REQUEST


def _by_name(model):
    """A constructor taking field names only (st.builds would also fill in the aliases)."""
    return lambda **fields: model(**fields)


_DIGITS32 = st.from_regex(r"[0-9]{32}", fullmatch=True)
_TEXT = (
    st.text(alphabet="ABCXYZ0123456789-_保理钱包收款", min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
_MOMENT = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2099, 1, 1),
    timezones=st.sampled_from([CHINA, UTC]),
)
_YUAN = st.integers(min_value=1, max_value=10**13).map(lambda c: Decimal(c).scaleb(-2))


class TestRoundTrip:
    @settings(max_examples=80, deadline=None)
    @given(
        st.builds(
            _by_name(EcnyPaymentOrder),
            msg_id=_DIGITS32,
            out_trade_no=_TEXT,
            payer_wallet_id=_TEXT,
            payer_wallet_type=st.sampled_from(["WT09", "WT10"]),
            payee_wallet_id=_TEXT,
            payee_name=_TEXT,
            payee_wallet_type=st.sampled_from(["WT01", "WT09", "WT10"]),
            amount=_YUAN,
            biz_tp=st.just("C201"),
            purpose=st.one_of(st.just(""), _TEXT),
            expire_time=_MOMENT,
            notify_url=st.just("https://hub.example.cn/notify"),
            sub_wallet=st.one_of(
                st.none(),
                st.builds(_by_name(SubWallet), push_id=_TEXT, limit_amt=_YUAN, valid_until=_MOMENT),
            ),
            contract=st.one_of(
                st.none(),
                st.builds(
                    _by_name(ReleaseContract),
                    template_id=_TEXT,
                    release_condition=_TEXT,
                    lock_until=_MOMENT,
                ),
            ),
        )
    )
    def test_an_order_written_then_read_is_the_same_order(self, order):
        assert read_ecny_order(write_ecny_order(order)) == order

    @settings(max_examples=80, deadline=None)
    @given(
        st.builds(
            _by_name(EcnyNotify),
            msg_id=_DIGITS32,
            orgnl_msg_id=_DIGITS32,
            out_trade_no=_TEXT,
            ecny_tx_id=_TEXT,
            prc_sts=st.sampled_from(["PR00", "PR01", "PR02", "PR03", "PR04"]),
            prc_cd=st.one_of(st.just(""), st.from_regex(r"DCEP[EI][0-9]{4}", fullmatch=True)),
            rjct_cd=st.one_of(st.just(""), st.from_regex(r"R[0-9]{3}", fullmatch=True)),
            rjct_inf=st.one_of(st.just(""), _TEXT),
            amount=_YUAN,
            finish_time=_MOMENT,
        )
    )
    def test_a_notify_written_then_read_is_the_same_notify(self, notify):
        raw = write_ecny_notify(notify)

        assert read_ecny_notify(raw) == notify
        notice = _notice(raw)
        assert (notice.result.instruction_id, notice.amount.amount, notice.message_id) == (
            notify.out_trade_no,
            notify.amount,
            notify.msg_id,
        )
