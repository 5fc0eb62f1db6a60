"""Operator actions on a hub database: dead letters, facilities, request history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from canonical import FinancingState, Money
from hub.persistence.facilities import BuyerLimitTerms, FacilityTerms
from hub.persistence.messaging import DeadLetter
from hub.persistence.programmes_admin import (
    AnchorFigures,
    AnchorTerms,
    PortfolioFigures,
    PortfolioTerms,
)
from hub.persistence.tables import BuyerLimitRow, FacilityRow, RequestRow
from hub.persistence.uow import UnitOfWorkFactory
from hub.security.audit import operator_name, record_action

__all__ = ["StateCounts", "count_states", "list_dead_letters", "open_facilities", "replay"]


async def list_dead_letters(units: UnitOfWorkFactory, *, all_: bool = False) -> list[DeadLetter]:
    async with units() as uow:
        return await uow.dead_letters.list(include_replayed=all_)


async def replay(
    units: UnitOfWorkFactory, ids: list[int] | None, *, actor: str | None = None
) -> list[int]:
    """Send dead letters to their consumer again (same message id); None replays all open ones.

    The consumer's inbox entry is removed and the original envelope re-enters the outbox, so
    the relay of a running hub delivers it again within a second or so (on the embedded
    transport too), or the hub's next start does. Each replay is in the audit trail with who
    asked (`actor`: by default the operator's login name).
    """
    replayed: list[int] = []
    actor = actor or operator_name()
    async with units() as uow:
        letters = await uow.dead_letters.list()
        for letter in letters:
            if ids is not None and letter.id not in ids:
                continue
            await uow.inbox.forget(letter.consumer, letter.message_id)
            await uow.outbox.add(letter.topic, letter.envelope)
            await uow.dead_letters.mark_replayed(letter.id)
            await record_action(
                uow.session,
                at=units.clock(),
                actor=actor,
                action="dlq.replay",
                request_id=letter.envelope.correlation_id,
                details=f"dead letter {letter.id}: {letter.envelope.type} to {letter.consumer}",
            )
            replayed.append(letter.id)
        await uow.commit()
    return replayed


async def open_facilities(units: UnitOfWorkFactory, terms: list[FacilityTerms]) -> None:
    async with units() as uow:
        for t in terms:
            await uow.facilities.put(t)
        await uow.commit()


async def open_buyer_limits(units: UnitOfWorkFactory, terms: list[BuyerLimitTerms]) -> None:
    async with units() as uow:
        for t in terms:
            await uow.facilities.put_buyer(t)
        await uow.commit()


async def buyer_limit_rows(units: UnitOfWorkFactory) -> list[BuyerLimitRow]:
    async with units() as uow:
        return list(
            (await uow.session.execute(select(BuyerLimitRow).order_by(BuyerLimitRow.buyer_uscc)))
            .scalars()
            .all()
        )


async def open_anchor_programmes(units: UnitOfWorkFactory, terms: list[AnchorTerms]) -> None:
    async with units() as uow:
        for t in terms:
            await uow.facilities.put_anchor(t)
        await uow.commit()


async def anchor_programmes(units: UnitOfWorkFactory) -> list[AnchorFigures]:
    async with units() as uow:
        return await uow.facilities.anchors()


async def set_portfolio(units: UnitOfWorkFactory, terms: PortfolioTerms) -> None:
    """The 205号 portfolio's figures (the first time, its book starts from the hub's)."""
    async with units() as uow:
        await uow.facilities.put_portfolio(terms)
        await uow.commit()


async def set_portfolio_debtor(
    units: UnitOfWorkFactory,
    debtor_uscc: str,
    *,
    related: bool | None = None,
    other: Money | None = None,
) -> None:
    async with units() as uow:
        await uow.facilities.set_debtor(debtor_uscc, related=related, other=other)
        await uow.commit()


async def portfolio(units: UnitOfWorkFactory) -> PortfolioFigures | None:
    async with units() as uow:
        return await uow.facilities.portfolio()


@dataclass(frozen=True, slots=True)
class StateCounts:
    by_state: dict[str, int]
    rejected_by_reason: dict[str, int]
    dead_letters: int

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def terminal(self) -> int:
        return sum(n for s, n in self.by_state.items() if FinancingState(s).terminal)

    @property
    def awaiting_operator(self) -> int:
        return sum(n for s, n in self.by_state.items() if FinancingState(s).awaiting_operator)

    @property
    def at_rest(self) -> int:
        """Applications the flow is done with for now: finished, or waiting for an operator
        (pending with a stated reason)."""
        return self.terminal + self.awaiting_operator


async def count_states(units: UnitOfWorkFactory) -> StateCounts:
    async with units() as uow:
        by_state = dict(
            (
                await uow.session.execute(
                    select(RequestRow.state, func.count()).group_by(RequestRow.state)
                )
            ).all()
        )
        reasons = dict(
            (
                await uow.session.execute(
                    select(RequestRow.reason, func.count())
                    .where(RequestRow.state == FinancingState.REJECTED.value)
                    .group_by(RequestRow.reason)
                )
            ).all()
        )
        dead = await uow.dead_letters.count()
    return StateCounts(
        by_state={str(k): int(v) for k, v in by_state.items()},
        rejected_by_reason={str(k): int(v) for k, v in reasons.items()},
        dead_letters=dead,
    )


async def facility_rows(units: UnitOfWorkFactory) -> list[FacilityRow]:
    async with units() as uow:
        return list(
            await uow.session.scalars(select(FacilityRow).order_by(FacilityRow.seller_uscc))
        )
