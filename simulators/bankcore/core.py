"""The bank core's books: credit lines (额度) per customer and payments, executed at most once
per InstructionId.

Payments go through the ISO channel's engine (`simulators.bank.engine.Bank`) as one-transaction
files, so both faces of the bank share one rule set: a resend with the same InstructionId,
amount and creditor account returns the original answer and executes nothing; the same id with
different terms is rejected AM05; balances (AM04), currency (AM03) and names (RR03) as on the ISO
channel. On top, a payment may occupy a credit line: a frozen or expired line rejects it AG01,
one without enough room AM14; the occupied amount is added to the line when it is executed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from simulators.bank.engine import ACSC, RJCT, Bank, TxReport
from simulators.bank.pain001 import Pain001, PaymentBlock, Transfer
from simulators.common.clock import Clock, iso_seconds, now_cst
from simulators.erp.dataset import generate_companies

__all__ = ["BankCore", "CreditLine", "PaymentOrder", "PaymentOutcome"]

ACTIVE, FROZEN, EXPIRED = "ACTIVE", "FROZEN", "EXPIRED"
_FEN = Decimal("0.01")


@dataclass(frozen=True)
class CreditLine:
    line_id: str
    customer_name: str
    uscc: str
    total: Decimal
    used: Decimal
    expiry: date
    frozen: bool = False
    currency: str = "CNY"

    def status(self, today: date) -> str:
        if self.frozen:
            return FROZEN
        return EXPIRED if self.expiry < today else ACTIVE

    @property
    def available(self) -> Decimal:
        return max(self.total - self.used, Decimal("0.00"))

    def to_json(self, today: date) -> dict[str, Any]:
        return {
            "credit_line_id": self.line_id,
            "customer_name": self.customer_name,
            "customer_uscc": self.uscc,
            "currency": self.currency,
            "total": format(self.total, "f"),
            "used": format(self.used, "f"),
            "available": format(self.available, "f"),
            "expiry_date": self.expiry.isoformat(),
            "status": self.status(today),
        }


@dataclass(frozen=True)
class PaymentOrder:
    instruction_id: str
    debtor_account: str
    creditor_account: str
    creditor_name: str
    creditor_agent: str | None
    amount: Decimal
    currency: str
    credit_line_id: str | None = None


@dataclass(frozen=True)
class PaymentOutcome:
    instruction_id: str
    status: str
    reason: str | None
    info: str | None
    bank_reference: str
    amount: Decimal
    currency: str
    accepted_at: str | None
    duplicate: bool = False


class UnknownCreditLine(LookupError):
    """No credit line with that id or for that customer."""


def seeded_lines(seed: int) -> dict[str, CreditLine]:
    """One line per company of the ERP dataset for `seed` (the same companies everywhere)."""
    companies = generate_companies(seed)
    rng = random.Random(f"factorhub-sim:bankcore:credit-lines:{seed}")
    lines: dict[str, CreditLine] = {}
    for n, company in enumerate((*companies.buyers, *companies.sellers), start=1):
        total = Decimal(rng.randrange(50, 501) * 100_000).quantize(_FEN)
        used = (total * rng.randrange(0, 41) / 100).quantize(_FEN)
        expiry = date(2027, rng.randrange(1, 13), 28)
        line = CreditLine(f"CL2026{n:06d}", company.name, company.uscc, total, used, expiry)
        lines[line.line_id] = line
    return lines


class BankCore:
    def __init__(self, seed: int = 0, *, clock: Clock = now_cst) -> None:
        self._seed, self._clock = seed, clock
        self._lock = threading.Lock()
        self.bank = Bank(clock=clock)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.bank.reset()
            self._lines = seeded_lines(self._seed)
            self._refused: dict[str, tuple[PaymentOrder, PaymentOutcome]] = {}
            self._occupied: dict[str, str] = {}  # instruction id -> credit line id
            self._amounts: dict[str, tuple[Decimal, str]] = {}  # as first sealed
            self._files = 0

    # -- credit lines ---------------------------------------------------------------------

    def credit_line(self, *, uscc: str | None = None, line_id: str | None = None) -> CreditLine:
        with self._lock:
            return self._find(uscc, line_id)

    def credit_lines(self) -> list[dict[str, Any]]:
        today = self._clock().date()
        with self._lock:
            return [line.to_json(today) for line in self._lines.values()]

    def put_credit_line(
        self,
        *,
        uscc: str,
        name: str | None,
        total: Decimal,
        used: Decimal,
        expiry: date | None,
        frozen: bool,
    ) -> CreditLine:
        """Replace the customer's line (keeping its id) or open a new one."""
        with self._lock:
            old = next((line for line in self._lines.values() if line.uscc == uscc), None)
            if old is None and name is None:
                raise UnknownCreditLine(f"customer {uscc} is not seeded: give customer_name")
            line_id = old.line_id if old else f"CL2026{len(self._lines) + 1:06d}"
            line = CreditLine(
                line_id,
                name or (old.customer_name if old else ""),
                uscc,
                total,
                used,
                expiry or (old.expiry if old else date(2027, 12, 31)),
                frozen,
            )
            self._lines[line_id] = line
            return line

    def today(self) -> date:
        return self._clock().date()

    # -- payments -------------------------------------------------------------------------

    def submit(self, order: PaymentOrder) -> PaymentOutcome:
        with self._lock:
            refused = self._refused.get(order.instruction_id)
            if refused is not None:
                return self._again(refused, order)
            before = self.bank.lookup(order.instruction_id)
            if before is None and order.credit_line_id is not None:
                problem = self._line_problem(order)
                if problem is not None:
                    return self._refuse(order, *problem)
            tx = self._execute(order)
            duplicate = before is not None and tx == before.blocks[0].txs[0]
            if tx.status.code == ACSC and before is None and order.credit_line_id is not None:
                line = self._lines[order.credit_line_id]
                self._lines[line.line_id] = replace(line, used=line.used + order.amount)
                self._occupied[order.instruction_id] = line.line_id
            return _outcome(tx, order.amount, order.currency, duplicate=duplicate)

    def status(self, instruction_id: str) -> PaymentOutcome | None:
        with self._lock:
            refused = self._refused.get(instruction_id)
            if refused is not None:
                return refused[1]
            report = self.bank.lookup(instruction_id)
            terms = self._amounts.get(instruction_id)
        if report is None or terms is None:
            return None
        return _outcome(report.blocks[0].txs[0], *terms, duplicate=False)

    def occupied(self) -> dict[str, str]:
        with self._lock:
            return dict(self._occupied)

    def refused(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"instruction_id": i, "reason": o.reason, "info": o.info}
                for i, (_, o) in self._refused.items()
            ]

    # -- private (called with the lock held) ----------------------------------------------

    def _find(self, uscc: str | None, line_id: str | None) -> CreditLine:
        for line in self._lines.values():
            if (line_id is None or line.line_id == line_id) and (uscc is None or line.uscc == uscc):
                return line
        raise UnknownCreditLine(f"no credit line for {line_id or uscc}")

    def _line_problem(self, order: PaymentOrder) -> tuple[str, str] | None:
        line = self._lines.get(order.credit_line_id or "")
        if line is None:
            raise UnknownCreditLine(f"no credit line {order.credit_line_id}")
        status = line.status(self._clock().date())
        if status != ACTIVE:
            return "AG01", f"credit line {line.line_id} is {status}"
        if order.amount > line.available:
            return "AM14", f"amount exceeds the available {line.available} on {line.line_id}"
        return None

    def _refuse(self, order: PaymentOrder, reason: str, info: str) -> PaymentOutcome:
        self._files += 1
        outcome = PaymentOutcome(
            order.instruction_id,
            RJCT,
            reason,
            info,
            f"SIMCREF{self._files:010d}",
            order.amount,
            order.currency,
            None,
        )
        self._refused[order.instruction_id] = (order, outcome)
        return outcome

    def _again(
        self, refused: tuple[PaymentOrder, PaymentOutcome], order: PaymentOrder
    ) -> PaymentOutcome:
        first, outcome = refused
        if first == order:
            return replace(outcome, duplicate=True)
        info = "InstructionId already used for a different payment"
        return replace(outcome, reason="AM05", info=info, duplicate=False)

    def _execute(self, order: PaymentOrder) -> TxReport:
        self._files += 1
        transfer = Transfer(
            pmt_inf_id="BANKCORE",
            instr_id=order.instruction_id,
            end_to_end_id=order.instruction_id,
            uetr=None,
            amount=order.amount,
            currency=order.currency,
            creditor_name=order.creditor_name,
            creditor_account=order.creditor_account,
            creditor_agent=order.creditor_agent,
        )
        block = PaymentBlock("BANKCORE", "1", order.amount, None, order.debtor_account, (transfer,))
        amount = format(order.amount, "f")
        message = Pain001(
            f"CORE{self._files:010d}",
            iso_seconds(self._clock()),
            "1",
            order.amount,
            amount,
            (block,),
        )
        self._amounts.setdefault(order.instruction_id, (order.amount, order.currency))
        return self.bank.submit(message).blocks[0].txs[0]


def _outcome(tx: TxReport, amount: Decimal, currency: str, *, duplicate: bool) -> PaymentOutcome:
    return PaymentOutcome(
        instruction_id=tx.end_to_end_id,
        status=tx.status.code,
        reason=tx.status.reason,
        info=tx.status.info,
        bank_reference=tx.acct_svcr_ref or "",
        amount=amount,
        currency=currency,
        accepted_at=None if tx.accepted_at is None else iso_seconds(tx.accepted_at),
        duplicate=duplicate,
    )
