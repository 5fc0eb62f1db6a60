"""The bank's execution rules: each EndToEndId is executed at most once, ever.

- A resend with the same EndToEndId, amount, currency and creditor account gets the original
  status back and executes nothing; a different amount or account is rejected AM05.
- A MsgId reused for different instructions is rejected DU01 at group level.
- Group (AM18/AM10) and block (AM20/AM17) count or sum errors reject without executing and
  without sealing the EndToEndId, so a corrected file may reuse it.
- Incoming credit transfers (a buyer repaying into our collection account) are booked by QA;
  a reference (AcctSvcrRef) books at most once. Debits and credits share one booking sequence,
  which is the camt.054 NtryRef.
All state changes happen under one lock and never await.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from simulators.bank.pain001 import Pain001, PaymentBlock, Transfer
from simulators.common.clock import CST, Clock, iso_seconds, now_cst

ACSC = "ACSC"
RJCT = "RJCT"


@dataclass(frozen=True)
class Status:
    code: str
    reason: str | None = None
    info: str | None = None


@dataclass(frozen=True)
class TxReport:
    instr_id: str | None
    end_to_end_id: str
    uetr: str | None
    status: Status
    acct_svcr_ref: str | None = None
    accepted_at: datetime | None = None


@dataclass(frozen=True)
class BlockReport:
    pmt_inf_id: str
    nb_of_txs: str | None
    ctrl_sum: Decimal | None
    status: Status
    txs: tuple[TxReport, ...]


@dataclass(frozen=True)
class Report:
    """Everything a pain.002 needs, whatever produced it (a submission or a query)."""

    orgnl_msg_id: str
    orgnl_cre_dt_tm: str | None
    orgnl_nb_of_txs: str | None
    orgnl_ctrl_sum: str | None
    status: Status
    blocks: tuple[BlockReport, ...]


@dataclass(frozen=True)
class LedgerEntry:
    end_to_end_id: str
    instr_id: str | None
    msg_id: str
    pmt_inf_id: str
    amount: Decimal
    currency: str
    debtor_account: str
    creditor_account: str
    creditor_name: str | None
    creditor_agent: str | None
    executed_at: datetime
    acct_svcr_ref: str

    def to_json(self) -> dict[str, Any]:
        return {
            "end_to_end_id": self.end_to_end_id,
            "instr_id": self.instr_id,
            "msg_id": self.msg_id,
            "pmt_inf_id": self.pmt_inf_id,
            "amount": format(self.amount, "f"),
            "currency": self.currency,
            "debtor_account": self.debtor_account,
            "creditor_account": self.creditor_account,
            "creditor_name": self.creditor_name,
            "creditor_agent": self.creditor_agent,
            "executed_at": iso_seconds(self.executed_at),
            "acct_svcr_ref": self.acct_svcr_ref,
        }


@dataclass(frozen=True)
class CreditTerms:
    """What a payer sends us; `value_date` None means the booking day (CST)."""

    account: str
    amount: Decimal
    currency: str
    debtor_name: str
    debtor_account: str
    debtor_agent: str | None = None
    remittance: str | None = None
    end_to_end_id: str | None = None
    value_date: date | None = None


@dataclass(frozen=True)
class CreditEntry:
    """An incoming credit transfer booked on `terms.account`."""

    sequence: int
    terms: CreditTerms
    value_date: date
    booked_at: datetime
    acct_svcr_ref: str

    def same_terms(self, terms: CreditTerms) -> bool:
        """A replay may leave out the value date; everything else must match."""
        mine = self.terms
        if terms.value_date is not None and terms.value_date != self.value_date:
            return False
        return (
            mine.account,
            mine.amount,
            mine.currency,
            mine.debtor_name,
            mine.debtor_account,
            mine.debtor_agent,
            mine.remittance,
            mine.end_to_end_id,
        ) == (
            terms.account,
            terms.amount,
            terms.currency,
            terms.debtor_name,
            terms.debtor_account,
            terms.debtor_agent,
            terms.remittance,
            terms.end_to_end_id,
        )

    def to_json(self) -> dict[str, Any]:
        terms = self.terms
        return {
            "sequence": self.sequence,
            "acct_svcr_ref": self.acct_svcr_ref,
            "account": terms.account,
            "amount": format(terms.amount, "f"),
            "currency": terms.currency,
            "debtor_name": terms.debtor_name,
            "debtor_account": terms.debtor_account,
            "debtor_agent": terms.debtor_agent,
            "remittance": terms.remittance,
            "end_to_end_id": terms.end_to_end_id,
            "value_date": self.value_date.isoformat(),
            "booked_at": iso_seconds(self.booked_at),
        }


Booking = LedgerEntry | CreditEntry


class CreditConflict(Exception):
    """The reference is taken: by a credit with other terms, or by one of our debits."""

    def __init__(self, message: str, existing: CreditEntry | None) -> None:
        super().__init__(message)
        self.message = message
        self.existing = existing


@dataclass(frozen=True)
class _Seen:
    """What the bank remembers of an EndToEndId it processed at transaction level."""

    transfer: Transfer
    msg_id: str
    report: TxReport


@dataclass
class _Counter:
    attempted: int = 0
    executed: int = 0


def overall(statuses: Sequence[str]) -> str:
    if statuses and all(s == ACSC for s in statuses):
        return ACSC
    if all(s == RJCT for s in statuses):
        return RJCT
    return "PART"


class Bank:
    def __init__(self, *, default_balance: Decimal | None = None, clock: Clock = now_cst) -> None:
        """`default_balance` None means debtor accounts are unlimited unless set otherwise."""
        self._default_balance = default_balance
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._balances: dict[str, Decimal | None] = {}
            self._messages: dict[str, str] = {}
            self._seen: dict[str, _Seen] = {}
            self._unsealed: dict[str, tuple[str, TxReport, str]] = {}
            self._counters: dict[str, _Counter] = {}
            self._ledger: list[LedgerEntry] = []
            self._bookings: list[Booking] = []  # debits and credits; position + 1 = NtryRef
            self._credits: dict[str, CreditEntry] = {}
            self._refs = 0
            self._credit_refs = 0
            self._reports = 0
            self.counts = {
                "received_messages": 0,
                "executed": 0,
                "duplicates_ignored": 0,
                "rejected": 0,
                "invalid_messages": 0,
                "credits_booked": 0,
            }

    # -- accounts ---------------------------------------------------------------------------

    def set_balance(self, account: str, balance: Decimal | None) -> None:
        with self._lock:
            self._balances[account] = balance

    def balances(self) -> dict[str, str | None]:
        with self._lock:
            return {a: None if b is None else format(b, "f") for a, b in self._balances.items()}

    # -- observation ------------------------------------------------------------------------

    def count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            most = max((c.executed for c in self._counters.values()), default=0)
            return {**self.counts, "max_executions_per_end_to_end_id": most}

    def ledger(self) -> list[LedgerEntry]:
        with self._lock:
            return list(self._ledger)

    def credits(self) -> list[CreditEntry]:
        with self._lock:
            return list(self._credits.values())

    def bookings(self) -> list[tuple[int, Booking]]:
        """Every booked debit and credit with its sequence number (the camt.054 NtryRef)."""
        with self._lock:
            return list(enumerate(self._bookings, start=1))

    def attempts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"end_to_end_id": e2e, "attempted": c.attempted, "executed": c.executed}
                for e2e, c in self._counters.items()
            ]

    def next_report_id(self) -> str:
        with self._lock:
            self._reports += 1
            return f"SIMBANK{self._clock():%Y%m%d%H%M%S}{self._reports:06d}"

    # -- incoming credits -------------------------------------------------------------------

    def book_credit(self, terms: CreditTerms, reference: str | None) -> tuple[CreditEntry, bool]:
        """(entry, True) when booked now; (the earlier entry, False) for a replayed reference.
        CreditConflict when the reference is taken by other terms or by a debit."""
        with self._lock:
            if reference is not None:
                existing = self._credits.get(reference)
                if existing is not None:
                    if not existing.same_terms(terms):
                        info = f"reference {reference} already booked with other terms"
                        raise CreditConflict(info, existing)
                    return existing, False
                if any(e.acct_svcr_ref == reference for e in self._ledger):
                    raise CreditConflict(f"reference {reference} is a debit's AcctSvcrRef", None)
            else:
                reference = self._next_credit_ref()
            now = self._clock()
            entry = CreditEntry(
                sequence=len(self._bookings) + 1,
                terms=terms,
                value_date=terms.value_date or now.astimezone(CST).date(),
                booked_at=now,
                acct_svcr_ref=reference,
            )
            self._bookings.append(entry)
            self._credits[reference] = entry
            balance = self._balances.get(terms.account)
            if balance is not None:
                self._balances[terms.account] = balance + terms.amount
            self.counts["credits_booked"] += 1
            return entry, True

    def _next_credit_ref(self) -> str:
        while True:
            self._credit_refs += 1
            reference = f"SIMC{self._credit_refs:012d}"
            if reference not in self._credits:
                return reference

    # -- processing -------------------------------------------------------------------------

    def submit(self, msg: Pain001) -> Report:
        with self._lock:
            self.counts["received_messages"] += 1
            for transfer in msg.transfers:
                self._counters.setdefault(transfer.end_to_end_id, _Counter()).attempted += 1
            fingerprint = msg.fingerprint()
            if self._messages.setdefault(msg.msg_id, fingerprint) != fingerprint:
                return self._reject_group(msg, Status(RJCT, "DU01", "MsgId already used"), False)
            transfers = msg.transfers
            if int(msg.nb_of_txs) != len(transfers):
                info = f"NbOfTxs {msg.nb_of_txs} but {len(transfers)} transactions"
                return self._reject_group(msg, Status(RJCT, "AM18", info), True)
            total = sum((t.amount for t in transfers), Decimal(0))
            if msg.ctrl_sum is not None and msg.ctrl_sum != total:
                info = f"CtrlSum {msg.ctrl_sum_text} but transactions add up to {total}"
                return self._reject_group(msg, Status(RJCT, "AM10", info), True)
            blocks = tuple(self._process_block(msg, block) for block in msg.blocks)
            status = Status(overall([block.status.code for block in blocks]))
            return self._report(msg, status, blocks)

    def lookup(self, end_to_end_id: str) -> Report | None:
        """The bank's current answer for one transaction, or None if it never saw it."""
        with self._lock:
            seen = self._seen.get(end_to_end_id)
            if seen is not None:
                msg_id, tx, pmt_inf_id = seen.msg_id, seen.report, seen.transfer.pmt_inf_id
            elif end_to_end_id in self._unsealed:
                msg_id, tx, pmt_inf_id = self._unsealed[end_to_end_id]
            else:
                return None
        block = BlockReport(pmt_inf_id, None, None, Status(tx.status.code), (tx,))
        return Report(msg_id, None, None, None, Status(tx.status.code), (block,))

    def _report(self, msg: Pain001, status: Status, blocks: tuple[BlockReport, ...]) -> Report:
        return Report(msg.msg_id, msg.cre_dt_tm, msg.nb_of_txs, msg.ctrl_sum_text, status, blocks)

    def _reject_group(self, msg: Pain001, status: Status, remember: bool) -> Report:
        """No transaction-level entries: they would contradict an earlier real execution."""
        self.counts["rejected"] += len(msg.transfers)
        if remember:
            for transfer in msg.transfers:
                self._remember_unsealed(msg.msg_id, transfer, status)
        return self._report(msg, status, ())

    def _remember_unsealed(self, msg_id: str, transfer: Transfer, status: Status) -> None:
        if transfer.end_to_end_id not in self._seen:
            tx = TxReport(transfer.instr_id, transfer.end_to_end_id, transfer.uetr, status)
            self._unsealed[transfer.end_to_end_id] = (msg_id, tx, transfer.pmt_inf_id)

    def _process_block(self, msg: Pain001, block: PaymentBlock) -> BlockReport:
        status = _block_error(block)
        if status is not None:
            self.counts["rejected"] += len(block.transfers)
            for transfer in block.transfers:
                self._remember_unsealed(msg.msg_id, transfer, status)
            return BlockReport(block.pmt_inf_id, block.nb_of_txs, block.ctrl_sum, status, ())
        txs = tuple(self._process(msg, block, t) for t in block.transfers)
        block_status = Status(overall([tx.status.code for tx in txs]))
        return BlockReport(block.pmt_inf_id, block.nb_of_txs, block.ctrl_sum, block_status, txs)

    def _process(self, msg: Pain001, block: PaymentBlock, transfer: Transfer) -> TxReport:
        seen = self._seen.get(transfer.end_to_end_id)
        if seen is not None:
            if _same_payment(seen.transfer, transfer):
                self.counts["duplicates_ignored"] += 1
                return seen.report
            self.counts["rejected"] += 1
            info = "EndToEndId already used for a different amount or creditor account"
            return self._tx(transfer, Status(RJCT, "AM05", info), None)
        problem = self._check(block, transfer)
        now = self._clock()
        if problem is None:
            report = self._tx(transfer, Status(ACSC), now)
            self._execute(msg, block, transfer, report, now)
        else:
            self.counts["rejected"] += 1
            report = self._tx(transfer, problem, None)
        self._seen[transfer.end_to_end_id] = _Seen(transfer, msg.msg_id, report)
        self._unsealed.pop(transfer.end_to_end_id, None)
        return report

    def _tx(self, transfer: Transfer, status: Status, accepted_at: datetime | None) -> TxReport:
        self._refs += 1
        ref = f"SIMB{self._refs:012d}"
        return TxReport(
            transfer.instr_id, transfer.end_to_end_id, transfer.uetr, status, ref, accepted_at
        )

    def _check(self, block: PaymentBlock, transfer: Transfer) -> Status | None:
        amount = transfer.amount
        exponent = amount.as_tuple().exponent
        if transfer.currency != "CNY":
            return Status(RJCT, "AM03", f"currency {transfer.currency} not allowed")
        if isinstance(exponent, int) and exponent < -2:
            return Status(RJCT, "CH20", "CNY amounts have at most 2 decimals")
        if amount <= 0:
            return Status(RJCT, "AM12", "amount must be positive")
        if not transfer.creditor_account:
            return Status(RJCT, "AC01", "creditor account missing")
        if not transfer.creditor_name:
            return Status(RJCT, "RR03", "creditor name missing")
        balance = self._balances.get(block.debtor_account, self._default_balance)
        if balance is not None and amount > balance:
            return Status(RJCT, "AM04", "insufficient funds")
        return None

    def _execute(
        self, msg: Pain001, block: PaymentBlock, transfer: Transfer, report: TxReport, now: datetime
    ) -> None:
        balance = self._balances.get(block.debtor_account, self._default_balance)
        if balance is not None:
            self._balances[block.debtor_account] = balance - transfer.amount
        booked = LedgerEntry(
            end_to_end_id=transfer.end_to_end_id,
            instr_id=transfer.instr_id,
            msg_id=msg.msg_id,
            pmt_inf_id=block.pmt_inf_id,
            amount=transfer.amount,
            currency=transfer.currency,
            debtor_account=block.debtor_account,
            creditor_account=transfer.creditor_account or "",
            creditor_name=transfer.creditor_name,
            creditor_agent=transfer.creditor_agent,
            executed_at=now,
            acct_svcr_ref=report.acct_svcr_ref or "",
        )
        self._ledger.append(booked)
        self._bookings.append(booked)
        self.counts["executed"] += 1
        self._counters[transfer.end_to_end_id].executed += 1


def _same_payment(first: Transfer, again: Transfer) -> bool:
    return (
        first.amount == again.amount
        and first.currency == again.currency
        and first.creditor_account == again.creditor_account
    )


def _block_error(block: PaymentBlock) -> Status | None:
    count = len(block.transfers)
    if block.nb_of_txs is not None and int(block.nb_of_txs) != count:
        return Status(RJCT, "AM20", f"PmtInf NbOfTxs {block.nb_of_txs} but {count} transactions")
    total = sum((t.amount for t in block.transfers), Decimal(0))
    if block.ctrl_sum is not None and block.ctrl_sum != total:
        info = f"PmtInf CtrlSum {block.ctrl_sum} but transactions add up to {total}"
        return Status(RJCT, "AM17", info)
    return None
