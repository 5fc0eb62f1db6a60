"""Bank-core payment service: SOAP 1.1, document/literal wrapped (formats-outbound §1.7).

Banks publish their own WSDL; the bank core's is the one the bundled simulator serves
(`GET /bankcore?wsdl`, namespace `http://sim.factorhub.cn/bankcore/v1`), and this module speaks
exactly that contract. `SubmitPayment` carries one instruction (InstructionId, DebtorAccount,
CreditorAccount, CreditorName, CreditorAgent?, Amount, Currency, CreditLineId?, Remittance?);
`QueryPaymentStatus` asks for one by InstructionId. Both answer `<operation>Response/Payment`
(InstructionId, Status ACSC/RJCT, ReasonCode?, ReasonText?, BankReference, Amount, Currency,
AcceptedAt?, Duplicate?). The literal `SysHead` (ConsumerId, ConsumerSeqNo, TranTimestamp?) rides
in `soap:Header`. The core is idempotent by InstructionId: a resend with the same terms returns
the first answer with `Duplicate` true and pays nothing.

A SOAP Fault is a well-formed answer, not a mapping failure: it is returned as a typed
`BankCoreFault`, never as MappingError, so the connector can tell "the bank said no" from "the
answer was unreadable" (after which only a status query is safe). `BankCoreFault.transient`
follows SOAP 1.1 §4.4.1: a `Server` fault (processing failed, the message was fine) may succeed
when retried with the same InstructionId; `Client` and `VersionMismatch` faults will fail again,
except that `never_received` (detail code PAYMENT_NOT_FOUND, the answer to a status query) is the
one case where resending the payment is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from canonical import FEN, DisbursementInstruction, Money, PaymentResult, Provenance
from mappings._invoice import fingerprint
from mappings._payments import CHINA, XmlFields, check_text, fen_text, money_amount, readable_xml
from mappings._problems import Problems, guarded, require_aware
from mappings._xml import child, local_name, namespace, parse_untrusted
from mappings.catalogue import InboundFormat, OutboundFormat
from mappings.pain002 import payment_status

__all__ = [
    "BANK_CORE_NAMESPACE",
    "INBOUND",
    "OUTBOUND",
    "SOAP11_NAMESPACE",
    "BankCoreFault",
    "BankCoreReply",
    "BankCoreResponse",
    "BankSoapDisbursement",
    "BankSoapStatusQuery",
    "bank_soap_response_to_canonical",
    "canonical_to_bank_soap",
    "canonical_to_bank_soap_status_query",
    "read_bank_soap_response",
    "recognise_bank_soap_response",
    "write_bank_soap_response",
]

SOURCE_REQUEST = "bank-soap-disbursement"
SOURCE_RESPONSE = "bank-soap-response"
SOAP11_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/"
BANK_CORE_NAMESPACE = "http://sim.factorhub.cn/bankcore/v1"

Operation = Literal["SubmitPayment", "QueryPaymentStatus"]
_RESPONSES = {f"{op}Response": op for op in ("SubmitPayment", "QueryPaymentStatus")}
_ENV, _BC = f"{{{SOAP11_NAMESPACE}}}", f"{{{BANK_CORE_NAMESPACE}}}"
_NSMAP = {"soap": SOAP11_NAMESPACE, "tns": BANK_CORE_NAMESPACE}
_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_MAX_AMOUNT_DIGITS = 18  # the WSDL's Amount: totalDigits 18, fractionDigits 2


class _SysHead(BaseModel):
    model_config = _FROZEN

    consumer_id: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z_-]+$")
    """The calling system's ESB id (the WSDL allows 10 characters)."""
    consumer_seq_no: str = Field(default="", max_length=52)
    """The caller's serial; empty means the instruction id (stable across retries)."""
    sent_at: datetime


class BankSoapDisbursement(_SysHead):
    """What `factorhub render bank-soap-disbursement` takes: the instruction and the head."""

    instruction: DisbursementInstruction
    credit_line_id: str = Field(default="", max_length=35)
    """The bank's credit line the payment draws on (its UsedAmount grows once), if any."""


class BankSoapStatusQuery(_SysHead):
    """`QueryPaymentStatus`: what the core knows of one instruction (after a lost answer)."""

    instruction_id: str = Field(min_length=1, max_length=35)


class BankCoreResponse(BaseModel):
    """`SubmitPaymentResponse` / `QueryPaymentStatusResponse`: the core's word on one payment."""

    model_config = _FROZEN

    operation: Operation
    instruction_id: str = Field(min_length=1, max_length=35)
    status: str = Field(pattern=r"^[A-Z]{4}$")
    """ISO ExternalPaymentTransactionStatus1Code: the WSDL lists ACSC and RJCT."""
    reason_code: str = Field(default="", max_length=35)
    reason_text: str = Field(default="", max_length=140)
    bank_reference: str = Field(default="", max_length=35)
    amount: Money
    accepted_at: datetime | None = None
    duplicate: bool | None = None
    """SubmitPayment only: true when this answers a resend (nothing was paid again)."""


class BankCoreFault(BaseModel):
    """A SOAP 1.1 Fault, with the core's `ServiceFault` detail (Code, Message, Field)."""

    model_config = _FROZEN

    code: str = Field(min_length=1, max_length=128)
    """The local part of faultcode: `Server`, `Client`, `VersionMismatch` (or a refinement)."""
    message: str = Field(default="", max_length=1024)
    actor: str = Field(default="", max_length=256)
    detail_code: str = Field(default="", max_length=35)
    detail_message: str = Field(default="", max_length=1024)
    detail_field: str = Field(default="", max_length=256)

    @property
    def transient(self) -> bool:
        """A Server fault: retrying with the same InstructionId may succeed."""
        return self.code.split(".", 1)[0] == "Server"

    @property
    def never_received(self) -> bool:
        """The core has no payment with that InstructionId: only now is a resend safe."""
        return self.detail_code == "PAYMENT_NOT_FOUND"


@dataclass(frozen=True)
class BankCoreReply:
    """A response envelope read for the hub: a result, or the fault that replaced it."""

    answer: BankCoreResponse | BankCoreFault
    result: PaymentResult | None
    """None for a fault: the connector turns it into a Transient- or PermanentError."""
    provenance: Provenance


# --- requests ---------------------------------------------------------------------------------


def canonical_to_bank_soap(request: BankSoapDisbursement) -> bytes:
    """The SOAP envelope (UTF-8) calling `SubmitPayment` for one instruction."""
    return guarded(SOURCE_REQUEST, lambda: _submit(request))


def canonical_to_bank_soap_status_query(query: BankSoapStatusQuery) -> bytes:
    """The SOAP envelope (UTF-8) calling `QueryPaymentStatus` for one instruction id."""
    return guarded(SOURCE_REQUEST, lambda: _status_query(query))


def _submit(request: BankSoapDisbursement) -> bytes:
    problems = Problems()
    instruction = request.instruction
    amount = instruction.amount.amount
    if amount <= 0:
        problems.add("instruction.amount", "must be positive", str(amount))
    elif amount != amount.quantize(FEN):
        problems.add(
            "instruction.amount",
            "has more than 2 decimals: a payment is never rounded here",
            str(amount),
        )
    elif len(fen_text(amount).replace(".", "")) > _MAX_AMOUNT_DIGITS:
        problems.add("instruction.amount", "has more than 18 digits", str(amount))
    parameters = _parameters(request)
    for name, value in parameters:
        check_text(problems, f"instruction.{name}", value)
    check_text(problems, "credit_line_id", request.credit_line_id)
    return _envelope(problems, request, "SubmitPayment", instruction.id, parameters)


def _status_query(query: BankSoapStatusQuery) -> bytes:
    problems = Problems()
    check_text(problems, "instruction_id", query.instruction_id)
    parameters = [("InstructionId", query.instruction_id)]
    return _envelope(problems, query, "QueryPaymentStatus", query.instruction_id, parameters)


def _envelope(
    problems: Problems,
    head: _SysHead,
    operation: str,
    instruction_id: str,
    parameters: list[tuple[str, str]],
) -> bytes:
    require_aware(problems, "sent_at", head.sent_at)
    check_text(problems, "consumer_seq_no", head.consumer_seq_no)
    problems.raise_if_any(SOURCE_REQUEST)
    envelope = etree.Element(f"{_ENV}Envelope", nsmap=_NSMAP)  # type: ignore[arg-type]
    sys_head = _sub(_sub(envelope, f"{_ENV}Header"), f"{_BC}SysHead")
    _sub(sys_head, f"{_BC}ConsumerId", head.consumer_id)
    _sub(sys_head, f"{_BC}ConsumerSeqNo", head.consumer_seq_no or instruction_id)
    sent = head.sent_at.astimezone(CHINA).isoformat(timespec="milliseconds")
    _sub(sys_head, f"{_BC}TranTimestamp", sent)
    wrapper = _sub(_sub(envelope, f"{_ENV}Body"), f"{_BC}{operation}")
    for tag, text in parameters:
        if text:
            _sub(wrapper, f"{_BC}{tag}", text)
    xml: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return xml


def _parameters(request: BankSoapDisbursement) -> list[tuple[str, str]]:
    """The wrapper's sequence, in the WSDL's order (empty optional values are left out)."""
    instruction = request.instruction
    debtor, creditor = instruction.debtor_account, instruction.creditor_account
    return [
        ("InstructionId", instruction.id),
        ("DebtorAccount", debtor.number),
        ("CreditorAccount", creditor.number),
        ("CreditorName", instruction.creditor.name),
        ("CreditorAgent", creditor.cnaps_code),
        ("Amount", fen_text(instruction.amount.amount)),
        ("Currency", instruction.amount.currency),
        ("CreditLineId", request.credit_line_id),
        ("Remittance", instruction.remittance),
    ]


# --- responses --------------------------------------------------------------------------------


def bank_soap_response_to_canonical(raw: bytes, *, received_at: datetime) -> BankCoreReply:
    """Read a payment response or a Fault; MappingError only when the envelope is unreadable."""
    return guarded(SOURCE_RESPONSE, lambda: _reply(raw, received_at))


def read_bank_soap_response(raw: bytes) -> BankCoreResponse | BankCoreFault:
    return guarded(SOURCE_RESPONSE, lambda: _answer(Problems(), raw))


def write_bank_soap_response(answer: BankCoreResponse | BankCoreFault) -> bytes:
    """The response envelope (the simulator's side, for round-trip tests)."""
    return guarded(SOURCE_RESPONSE, lambda: _write_answer(answer))


def recognise_bank_soap_response(raw: bytes) -> bool:
    head = raw[:4096] if isinstance(raw, bytes | bytearray) else b""
    return b"Envelope" in head and (
        any(name.encode() in head for name in _RESPONSES) or b"Fault>" in head
    )


def _reply(raw: bytes, received_at: datetime) -> BankCoreReply:
    problems = Problems()
    require_aware(problems, "received_at", received_at)
    answer = _answer(problems, raw)
    result = None
    if isinstance(answer, BankCoreResponse):
        reason = (
            f"{answer.reason_code}: {answer.reason_text}"
            if answer.reason_code and answer.reason_text
            else answer.reason_code or answer.reason_text
        )
        result = PaymentResult(
            instruction_id=answer.instruction_id,
            status=payment_status(answer.status),
            bank_code=answer.status,
            reason=reason,
            bank_reference=answer.bank_reference,
            reported_at=received_at,
        )
    document_id = (
        (answer.bank_reference or answer.instruction_id)
        if isinstance(answer, BankCoreResponse)
        else f"fault:{answer.detail_code or answer.code}"[:128]
    )
    return BankCoreReply(
        answer=answer,
        result=result,
        provenance=Provenance(
            source_system=SOURCE_RESPONSE,
            source_document_id=document_id,
            fingerprint=fingerprint(raw),
            received_at=received_at,
        ),
    )


def _answer(problems: Problems, raw: bytes) -> BankCoreResponse | BankCoreFault:
    root = parse_untrusted(problems, readable_xml(raw), SOURCE_RESPONSE)
    if local_name(root) != "Envelope" or namespace(root) != SOAP11_NAMESPACE:
        problems.add(
            f"/{local_name(root)}",
            f"not a SOAP 1.1 envelope (expected Envelope in {SOAP11_NAMESPACE})",
            namespace(root),
        )
    body = child(root, "Body")
    payload = next(iter(body), None) if body is not None else None
    if body is None:
        problems.add("/Envelope/Body", "is required")
    elif payload is None or local_name(payload) not in (*_RESPONSES, "Fault"):
        problems.add(
            "/Envelope/Body",
            "must hold a SubmitPaymentResponse, a QueryPaymentStatusResponse or a Fault",
            None if payload is None else local_name(payload),
        )
    problems.raise_if_any(SOURCE_RESPONSE)
    assert payload is not None
    fields = XmlFields(problems)
    try:
        if local_name(payload) == "Fault":
            answer: BankCoreResponse | BankCoreFault = _fault(fields, payload)
        else:
            answer = _response(fields, payload)
    except ValidationError as exc:
        problems.add_validation_error(f"/Envelope/Body/{local_name(payload)}", exc)
    problems.raise_if_any(SOURCE_RESPONSE)
    return answer


def _response(fields: XmlFields, wrapper: etree._Element) -> BankCoreResponse:
    operation = _RESPONSES[local_name(wrapper)]
    path = f"/Envelope/Body/{local_name(wrapper)}/Payment"
    payment = child(wrapper, "Payment")
    problems = fields.problems
    if payment is None:
        problems.add(path, "is required")
    status = fields.text(payment, "Status", path, required=True, max_len=4).upper()
    if status and not (status.isascii() and status.isalpha() and len(status) == 4):
        problems.add(f"{path}/Status", "must be a four-letter ISO status code", status)
    amount = _amount(fields, payment, path)
    duplicate_text = fields.text(payment, "Duplicate", path, max_len=5).lower()
    duplicate = _BOOLEANS.get(duplicate_text) if duplicate_text else None
    if duplicate_text and duplicate is None:
        problems.add(f"{path}/Duplicate", "must be true or false", duplicate_text)
    accepted = child(payment, "AcceptedAt")
    response = dict(
        instruction_id=fields.text(payment, "InstructionId", path, required=True),
        reason_code=fields.text(payment, "ReasonCode", path),
        reason_text=fields.text(payment, "ReasonText", path, max_len=140),
        bank_reference=fields.text(payment, "BankReference", path, required=True),
        accepted_at=fields.moment(accepted, f"{path}/AcceptedAt"),
    )
    problems.raise_if_any(SOURCE_RESPONSE)
    assert amount is not None
    return BankCoreResponse(
        operation=operation, status=status, amount=amount, duplicate=duplicate, **response
    )


def _amount(fields: XmlFields, payment: etree._Element | None, path: str) -> Money | None:
    text = fields.text(payment, "Amount", path, required=True, max_len=40)
    currency = fields.text(payment, "Currency", path, required=True, max_len=3).upper()
    value = None
    if text:
        try:
            value = money_amount(text)
        except ValueError as exc:
            fields.problems.add(f"{path}/Amount", str(exc), text)
    if currency and not (currency.isascii() and currency.isalpha() and len(currency) == 3):
        fields.problems.add(f"{path}/Currency", "must be a three-letter ISO 4217 code", currency)
        return None
    return None if value is None or not currency else Money(amount=value, currency=currency)


def _fault(fields: XmlFields, fault: etree._Element) -> BankCoreFault:
    path = "/Envelope/Body/Fault"
    code = fields.text(fault, "faultcode", path, required=True, max_len=256)
    detail = child(fault, "detail")
    specific = next(iter(detail), None) if detail is not None else None
    where = f"{path}/detail/{local_name(specific) if specific is not None else ''}"
    return BankCoreFault(
        code=code.rpartition(":")[2] or code,
        message=fields.text(fault, "faultstring", path, max_len=1024),
        actor=fields.text(fault, "faultactor", path, max_len=256),
        detail_code=fields.text(specific, "Code", where, max_len=35),
        detail_message=fields.text(specific, "Message", where, max_len=1024),
        detail_field=fields.text(specific, "Field", where, max_len=256),
    )


def _write_answer(answer: BankCoreResponse | BankCoreFault) -> bytes:
    problems = Problems()
    for name, value in answer:
        if isinstance(value, str):
            check_text(problems, name, value)
    problems.raise_if_any(SOURCE_RESPONSE)
    envelope = etree.Element(f"{_ENV}Envelope", nsmap=_NSMAP)  # type: ignore[arg-type]
    body = _sub(envelope, f"{_ENV}Body")
    if isinstance(answer, BankCoreResponse):
        payment = _sub(_sub(body, f"{_BC}{answer.operation}Response"), f"{_BC}Payment")
        accepted = answer.accepted_at.isoformat() if answer.accepted_at else ""
        duplicate = "" if answer.duplicate is None else str(answer.duplicate).lower()
        for tag, text in (
            ("InstructionId", answer.instruction_id),
            ("Status", answer.status),
            ("ReasonCode", answer.reason_code),
            ("ReasonText", answer.reason_text),
            ("BankReference", answer.bank_reference),
            ("Amount", fen_text(answer.amount.amount)),
            ("Currency", answer.amount.currency),
            ("AcceptedAt", accepted),
            ("Duplicate", duplicate),
        ):
            if text:
                _sub(payment, f"{_BC}{tag}", text)
    else:
        fault = _sub(body, f"{_ENV}Fault")
        # faultcode and friends are unqualified children of Fault (SOAP 1.1 §4.4)
        etree.SubElement(fault, "faultcode").text = f"soap:{answer.code}"
        etree.SubElement(fault, "faultstring").text = answer.message
        if answer.actor:
            etree.SubElement(fault, "faultactor").text = answer.actor
        if answer.detail_code or answer.detail_message or answer.detail_field:
            specific = _sub(etree.SubElement(fault, "detail"), f"{_BC}ServiceFault")
            _sub(specific, f"{_BC}Code", answer.detail_code)
            _sub(specific, f"{_BC}Message", answer.detail_message)
            if answer.detail_field:
                _sub(specific, f"{_BC}Field", answer.detail_field)
    xml: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return xml


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="bank-soap-response",
        family="bank",
        title="Bank core SOAP SubmitPayment / QueryPaymentStatus response or Fault -> "
        "PaymentResult / typed fault",
        read=lambda raw, received_at: bank_soap_response_to_canonical(raw, received_at=received_at),
        recognise=recognise_bank_soap_response,
    ),
)
OUTBOUND: tuple[OutboundFormat, ...] = (
    OutboundFormat(
        name="bank-soap-disbursement",
        title="DisbursementInstruction -> bank core SOAP 1.1 SubmitPayment request envelope",
        model=BankSoapDisbursement,
        write=canonical_to_bank_soap,
    ),
)
