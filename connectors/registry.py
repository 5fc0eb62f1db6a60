"""The 中登网 registry client (JSON over HTTP, as the bundled simulator speaks it).

Registering is idempotent by the filer reference (our request id): after a timeout we simply
file again and get the same registration back. Filings go in 批量登记 uploads, each answered
on its own, so one refused filing does not hold back the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import httpx

from canonical import PermanentError, Registration, TransientError
from connectors.http import check_status, mapped_errors
from routes.ports import RegistrationRequest

__all__ = ["HttpRegistryGateway"]

_SYSTEM = "registry"


class HttpRegistryGateway:
    """Files through the registry's 批量登记 upload, at most `batch_size` filings a request."""

    def __init__(self, client: httpx.AsyncClient, *, batch_size: int = 200) -> None:
        self._client = client
        self._batch_size = batch_size

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

    async def _upload(
        self, chunk: Sequence[RegistrationRequest]
    ) -> list[Registration | Exception]:
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
