"""What the Kingdee simulator holds and did: bills, sessions, logs, and its scenario section."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from simulators.common.admin import ScenarioError
from simulators.common.clock import Clock, iso_seconds
from simulators.erp.dataset import STANDARD_CASES, generate_companies
from simulators.kingdee.auth import DEFAULT_IDLE_MINUTES, Authenticator, Credentials
from simulators.kingdee.envelope import BadRequest
from simulators.kingdee.forms import FORMS, find_form
from simulators.kingdee.seed import BaseData, seeded_bills
from simulators.kingdee.store import BillStore

__all__ = ["DEFAULT_INVOICES", "DEFAULT_QUERY_LIMIT", "KingdeeScenario", "KingdeeSim"]

DEFAULT_INVOICES = STANDARD_CASES  # about half are Kingdee's, each seeding three bills
DEFAULT_QUERY_LIMIT = 2000


class ScenarioBill(BaseModel):
    """A bill QA wants present: stored as given (status `C` unless the model says otherwise)."""

    model_config = ConfigDict(extra="forbid")

    form_id: str
    model: dict[str, Any]


class KingdeeScenario(BaseModel):
    """The `kingdee:` section of a scenario YAML; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    invoices: int | None = Field(default=None, ge=0, le=2000)
    """Re-seed from the first N dataset cases (drops saved bills)."""
    credentials: Credentials | None = None
    session_idle_minutes: int | None = Field(default=None, ge=1, le=1440)
    query_limit: int | None = Field(default=None, ge=1, le=100_000)
    query_errors: Literal["wrapped", "envelope"] | None = None
    """ExecuteBillQuery errors as `[[{"Result": ...}]]` (wrapped) or the bare envelope."""
    login_sign_algorithm: Literal["sha256", "sha1"] | None = None
    bills: list[ScenarioBill] = Field(default_factory=list)


class KingdeeSim:
    """One simulated K/3 Cloud data centre."""

    def __init__(self, seed: int, clock: Clock) -> None:
        self.seed, self.clock = seed, clock
        companies = generate_companies(seed)
        self.base = BaseData(companies)
        self.store = BillStore(seed, clock, self.base)
        self.auth = Authenticator(seed, clock, Credentials.generate(seed))
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.auth.reset()
        self.auth.credentials = Credentials.generate(self.seed)
        self.auth.idle_minutes = DEFAULT_IDLE_MINUTES
        self.auth.sign_algorithm = "sha256"
        self.query_limit = DEFAULT_QUERY_LIMIT
        self.query_errors: Literal["wrapped", "envelope"] = "wrapped"
        self.queries: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.counts = {"unauthenticated": 0, "save_failures": 0}
        self.reseed(DEFAULT_INVOICES)

    def reseed(self, invoices: int) -> None:
        self.invoices = invoices
        self.store.clear()
        companies = generate_companies(self.seed)
        for bill in seeded_bills(self.seed, invoices, companies):
            form = FORMS[bill.form_id.upper()]
            self.store.seed(form, bill.model)

    def apply(self, section: Mapping[str, Any]) -> None:
        scenario = KingdeeScenario.model_validate(section)
        if scenario.invoices is not None:
            self.reseed(scenario.invoices)
        if scenario.credentials is not None:
            self.auth.credentials = scenario.credentials
            self.auth.expire_all()
        if scenario.session_idle_minutes is not None:
            self.auth.idle_minutes = scenario.session_idle_minutes
        if scenario.query_limit is not None:
            self.query_limit = scenario.query_limit
        if scenario.query_errors is not None:
            self.query_errors = scenario.query_errors
        if scenario.login_sign_algorithm is not None:
            self.auth.sign_algorithm = scenario.login_sign_algorithm
        for n, bill in enumerate(scenario.bills):
            form = find_form(bill.form_id)
            if form is None:
                raise ScenarioError(f"bills.{n}.form_id: unknown form {bill.form_id!r}")
            try:
                self.store.seed(form, bill.model)
            except BadRequest as error:
                raise ScenarioError(f"bills.{n}.model: {error}") from error

    def log(self, kind: Literal["queries", "views"], entry: dict[str, Any]) -> None:
        with self._lock:
            getattr(self, kind).append({"at": iso_seconds(self.clock()), **entry})

    def state(self) -> dict[str, Any]:
        creds = self.auth.credentials
        return {
            "credentials": creds.model_dump(mode="json"),
            "settings": {
                "invoices": self.invoices,
                "session_idle_minutes": self.auth.idle_minutes,
                "query_limit": self.query_limit,
                "query_errors": self.query_errors,
                "login_sign_algorithm": self.auth.sign_algorithm,
            },
            "bills": self.store.counts(),
            "saved": list(self.store.saved),
            "logins": list(self.auth.logins),
            "sessions_active": len(self.auth.sessions),
            "queries": list(self.queries),
            "views": list(self.views),
            "counts": {
                "logins": len(self.auth.logins),
                "saves": len(self.store.saved),
                "queries": len(self.queries),
                "views": len(self.views),
                **self.counts,
            },
        }
