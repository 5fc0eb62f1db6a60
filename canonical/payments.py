"""Bank account notifications: what a bank booked on an account (camt.054), for reconciliation.

A disbursement is proven by a DBIT entry whose transaction carries our instruction id as its
EndToEndId; a repayment arrives as a CRDT entry matched on the remittance and the debtor account.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from canonical.documents import Provenance
from canonical.money import Money

__all__ = [
    "AccountNotification",
    "Counterparty",
    "DebitCreditNotification",
    "EntryDirection",
    "EntryStatus",
    "EntryTransaction",
    "NotificationEntry",
]

_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")
_REF = Field(default="", max_length=35)


class EntryDirection(StrEnum):
    """Which way the money moved on the notified account (ISO CreditDebitCode)."""

    CREDIT = "CRDT"
    """Money came in (a repayment from the buyer)."""
    DEBIT = "DBIT"
    """Money went out (one of our disbursements)."""


class EntryStatus(StrEnum):
    """The booking state of an entry (ISO ExternalEntryStatus1Code)."""

    BOOKED = "BOOK"
    """Posted to the account: final."""
    PENDING = "PDNG"
    """Not yet posted; may still be cancelled."""
    INFORMATION = "INFO"
    """An advice only, never posted."""
    FUTURE = "FUTR"
    """Will be posted on a later date."""


class Counterparty(BaseModel):
    """The other side of a transaction, as the bank reports it (no USCC in bank data)."""

    model_config = _FROZEN

    name: str = Field(default="", max_length=140)
    account_number: str = Field(default="", max_length=34)
    bank_code: str = Field(default="", max_length=35)
    """The counterparty bank's CNAPS 行号 (or BIC)."""
    bank_name: str = Field(default="", max_length=140)


class EntryTransaction(BaseModel):
    """One underlying transaction of an entry (camt.054 NtryDtls/TxDtls)."""

    model_config = _FROZEN

    end_to_end_id: str = _REF
    """For a disbursement: our DisbursementInstruction.id."""
    instruction_id: str = _REF
    account_servicer_reference: str = _REF
    message_id: str = _REF
    payment_information_id: str = _REF
    transaction_id: str = _REF
    amount: Money | None = None
    """The transaction's own amount (absent when the entry holds just this one)."""
    counterparty: Counterparty | None = None
    """The creditor of a debit entry, the debtor of a credit entry."""
    remittance: tuple[str, ...] = ()
    """Unstructured remittance lines (RmtInf/Ustrd)."""
    return_code: str = _REF
    """RtrInf/Rsn: why a payment came back (e.g. AC04), on a reversal."""
    return_info: str = Field(default="", max_length=500)


class NotificationEntry(BaseModel):
    """One booking on the account (camt.054 Ntry)."""

    model_config = _FROZEN

    entry_reference: str = _REF
    amount: Money
    direction: EntryDirection
    reversal: bool = False
    """True when the entry reverses an earlier one (e.g. a returned disbursement)."""
    status: EntryStatus
    booking_date: date | None = None
    value_date: date | None = None
    account_servicer_reference: str = _REF
    bank_transaction_code: str = Field(min_length=1, max_length=35)
    """`Domain/Family/SubFamily` (e.g. `PMNT/ICDT/DMCT`), or the bank's proprietary code."""
    transactions: tuple[EntryTransaction, ...] = ()
    additional_info: str = Field(default="", max_length=500)

    @property
    def end_to_end_ids(self) -> tuple[str, ...]:
        """The EndToEndIds this entry books (what a disbursement is reconciled on)."""
        return tuple(t.end_to_end_id for t in self.transactions if t.end_to_end_id)


class AccountNotification(BaseModel):
    """The entries the bank reports for one account (camt.054 Ntfctn)."""

    model_config = _FROZEN

    notification_id: str = Field(min_length=1, max_length=35)
    created_at: datetime | None = None
    account_number: str = Field(min_length=1, max_length=34)
    account_currency: str = Field(default="", pattern=r"^([A-Z]{3})?$")
    account_name: str = Field(default="", max_length=70)
    entries: tuple[NotificationEntry, ...] = ()

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("must be timezone-aware")
        return value


class DebitCreditNotification(BaseModel):
    """A bank's debit/credit notification message (camt.054 BkToCstmrDbtCdtNtfctn)."""

    model_config = _FROZEN

    message_id: str = Field(min_length=1, max_length=35)
    created_at: datetime
    notifications: tuple[AccountNotification, ...] = Field(min_length=1)
    provenance: Provenance

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("must be timezone-aware")
        return value

    def entries_for(self, end_to_end_id: str) -> tuple[NotificationEntry, ...]:
        """Every entry that books the transaction with this EndToEndId."""
        return tuple(
            entry
            for notification in self.notifications
            for entry in notification.entries
            if end_to_end_id in entry.end_to_end_ids
        )


# --- CNAPS2 (第二代支付系统) ------------------------------------------------------------------

__all__ += ["CnapsCreditTransfer", "CnapsDirection", "CnapsHeader", "CnapsPriority"]


class CnapsPriority(StrEnum):
    """业务优先级: the body's SttlmPrty (Priority3Code) and the header's MesgPriority digit."""

    URGENT = "URGT"
    """特急 (header `1`)."""
    HIGH = "HIGH"
    """紧急 (header `2`)."""
    NORMAL = "NORM"
    """普通 (header `3`)."""


class CnapsDirection(StrEnum):
    """Who put the frame on the wire (header MesgDirection)."""

    UP = "U"
    """Sent by a participant bank to the centre."""
    DOWN = "D"
    """Sent by the centre (NPC/CCPC) to a participant."""


class CnapsHeader(BaseModel):
    """The fixed `{H:…}` header of a CNAPS2 frame (communication level, formats-outbound §1.5)."""

    model_config = _FROZEN

    version: str = Field(pattern=r"^[0-9]{2}$")
    sender: str = Field(pattern=r"^([0-9]{12}|0000)$")
    """OrigSender: the sending participant's 12-digit 行号, or `0000` for the NPC."""
    sender_system: str = Field(min_length=1, max_length=4)
    receiver: str = Field(pattern=r"^([0-9]{12}|0000)$")
    receiver_system: str = Field(min_length=1, max_length=4)
    sent_at: datetime
    message_type: str = Field(min_length=1, max_length=20)
    communication_id: str = Field(min_length=1, max_length=20)
    """MesgID (通信级标识号): what a ccms.990 confirms."""
    communication_reference: str = Field(min_length=1, max_length=20)
    """MesgRefID: equal to MesgID on an original message, the original's on a reply."""
    priority: CnapsPriority
    direction: CnapsDirection
    signed: bool = False
    """Whether a `{S:…}` signature block followed (carried, not verified: that is the bank's)."""

    @field_validator("sent_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("must be timezone-aware")
        return value


class CnapsCreditTransfer(BaseModel):
    """One HVPS hvps.111.001.01 customer credit transfer (大额客户普通贷记) as the bank sees it.

    The payer and payee are addressed the Chinese way, by account number and CNAPS 行号 (no
    BIC, no USCC). `remittance` keeps the 附言 lines as sent (`/H01/…` tagged).
    """

    model_config = _FROZEN

    header: CnapsHeader | None = None
    """None for a bare XML body (no `{H:}` frame)."""
    message_id: str = Field(min_length=1, max_length=35)
    """GrpHdr/MsgId (报文标识号): with the instructing participant, the business key."""
    created_at: datetime
    end_to_end_id: str = Field(min_length=1, max_length=35)
    transaction_id: str = Field(min_length=1, max_length=35)
    business_type: str = Field(min_length=1, max_length=4)
    """业务类型编码 (CtgyPurp/Prtry), `A100` 普通汇兑 for a disbursement."""
    business_kind: str = Field(default="", max_length=5)
    """业务种类编码 (Purp/Prtry), five digits."""
    amount: Money
    settlement_date: date | None = None
    priority: CnapsPriority | None = None
    charge_bearer: str = Field(default="DEBT", pattern=r"^(DEBT|CRED|SHAR|SLEV)$")
    instructing_clearing_bank: str = Field(default="", pattern=r"^([0-9]{12})?$")
    """付款清算行行号 (InstgAgt/FinInstnId/ClrSysMmbId/MmbId)."""
    instructing_bank: str = Field(default="", pattern=r"^([0-9]{12})?$")
    """付款行行号 (InstgAgt/BrnchId/Id)."""
    instructed_clearing_bank: str = Field(default="", pattern=r"^([0-9]{12})?$")
    """收款清算行行号 (InstdAgt/FinInstnId/ClrSysMmbId/MmbId)."""
    instructed_bank: str = Field(default="", pattern=r"^([0-9]{12})?$")
    """收款行行号 (InstdAgt/BrnchId/Id)."""
    debtor: Counterparty
    """付款人: name, account, 开户行行号 and name."""
    creditor: Counterparty
    """收款人: name, account, 开户行行号 and name."""
    remittance: tuple[str, ...] = ()
    provenance: Provenance

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("must be timezone-aware")
        return value

    @property
    def note(self) -> str:
        """The 附言 (the `/H01/` line, S6's 备注), or "" when there is none."""
        for line in self.remittance:
            if line.startswith("/H01/"):
                return line[5:]
        return ""
