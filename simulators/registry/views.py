"""A registration chain and its JSON views: the filer's receipt and the public record."""

from __future__ import annotations

import calendar
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from simulators.common.clock import iso_seconds
from simulators.registry.models import Party, RegistrationRequest

__all__ = ["Entry", "Registration", "normalize_name"]


def normalize_name(name: str) -> str:
    """Full-width and half-width forms (（）/()) compare equal; whitespace is ignored."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def _add_months(start: date, months: int) -> date:
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


@dataclass(frozen=True)
class Entry:
    """A 变更 / 展期 / 注销 entry: its own number and time, linked to the initial registration."""

    registration_no: str
    kind: str
    registered_at: datetime
    detail: Mapping[str, Any]

    def public(self, original: str) -> dict[str, Any]:
        return {
            "registration_no": self.registration_no,
            "registration_type": self.kind,
            "original_registration_no": original,
            "registered_at": iso_seconds(self.registered_at),
            **({"changes": dict(self.detail)} if self.kind == "变更登记" else {}),
            **({"period_months": self.detail["period_months"]} if self.kind == "展期登记" else {}),
        }


@dataclass(frozen=True)
class Registration:
    """The 初始登记 and what was filed against it; `request` is the current content."""

    registration_no: str
    modification_code: str
    registered_at: datetime
    request: RegistrationRequest
    history: tuple[Entry, ...] = ()
    cancelled_at: datetime | None = None
    seeded: bool = False

    @property
    def expires_at(self) -> date:
        """登记到期日: the initial registration date plus the whole term (extensions included)."""
        return _add_months(self.registered_at.date(), self.request.period_months)

    def status(self, today: date) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        return "expired" if self.expires_at < today else "active"

    def receipt(self) -> dict[str, Any]:
        """The answer to the filer: the only view that shows the modification code."""
        return {
            "registration_no": self.registration_no,
            "registration_type": "初始登记",
            "modification_code": self.modification_code,
            "registered_at": iso_seconds(self.registered_at),
            "period_months": self.request.period_months,
            "expires_at": self.expires_at.isoformat(),
            "filer_reference": self.request.filer_reference,
        }

    def public(self, today: date) -> dict[str, Any]:
        req = self.request
        return {
            "registration_no": self.registration_no,
            "registration_type": "初始登记",
            "registered_at": iso_seconds(self.registered_at),
            "expires_at": self.expires_at.isoformat(),
            "business_type": req.business_type,
            "assignor": _party(req.assignor),
            "assignee": _party(req.assignee),
            "property_description": req.property_description,
            "period_months": req.period_months,
            "main_contract": req.main_contract.model_dump() if req.main_contract else None,
            "invoices": list(req.invoices),
            "filer_reference": req.filer_reference,
            "status": self.status(today),
            "cancelled_at": iso_seconds(self.cancelled_at) if self.cancelled_at else None,
            "history": [entry.public(self.registration_no) for entry in self.history],
        }


def _party(party: Party) -> dict[str, str]:
    return {"name": party.name, "uscc": party.uscc}
