"""The 中登网 registry client (JSON over HTTP, as the bundled simulator speaks it).

Registering is idempotent by the filer reference (our request id): after a timeout we simply
file again and get the same registration back. Filings go in 批量登记 uploads, each answered
on its own, so one refused filing does not hold back the others.

Searching (查询) is a read: one request per 担保人 name, answered with a 查询证明 (search
certificate) that is kept as the evidence of the pre-search and the re-search (factoring-domain
§1.7 rules 1 and 4, formats-outbound §3.2). After a timeout or a broken answer we search again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx

from canonical import MappingError, PermanentError, Registration, TransientError
from canonical.registry import SearchCertificate
from connectors.http import check_status, mapped_errors
from mappings.zhongdeng import zhongdeng_search_to_canonical
from routes.ports import RegistrationRequest

__all__ = ["HttpRegistryGateway"]

_SYSTEM = "registry"


class HttpRegistryGateway:
    """Files through the registry's 批量登记 upload, at most `batch_size` filings a request;
    searches by 担保人 name, at most `search_concurrency` searches in flight."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        batch_size: int = 200,
        search_concurrency: int = 4,
        search_attempts: int = 3,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if search_concurrency < 1:
            raise ValueError("search_concurrency must be at least 1")
        self._client = client
        self._batch_size = batch_size
        self._search_concurrency = search_concurrency
        self._search_attempts = max(search_attempts, 1)
        self._recent: dict[str, tuple[float, SearchCertificate]] = {}
        """The latest certificate per name, with when it was obtained (monotonic)."""
        self._clock = clock

    async def register_many(
        self, requests: Sequence[RegistrationRequest]
    ) -> list[Registration | Exception]:
        answers: list[Registration | Exception] = []
        for start in range(0, len(requests), self._batch_size):
            chunk = requests[start : start + self._batch_size]
            try:
                answers.extend(await self._upload(chunk))
            except Exception as error:  # this upload's filings only; earlier answers stand
                answers.extend([error] * len(chunk))
        return answers

    async def _upload(self, chunk: Sequence[RegistrationRequest]) -> list[Registration | Exception]:
        with mapped_errors(_SYSTEM):
            response = await self._client.post(
                "/registrations/batch", json={"registrations": [_filing(r) for r in chunk]}
            )
        check_status(_SYSTEM, response)
        try:
            results = response.json()["results"]
        except (KeyError, ValueError, TypeError) as error:
            raise PermanentError(_SYSTEM, f"unreadable answer: {error!r}") from error
        if len(results) != len(chunk):
            raise PermanentError(_SYSTEM, f"{len(results)} answers to {len(chunk)} filings")
        return [_answer(request, result) for request, result in zip(chunk, results, strict=True)]

    async def search_many(
        self,
        assignor_names: Sequence[str],
        *,
        skip_assignee: str = "",
        keep: Collection[str] = (),
        max_age: float = 0.0,
    ) -> list[SearchCertificate | Exception]:
        """The 查询证明 for each 担保人 name, in order, or the error its search got.

        A name asked twice is searched once (both places get the same answer); the distinct
        names are searched concurrently, at most `search_concurrency` at a time, each asked up
        to `search_attempts` times while the registry answers with a transient error. The registry
        matches the exact full name (formats-outbound §3.1), so a name is sent as given but for
        surrounding whitespace (no folding of （） or other characters here), and a blank name
        is refused without asking.
        """
        wanted = [name.strip() for name in assignor_names]
        distinct = list(dict.fromkeys(wanted))
        gate = asyncio.Semaphore(self._search_concurrency)

        async def one(name: str) -> SearchCertificate | Exception:
            recent = self._recent.get(name)
            if recent is not None and time.monotonic() - recent[0] <= max_age:
                return recent[1]
            async with gate:
                for attempt in range(self._search_attempts):
                    try:
                        certificate = await self._search(name, skip_assignee, keep)
                        self._recent[name] = (time.monotonic(), certificate)
                        return certificate
                    except TransientError as error:  # a search is a read: ask again, briefly
                        if attempt + 1 == self._search_attempts:
                            return error
                        await asyncio.sleep(0.05 * 2**attempt)
                    except Exception as error:  # this name's answer only
                        return error
                raise AssertionError("unreachable")  # pragma: no cover

        found = await asyncio.gather(*(one(name) for name in distinct))
        by_name = dict(zip(distinct, found, strict=True))
        return [by_name[name] for name in wanted]

    async def cancel_many(self, registrations: Sequence[Registration]) -> list[Exception | None]:
        """注销登记 of our own registrations (compensation after a lost priority race), one
        request each; cancelling again is harmless (the registry answers the cancelled one)."""

        async def one(registration: Registration) -> Exception | None:
            try:
                with mapped_errors(_SYSTEM):
                    response = await self._client.post(
                        f"/registrations/{registration.registration_no}/cancel",
                        json={"modification_code": registration.modification_code},
                    )
                check_status(_SYSTEM, response)
            except Exception as error:  # this cancellation only
                return error
            return None

        return list(await asyncio.gather(*(one(r) for r in registrations)))

    async def _search(
        self, name: str, skip_assignee: str = "", keep: Collection[str] = ()
    ) -> SearchCertificate:
        if not name:
            raise PermanentError(_SYSTEM, "a search needs the 担保人's name, got a blank one")
        with mapped_errors(_SYSTEM):
            response = await self._client.get(
                "/registrations/search", params={"assignor_name": name}
            )
        check_status(_SYSTEM, response)
        raw = response.content
        try:
            data = json.loads(raw)
        except ValueError as error:
            # A broken body (cut off in transit): the search was made but its 查询证明 cannot be
            # read, so nothing is known; searching again is harmless (QA.md, "malformed_rate").
            raise TransientError(_SYSTEM, f"unreadable 查询证明: {error!r}") from error
        if skip_assignee:
            raw = _without_ours(data, skip_assignee.strip().upper(), set(keep)) or raw
        try:
            certificate = zhongdeng_search_to_canonical(raw, received_at=self._clock())
        except MappingError as error:
            raise PermanentError(_SYSTEM, f"unreadable 查询证明: {error}") from error
        asked = certificate.criteria.assignor_name
        if asked != name:
            raise PermanentError(
                _SYSTEM,
                f"查询证明 {certificate.certificate_no} answers a search for {asked!r}, "
                f"not {name!r}",
            )
        return certificate


def _without_ours(data: Any, ours: str, keep: set[str]) -> bytes | None:
    """The certificate without our own registrations (but those in `keep`), re-encoded; None
    when it does not have the expected shape (the mapper then reports what is wrong)."""
    if not isinstance(data, dict) or not isinstance(data.get("registrations"), list):
        return None
    hits = data["registrations"]

    def ours_to_skip(hit: Any) -> bool:
        if not isinstance(hit, dict) or not isinstance(hit.get("assignee"), dict):
            return False
        uscc = hit["assignee"].get("uscc")
        mine = isinstance(uscc, str) and uscc.strip().upper() == ours
        return mine and hit.get("registration_no") not in keep

    others = [hit for hit in hits if not ours_to_skip(hit)]
    if len(others) == len(hits):
        return None
    shown = {**data, "registrations": others, "total": len(others)}
    return json.dumps(shown, ensure_ascii=False).encode()


def _filing(request: RegistrationRequest) -> dict[str, object]:
    return {
        "filer_reference": request.filer_reference,
        "business_type": "保理",
        "assignor": {"name": request.assignor.name, "uscc": request.assignor.uscc},
        "assignee": {"name": request.assignee.name, "uscc": request.assignee.uscc},
        "property_description": request.description,
        "period_months": request.period_months,
        "main_contract": {
            "number": request.filer_reference,
            "currency": request.amount.currency,
            "amount": format(request.amount.amount, "f"),
        },
        "invoices": list(request.invoices),
    }


def _answer(request: RegistrationRequest, data: Any) -> Registration | Exception:
    try:
        status = int(data.get("status", 0))
        if status not in (200, 201):
            errors = "; ".join(f"{e['field']}: {e['reason']}" for e in data.get("errors", []))
            kind = TransientError if status >= 500 or status in {408, 429} else PermanentError
            return kind(_SYSTEM, f"filing refused ({status}): {errors or data}")
        return Registration(
            request_id=request.filer_reference,
            registration_no=str(data["registration_no"]),
            modification_code=str(data.get("modification_code", "")),
            registered_at=datetime.fromisoformat(data["registered_at"]),
            expires_at=date.fromisoformat(data["expires_at"]) if data.get("expires_at") else None,
        )
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        return PermanentError(_SYSTEM, f"unreadable answer: {error!r}")
