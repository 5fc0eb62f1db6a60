"""Bank-core disbursement service: SOAP 1.1, document/literal wrapped (formats-outbound §1.7).

The operation is `Disburse`; its request wrapper carries the instruction as a flat sequence of
parameters and its response wrapper is `DisburseResponse` (RetStatus S/F, RetCode, RetMsg, the
echoed BizRefNo, the core's CoreSeqNo and an ISO transaction status). The ESB `SysHead` rides in
`soap:Header`; its ConsumerSeqNo is the idempotency key, by default the instruction id, so a
retry after a timeout repeats it and the core returns its first answer. The element names and
namespaces are our simulator contract ([DESIGN]: banks publish their own WSDL).

A SOAP Fault is a well-formed answer, not a mapping failure: it is returned as a typed
`BankCoreFault`, never as MappingError, so the connector can tell "the bank said no" from "the
answer was unreadable" (after which only a query by serial is safe). `BankCoreFault.transient`
follows SOAP 1.1 §4.4.1: a `Server` fault (processing failed, the message was fine) may succeed
when retried with the same ConsumerSeqNo; `Client`, `VersionMismatch` and `MustUnderstand` faults
will fail again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from canonical import FEN, DisbursementInstruction, PaymentResult, PaymentStatus, Provenance
from mappings._invoice import fingerprint
from mappings._payments import CHINA, XmlFields, check_text, fen_text, readable_xml
from mappings._problems import Problems, guarded, require_aware
from mappings._xml import child, local_name, namespace, parse_untrusted
from mappings.catalogue import InboundFormat, OutboundFormat
from mappings.pain002 import payment_status

__all__ = [
    "BANK_CORE_NAMESPACE",
    "ESB_NAMESPACE",
    "INBOUND",
    "OUTBOUND",
    "SOAP11_NAMESPACE",
    "BankCoreFault",
    "BankCoreReply",
    "BankCoreResponse",
    "BankSoapDisbursement",
    "bank_soap_response_to_canonical",
    "canonical_to_bank_soap",
    "read_bank_soap_response",
    "recognise_bank_soap_response",
    "write_bank_soap_response",
]

SOURCE_REQUEST = "bank-soap-disbursement"
SOURCE_RESPONSE = "bank-soap-response"
SOAP11_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/"
BANK_CORE_NAMESPACE = "urn:factorhub:sim:bankcore:disbursement:v1"
ESB_NAMESPACE = "urn:factorhub:sim:esb:v1"

_ENV, _BC, _ESB = (f"{{{SOAP11_NAMESPACE}}}", f"{{{BANK_CORE_NAMESPACE}}}", f"{{{ESB_NAMESPACE}}}")
_NSMAP = {"soapenv": SOAP11_NAMESPACE, "bc": BANK_CORE_NAMESPACE, "esb": ESB_NAMESPACE}
_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")


class BankSoapDisbursement(BaseModel):
    """What `factorhub render bank-soap-disbursement` takes: the instruction and the ESB head."""

    model_config = _FROZEN

    instruction: DisbursementInstruction
    consumer_id: str = Field(min_length=1, max_length=16, pattern=r"^[0-9A-Za-z_-]+$")
    """The calling system's ESB id (about 6 characters)."""
    consumer_seq_no: str = Field(default="", max_length=52)
    """The idempotency key; empty means the instruction id (stable across retries)."""
    service_code: str = Field(default="DISBURSE", min_length=1, max_length=32)
    sent_at: datetime


class BankCoreResponse(BaseModel):
    """`DisburseResponse`: the core's answer to one disbursement."""

    model_config = _FROZEN

    ret_status: Literal["S", "F"]
    ret_code: str = Field(default="", max_length=32)
    ret_msg: str = Field(default="", max_length=512)
    biz_ref_no: str = Field(min_length=1, max_length=35)
    """Echo of the instruction id."""
    core_seq_no: str = Field(default="", max_length=64)
    """The core's own reference for the transfer (the bank reference)."""
    tx_status: str = Field(default="", pattern=r"^([A-Z]{4})?$")
    """ISO ExternalPaymentTransactionStatus1Code (ACSP, ACSC, ...) when RetStatus is S."""
    esb_seq_no: str = Field(default="", max_length=64)


class BankCoreFault(BaseModel):
    """A SOAP 1.1 Fault, with the core's RetCode/RetMsg from `detail` when it gives them."""

    model_config = _FROZEN

    code: str = Field(min_length=1, max_length=128)
    """The local part of faultcode: `Server`, `Client`, or a dotted refinement of one."""
    message: str = Field(default="", max_length=1024)
    actor: str = Field(default="", max_length=256)
    detail_code: str = Field(default="", max_length=32)
    detail_message: str = Field(default="", max_length=512)

    @property
    def transient(self) -> bool:
        """A Server fault: retrying with the same ConsumerSeqNo may succeed."""
        return self.code.split(".", 1)[0] == "Server"


@dataclass(frozen=True)
class BankCoreReply:
    """A response envelope read for the hub: a result, or the fault that replaced it."""

    answer: BankCoreResponse | BankCoreFault
    result: PaymentResult | None
    """None for a fault: the connector turns it into a Transient- or PermanentError."""
    provenance: Provenance


# --- request ----------------------------------------------------------------------------------


def canonical_to_bank_soap(request: BankSoapDisbursement) -> bytes:
    """The SOAP envelope (UTF-8) calling `Disburse` for one instruction."""
    return guarded(SOURCE_REQUEST, lambda: _request(request))


def _request(request: BankSoapDisbursement) -> bytes:
    problems = Problems()
    instruction = request.instruction
    require_aware(problems, "sent_at", request.sent_at)
    amount = instruction.amount.amount
    if amount <= 0:
        problems.add("instruction.amount", "must be positive", str(amount))
    elif amount != amount.quantize(FEN):
        problems.add(
            "instruction.amount",
            "has more than 2 decimals: a payment is never rounded here",
            str(amount),
        )
    parameters = _parameters(instruction)
    for name, value in parameters:
        check_text(problems, f"instruction.{name}", value)
    check_text(problems, "consumer_seq_no", request.consumer_seq_no)
    check_text(problems, "service_code", request.service_code)
    problems.raise_if_any(SOURCE_REQUEST)

    envelope = etree.Element(f"{_ENV}Envelope", nsmap=_NSMAP)  # type: ignore[arg-type]
    head = _sub(_sub(envelope, f"{_ENV}Header"), f"{_ESB}SysHead")
    sent = request.sent_at.astimezone(CHINA)
    for tag, text in (
        ("ServiceCode", request.service_code),
        ("ServiceScene", "01"),
        ("ConsumerId", request.consumer_id),
        ("ConsumerSeqNo", request.consumer_seq_no or instruction.id),
        ("TranDate", sent.strftime("%Y%m%d")),
        ("TranTimestamp", sent.isoformat(timespec="milliseconds")),
    ):
        _sub(head, f"{_ESB}{tag}", text)
    wrapper = _sub(_sub(envelope, f"{_ENV}Body"), f"{_BC}Disburse")
    for tag, text in parameters:
        if text:
            _sub(wrapper, f"{_BC}{tag}", text)
    xml: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return xml


def _parameters(instruction: DisbursementInstruction) -> list[tuple[str, str]]:
    """The wrapper's sequence, in order (empty optional values are left out)."""
    debtor, creditor = instruction.debtor_account, instruction.creditor_account
    return [
        ("BizRefNo", instruction.id),
        ("RequestId", instruction.request_id),
        ("MessageId", instruction.message_id),
        ("Amount", fen_text(instruction.amount.amount)),
        ("Currency", instruction.amount.currency),
        ("PayerName", instruction.debtor.name),
        ("PayerUscc", instruction.debtor.uscc),
        ("PayerAccount", debtor.number),
        ("PayerAccountName", debtor.name),
        ("PayerBankCode", debtor.cnaps_code),
        ("PayerBankName", debtor.bank_name),
        ("PayeeName", instruction.creditor.name),
        ("PayeeUscc", instruction.creditor.uscc),
        ("PayeeAccount", creditor.number),
        ("PayeeAccountName", creditor.name),
        ("PayeeBankCode", creditor.cnaps_code),
        ("PayeeBankName", creditor.bank_name),
        ("ExecutionDate", instruction.execution_date.isoformat()),
        ("Remittance", instruction.remittance),
    ]


# --- response ---------------------------------------------------------------------------------


def bank_soap_response_to_canonical(raw: bytes, *, received_at: datetime) -> BankCoreReply:
    """Read a `DisburseResponse` or a Fault; MappingError only when the envelope is unreadable."""
    return guarded(SOURCE_RESPONSE, lambda: _reply(raw, received_at))


def read_bank_soap_response(raw: bytes) -> BankCoreResponse | BankCoreFault:
    return guarded(SOURCE_RESPONSE, lambda: _answer(Problems(), raw))


def write_bank_soap_response(answer: BankCoreResponse | BankCoreFault) -> bytes:
    """The response envelope (the simulator's side)."""
    return guarded(SOURCE_RESPONSE, lambda: _write_answer(answer))


def recognise_bank_soap_response(raw: bytes) -> bool:
    head = raw[:4096] if isinstance(raw, bytes | bytearray) else b""
    return b"Envelope" in head and (b"DisburseResponse" in head or b"Fault>" in head)


def _reply(raw: bytes, received_at: datetime) -> BankCoreReply:
    problems = Problems()
    require_aware(problems, "received_at", received_at)
    answer = _answer(problems, raw)
    result = None
    if isinstance(answer, BankCoreResponse):
        if answer.ret_status == "S":
            status, code = payment_status(answer.tx_status or "ACCP"), answer.tx_status
        else:
            status, code = PaymentStatus.REJECTED, "RJCT"
        reason = (
            f"{answer.ret_code}: {answer.ret_msg}"
            if answer.ret_code and answer.ret_msg
            else answer.ret_code or answer.ret_msg
        )
        result = PaymentResult(
            instruction_id=answer.biz_ref_no,
            status=status,
            bank_code=code,
            reason=reason,
            bank_reference=answer.core_seq_no,
            reported_at=received_at,
        )
    document_id = (
        (answer.esb_seq_no or answer.biz_ref_no)
        if isinstance(answer, BankCoreResponse)
        else f"fault:{answer.code}"[:128]
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
    elif payload is None or local_name(payload) not in ("DisburseResponse", "Fault"):
        problems.add(
            "/Envelope/Body",
            "must hold a DisburseResponse or a Fault",
            None if payload is None else local_name(payload),
        )
    problems.raise_if_any(SOURCE_RESPONSE)
    assert payload is not None
    fields = XmlFields(problems)
    try:
        if local_name(payload) == "Fault":
            answer: BankCoreResponse | BankCoreFault = _fault(fields, payload)
        else:
            answer = _response(fields, payload, child(child(root, "Header"), "SysHead"))
    except ValidationError as exc:
        problems.add_validation_error(f"/Envelope/Body/{local_name(payload)}", exc)
    problems.raise_if_any(SOURCE_RESPONSE)
    return answer


def _response(
    fields: XmlFields, wrapper: etree._Element, head: etree._Element | None
) -> BankCoreResponse:
    path = "/Envelope/Body/DisburseResponse"
    status = fields.text(wrapper, "RetStatus", path, required=True).upper()
    if status and status not in ("S", "F"):
        fields.problems.add(f"{path}/RetStatus", "must be S or F", status)
    tx_status = fields.text(wrapper, "TxStatus", path, max_len=4).upper()
    if tx_status and not (tx_status.isascii() and tx_status.isalpha() and len(tx_status) == 4):
        fields.problems.add(f"{path}/TxStatus", "must be a four-letter ISO status code", tx_status)
    response = dict(
        ret_code=fields.text(wrapper, "RetCode", path, max_len=32),
        ret_msg=fields.text(wrapper, "RetMsg", path, max_len=512),
        biz_ref_no=fields.text(wrapper, "BizRefNo", path, required=True),
        core_seq_no=fields.text(wrapper, "CoreSeqNo", path, max_len=64),
        esb_seq_no=fields.text(head, "EsbSeqNo", "/Envelope/Header/SysHead", max_len=64),
    )
    fields.problems.raise_if_any(SOURCE_RESPONSE)
    return BankCoreResponse(
        ret_status="S" if status == "S" else "F", tx_status=tx_status, **response
    )


def _fault(fields: XmlFields, fault: etree._Element) -> BankCoreFault:
    path = "/Envelope/Body/Fault"
    code = fields.text(fault, "faultcode", path, required=True, max_len=256)
    detail = child(fault, "detail")
    specific = next(iter(detail), None) if detail is not None else None
    detail_name = local_name(specific) if specific is not None else ""
    return BankCoreFault(
        code=code.rpartition(":")[2] or code,
        message=fields.text(fault, "faultstring", path, max_len=1024),
        actor=fields.text(fault, "faultactor", path, max_len=256),
        detail_code=fields.text(specific, "RetCode", f"{path}/detail/{detail_name}", max_len=32),
        detail_message=fields.text(specific, "RetMsg", f"{path}/detail/{detail_name}", max_len=512),
    )


def _write_answer(answer: BankCoreResponse | BankCoreFault) -> bytes:
    problems = Problems()
    for name, value in answer:
        if isinstance(value, str):
            check_text(problems, name, value)
    problems.raise_if_any(SOURCE_RESPONSE)
    envelope = etree.Element(f"{_ENV}Envelope", nsmap=_NSMAP)  # type: ignore[arg-type]
    if isinstance(answer, BankCoreResponse):
        if answer.esb_seq_no:
            head = _sub(_sub(envelope, f"{_ENV}Header"), f"{_ESB}SysHead")
            _sub(head, f"{_ESB}EsbSeqNo", answer.esb_seq_no)
        wrapper = _sub(_sub(envelope, f"{_ENV}Body"), f"{_BC}DisburseResponse")
        for tag, text in (
            ("RetStatus", answer.ret_status),
            ("RetCode", answer.ret_code),
            ("RetMsg", answer.ret_msg),
            ("BizRefNo", answer.biz_ref_no),
            ("CoreSeqNo", answer.core_seq_no),
            ("TxStatus", answer.tx_status),
        ):
            if text:
                _sub(wrapper, f"{_BC}{tag}", text)
    else:
        fault = _sub(_sub(envelope, f"{_ENV}Body"), f"{_ENV}Fault")
        # faultcode and friends are unqualified children of Fault (SOAP 1.1 §4.4)
        etree.SubElement(fault, "faultcode").text = f"soapenv:{answer.code}"
        etree.SubElement(fault, "faultstring").text = answer.message
        if answer.actor:
            etree.SubElement(fault, "faultactor").text = answer.actor
        if answer.detail_code or answer.detail_message:
            specific = _sub(etree.SubElement(fault, "detail"), f"{_BC}DisburseFault")
            _sub(specific, f"{_BC}RetCode", answer.detail_code)
            _sub(specific, f"{_BC}RetMsg", answer.detail_message)
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
        title="Bank core SOAP DisburseResponse or Fault -> PaymentResult / typed fault",
        read=lambda raw, received_at: bank_soap_response_to_canonical(raw, received_at=received_at),
        recognise=recognise_bank_soap_response,
    ),
)
OUTBOUND: tuple[OutboundFormat, ...] = (
    OutboundFormat(
        name="bank-soap-disbursement",
        title="DisbursementInstruction -> bank core SOAP 1.1 Disburse request envelope",
        model=BankSoapDisbursement,
        write=canonical_to_bank_soap,
    ),
)
