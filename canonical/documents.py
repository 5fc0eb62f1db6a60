"""Trade documents: invoices, purchase orders, delivery notes, customs declarations, receivables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from canonical.money import Amount, Money
from canonical.parties import Party
from canonical.text import PlainText

__all__ = [
    "CustomsDeclaration",
    "DeliveryNote",
    "DocumentLine",
    "Instalment",
    "Invoice",
    "InvoiceKind",
    "InvoiceStatus",
    "Provenance",
    "PurchaseOrder",
    "Receivable",
    "ReceivableBill",
]

_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")


class Provenance(BaseModel):
    """Where a canonical object came from, so any figure can be traced to the original bytes."""

    model_config = _FROZEN

    source_system: str = Field(min_length=1, max_length=64)
    source_document_id: PlainText = Field(min_length=1, max_length=128)
    """The source's own document number: it keys the request or document id, so a hidden
    character (a zero-width space) would make a second id for the same document."""
    fingerprint: str = Field(default="", max_length=128)
    """Digest of the original bytes (SM3 from the mappings issue on; SHA-256 until then)."""
    received_at: datetime | None = None


class InvoiceKind(StrEnum):
    """The VAT invoice family."""

    SPECIAL = "special"
    """增值税专用发票 (数电 or legacy)."""
    ORDINARY = "ordinary"
    """增值税普通发票."""


class InvoiceStatus(StrEnum):
    """Status of the tax invoice as the source system reports it."""

    NORMAL = "normal"
    """正常: a blue invoice in force."""
    VOID = "void"
    """作废: cancelled in the tax period it was issued in (legacy and 数电 paper invoices)."""
    RED_FLUSHED = "red_flushed"
    """红冲: a red-letter invoice itself (negative totals, `reverses` names the blue one), or a
    blue invoice the source reports as red-flushed."""


class DocumentLine(BaseModel):
    """One goods or service line; used by invoices, orders and delivery notes alike."""

    model_config = _FROZEN

    line_no: int = Field(ge=0)
    item_code: str = ""
    description: str = ""
    quantity: Amount
    unit_price: Amount
    """Unit price excluding tax."""
    tax_rate: Amount = Decimal("0")
    """As a fraction: 0.13 for 13 %."""
    amount: Amount
    """Line amount excluding tax."""
    tax: Amount = Decimal("0")
    order_number: PlainText = ""


class Invoice(BaseModel):
    """A VAT invoice issued by the seller to the buyer."""

    model_config = _FROZEN

    number: str = Field(min_length=1, max_length=32, pattern=r"^[0-9]+$")
    """The 20-digit 数电 number, or the legacy number (with `code`): ASCII digits only, as the
    tax rules define it (the mappers fold full-width digits; nothing else becomes a digit)."""
    code: str = Field(default="", max_length=12, pattern=r"^[0-9]*$")
    """Legacy 发票代码; empty for 数电票."""
    kind: InvoiceKind
    issue_date: date
    due_date: date | None = None
    seller: Party
    buyer: Party
    amount: Money
    """Total excluding tax."""
    tax: Money
    total: Money
    """Total including tax (价税合计)."""
    status: InvoiceStatus = InvoiceStatus.NORMAL
    lines: tuple[DocumentLine, ...] = ()
    order_numbers: tuple[PlainText, ...] = ()
    provenance: Provenance
    check_code: str = Field(default="", pattern=r"^([0-9]{20})?$")
    """校验码 of legacy ordinary / electronic ordinary invoices (verification uses its last 6)."""
    reverses: str = Field(default="", max_length=32)
    """On a red-letter invoice: the key (code + number) of the blue invoice it reverses."""
    red_notice: str = Field(default="", max_length=32)
    """On a red-letter invoice: the 红字发票信息表 / 信息确认单 number, when the source gives it."""

    @model_validator(mode="after")
    def _totals_add_up(self) -> Invoice:
        if self.amount + self.tax != self.total:
            raise ValueError("amount + tax must equal total")
        return self

    @property
    def key(self) -> str:
        """The tax invoice's identity: code + number (code empty for 数电票)."""
        return f"{self.code}{self.number}"


class PurchaseOrder(BaseModel):
    """The buyer's order (the seller's sales order) an invoice is matched against."""

    model_config = _FROZEN

    number: PlainText = Field(min_length=1, max_length=64)
    order_date: date
    buyer: Party | None = None
    buyer_code: str = ""
    total: Money
    """Total including tax."""
    lines: tuple[DocumentLine, ...] = ()
    provenance: Provenance


class DeliveryNote(BaseModel):
    """Goods shipped or received against an order."""

    model_config = _FROZEN

    number: PlainText = Field(min_length=1, max_length=64)
    delivery_date: date
    order_number: PlainText = ""
    lines: tuple[DocumentLine, ...] = ()
    provenance: Provenance


class CustomsDeclaration(BaseModel):
    """An export declaration (报关单) proving goods left the country."""

    model_config = _FROZEN

    entry_id: PlainText = Field(min_length=1, max_length=18)
    """海关编号 (EntryId); before clearance the 统一编号 (SeqNo), with `cleared` False."""
    declare_date: date
    trade_uscc: str = ""
    contract_number: PlainText = ""
    total: Money
    lines: tuple[DocumentLine, ...] = ()
    provenance: Provenance
    cleared: bool = True
    """Whether customs assigned the 海关编号 (`entry_id` is then EntryId, not SeqNo)."""
    ie_flag: str = Field(default="E", pattern=r"^[EI]$")
    """E export, I import."""
    ie_date: date | None = None
    """进出口日期 (IEDate): the export date, once the goods have left."""
    trade_code: str = ""
    """境内收发货人 10-character customs code (TradeCode)."""
    trade_name: str = ""
    """境内收发货人 name: the exporter, i.e. the seller, on an export."""
    overseas_party: str = ""
    """境外收货人 on an export (the foreign buyer), 境外发货人 on an import."""
    overseas_party_code: str = ""
    seq_no: str = ""
    """数据中心统一编号 (SeqNo)."""
    client_seq_no: str = ""
    """The declarant's own unique id (DecSign/ClientSeqNo)."""
    trade_mode: str = ""
    """监管方式 (0110 一般贸易, 9610/9710/9810 e-commerce ...)."""
    trans_mode: str = ""
    """成交方式 code (1 CIF, 2 CFR, 3 FOB, 4 C&I, 7 EXW)."""
    bill_no: str = ""
    """提运单号 (bill of lading)."""


class Receivable(BaseModel):
    """A claim of the seller on the buyer, evidenced by invoices."""

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=64)
    seller: Party
    buyer: Party
    face: Money
    issue_date: date
    due_date: date
    invoice_keys: tuple[str, ...] = ()


class Instalment(BaseModel):
    """One due date of a receivable's collection plan (收款计划) and the amount due then."""

    model_config = _FROZEN

    due_date: date
    amount: Money


class ReceivableBill(BaseModel):
    """A receivable as an ERP books it (Kingdee 应收单, YonBIP 应收事项, NC Cloud 应收单).

    ERP receivables name the customer by its ERP code and often omit tax numbers, so the parties
    are optional beside their codes; matching resolves them by USCC first, then by code. The
    collection plan is the authoritative source of due dates; mappers check it sums to `total`.
    """

    model_config = _FROZEN

    number: PlainText = Field(min_length=1, max_length=64)
    """The ERP document number (FBillNo / code)."""
    bill_date: date
    due_date: date | None = None
    """The header due date; the latest instalment's date when only a plan is given."""
    seller: Party | None = None
    seller_code: str = ""
    buyer: Party | None = None
    buyer_code: str = ""
    amount: Money | None = None
    """Total excluding tax, when the source states it."""
    tax: Money | None = None
    total: Money
    """Total including tax (价税合计); negative for a red (credit) receivable."""
    red: bool = False
    """A red-letter / negative receivable (reverses an earlier one)."""
    instalments: tuple[Instalment, ...] = ()
    lines: tuple[DocumentLine, ...] = ()
    invoice_keys: tuple[PlainText, ...] = ()
    order_numbers: tuple[PlainText, ...] = ()
    provenance: Provenance

    @model_validator(mode="after")
    def _totals_add_up(self) -> ReceivableBill:
        amount, tax = self.amount, self.tax
        if amount is not None and tax is not None and amount + tax != self.total:
            raise ValueError("amount + tax must equal total")
        return self
