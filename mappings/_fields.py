"""Typed reads from decoded JSON, each bad or missing field becoming one Problem at its pointer."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from canonical import Party, PartyRole, normalise_uscc, uscc_problem
from canonical.text import fold_identifier, hidden_problem, non_ascii_note
from mappings._json import JsonRefused, decode_bytes, loads
from mappings._problems import Problems, pointer
from mappings._values import (
    MAX_ABS_AMOUNT,
    MAX_FRACTION_DIGITS,
    SPACES,
    to_date,
    to_decimal,
    to_int,
    to_rate,
    to_text,
)

__all__ = [
    "MAX_ABS_INT",
    "MISSING",
    "PLAIN_AMOUNT",
    "Node",
    "Reader",
    "cached_rate",
    "read_document",
    "tax_invoice_key",
]

T = TypeVar("T")

PLAIN_AMOUNT = re.compile(rf"-?[0-9]{{1,15}}(?:\.[0-9]{{1,{MAX_FRACTION_DIGITS}}})?")
"""A plain decimal that `to_decimal` would accept unchanged (below 10^15 by its digits)."""
MAX_ABS_INT = int(MAX_ABS_AMOUNT)
_RATE_TYPES = (str, int, Decimal)
cached_rate = lru_cache(maxsize=512, typed=True)(to_rate)
"""Invoices repeat a handful of rates: convert each spelling once."""


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) else 0


class _Missing:
    """The value of a field that is not there at all (as opposed to JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class Node:
    """A JSON value and its JSON pointer; `fold` makes key lookups case-insensitive (Kingdee).

    A child's pointer is only spelled out when something asks for it (a problem to report),
    so reading a clean document builds no path strings at all.
    """

    __slots__ = ("_folded", "_key", "_parent", "_path", "fold", "value")

    def __init__(self, value: object, path: str = "", fold: bool = False) -> None:
        self.value = value
        self._path: str | None = path
        self._parent: Node | None = None
        self._key: str | int = ""
        self.fold = fold
        self._folded: dict[str, str] | None = None

    @property
    def path(self) -> str:
        path = self._path
        if path is None:
            assert self._parent is not None
            path = self._path = pointer(self._parent.path, self._key)
        return path

    def child(self, value: object, key: str | int) -> Node:
        """A Node for `value`, found under `key` of this one."""
        node = Node.__new__(Node)
        node.value = value
        node._path = None
        node._parent = self
        node._key = key
        node.fold = self.fold
        node._folded = None
        return node

    @property
    def missing(self) -> bool:
        return self.value is MISSING

    @property
    def blank(self) -> bool:
        """Absent, null, or a string of nothing but spaces and line breaks."""
        value = self.value
        return (
            value is MISSING
            or value is None
            or (isinstance(value, str) and not value.strip(SPACES))
        )

    def get(self, key: str) -> Node:
        value = self.value
        if isinstance(value, dict):
            found = value.get(key, MISSING)
            if found is not MISSING:
                return self.child(found, key)
            if self.fold:
                if self._folded is None:  # built once per object, on the first miss
                    self._folded = {k.lower(): k for k in reversed(list(value))}
                actual = self._folded.get(key.lower())
                if actual is not None:
                    return self.child(value[actual], actual)
        return self.child(MISSING, key)

    def first(self, *keys: str) -> Node:
        """The first of `keys` that is present and not blank (else the first key, missing)."""
        for key in keys:
            node = self.get(key)
            if not node.blank:
                return node
        return self.get(keys[0])


class Reader:
    """Reads fields through Nodes and records a Problem for every one that is wrong."""

    __slots__ = ("problems",)

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def _absent(self, node: Node, required: bool) -> None:
        if required:
            reason = "is required but missing" if node.missing or node.value is None else (
                "must not be empty")
            self.problems.add(node.path, reason, None if node.missing else node.value)

    def _convert(self, node: Node, convert: Callable[[object], T]) -> T | None:
        try:
            return convert(node.value)
        except ValueError as exc:
            self.problems.add(node.path, str(exc), node.value)
            return None

    def object(self, node: Node, *, required: bool = True) -> Node | None:
        if node.missing or node.value is None:
            self._absent(node, required)
            return None
        if not isinstance(node.value, dict):
            self.problems.add(node.path, "must be an object", node.value)
            return None
        return node

    def embedded_object(self, node: Node, *, required: bool = True) -> Node | None:
        """An object that may also arrive as a JSON string holding it (double-encoded)."""
        if isinstance(node.value, str) and node.value.strip():
            try:
                decoded = loads(node.value)
            except JsonRefused as exc:
                self.problems.add(node.path + exc.path, f"is a string but {exc}", node.value)
                return None
            node = Node(decoded, node.path, node.fold)
        return self.object(node, required=required)

    def array(self, node: Node, *, required: bool = True) -> list[Node] | None:
        if node.missing or node.value is None:
            self._absent(node, required)
            return None if required else []
        if not isinstance(node.value, list):
            self.problems.add(node.path, "must be an array", node.value)
            return None
        return [node.child(item, i) for i, item in enumerate(node.value)]

    def text(self, node: Node, *, required: bool = True, max_len: int | None = None) -> str | None:
        """A trimmed string; "" for an optional blank field, None when there is a problem.

        Control and invisible characters (bidi overrides, zero-width spaces, NUL) are refused
        in every text field; tabs and line breaks are kept inside free text (`_values.to_text`).
        """
        value = node.value
        if type(value) is str:  # the usual case, decided without the general conversion
            text = value.strip(SPACES)
            if text and (max_len is None or len(text) <= max_len) and text.isprintable():
                return text
        if node.blank:
            self._absent(node, required)
            return None if required else ""
        return self._convert(node, lambda v: to_text(v, max_len=max_len))

    def name(self, node: Node, *, max_len: int = 140) -> str | None:
        """A required name (of a company, a bank): printable, no line breaks or tabs either."""
        title = self.text(node, max_len=max_len)
        if title is not None and (why := hidden_problem(title)):
            self.problems.add(node.path, why, node.value)
            return None
        return title

    def code(self, node: Node, *, required: bool = False) -> str | None:
        """A base-data reference: `{"FNumber": "..."}` (any case) or the bare code string."""
        if isinstance(node.value, dict):
            return self.text(node.get("FNumber"), required=required, max_len=64)
        return self.text(node, required=required, max_len=64)

    def amount(self, node: Node, *, required: bool = True, allow_float: bool = True
               ) -> Decimal | None:
        value = node.value
        if type(value) is str and PLAIN_AMOUNT.fullmatch(value):  # in range by its shape
            return Decimal(value)
        if type(value) is int and -MAX_ABS_INT < value < MAX_ABS_INT:
            return Decimal(value)
        if (
            type(value) is Decimal  # a JSON fraction
            and allow_float
            and value.is_finite()
            and -MAX_ABS_AMOUNT < value < MAX_ABS_AMOUNT
            and _places(value) <= MAX_FRACTION_DIGITS
        ):
            return value
        if value is MISSING or value is None:
            self._absent(node, required)
            return None
        return self._convert(node, lambda v: to_decimal(v, allow_float=allow_float))

    def rate(self, node: Node, *, required: bool = True) -> Decimal | None:
        value = node.value
        if type(value) in _RATE_TYPES:
            try:
                return cached_rate(value)
            except ValueError:
                pass  # reported below, with its path
        if node.blank:
            self._absent(node, required)
            return None
        return self._convert(node, to_rate)

    def date(self, node: Node, *, required: bool = True) -> date | None:
        value = node.value
        if type(value) is str and len(value) in (10, 19) and value[4:5] == value[7:8] == "-":
            try:  # ISO "2026-11-20", with or without " 00:00:00" / "T00:00:00"
                return (
                    date.fromisoformat(value)
                    if len(value) == 10
                    else datetime.fromisoformat(value).date()
                )
            except ValueError:
                pass  # the general parser says what is wrong
        if node.blank:
            self._absent(node, required)
            return None
        return self._convert(node, to_date)

    def integer(self, node: Node) -> int | None:
        return self._convert(node, to_int)

    def party(self, name: Node, uscc: Node, role: PartyRole, erp_code: str) -> Party | None:
        """A party from a name field and a 统一社会信用代码 field, both checked."""
        title = self.name(name)
        raw = self.text(uscc, max_len=64)
        code = None
        if raw is not None:
            code = normalise_uscc(raw)
            why = uscc_problem(code)
            if why:
                self.problems.add(uscc.path, f"invalid 统一社会信用代码: {why}", uscc.value)
                code = None
        if title is None or code is None:
            return None
        return Party(name=title, uscc=code, role=role, erp_code=erp_code)


def read_document(problems: Problems, raw: bytes, source: str, *, fold: bool = False) -> Node:
    """The decoded body as the root Node; an undecodable body raises MappingError at once."""
    try:
        value = loads(decode_bytes(raw))
    except JsonRefused as exc:
        problems.add(exc.path, str(exc))
        problems.raise_if_any(source)
        raise  # unreachable: a problem was just added
    if not isinstance(value, dict):
        problems.add("", "must be a JSON object", value)
        problems.raise_if_any(source)
    return Node(value, "", fold)


def tax_invoice_key(reader: Reader, number: Node, code: Node) -> tuple[str | None, str | None]:
    """The tax invoice number and legacy code: 20 digits and no code (数电), or 8 + 10/12."""
    problems = reader.problems
    raw_number = reader.text(number, max_len=64)
    raw_code = reader.text(code, required=False, max_len=64)
    digits = None if raw_number is None else fold_identifier(raw_number)
    code_digits = None if raw_code is None else fold_identifier(raw_code)
    if code_digits and not (_digits(code_digits) and len(code_digits) in (10, 12)):
        note = non_ascii_note(code_digits)
        problems.add(code.path, f"a legacy invoice code must be 10 or 12 digits{note}", code.value)
        code_digits = None
    if digits is not None:
        if not _digits(digits):
            problems.add(number.path, f"an invoice number must be digits{non_ascii_note(digits)}",
                         number.value)
            digits = None
        elif code_digits == "" and len(digits) != 20:
            problems.add(number.path, "a 数电 invoice number (no invoice code) must be 20 digits",
                         number.value)
            digits = None
        elif code_digits and len(digits) != 8:
            problems.add(number.path, "a legacy invoice number (with a code) must be 8 digits",
                         number.value)
            digits = None
    return digits, code_digits


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
