"""The `yonyou:` section of a scenario file, validated field by field."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from simulators.common.callbacks import CallbackFaults
from simulators.erp.dataset import STANDARD_CASES

__all__ = ["AppConfig", "SubscriberConfig", "YonyouScenario"]


class AppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    app_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    app_secret: Annotated[str, Field(pattern=r"^[A-Za-z0-9+/-]{1,128}$")]
    """Base64 characters only: the push's AES key is decoded from it."""
    tenant_id: Annotated[str, Field(min_length=1, max_length=64)] = "tenant0001"


class SubscriberConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    app_key: str | None = None
    """Which app's keys sign the pushes (default: the first app)."""


class YonyouScenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    invoices: Annotated[int, Field(ge=0, le=1000)] = STANDARD_CASES
    anomalies: dict[str, Annotated[float, Field(ge=0, le=1)]] | None = None
    token_ttl_s: Annotated[int, Field(ge=1, le=86_400)] = 7200
    timestamp_window_s: Annotated[int, Field(ge=1, le=86_400)] = 600
    approve_on_save: bool = False
    detail_code_as_number: bool = True
    apps: Annotated[list[AppConfig], Field(min_length=1)] | None = None
    subscriber: SubscriberConfig | None = None
    callbacks: CallbackFaults | None = None
