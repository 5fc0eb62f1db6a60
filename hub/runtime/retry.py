"""How often and how patiently a consumer retries a message before dead-lettering it."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from canonical import DomainError, PermanentError

__all__ = ["DEFAULT_RETRY", "RetryPolicy", "is_permanent"]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff: `initial` s, times `multiplier` per attempt, capped at `maximum`."""

    attempts: int = 5
    initial: float = 0.1
    multiplier: float = 2.0
    maximum: float = 5.0


DEFAULT_RETRY = RetryPolicy()


def is_permanent(error: BaseException) -> bool:
    """Errors no retry can fix: the partner refused, a rule refused, or the message is malformed."""
    return isinstance(error, PermanentError | DomainError | ValidationError | LookupError)
