"""The bank's booking notifications (camt.054) for one debtor account: what really left it.

The bank lists an account's booked entries after a given entry number (`after=N`, N being the
`NtryRef` of the last entry already read). We page until a page brings no new entry, so a
reconciliation sees every booking, however many pages the bank cuts the ledger into.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from canonical import MappingError, PermanentError
from canonical.payments import DebitCreditNotification
from connectors.http import check_status, mapped_errors
from mappings.camt054 import camt054_to_canonical

__all__ = ["DEFAULT_MAX_PAGES", "BankStatements"]

_SYSTEM = "bank"
_PATH = "/iso20022/camt.054"

DEFAULT_MAX_PAGES = 10_000
"""A bank that keeps answering with new entries forever is broken, not busy."""


class BankStatements:
    """Reads camt.054 notifications over an injected client; raises connector errors only."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_pages: int = DEFAULT_MAX_PAGES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._max_pages = max_pages
        self._clock = clock

    async def notifications(self, account: str, *, after: int = 0) -> list[DebitCreditNotification]:
        """Every notification page for `account` with entries after entry number `after`.

        The last page (the one without new entries) is not returned. Raises TransientError when
        the bank cannot be reached or answers 5xx, PermanentError when it refuses the query or
        answers something that is not a camt.054 of this account.
        """
        pages: list[DebitCreditNotification] = []
        for _ in range(self._max_pages):
            page = await self._page(account, after)
            last = _last_entry_number(page, account, after)
            if last is None:
                return pages
            pages.append(page)
            after = last
        raise PermanentError(
            _SYSTEM, f"camt.054 of {account} still had entries after {after} pages"
        )

    async def _page(self, account: str, after: int) -> DebitCreditNotification:
        with mapped_errors(_SYSTEM):
            response = await self._client.get(
                _PATH, params={"account": account, "after": str(after)}
            )
        check_status(_SYSTEM, response)
        try:
            return camt054_to_canonical(response.content, received_at=self._clock())
        except MappingError as error:
            raise PermanentError(_SYSTEM, f"unreadable camt.054: {error}") from error


def _last_entry_number(page: DebitCreditNotification, account: str, after: int) -> int | None:
    """The highest entry number on the page, or None when it has no entry.

    Paging needs every entry to carry its number, and the numbers to move forward: otherwise
    the next request could return the same entries again, or skip some.
    """
    numbers: list[int] = []
    for block in page.notifications:
        if block.account_number != account:
            raise PermanentError(
                _SYSTEM, f"camt.054 asked for {account} reports account {block.account_number}"
            )
        for entry in block.entries:
            reference = entry.entry_reference
            if not (reference.isascii() and reference.isdigit()):
                raise PermanentError(
                    _SYSTEM, f"camt.054 entry without a numeric NtryRef: {reference!r}"
                )
            number = int(reference)
            if number <= after:
                raise PermanentError(
                    _SYSTEM, f"camt.054 after={after} returned entry {number}, not a later one"
                )
            numbers.append(number)
    return max(numbers, default=None)
