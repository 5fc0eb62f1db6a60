"""The credit bureau, through 天眼查's OpenAPI (formats-outbound §4.3): what the flow must know
of an enterprise before financing against it.

For each USCC: `ic/baseinfo/normal` (登记状态, read by `mappings.credit_tianyancha`) and
`jr/dishonest/2.0` (失信被执行人), and on request `jr/zhixinginfo/2.0` (被执行人), both read by
`mappings.credit_court`. Every call is billed and a seller applies with hundreds of invoices an
hour, so an answer is kept per USCC for `max_age` seconds, a USCC asked twice (in one batch or
by two batches at once) is looked up once, and at most `concurrency` calls are in flight.

Looking up is a read: after a timeout it is simply asked again. Timeouts, 5xx, 429, a rate
limit, an exhausted balance or a refused token are transient (the application waits while the
operator sees the reason); a 4xx or an answer that cannot be read is permanent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from canonical import MappingError, PermanentError, TransientError, normalise_uscc
from canonical.credit import CourtRecordKind, CourtRecords, CreditStanding, EnterpriseProfile
from connectors.http import check_status, mapped_errors
from mappings._credit import tianyancha_code
from mappings.credit_court import NO_RESULT, tianyancha_records_to_canonical
from mappings.credit_tianyancha import tianyancha_to_canonical

__all__ = ["DEFAULT_MAX_AGE", "HttpCreditBureau"]

_SYSTEM = "credit-bureau"
DEFAULT_MAX_AGE = 300.0
"""Seconds an answer about one enterprise is given again without asking. [P]"""
_BASEINFO = "/services/open/ic/baseinfo/normal"
_RECORDS = {
    CourtRecordKind.DISHONEST: "/services/open/jr/dishonest/2.0",
    CourtRecordKind.EXECUTED: "/services/open/jr/zhixinginfo/2.0",
}
_ACCOUNT_CODES = {
    300002: "the account's token is refused",
    300004: "rate limited",
    300006: "the account's balance is used up",
}
"""天眼查 error codes about our account, not the enterprise: worth asking again once fixed."""
_KEEP_AT_MOST = 10_000
"""Answers kept before the expired ones are dropped (a bound on memory, not on correctness)."""


class HttpCreditBureau:
    """The `CreditBureau` port over 天眼查's OpenAPI (header `Authorization: <token>`)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        token: str,
        max_age: float = DEFAULT_MAX_AGE,
        concurrency: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._client = client
        self._headers = {"Authorization": token}
        self._max_age = max_age
        self._gate = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._recent: dict[str, tuple[float, CreditStanding]] = {}
        """The latest answer per USCC, with when it was obtained (monotonic)."""
        self._asking: dict[tuple[str, bool], asyncio.Future[CreditStanding]] = {}
        """Look-ups in flight, shared by everyone who asks the same meanwhile."""

    async def check_many(
        self, usccs: Sequence[str], *, executed: bool = False
    ) -> list[CreditStanding | Exception]:
        """What the bureau says of each enterprise, in order, or the error its look-up got."""
        wanted = [normalise_uscc(u) for u in usccs]
        distinct = list(dict.fromkeys(wanted))
        if len(self._recent) > _KEEP_AT_MOST:
            self._drop_expired()
        found = await asyncio.gather(*(self._standing(u, executed) for u in distinct))
        by_uscc = dict(zip(distinct, found, strict=True))
        return [by_uscc[u] for u in wanted]

    def forget(self) -> None:
        """Drop every kept answer (the next question asks the bureau)."""
        self._recent.clear()

    def _drop_expired(self) -> None:
        oldest = time.monotonic() - self._max_age
        self._recent = {u: kept for u, kept in self._recent.items() if kept[0] >= oldest}

    async def _standing(self, uscc: str, executed: bool) -> CreditStanding | Exception:
        recent = self._recent.get(uscc)
        if (
            recent is not None
            and time.monotonic() - recent[0] <= self._max_age
            and (recent[1].executed is not None or not executed)
        ):
            return recent[1]
        key = (uscc, executed)
        asking = self._asking.get(key)
        if asking is None:
            asking = asyncio.ensure_future(self._look_up(uscc, executed))
            self._asking[key] = asking
            asking.add_done_callback(lambda done: self._settled(key, done))
        try:
            return await asyncio.shield(asking)
        except Exception as error:  # this enterprise's answer only
            return error

    def _settled(self, key: tuple[str, bool], done: asyncio.Future[CreditStanding]) -> None:
        if self._asking.get(key) is done:
            del self._asking[key]
        if not done.cancelled() and done.exception() is None:
            self._recent[key[0]] = (time.monotonic(), done.result())

    async def _look_up(self, uscc: str, executed: bool) -> CreditStanding:
        profile, dishonest, enforced = await asyncio.gather(
            self._profile(uscc),
            self._records(uscc, CourtRecordKind.DISHONEST),
            self._records(uscc, CourtRecordKind.EXECUTED) if executed else _nothing(),
            return_exceptions=True,  # every call settles before the first error is raised
        )
        if isinstance(profile, BaseException):
            raise profile
        if isinstance(dishonest, BaseException):
            raise dishonest
        if isinstance(enforced, BaseException):
            raise enforced
        return CreditStanding(
            uscc=uscc,
            profile=profile,
            dishonest=dishonest,
            executed=enforced,
            checked_at=self._clock(),
        )

    async def _profile(self, uscc: str) -> EnterpriseProfile | None:
        """The 工商 basic information; None when the bureau knows no such enterprise."""
        raw, code = await self._get(_BASEINFO, uscc)
        if code == NO_RESULT:
            return None
        try:
            profile = tianyancha_to_canonical(raw, received_at=self._clock())
        except MappingError as error:
            raise PermanentError(_SYSTEM, f"unreadable 企业基本信息 of {uscc}: {error}") from error
        if profile.uscc != uscc:
            raise PermanentError(
                _SYSTEM, f"asked about {uscc}, answered about {profile.uscc} ({profile.name})"
            )
        return profile

    async def _records(self, uscc: str, kind: CourtRecordKind) -> CourtRecords:
        raw, _ = await self._get(_RECORDS[kind], uscc)
        try:
            return tianyancha_records_to_canonical(
                raw, kind=kind, keyword=uscc, received_at=self._clock()
            )
        except MappingError as error:
            raise PermanentError(_SYSTEM, f"unreadable {kind.value} list of {uscc}: {error}") from (
                error
            )

    async def _get(self, path: str, uscc: str) -> tuple[bytes, int | None]:
        """The answer's bytes and its `error_code`; the account's refusals raised as transient."""
        async with self._gate:
            with mapped_errors(_SYSTEM):
                response = await self._client.get(
                    path, params={"keyword": uscc}, headers=self._headers
                )
        check_status(_SYSTEM, response)
        raw = response.content
        try:
            envelope = json.loads(raw)
        except ValueError as error:
            # A body cut off in transit: nothing is known yet, and asking again is harmless.
            raise TransientError(_SYSTEM, f"unreadable answer on {path}: {error!r}") from error
        code = _error_code(envelope)
        if code in _ACCOUNT_CODES:
            raise TransientError(_SYSTEM, f"天眼查 {code}: {_ACCOUNT_CODES[code]} ({path})")
        return raw, code


async def _nothing() -> None:
    return None


def _error_code(envelope: object) -> int | None:
    """The envelope's `error_code` (None when it has none; the mapper then says what is wrong)."""
    return tianyancha_code(envelope.get("error_code")) if isinstance(envelope, dict) else None
