"""The unit of work: one session, one transaction, state + inbox + outbox (+ timers) together.

`async with uow:` begins; `commit()` must be called explicitly; leaving without it rolls back.
After a commit, `on_commit` hooks see the outbox rows this transaction wrote, so the relay (or
the embedded transport) can dispatch them at once instead of waiting for its next poll.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from hub.persistence.db import Database
from hub.persistence.document_index import SqlDocumentIndex
from hub.persistence.documents import SqlDocumentRepository
from hub.persistence.facilities import SqlFacilityRepository
from hub.persistence.invoice_locks import SqlInvoiceLocks
from hub.persistence.lifecycles import LifecycleLog
from hub.persistence.loans import SqlLoanRepository
from hub.persistence.messaging import SqlDeadLetters, SqlInbox, SqlOutbox
from hub.persistence.payments import SqlDisbursementRepository, SqlRegistrationRepository
from hub.persistence.requests import SqlRequestRepository
from hub.persistence.timers import SqlTimers
from hub.transport.base import Outgoing
from routes.ports import Clock

__all__ = ["CommitHook", "SqlUnitOfWork", "UnitOfWorkFactory"]

CommitHook = Callable[[Sequence[Outgoing]], Awaitable[None]]


class SqlUnitOfWork:
    """Repositories over one AsyncSession (never shared between tasks)."""

    session: AsyncSession

    def __init__(
        self,
        database: Database,
        clock: Clock,
        hooks: Sequence[CommitHook] = (),
        *,
        dispatched: bool = False,
    ) -> None:
        self._database = database
        self._clock = clock
        self._hooks = hooks
        self._dispatched = dispatched

    async def __aenter__(self) -> Self:
        self.session = self._database.session()
        await self.session.begin()
        clock = self._clock
        # one log of the receivable, reservation and registration moves, with the cause the
        # runtime sets on `requests.cause`
        self.lifecycles = LifecycleLog(self.session, clock)
        self.requests = SqlRequestRepository(
            self.session, clock, self.lifecycles, lock_rows=not self._database.is_sqlite
        )
        self.facilities = SqlFacilityRepository(
            self.session, clock, self.lifecycles, lock_rows=not self._database.is_sqlite
        )
        self.registrations = SqlRegistrationRepository(self.session, clock, self.lifecycles)
        self.disbursements = SqlDisbursementRepository(self.session, clock)
        self.inbox = SqlInbox(self.session, clock)
        self.outbox = SqlOutbox(self.session, clock, dispatched=self._dispatched)
        self.dead_letters = SqlDeadLetters(self.session, clock)
        self.documents = SqlDocumentRepository(self.session)
        self.document_index = SqlDocumentIndex(self.session)
        self.invoice_locks = SqlInvoiceLocks(self.session, clock)
        self.loans = SqlLoanRepository(self.session, clock)
        self.timers = SqlTimers(self.session, clock, skip_locked=not self._database.is_sqlite)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            # Detach first: objects read in this unit stay readable after it ends (a rollback
            # would expire them), and nothing uncommitted is written by leaving.
            self.session.expunge_all()
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            await self.session.close()

    async def expect(self, request_ids: Iterable[str]) -> None:
        """Name the requests this unit of work will handle, so each repository reads what it
        needs of them in one query (the request states at once, the rest on first use)."""
        ids = list(request_ids)
        sellers, buyers = await self.requests.preload(ids)
        self.invoice_locks.expect(ids)
        self.facilities.expect(ids, sellers, buyers)
        self.registrations.expect(ids)
        self.disbursements.expect(ids)

    async def flush(self) -> None:
        """Write what the repositories queued (commit does this too)."""
        await self.requests.flush()
        await self.facilities.flush()
        await self.registrations.flush()
        await self.disbursements.flush()
        await self.invoice_locks.flush()
        await self.loans.flush()
        await self.lifecycles.flush()

    def forget(self) -> None:
        """Drop what the repositories read and queued, after rolling back to a savepoint."""
        self.requests.forget()
        self.facilities.forget()
        self.registrations.forget()
        self.disbursements.forget()
        self.invoice_locks.forget()
        self.loans.forget()
        self.lifecycles.forget()

    async def commit(self) -> None:
        await self.flush()
        await self.session.commit()
        written, self.outbox.written = self.outbox.written, []
        if written:
            for hook in self._hooks:
                await hook(written)


class UnitOfWorkFactory:
    """Makes a fresh unit of work per use, sharing the database, the clock and commit hooks."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self.hooks: list[CommitHook] = []
        self.dispatches_on_commit = False
        """True when a commit hook hands the outbox rows to the transport (embedded)."""

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.database, self.clock, self.hooks, dispatched=self.dispatches_on_commit
        )
