"""A message to emit later: what a route's apply step returns to be handled again at a time.

An apply step stays pure: it returns `Later(message, due_at)` among its messages, and the
consumer writes it to the durable `timers` table (not the outbox) in the same transaction as
the state change. The hub's timekeeper moves it into the outbox once the hub's clock reaches
`due_at`, with a message id of its own, so the wait survives a restart and the message is
delivered once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from canonical import Message

__all__ = ["CHINA", "Later", "next_business_morning"]

CHINA = ZoneInfo("Asia/Shanghai")
"""The tax platform, the registry and the banks count days in China time."""

_MORNING = time(9, 0)


@dataclass(frozen=True, slots=True)
class Later:
    """Emit `message` once the hub's clock reaches `due_at` (timezone-aware)."""

    message: Message
    due_at: datetime

    def __post_init__(self) -> None:
        if self.due_at.tzinfo is None:
            raise ValueError("Later.due_at must be timezone-aware")


def next_business_morning(now: datetime) -> datetime:
    """09:00 China time on the calendar day after `now`'s (China time), in UTC.

    Why the next day at 09:00 rather than now + 24 h: the tax platform counts its days in China
    time (an invoice issued today is checkable from tomorrow, the 5-checks-a-day limit starts
    over at midnight), so the next China calendar day is what matters; 09:00 gathers a day's
    retries into one 批量查验 batch, in office hours when operators watch the flow.
    """
    day: date = now.astimezone(CHINA).date() + timedelta(days=1)
    return datetime.combine(day, _MORNING, tzinfo=CHINA).astimezone(UTC)
