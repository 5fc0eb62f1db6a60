"""China Standard Time: every external system the hub meets stamps times in UTC+8."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")

Clock = Callable[[], datetime]


def now_cst() -> datetime:
    return datetime.now(CST)


def iso_seconds(value: datetime) -> str:
    """ISO 8601 with seconds and the +08:00 offset, e.g. 2026-11-28T09:30:00+08:00."""
    return value.astimezone(CST).isoformat(timespec="seconds")
