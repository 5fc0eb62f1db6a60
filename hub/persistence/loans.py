"""Loans (paid-out financings) and their repayments.

A loan is opened by the payment-result route for every settled disbursement, so opening is
on the pipeline's hot path: opens are queued and written at flush as one INSERT that ignores a
loan already open (a redelivered result). Repayments and the daily review are rare by
comparison and go one statement at a time. A loan's terms are stored as the JSON of the risk
policy it was opened under; the invoice's due date (and, for loans opened before the fee base
was kept, its total) are read from the request.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import EarlyWarningLevel, FinancingRequest, FinancingState, Money
from hub.persistence.money import from_fen, to_fen
from hub.persistence.sql import execute_many, insert_ignoring_duplicates
from hub.persistence.tables import LoanRow, RepaymentRow, RequestRow, table_of
from routes.policy import Policy
from routes.ports import Clock, LoanRecord, Repayment

__all__ = ["SqlLoanRepository"]

_loans = table_of(LoanRow)
_repayments = table_of(RepaymentRow)
_requests = table_of(RequestRow)

_GET = select(
    _loans,
    _requests.c.seller_uscc,
    _requests.c.buyer_uscc,
    _requests.c.total_fen,
    _requests.c.document,
).join(_requests, _requests.c.id == _loans.c.request_id)
_REPAYMENTS = select(_repayments).order_by(_repayments.c.value_date, _repayments.c.received_at)


@lru_cache(maxsize=16)
def _terms_json(terms: Policy) -> str:
    return terms.model_dump_json()


@lru_cache(maxsize=16)
def _terms(raw: str) -> Policy:
    return Policy.model_validate_json(raw)


class SqlLoanRepository:
    """Loans in SQL (see the module doc)."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self._opening: list[dict[str, Any]] = []

    async def open(
        self,
        request_id: str,
        principal: Money,
        start: date,
        terms: Policy,
        *,
        eligible_base: Money | None = None,
        upfront_interest: Money | None = None,
    ) -> None:
        now = self._clock()
        fen = to_fen(principal)
        self._opening.append(
            {
                "request_id": request_id,
                "currency": principal.currency,
                "principal_fen": fen,
                "start_date": start,
                "terms": _terms_json(terms),
                "state": FinancingState.DISBURSED.value,
                "outstanding_fen": fen,
                "released_fen": 0,
                "days_past_due": 0,
                "warned": None,
                "base_fen": None if eligible_base is None else to_fen(eligible_base),
                "upfront_interest_fen": (
                    None if upfront_interest is None else to_fen(upfront_interest)
                ),
                "opened_at": now,
                "updated_at": now,
            }
        )

    async def get(self, request_id: str) -> LoanRecord | None:
        await self.flush()
        row = (
            await self._session.execute(_GET.where(_loans.c.request_id == request_id))
        ).one_or_none()
        if row is None:
            return None
        repayments = await self._session.execute(
            _REPAYMENTS.where(_repayments.c.request_id == request_id)
        )
        request = FinancingRequest.model_validate_json(row.document)
        return LoanRecord(
            request_id=request_id,
            seller_uscc=row.seller_uscc,
            buyer_uscc=row.buyer_uscc,
            principal=from_fen(row.principal_fen, row.currency),
            eligible_base=from_fen(
                row.total_fen if row.base_fen is None else row.base_fen, row.currency
            ),
            start=row.start_date,
            due_date=request.invoice.due_date,
            terms=_terms(row.terms),
            state=FinancingState(row.state),
            repayments=tuple(
                Repayment(
                    reference=r.reference,
                    value_date=r.value_date,
                    amount=from_fen(r.amount_fen, r.currency),
                    payer=r.payer,
                )
                for r in repayments
            ),
            released=from_fen(row.released_fen, row.currency),
            warned=None if row.warned is None else EarlyWarningLevel(row.warned),
            upfront_interest=(
                None
                if row.upfront_interest_fen is None
                else from_fen(row.upfront_interest_fen, row.currency)
            ),
        )

    async def add_repayment(self, request_id: str, repayment: Repayment) -> bool:
        known = await self._session.scalar(
            select(_repayments.c.reference).where(
                _repayments.c.request_id == request_id,
                _repayments.c.reference == repayment.reference,
            )
        )
        if known is not None:
            return False
        await self._session.execute(
            _repayments.insert().values(
                request_id=request_id,
                reference=repayment.reference,
                value_date=repayment.value_date,
                amount_fen=to_fen(repayment.amount),
                currency=repayment.amount.currency,
                payer=repayment.payer,
                received_at=self._clock(),
            )
        )
        return True

    async def update(
        self,
        request_id: str,
        *,
        state: FinancingState,
        outstanding: Money,
        released: Money,
        days_past_due: int,
        warned: EarlyWarningLevel | None,
    ) -> None:
        await self._session.execute(
            update(_loans)
            .where(_loans.c.request_id == request_id)
            .values(
                state=state.value,
                outstanding_fen=to_fen(outstanding),
                released_fen=to_fen(released),
                days_past_due=days_past_due,
                warned=None if warned is None else warned.value,
                updated_at=self._clock(),
            )
        )

    async def outstanding_ids(self, *, after: str = "", limit: int = 500) -> list[str]:
        """Loans still owed money, in id order from `after` (the daily job pages through)."""
        await self.flush()
        states = [s.value for s in FinancingState if s.outstanding]
        return list(
            await self._session.scalars(
                select(_loans.c.request_id)
                .where(_loans.c.state.in_(states), _loans.c.request_id > after)
                .order_by(_loans.c.request_id)
                .limit(limit)
            )
        )

    async def flush(self) -> None:
        opening, self._opening = self._opening, []
        if opening:
            await execute_many(
                self._session, insert_ignoring_duplicates(self._session, _loans), opening
            )

    def forget(self) -> None:
        self._opening.clear()
