"""In-memory registrations keyed by 登记证明编号, with a filer-reference index for idempotency.

A registration is a chain: the 初始登记 and the 变更 / 展期 / 注销 entries filed against it, each
with its own number and time (formats-outbound §3.1). The chain shows its current content; the
registration time that ranks it (Civil Code art. 768) stays the initial one.

All mutations happen under one lock and never await, so the store is safe under one event loop
and across threads alike.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from simulators.common.clock import CST, Clock, iso_seconds, now_cst
from simulators.registry.models import Changes, RegistrationRequest
from simulators.registry.views import Entry, Registration, normalize_name

__all__ = [
    "EXTENSION_WINDOW_DAYS",
    "RegistryError",
    "RegistryStore",
]

EXTENSION_WINDOW_DAYS = 90
"""展期 only in the 90 days before the 登记到期日 (factoring-domain §1.7)."""
MAX_MONTHS = 360
_CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class RegistryError(Exception):
    """A refused operation: HTTP status, a code, the registry's own (Chinese) message."""

    def __init__(self, status: int, code: str, message: str, error: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.error = status, code, message, error

    def body(self) -> dict[str, str]:
        return {"error": self.error, "code": self.code, "message": self.message}


def _unknown(number: str) -> RegistryError:
    return RegistryError(404, "NOT_FOUND", f"登记证明编号{number}不存在", "unknown registration_no")


WRONG_CODE = RegistryError(
    403, "WRONG_MODIFICATION_CODE", "修改码错误", "modification_code does not match"
)


def _in_cst(value: datetime) -> datetime:
    """A datetime without an offset is China time, as everywhere in these systems."""
    return value.replace(tzinfo=CST) if value.tzinfo is None else value.astimezone(CST)


class RegistryStore:
    def __init__(self, seed: int = 0, clock: Clock = now_cst) -> None:
        self._seed = seed
        self._clock = clock
        self._lock = threading.RLock()  # operations check, then file, in one hold
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(f"factorhub-sim:registry:{self._seed}")
            self._chains: dict[str, Registration] = {}
            self._chain_of: dict[str, str] = {}  # every entry number -> its chain's number
            self._by_filer: dict[tuple[str, str], str] = {}
            self._certificates: dict[str, dict[str, Any]] = {}
            self._seq = 0
            # search speed-ups (a busy seller has thousands of registrations): each chain's
            # normalised 担保人 name, and its public view as of a day, until the chain changes
            self._names: dict[str, tuple[Registration, str]] = {}
            self._views: dict[str, tuple[Registration, date, dict[str, Any]]] = {}
            self._json: dict[str, tuple[Registration, date, bytes]] = {}

    def now(self) -> datetime:
        return self._clock().astimezone(CST)

    def today(self) -> date:
        return self.now().date()

    def __len__(self) -> int:
        return len(self._chains)

    # -- filing -----------------------------------------------------------------------------

    def register(
        self,
        request: RegistrationRequest,
        registered_at: datetime | None = None,
        *,
        seeded: bool = False,
        cancelled: bool = False,
    ) -> tuple[Registration, bool]:
        """(registration, created): the same filer reference of the same assignee is the same."""
        key = (request.assignee.uscc, request.filer_reference)
        with self._lock:
            existing = self._by_filer.get(key)
            if existing is not None:
                return self._chains[existing], False
            when = _in_cst(registered_at) if registered_at else self.now()
            number = self._next_number(when)
            code = "".join(self._rng.choice(_CODE_CHARS) for _ in range(8))
            registration = Registration(number, code, when, request, seeded=seeded)
            if cancelled:  # a seeded registration its factor has already cancelled
                now = max(self.now(), when)
                entry = Entry(self._next_number(now), "注销登记", now, {})
                registration = replace(registration, history=(entry,), cancelled_at=now)
                self._chain_of[entry.registration_no] = number
            self._chains[number] = registration
            self._chain_of[number] = number
            self._by_filer[key] = number
            return registration, True

    def get(self, number: str) -> Registration | None:
        with self._lock:
            chain = self._chain_of.get(number.strip())
            return self._chains[chain] if chain else None

    def amend(self, number: str, code: str, changes: Changes) -> tuple[Registration, Entry]:
        """变更登记: a new entry with its own number; the content changes, the rank does not."""
        fields = {name: getattr(changes, name) for name in changes.model_fields_set}

        def change(chain: Registration, entry: Entry) -> Registration:
            return replace(chain, request=chain.request.model_copy(update=fields))

        shown = changes.model_dump(include=changes.model_fields_set)
        return self._operate(number, code, "变更登记", shown, change)

    def extend(self, number: str, code: str, months: int) -> tuple[Registration, Entry]:
        """展期登记: `months` more, only in the window before expiry, 30 years at most in all."""
        with self._lock:
            chain = self._chain_for(number, code)
            if chain.expires_at - timedelta(days=EXTENSION_WINDOW_DAYS) > self.today():
                raise RegistryError(
                    409,
                    "EXTENSION_NOT_DUE",
                    f"登记到期日前{EXTENSION_WINDOW_DAYS}日内方可办理展期登记",
                    "extension is allowed only in the 90 days before expiry",
                )
            total = chain.request.period_months + months
            if total > MAX_MONTHS:
                raise RegistryError(
                    422,
                    "TERM_TOO_LONG",
                    "登记期限最长不超过30年",
                    f"the term would be {total} months; at most {MAX_MONTHS}",
                )

            def extend(chain: Registration, entry: Entry) -> Registration:
                request = chain.request.model_copy(update={"period_months": total})
                return replace(chain, request=request)

            return self._operate(number, code, "展期登记", {"period_months": months}, extend)

    def cancel(self, number: str, code: str) -> Registration:
        """注销登记; cancelling again answers the cancelled registration (a retry is harmless)."""
        with self._lock:
            chain = self._chain_for(number, code, allow_cancelled=True)
            if chain.cancelled_at is not None:
                return chain

            def cancel(chain: Registration, entry: Entry) -> Registration:
                return replace(chain, cancelled_at=entry.registered_at)

            return self._operate(number, code, "注销登记", {}, cancel)[0]

    def _operate(
        self,
        number: str,
        code: str,
        kind: str,
        detail: dict[str, Any],
        apply: Callable[[Registration, Entry], Registration],
    ) -> tuple[Registration, Entry]:
        with self._lock:
            chain = self._chain_for(number, code)
            when = self.now()
            entry = Entry(self._next_number(when), kind, when, detail)
            updated = apply(replace(chain, history=(*chain.history, entry)), entry)
            self._chains[chain.registration_no] = updated
            self._chain_of[entry.registration_no] = chain.registration_no
            return updated, entry

    def _name_of(self, chain: Registration) -> str:
        """The chain's normalised 担保人 name, computed again only when the chain changed."""
        cached = self._names.get(chain.registration_no)
        if cached is not None and cached[0] is chain:
            return cached[1]
        name = normalize_name(chain.request.assignor.name)
        self._names[chain.registration_no] = (chain, name)
        return name

    def _view(self, chain: Registration, today: date) -> dict[str, Any]:
        """`chain.public(today)`, computed again only when the chain or the day changed."""
        cached = self._views.get(chain.registration_no)
        if cached is not None and cached[0] is chain and cached[1] == today:
            return cached[2]
        view = chain.public(today)
        self._views[chain.registration_no] = (chain, today, view)
        return view

    def _view_json(self, chain: Registration, today: date) -> bytes:
        cached = self._json.get(chain.registration_no)
        if cached is not None and cached[0] is chain and cached[1] == today:
            return cached[2]
        encoded = _dumps(self._view(chain, today))
        self._json[chain.registration_no] = (chain, today, encoded)
        return encoded

    def _chain_for(self, number: str, code: str, *, allow_cancelled: bool = False) -> Registration:
        """The chain `number` belongs to, if `code` opens it and it is still open (lock held)."""
        chain_no = self._chain_of.get(number.strip())
        if chain_no is None:
            raise _unknown(number)
        chain = self._chains[chain_no]
        if chain.modification_code != code:
            raise WRONG_CODE
        status = chain.status(self.today())
        if status == "cancelled" and not allow_cancelled:
            raise RegistryError(
                409, "REGISTRATION_CANCELLED", "该登记已注销", "the registration is cancelled"
            )
        if status == "expired":
            raise RegistryError(
                409, "REGISTRATION_EXPIRED", "该登记已到期", "the registration has expired"
            )
        return chain

    def _next_number(self, when: datetime) -> str:
        self._seq += 1
        return f"{when:%Y%m%d}{self._seq:08d}{self._rng.randrange(10_000):04d}"

    # -- search -----------------------------------------------------------------------------

    def search(
        self,
        assignor_name: str | None,
        assignor_uscc: str | None,
        registration_no: str | None = None,
    ) -> dict[str, Any]:
        """A 查询证明: registrations online (neither cancelled nor expired) whose assignor has this
        exact (normalised) name, OR this USCC, OR that hold this registration number."""
        return self._search(assignor_name, assignor_uscc, registration_no)[0]

    def search_json(
        self,
        assignor_name: str | None,
        assignor_uscc: str | None,
        registration_no: str | None = None,
    ) -> bytes:
        """`search`, as the JSON the API answers, built from each registration's cached JSON: a
        busy seller's certificate lists thousands of registrations."""
        certificate, hits, today = self._search(assignor_name, assignor_uscc, registration_no)
        head = {k: v for k, v in certificate.items() if k != "registrations"}
        with self._lock:
            parts = [self._view_json(r, today) for r in hits]
        return b"".join((_dumps(head)[:-1], b',"registrations":[', b",".join(parts), b"]}"))

    def _search(
        self,
        assignor_name: str | None,
        assignor_uscc: str | None,
        registration_no: str | None,
    ) -> tuple[dict[str, Any], list[Registration], date]:
        name = normalize_name(assignor_name) if assignor_name else None
        code = assignor_uscc.strip().upper() if assignor_uscc else None
        number = registration_no.strip() if registration_no else None
        with self._lock:
            when = self.now()
            today = when.date()
            wanted = self._chain_of.get(number) if number else None
            hits = sorted(
                (
                    r
                    for r in self._chains.values()
                    if r.status(today) == "active"
                    and (
                        (name is not None and self._name_of(r) == name)
                        or (code is not None and r.request.assignor.uscc == code)
                        or r.registration_no == wanted
                    )
                ),
                key=lambda r: (r.registered_at, r.registration_no),
            )
            certificate_no = f"Q{when:%Y%m%d%H%M%S}{len(self._certificates) + 1:06d}"
            certificate = {
                "certificate_no": certificate_no,
                "query_time": iso_seconds(when),
                "query": {
                    "assignor_name": assignor_name,
                    "assignor_uscc": assignor_uscc,
                    "registration_no": registration_no,
                },
                "total": len(hits),
                "registrations": [self._view(r, today) for r in hits],
            }
            self._certificates[certificate_no] = certificate
            return certificate, hits, today

    def certificate(self, number: str) -> dict[str, Any] | None:
        with self._lock:
            return self._certificates.get(number.strip())

    # -- admin ------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Registrations by status, operations by kind, and every search made."""
        with self._lock:
            today = self.today()
            by_status: dict[str, list[str]] = {"active": [], "expired": [], "cancelled": []}
            operations = {"初始登记": 0, "变更登记": 0, "展期登记": 0, "注销登记": 0}
            for chain in self._chains.values():
                by_status[chain.status(today)].append(chain.registration_no)
                operations["初始登记"] += 1
                for entry in chain.history:
                    operations[entry.kind] += 1
            searches = [
                {
                    "certificate_no": c["certificate_no"],
                    "query_time": c["query_time"],
                    "query": c["query"],
                    "registration_nos": [r["registration_no"] for r in c["registrations"]],
                }
                for c in self._certificates.values()
            ]
            return {
                "registrations": {
                    "total": len(self._chains),
                    "seeded": sum(1 for c in self._chains.values() if c.seeded),
                    "by_status": by_status,
                },
                "operations": operations,
                "searches": searches,
            }


def _dumps(value: Any) -> bytes:
    """As Starlette's JSONResponse renders (compact, UTF-8)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
