"""The 中登网 registry client (JSON over HTTP, as the bundled simulator speaks it).

Registering is idempotent by the filer reference (our request id): after a timeout we simply
file again and get the same registration back.
"""

from __future__ import annotations

from datetime import date, datetime

import httpx

from canonical import PermanentError, Registration
from connectors.http import check_status, mapped_errors
from routes.ports import RegistrationRequest

__all__ = ["HttpRegistryGateway"]

_SYSTEM = "registry"


class HttpRegistryGateway:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def register(self, request: RegistrationRequest) -> Registration:
        body = {
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
        with mapped_errors(_SYSTEM):
            response = await self._client.post("/registrations", json=body)
        check_status(_SYSTEM, response)
        try:
            data = response.json()
            return Registration(
                request_id=request.filer_reference,
                registration_no=str(data["registration_no"]),
                modification_code=str(data.get("modification_code", "")),
                registered_at=datetime.fromisoformat(data["registered_at"]),
                expires_at=date.fromisoformat(data["expires_at"])
                if data.get("expires_at")
                else None,
            )
        except (KeyError, ValueError, TypeError) as error:
            raise PermanentError(_SYSTEM, f"unreadable answer: {error!r}") from error
