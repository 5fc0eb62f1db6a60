"""The hub's tables. Money is stored as integer fen, so limit arithmetic is exact in SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AnchorProgrammeRow",
    "AnchorSellerRow",
    "AuditActionRow",
    "AuditEntryRow",
    "AuditHeadRow",
    "AwaitedDocumentRow",
    "Base",
    "BuyerLimitRow",
    "DeadLetterRow",
    "DisbursementRow",
    "DocumentKeyRow",
    "DocumentRow",
    "FacilityRow",
    "InboxRow",
    "IngressNonceRow",
    "InvoiceLockRow",
    "InvoiceTopUpRow",
    "LifecycleEventRow",
    "LoanRow",
    "OutboxRow",
    "PortfolioDebtorRow",
    "PortfolioRow",
    "RegistrationRow",
    "RepaymentRow",
    "RequestEventRow",
    "RequestRow",
    "ReservationRow",
    "TenantRow",
    "TimerRow",
    "table_of",
]


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value if value.tzinfo else value.replace(tzinfo=UTC)


_ID = String(64)
_TS = UtcDateTime()


class Base(DeclarativeBase):
    """Declarative base of every hub table."""


class RequestRow(Base):
    """A financing request and where it stands."""

    __tablename__ = "financing_requests"
    __table_args__ = (
        UniqueConstraint("tenant", "source_system", "source_document_id", name="uq_request_source"),
        Index("ix_request_state", "state"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    tenant: Mapped[str] = mapped_column(_ID)
    source_system: Mapped[str] = mapped_column(_ID)
    source_document_id: Mapped[str] = mapped_column(String(128))
    seller_uscc: Mapped[str] = mapped_column(String(18))
    buyer_uscc: Mapped[str] = mapped_column(String(18))
    invoice_key: Mapped[str] = mapped_column(String(40))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    receivable_state: Mapped[str] = mapped_column(String(24), default="IMPORTED")
    """Where the financed receivable stands (§4.2), moved with the application
    (`routes/lifecycle/hub_receivable.py`)."""
    document: Mapped[str] = mapped_column(Text)
    """The canonical FinancingRequest as JSON."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(_TS)
    updated_at: Mapped[datetime] = mapped_column(_TS)


class RequestEventRow(Base):
    """One step in a request's history: the state it entered and the message that caused it."""

    __tablename__ = "request_events"
    __table_args__ = (Index("ix_request_events_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(_ID)
    state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(_ID)
    message_type: Mapped[str | None] = mapped_column(_ID)
    at: Mapped[datetime] = mapped_column(_TS)
    receivable_from: Mapped[str | None] = mapped_column(String(24))
    """The receivable's move on this step (§4.2; it moves only with its application): from,"""
    receivable_to: Mapped[str | None] = mapped_column(String(24))
    """to (None: it did not move),"""
    receivable_event: Mapped[str | None] = mapped_column(String(128))
    """on these events, comma-separated."""


class LifecycleEventRow(Base):
    """One move of an application's limit reservation or registration (§4.3, §4.4): from and
    to which state, on which events, and the message that caused it. (Its receivable's moves
    ride on the application's own history rows, `request_events.receivable_*`.)"""

    __tablename__ = "lifecycle_events"
    __table_args__ = (Index("ix_lifecycle_events_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(_ID)
    entity: Mapped[str] = mapped_column(String(16))
    """`reservation` or `registration` (one of each per request)."""
    from_state: Mapped[str | None] = mapped_column(String(24))
    """None: the entity came into being with this move (a reservation held)."""
    to_state: Mapped[str] = mapped_column(String(24))
    event: Mapped[str] = mapped_column(String(128))
    """The machine's events, in order, comma-separated."""
    note: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(_ID)
    message_type: Mapped[str | None] = mapped_column(_ID)
    at: Mapped[datetime] = mapped_column(_TS)


class InboxRow(Base):
    """A message a consumer group has handled: the key of effectively-once consumption."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(_ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(_TS)


class InvoiceLockRow(Base):
    """Which application finances a tax invoice: one at a time, whatever tenant or ERP pushed it
    (the same seller's top-ups aside, `InvoiceTopUpRow`); the row every top-up locks first.

    The key is the SM3 fingerprint of the invoice's tax identity (code + number), so the same
    invoice pushed by two ERPs, or for two tenants, is the same lock.
    """

    __tablename__ = "invoice_locks"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(_ID)
    invoice_key: Mapped[str] = mapped_column(String(32), unique=True)
    locked_at: Mapped[datetime] = mapped_column(_TS)


class InvoiceTopUpRow(Base):
    """A top-up (§2.2, §3.1): an application financing an invoice beside the one its lock
    names (same seller and tenant, while that financing is live), within the invoice's
    advance-rate headroom. `principal_fen` is what it matched for (None until then), counted by
    later top-ups until its limit is reserved."""

    __tablename__ = "invoice_top_ups"
    __table_args__ = (Index("ix_invoice_top_ups_fingerprint", "fingerprint"),)

    request_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    principal_fen: Mapped[int | None] = mapped_column(BigInteger)
    locked_at: Mapped[datetime] = mapped_column(_TS)


class OutboxRow(Base):
    """A message written in the same transaction as the state change that emitted it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unpublished", "published_at", "id"),
        Index("ix_outbox_topic", "topic", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[str] = mapped_column(_ID)
    topic: Mapped[str] = mapped_column(_ID)
    key: Mapped[str] = mapped_column(_ID)
    payload: Mapped[str] = mapped_column(Text)
    """The envelope as JSON."""
    created_at: Mapped[datetime] = mapped_column(_TS)
    published_at: Mapped[datetime | None] = mapped_column(_TS)


class TimerRow(Base):
    """A message to publish later: the outbox's sibling. Written in the transaction that
    decided the wait; moved into the outbox (and `fired_at` set) once the hub's clock passes
    `due_at`, in one transaction, so it is published once and survives restarts."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_pending", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[str] = mapped_column(_ID, unique=True)
    topic: Mapped[str] = mapped_column(_ID)
    key: Mapped[str] = mapped_column(_ID)
    envelope: Mapped[str] = mapped_column(Text)
    """The envelope as JSON, published as it is (its message id is its own)."""
    due_at: Mapped[datetime] = mapped_column(_TS)
    created_at: Mapped[datetime] = mapped_column(_TS)
    fired_at: Mapped[datetime | None] = mapped_column(_TS)


class FacilityRow(Base):
    """A seller's factoring facility: the limit, what is used and what is held for requests."""

    __tablename__ = "facilities"

    seller_uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    seller_name: Mapped[str] = mapped_column(String(140))
    currency: Mapped[str] = mapped_column(String(3))
    limit_fen: Mapped[int] = mapped_column(BigInteger)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    account_number: Mapped[str] = mapped_column(String(34))
    account_name: Mapped[str] = mapped_column(String(140))
    bank_name: Mapped[str] = mapped_column(String(140))
    cnaps_code: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, default=1)


class BuyerLimitRow(Base):
    """A buyer's (debtor's) limit: what may be financed against receivables on that buyer,
    across every seller (§3.7). A buyer without a row is not limited here."""

    __tablename__ = "buyer_limits"

    buyer_uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    buyer_name: Mapped[str] = mapped_column(String(140))
    currency: Mapped[str] = mapped_column(String(3))
    limit_fen: Mapped[int] = mapped_column(BigInteger)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ReservationRow(Base):
    """Headroom held on a facility for one request."""

    __tablename__ = "limit_reservations"

    request_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    seller_uscc: Mapped[str] = mapped_column(String(18))
    buyer_uscc: Mapped[str | None] = mapped_column(String(18))
    """Set when the same amount is held on that buyer's limit too."""
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(24))
    """§4.3: RESERVED, CONSUMED, PARTIALLY_RELEASED, RELEASED, CANCELLED (EXPIRED unused)."""
    updated_at: Mapped[datetime] = mapped_column(_TS)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    """What the reservation occupies on its limits now: the principal consumed, less the
    principal given back (0 while only held)."""
    anchor_uscc: Mapped[str | None] = mapped_column(String(18))
    """Set when the same amount is held on that anchor's programme (and the seller's share)."""
    portfolio_debtor: Mapped[str | None] = mapped_column(String(18))
    """Set when the amount is in the 205号 portfolio's book, against this debtor."""


class AnchorProgrammeRow(Base):
    """A core enterprise's (anchor's) reverse-factoring programme: the most financed against
    receivables on the anchor at once, over all its suppliers, and the share of that limit one
    supplier may take (§3.5), in basis points (2500: 25 %)."""

    __tablename__ = "anchor_programmes"

    anchor_uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    anchor_name: Mapped[str] = mapped_column(String(140))
    currency: Mapped[str] = mapped_column(String(3))
    limit_fen: Mapped[int] = mapped_column(BigInteger)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    seller_share_bp: Mapped[int] = mapped_column(Integer, default=2500)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AnchorSellerRow(Base):
    """One supplier's use of an anchor programme, for its share cap. Changed only under the
    programme's row lock, so the programme's lock guards it."""

    __tablename__ = "anchor_sellers"

    anchor_uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    seller_uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class PortfolioRow(Base):
    """The commercial factor's 205号 figures (§2.11), one row (id 1): net assets, risk assets
    outside this hub, and this hub's own book (what it holds: used and reserved)."""

    __tablename__ = "portfolio"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    net_assets_fen: Mapped[int] = mapped_column(BigInteger)
    other_risk_assets_fen: Mapped[int] = mapped_column(BigInteger)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)


class PortfolioDebtorRow(Base):
    """The portfolio's exposure to one debtor: this hub's book against it, what the factor
    holds against it elsewhere (part of the portfolio's other risk assets), and whether it is
    a related party of the factor. Changed only under the portfolio row's lock."""

    __tablename__ = "portfolio_debtors"

    debtor_uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    related: Mapped[bool] = mapped_column(Boolean, default=False)
    other_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class RegistrationRow(Base):
    """Our 中登网 registration for a request."""

    __tablename__ = "registrations"

    request_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    registration_no: Mapped[str] = mapped_column(String(32))
    modification_code: Mapped[str] = mapped_column(String(32))
    registered_at: Mapped[datetime] = mapped_column(_TS)
    cancelled_at: Mapped[datetime | None] = mapped_column(_TS)
    state: Mapped[str] = mapped_column(String(16), default="REGISTERED")
    """§4.4: REGISTERED, then CANCELLED (注销登记)."""
    """When the registry cancelled it (注销登记) after the financing was settled."""


class DisbursementRow(Base):
    """A payment instruction, persisted before it is ever sent."""

    __tablename__ = "disbursements"
    __table_args__ = (UniqueConstraint("request_id", name="uq_disbursement_request"),)

    id: Mapped[str] = mapped_column(String(35), primary_key=True)
    request_id: Mapped[str] = mapped_column(_ID)
    message_id: Mapped[str] = mapped_column(String(35))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16))
    bank_code: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str | None] = mapped_column(String(140))
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    instruction: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TS)
    updated_at: Mapped[datetime] = mapped_column(_TS)
    principal_fen: Mapped[int | None] = mapped_column(BigInteger)
    """The financing's principal; `amount_fen` is what is paid (None: the same)."""
    base_fen: Mapped[int | None] = mapped_column(BigInteger)
    """The face the fee is charged on (None: the invoice total)."""
    upfront_interest_fen: Mapped[int | None] = mapped_column(BigInteger)
    """Interest deducted from the payment (discount method)."""
    presumed: Mapped[bool | None] = mapped_column(Boolean)
    """The state is only presumed by the channel (e-CNY PR03/PR04): a correction may follow."""


class DocumentRow(Base):
    """An external document accepted through `/v1/ingest/{format}`, as canonical JSON.

    Its id is derived from (tenant, format, source document id), so the same document ingested
    twice is stored once; later routes (matching against customs, credit checks) read it here.
    """

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    tenant: Mapped[str] = mapped_column(_ID)
    format: Mapped[str] = mapped_column(_ID, index=True)
    family: Mapped[str] = mapped_column(String(32))
    source_document_id: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(_TS)


class DocumentKeyRow(Base):
    """What an ingested trade document is found by: an order's number, the order a delivery
    note ships against, a customs declaration's contract; matching finds the orders an invoice
    names (and their delivery notes) with one indexed query."""

    __tablename__ = "document_keys"
    __table_args__ = (Index("ix_document_keys_number", "tenant", "number"),)

    document_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    """`order`, `delivery` or `customs`."""
    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(_ID)
    party_uscc: Mapped[str] = mapped_column(String(18))
    """The party the document names, when it names one by USCC: an order's buyer, a
    declaration's exporter; empty otherwise."""


class AwaitedDocumentRow(Base):
    """An order (or a customs declaration under a contract) an application waits for
    (AWAITING_DOCUMENTS), found by (tenant, number) when a document arrives through
    `/v1/ingest`; deleted when the wait ends."""

    __tablename__ = "awaited_documents"
    __table_args__ = (Index("ix_awaited_documents_number", "tenant", "number"),)

    request_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    """`order` (the order `number`) or `customs` (a declaration under the contract `number`)."""
    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(_ID)
    since: Mapped[datetime] = mapped_column(_TS)
    due_at: Mapped[datetime] = mapped_column(_TS)


class DeadLetterRow(Base):
    """A message a consumer gave up on, with the error, the attempts and the original envelope."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(_ID)
    message_id: Mapped[str] = mapped_column(_ID)
    topic: Mapped[str] = mapped_column(_ID)
    envelope: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(_TS)
    replayed_at: Mapped[datetime | None] = mapped_column(_TS)


class LoanRow(Base):
    """A paid-out financing: opened when the bank confirms the disbursement, then moved by
    repayments and the daily overdue job. Its terms are the risk policy of the day it opened.

    `outstanding_fen`, `state`, `days_past_due` and `warned` are derived from the terms and the
    repayments (kept here for queries); `released_fen` is the principal repaid and already given
    back to a revolving facility, so each repayment gives back only the difference.
    """

    __tablename__ = "loans"
    __table_args__ = (Index("ix_loan_state", "state"),)

    request_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    principal_fen: Mapped[int] = mapped_column(BigInteger)
    start_date: Mapped[date] = mapped_column(Date)
    terms: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(24))
    outstanding_fen: Mapped[int] = mapped_column(BigInteger)
    released_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    warned: Mapped[str | None] = mapped_column(String(16))
    base_fen: Mapped[int | None] = mapped_column(BigInteger)
    """The face the fee is charged on (None: the invoice total)."""
    upfront_interest_fen: Mapped[int | None] = mapped_column(BigInteger)
    """Interest prepaid to maturity (discount method)."""
    opened_at: Mapped[datetime] = mapped_column(_TS)
    updated_at: Mapped[datetime] = mapped_column(_TS)


class RepaymentRow(Base):
    """Money received against a loan, once per payment reference."""

    __tablename__ = "repayments"

    request_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    reference: Mapped[str] = mapped_column(_ID, primary_key=True)
    value_date: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payer: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(_TS)


class AuditActionRow(Base):
    """An operator's action (a review decided, dead letters replayed): who, what, on which
    application, from and to which state, why. Written in the transaction that acted, then
    sealed into the audit chain like the history rows (`hub/security/audit/`)."""

    __tablename__ = "audit_actions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(_TS)
    actor: Mapped[str] = mapped_column(_ID)
    action: Mapped[str] = mapped_column(_ID)
    """What was done, e.g. `review.approve`, `dlq.replay`."""
    request_id: Mapped[str | None] = mapped_column(_ID)
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    details: Mapped[str | None] = mapped_column(Text)


class AuditEntryRow(Base):
    """One link of the SM3 audit chain: which history or action row it seals (`source`:
    `request` for request_events, `lifecycle` for lifecycle_events, `action` for
    audit_actions; `entry_id` its id), the previous link's hash and its own, SM3(previous
    hash || the row's canonical bytes), hex. Appended only by the sealer."""

    __tablename__ = "audit_chain"
    __table_args__ = (UniqueConstraint("source", "entry_id", name="uq_audit_chain_entry"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    source: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The audit chain's head, one row (id 1): its last seq and hash, and per source table the
    id up to which every row is sealed. Sealers lock it (FOR UPDATE), so they take turns."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    request_to: Mapped[int] = mapped_column(BigInteger, default=0)
    lifecycle_to: Mapped[int] = mapped_column(BigInteger, default=0)
    action_to: Mapped[int] = mapped_column(BigInteger, default=0)
    sealed_at: Mapped[datetime | None] = mapped_column(_TS)


class TenantRow(Base):
    """One tenant (an enterprise's ERP connection) and the keys its pushes are signed with
    (`hub.security.ingress_auth`): an HMAC-SM3 secret (hex) or an SM2 public key (PEM or hex).
    A rotated-out key keeps verifying until `previous_expires_at` (`factorhub tenants
    rotate-key`)."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(140))
    sellers: Mapped[str] = mapped_column(Text)
    """JSON list of the seller USCCs whose documents this tenant may submit."""
    scheme: Mapped[str] = mapped_column(String(16))
    """`hmac-sm3` or `sm2`."""
    key_id: Mapped[str] = mapped_column(_ID)
    key: Mapped[str] = mapped_column(Text)
    previous_key_id: Mapped[str | None] = mapped_column(_ID)
    previous_key: Mapped[str | None] = mapped_column(Text)
    previous_expires_at: Mapped[datetime | None] = mapped_column(_TS)
    created_at: Mapped[datetime] = mapped_column(_TS)
    rotated_at: Mapped[datetime | None] = mapped_column(_TS)


class IngressNonceRow(Base):
    """A nonce a tenant signed a push with: the key refuses its reuse. Rows older than the
    timestamp window's double are pruned, when no push with that nonce could still be fresh."""

    __tablename__ = "ingress_nonces"

    tenant: Mapped[str] = mapped_column(_ID, primary_key=True)
    nonce: Mapped[str] = mapped_column(_ID, primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(_TS, index=True)


def table_of(row: type[Base]) -> Table:
    """The Core table behind a mapped class, for statements that skip the ORM's bookkeeping."""
    return cast(Table, row.__table__)
