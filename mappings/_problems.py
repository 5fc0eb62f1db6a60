"""Collecting problems: every mapper reports all of them at once in one MappingError."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from pydantic import ValidationError

from canonical import MappingError, Problem

__all__ = ["Problems", "guarded", "pointer", "require_aware", "shown"]

T = TypeVar("T")

_MAX_SHOWN = 200


def pointer(base: str, key: str | int) -> str:
    """`base` extended by one RFC 6901 reference token."""
    token = str(key)
    if "~" in token or "/" in token:
        token = token.replace("~", "~0").replace("/", "~1")
    return f"{base}/{token}"


def shown(value: object) -> object:
    """A short, JSON-friendly rendering of an offending value for `Problem.value`."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, int):
        text = str(value)
        if len(text) <= _MAX_SHOWN:
            return value
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict):
        return "<object>"
    elif isinstance(value, list):
        return "<array>"
    else:
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"


class Problems:
    """An ordered list of problems, remembering which paths already have one."""

    __slots__ = ("_seen", "items", "paths")

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.paths: set[str] = set()
        self._seen: set[tuple[str, str]] = set()

    def add(self, path: str, reason: str, value: object = None) -> None:
        """Record a problem (a field read twice is still reported once)."""
        if (path, reason) in self._seen:
            return
        self._seen.add((path, reason))
        self.items.append(Problem(path=path, reason=reason, value=shown(value)))
        self.paths.add(path)

    def any_at(self, *paths: str) -> bool:
        """Whether any of `paths` already has a problem (cross-checks skip such values)."""
        return bool(self.paths) and any(p in self.paths for p in paths)

    def add_validation_error(self, base: str, error: ValidationError) -> None:
        """Fold a pydantic error (a model rule we did not pre-check) into problems."""
        for item in error.errors(include_url=False):
            where = "/".join(str(part) for part in item["loc"])
            self.add(f"{base}/{where}" if where else base, item["msg"], item.get("input"))

    def raise_if_any(self, source: str) -> None:
        if self.items:
            raise MappingError(self.items, source=source)


def guarded(source: str, work: Callable[[], T]) -> T:
    """Run a mapper so that nothing but MappingError can escape it."""
    try:
        return work()
    except MappingError:
        raise
    except Exception as exc:  # the contract: a mapper raises MappingError and nothing else
        problem = Problem(path="", reason=f"unexpected {type(exc).__name__}: {exc}"[:300])
        raise MappingError([problem], source=source) from exc


def require_aware(problems: Problems, name: str, moment: datetime) -> None:
    """Naive datetimes are refused: every time in the hub carries its offset."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        problems.add(name, "must be a timezone-aware datetime", moment)
