"""In-memory registrations keyed by 登记证明编号, with a filer-reference index for idempotency.

All mutations happen under one lock and never await, so the store is safe under one event loop
and across threads alike.
"""

from __future__ import annotations

import calendar
import random
import threading
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from simulators.common.clock import CST, Clock, iso_seconds, now_cst
from simulators.registry.models import Party, RegistrationRequest

_CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def add_months(start: date, months: int) -> date:
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def normalize_name(name: str) -> str:
    """Full-width and half-width forms (（）/()) compare equal; whitespace is ignored."""
    return "".join(unicodedata.normalize("NFKC", name).split())


@dataclass(frozen=True)
class Registration:
    registration_no: str
    modification_code: str
    registered_at: datetime
    expires_at: date
    request: RegistrationRequest
    cancelled_at: datetime | None = None

    def status(self, today: date) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        return "expired" if self.expires_at < today else "active"

    def receipt(self) -> dict[str, Any]:
        """The answer to the filer: the only view that shows the modification code."""
        return {
            "registration_no": self.registration_no,
            "modification_code": self.modification_code,
            "registered_at": iso_seconds(self.registered_at),
            "expires_at": self.expires_at.isoformat(),
            "filer_reference": self.request.filer_reference,
        }

    def public(self, today: date) -> dict[str, Any]:
        req = self.request
        return {
            "registration_no": self.registration_no,
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
        }


def _party(party: Party) -> dict[str, str]:
    return {"name": party.name, "uscc": party.uscc}


def _in_cst(value: datetime) -> datetime:
    """A datetime without an offset is China time, as everywhere in these systems."""
    return value.replace(tzinfo=CST) if value.tzinfo is None else value.astimezone(CST)


class WrongModificationCode(Exception):
    pass


class RegistryStore:
    def __init__(self, seed: int = 0, clock: Clock = now_cst) -> None:
        self._seed = seed
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(f"factorhub-sim:registry:{self._seed}")
            self._by_no: dict[str, Registration] = {}
            self._by_filer: dict[tuple[str, str], str] = {}
            self._seq = 0
            self._searches = 0

    def now(self) -> datetime:
        return self._clock().astimezone(CST)

    def today(self) -> date:
        return self.now().date()

    def __len__(self) -> int:
        return len(self._by_no)

    def register(
        self, request: RegistrationRequest, registered_at: datetime | None = None
    ) -> tuple[Registration, bool]:
        """(registration, created): the same filer reference of the same assignee is the same."""
        key = (request.assignee.uscc, request.filer_reference)
        with self._lock:
            existing = self._by_filer.get(key)
            if existing is not None:
                return self._by_no[existing], False
            when = _in_cst(registered_at) if registered_at else self.now()
            self._seq += 1
            number = f"{when:%Y%m%d}{self._seq:08d}{self._rng.randrange(10_000):04d}"
            code = "".join(self._rng.choice(_CODE_CHARS) for _ in range(8))
            registration = Registration(
                registration_no=number,
                modification_code=code,
                registered_at=when,
                expires_at=add_months(when.date(), request.period_months),
                request=request,
            )
            self._by_no[number] = registration
            self._by_filer[key] = number
            return registration, True

    def get(self, number: str) -> Registration | None:
        with self._lock:
            return self._by_no.get(number)

    def cancel(self, number: str, modification_code: str) -> Registration | None:
        """None when unknown; raises WrongModificationCode; cancelling twice is harmless."""
        with self._lock:
            registration = self._by_no.get(number)
            if registration is None:
                return None
            if registration.modification_code != modification_code:
                raise WrongModificationCode(number)
            if registration.cancelled_at is None:
                registration = replace(registration, cancelled_at=self.now())
                self._by_no[number] = registration
            return registration

    def search(self, assignor_name: str | None, assignor_uscc: str | None) -> list[Registration]:
        """Registrations whose assignor has this exact (normalised) name OR this USCC."""
        name = normalize_name(assignor_name) if assignor_name else None
        code = assignor_uscc.strip().upper() if assignor_uscc else None
        with self._lock:
            hits = [
                r
                for r in self._by_no.values()
                if (name is not None and normalize_name(r.request.assignor.name) == name)
                or (code is not None and r.request.assignor.uscc == code)
            ]
        return sorted(hits, key=lambda r: (r.registered_at, r.registration_no))

    def next_certificate_no(self) -> str:
        with self._lock:
            self._searches += 1
            return f"Q{self.now():%Y%m%d%H%M%S}{self._searches:06d}"
