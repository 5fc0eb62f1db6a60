"""`ExecuteBillQuery` (formats-inbound.md §2.4): rows as arrays in `FieldKeys` order.

A field key names a header field (`FBillNo`), a field of a sub-header or an entry (`FPRICEQTY`:
one row per entry line, header values repeated), a base-data property (`FCUSTOMERID.FNumber`,
`.FName`; the bare key answers the internal id) or an entry id (`FSALESICENTRY_FEntryID`). An
unknown key is the K/3 Cloud error "元数据中标识为X的字段不存在". `FilterString` takes the SQL-like
conditions clients send (`FDocumentStatus='C' and FDate>='2026-10-01'`, `in (...)`, `like`,
`is null`, parentheses); `OrderString` takes `key [asc|desc], ...`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.kingdee.forms import BASE_DATA_FIELDS, FormSpec
from simulators.kingdee.seed import BaseData
from simulators.kingdee.store import Bill, number_of, parse_date

__all__ = ["QueryError", "Resolver", "run_query", "wire_date"]

_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)?")
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><>|!=|>=|<=|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][\w.]*))"
)

Row = Mapping[str | None, Mapping[str, Any]]  # None: the header; else entity -> its entry
Getter = Callable[[Bill, Row], Any]


class QueryError(Exception):
    """A query K/3 Cloud refuses; `field` names the unknown key when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def wire_date(value: Any) -> Any:
    """Dates as K/3 Cloud answers them: `2026-10-20T00:00:00`."""
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value.strip()):
        text = value.strip().replace(" ", "T")
        return (text + "T00:00:00")[:19] if len(text) == 10 else (text + ":00")[:19]
    return value


@dataclass(frozen=True)
class Resolver:
    """Turns field keys of one form into getters (and the entity they need)."""

    form: FormSpec
    base: BaseData

    def resolve(self, key: str) -> tuple[Getter, str | None]:
        clean = key.strip()
        upper = clean.upper()
        for name in self.form.entities:
            if upper == f"{name.upper()}_FENTRYID":
                return _entry_id(name), name
        head, _, prop = clean.partition(".")
        found = self.form.canonical.get(head.upper())
        if found is None or found[0] in self.form.entities:
            raise QueryError(f"元数据中标识为{clean}的字段不存在", clean)
        name, parent = found
        entity = parent if parent in self.form.entities else None
        sub = parent if parent in self.form.subheaders else None
        kind = BASE_DATA_FIELDS.get(name.upper())
        if prop and (kind is None or prop.upper() not in {"FNUMBER", "FNAME", "FID"}):
            raise QueryError(f"元数据中标识为{clean}的字段不存在", clean)
        raw = _raw(name, entity, sub)
        if kind is None:
            return (lambda b, r: wire_date(raw(b, r))), entity
        return self._base_getter(raw, kind, prop.upper()), entity

    def _base_getter(self, raw: Getter, kind: str, prop: str) -> Getter:
        def get(bill: Bill, row: Row) -> Any:
            number = number_of(raw(bill, row))
            if not number:
                return None if prop != "FID" else 0
            record = self.base.ref(kind, number)
            if prop == "FNUMBER":
                return record.number
            if prop == "FNAME":
                return record.name or None
            return record.internal_id

        return get


def _raw(name: str, entity: str | None, sub: str | None) -> Getter:
    def get(bill: Bill, row: Row) -> Any:
        if entity is not None:
            return row.get(entity, {}).get(name)
        if sub is not None:
            return (bill.model.get(sub) or {}).get(name)
        return bill.model.get(name)

    return get


def _entry_id(entity: str) -> Getter:
    return lambda bill, row: row.get(entity, {}).get("FEntryID")


def run_query(
    bills: Sequence[Bill], resolver: Resolver, data: Mapping[str, Any], cap: int
) -> list[list[Any]]:
    """The answer rows; `cap` bounds `Limit` as deployments do."""
    args = {k.lower(): v for k, v in data.items()}
    text = args.get("fieldkeys") or ""
    if not isinstance(text, str):
        raise QueryError("FieldKeys 应为以逗号分隔的字段标识字符串", "FieldKeys")
    keys = [k for k in text.split(",") if k.strip()]
    if not keys:
        raise QueryError("FieldKeys 参数不能为空", "FieldKeys")
    columns = [resolver.resolve(k) for k in keys]
    condition = _Parser(str(args.get("filterstring") or ""), resolver).parse()
    order = _order(str(args.get("orderstring") or ""), resolver)
    entities = {e for _, e in columns if e} | condition.entities | {e for _, e, _ in order if e}
    rows = [(bill, row) for bill in bills for row in _expand(bill, sorted(entities))]
    rows = [(b, r) for b, r in rows if condition.test(b, r)]
    for getter, _, descending in reversed(order):
        rows.sort(key=_sorter(getter), reverse=descending)
    top = _count(args.get("toprowcount"))
    if top:
        rows = rows[:top]
    start = _count(args.get("startrow"))
    limit = min(_count(args.get("limit")) or cap, cap)
    return [[getter(b, r) for getter, _ in columns] for b, r in rows[start : start + limit]]


def _expand(bill: Bill, entities: Sequence[str]) -> list[Row]:
    lines = [[{e: line} for line in (bill.model.get(e) or [{}])] for e in entities]
    rows: list[Row] = []
    for combo in itertools.product(*lines):
        merged: dict[str | None, Mapping[str, Any]] = {}
        for part in combo:
            merged.update(part)
        rows.append(merged)
    return rows


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError) as error:
        raise QueryError(f"分页参数不是有效的整数：{value!r}") from error


def _sorter(getter: Getter) -> Callable[[tuple[Bill, Row]], tuple[int, Any]]:
    return lambda pair: _sort_key(getter(*pair))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    number = _number(value)
    return (1, number) if number is not None else (2, str(value))


def _order(text: str, resolver: Resolver) -> list[tuple[Getter, str | None, bool]]:
    order = []
    for part in (p.split() for p in text.split(",") if p.strip()):
        if len(part) > 2 or (len(part) == 2 and part[1].lower() not in {"asc", "desc"}):
            raise QueryError(f"OrderString 格式不正确：{' '.join(part)}", "OrderString")
        getter, entity = resolver.resolve(part[0])
        order.append((getter, entity, len(part) == 2 and part[1].lower() == "desc"))
    return order


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


# -- FilterString --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    test: Callable[[Bill, Row], bool]
    entities: frozenset[str]


_TRUE = _Condition(lambda b, r: True, frozenset())


class _Parser:
    def __init__(self, text: str, resolver: Resolver) -> None:
        self.resolver = resolver
        self.tokens: list[tuple[str, str]] = []
        pos, text = 0, text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise QueryError(f"过滤条件语法错误：{text[pos:]}", "FilterString")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match[kind]))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.at = 0

    def parse(self) -> _Condition:
        if not self.tokens:
            return _TRUE
        condition = self._or()
        if self.at != len(self.tokens):
            raise QueryError(f"过滤条件语法错误：{self.tokens[self.at][1]}", "FilterString")
        return condition

    def _peek(self) -> str:
        return self.tokens[self.at][1].lower() if self.at < len(self.tokens) else ""

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens) or (expected and self._peek() != expected):
            raise QueryError(f"过滤条件语法错误：缺少 {expected or '条件'}", "FilterString")
        self.at += 1
        return self.tokens[self.at - 1]

    def _or(self) -> _Condition:
        parts = [self._and()]
        while self._peek() == "or":
            self._take()
            parts.append(self._and())
        tests = [p.test for p in parts]
        return _Condition(
            lambda b, r: any(t(b, r) for t in tests),
            frozenset().union(*(p.entities for p in parts)),
        )

    def _and(self) -> _Condition:
        parts = [self._not()]
        while self._peek() == "and":
            self._take()
            parts.append(self._not())
        tests = [p.test for p in parts]
        return _Condition(
            lambda b, r: all(t(b, r) for t in tests),
            frozenset().union(*(p.entities for p in parts)),
        )

    def _not(self) -> _Condition:
        if self._peek() == "not":
            self._take()
            inner = self._not()
            return _Condition(lambda b, r: not inner.test(b, r), inner.entities)
        if self._peek() == "(":
            self._take()
            inner = self._or()
            self._take(")")
            return inner
        return self._comparison()

    def _operand(self) -> tuple[Getter, frozenset[str]]:
        kind, text = self._take()
        if kind == "str":
            literal: Any = text[1:-1].replace("''", "'")
        elif kind == "num":
            literal = Decimal(text)
        elif kind == "word" and text.lower() not in {"and", "or", "not", "in", "like", "is"}:
            getter, entity = self.resolver.resolve(text)
            return getter, frozenset({entity} if entity else ())
        else:
            raise QueryError(f"过滤条件语法错误：{text}", "FilterString")
        return (lambda b, r: literal), frozenset()

    def _comparison(self) -> _Condition:
        left, entities = self._operand()
        negate = self._peek() == "not"
        if negate:
            self._take()
        word = self._peek()
        if word == "is":
            self._take()
            is_not = self._peek() == "not"
            if is_not:
                self._take()
            self._take("null")
            return _Condition(lambda b, r: (_blank(left(b, r))) != is_not, entities)
        if word == "in":
            self._take()
            self._take("(")
            values = [self._operand()]
            while self._peek() == ",":
                self._take()
                values.append(self._operand())
            self._take(")")
            getters = [g for g, _ in values]
            return _Condition(
                lambda b, r: any(_compare(left(b, r), "=", g(b, r)) for g in getters) != negate,
                entities.union(*(e for _, e in values)),
            )
        if word == "like":
            self._take()
            right, more = self._operand()
            return _Condition(
                lambda b, r: _like(left(b, r), right(b, r)) != negate, entities | more
            )
        kind, op = self._take()
        if kind != "op" or negate:
            raise QueryError(f"过滤条件语法错误：{op}", "FilterString")
        right, more = self._operand()
        return _Condition(lambda b, r: _compare(left(b, r), op, right(b, r)), entities | more)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _like(value: Any, pattern: Any) -> bool:
    if value is None or pattern is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(pattern))
    return re.fullmatch(regex, str(value), re.IGNORECASE | re.DOTALL) is not None


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None or right is None:
        return False
    a, b = _comparable(left, right)
    match op:
        case "=":
            return bool(a == b)
        case "<>" | "!=":
            return bool(a != b)
        case ">":
            return bool(a > b)
        case "<":
            return bool(a < b)
        case ">=":
            return bool(a >= b)
        case _:
            return bool(a <= b)


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Numbers as numbers, dates as K/3 Cloud date text, anything else as upper-case text."""
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a, b
    wa, wb = str(wire_date(left)), str(wire_date(right))
    if parse_date(wa) is not None and parse_date(wb) is not None:
        return wa, wb
    return str(left).upper(), str(right).upper()
