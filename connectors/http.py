"""The one place where httpx errors become connector errors (like httpx's own boundary mapping).

Timeouts, connection failures and 5xx/429 answers are transient; any other 4xx is permanent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from canonical import PermanentError, TransientError

__all__ = ["DEFAULT_TIMEOUT", "check_status", "mapped_errors"]

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@contextmanager
def mapped_errors(system: str) -> Iterator[None]:
    """Re-raise httpx transport errors as TransientError, keeping the cause."""
    try:
        yield
    except httpx.TimeoutException as error:
        raise TransientError(system, f"timed out: {error!r}") from error
    except httpx.TransportError as error:
        raise TransientError(system, f"connection failed: {error!r}") from error


def check_status(system: str, response: httpx.Response) -> None:
    """Raise by status class; 2xx passes."""
    if response.is_success:
        return
    detail = f"HTTP {response.status_code} on {response.request.method} {response.request.url.path}"
    body = response.text[:300]
    if response.status_code >= 500 or response.status_code in {408, 425, 429}:
        raise TransientError(system, f"{detail}: {body}")
    raise PermanentError(system, f"{detail}: {body}")
