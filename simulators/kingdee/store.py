"""The bills the simulator holds, and `Save` with K/3 Cloud's validation (formats-inbound.md §2.2).

A saved bill keeps its model with each field key in the form's spelling (see forms.py). New bills
get an internal id (`FID`), entry ids, a bill number when none was sent and status `A` (创建);
seeded bills are audited (`C`) and so cannot be modified, as in K/3 Cloud.
"""

from __future__ import annotations

import copy
import random
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.common.clock import Clock
from simulators.kingdee.envelope import BadRequest, KdError, MsgCode
from simulators.kingdee.forms import BASE_DATA_FIELDS, CHECKED_KINDS, FormSpec
from simulators.kingdee.seed import KIND_LABELS, BaseData

__all__ = ["Bill", "BillStore", "not_exist", "number_of"]

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_STATUS_REFUSAL = {"B": "单据已提交，不允许修改！", "C": "单据已审核，不允许修改！"}


def not_exist(key: str) -> str:
    return f"元数据中标识为{key}的字段不存在"


def number_of(value: Any) -> str:
    """The code inside a base-data reference (`{"FNumber": ...}`), '' when absent."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key.upper() == "FNUMBER" and item is not None:
                return str(item).strip()
    return ""


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, Mapping) and not number_of(value))


@dataclass
class Bill:
    form: FormSpec
    id: int
    number: str
    model: dict[str, Any]
    seeded: bool

    @property
    def status(self) -> str:
        return str(self.model.get(self.form.status_key, ""))


class BillStore:
    """Thread-safe; ids and numbers come from seeded counters (same seed, same ids)."""

    def __init__(self, seed: int, clock: Clock, base: BaseData) -> None:
        self._seed, self._clock, self.base = seed, clock, base
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        rng = random.Random(f"factorhub-sim:kingdee:ids:{self._seed}")
        self._next_id = 100_000 + rng.randrange(100_000)
        self._next_entry = 200_000 + rng.randrange(100_000)
        self._next_seq = 500_000
        self._bills: dict[int, Bill] = {}
        self._numbers: dict[tuple[str, str], int] = {}
        self.saved: list[dict[str, Any]] = []

    # -- reading --------------------------------------------------------------------------------

    def of_form(self, form: FormSpec) -> list[Bill]:
        with self._lock:
            return [b for b in self._bills.values() if b.form is form]

    def find(self, form: FormSpec, *, bill_id: int | None = None, number: str = "") -> Bill | None:
        with self._lock:
            if bill_id:
                found = self._bills.get(bill_id)
                return found if found is not None and found.form is form else None
            key = (form.form_id, number.strip().upper())
            return self._bills.get(self._numbers.get(key, -1))

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for bill in self._bills.values():
                row = out.setdefault(bill.form.form_id, {"seeded": 0, "saved": 0})
                row["seeded" if bill.seeded else "saved"] += 1
            return out

    # -- writing --------------------------------------------------------------------------------

    def seed(self, form: FormSpec, model: Mapping[str, Any]) -> Bill:
        """Store a trusted bill as it is (status as given, `C` when absent)."""
        normal, errors = normalize(form, model)
        if errors:
            raise BadRequest(MsgCode.NOT_EXIST, errors)
        normal.setdefault(form.status_key, "C")
        with self._lock:
            return self._insert(form, normal, seeded=True)

    def save(self, form: FormSpec, data: Mapping[str, Any]) -> tuple[Bill, bool]:
        """`Save`: create (FID 0 or absent) or modify (FID of a stored bill); (bill, created)."""
        model = _model_of(data)
        normal, errors = normalize(form, model)
        if errors:
            raise BadRequest(MsgCode.NOT_EXIST, errors)
        bill_id = _int(normal.get("FID"))
        with self._lock:
            existing = self._bills.get(bill_id) if bill_id else None
            if bill_id and (existing is None or existing.form is not form):
                raise BadRequest.one(
                    MsgCode.NO_DATA, f"{form.label}内码为{bill_id}的单据不存在或已被删除", "FID"
                )
            if existing is not None:
                refusal = _STATUS_REFUSAL.get(existing.status)
                if refusal:
                    raise BadRequest.one(MsgCode.NOT_OPERABLE, refusal)
                normal = _merged(form, existing.model, normal, data.get("NeedUpDateFields"))
            problems = validate(form, normal, self.base)
            number = str(normal.get("FBillNo") or "").strip()
            holder = self._numbers.get((form.form_id, number.upper()))
            if number and holder is not None and holder != bill_id:
                problems.append(KdError(f"单据编号“{number}”已经存在，不允许重复！", "FBillNo"))
            if problems:
                raise BadRequest(MsgCode.VALIDATION_FAILED, problems)
            stamp = self._clock().strftime("%Y-%m-%dT%H:%M:%S")
            normal["FModifyDate"] = stamp
            if existing is None:
                normal["FCreateDate"] = stamp
                normal[form.status_key] = "A"
                bill = self._insert(form, normal, seeded=False)
            else:
                bill = self._replace(existing, normal)
            self.saved.append(
                {
                    "at": stamp,
                    "form_id": form.form_id,
                    "id": bill.id,
                    "number": bill.number,
                    "created": existing is None,
                }
            )
            return bill, existing is None

    def _insert(self, form: FormSpec, model: dict[str, Any], *, seeded: bool) -> Bill:
        bill_id = self._next_id
        self._next_id += 1
        model["FID"] = bill_id
        number = str(model.get("FBillNo") or "").strip() or self._new_number(form, model)
        model["FBillNo"] = number
        self._number_entries(form, model)
        bill = Bill(form, bill_id, number, model, seeded)
        self._bills[bill_id] = bill
        self._numbers[(form.form_id, number.upper())] = bill_id
        return bill

    def _replace(self, bill: Bill, model: dict[str, Any]) -> Bill:
        del self._numbers[(bill.form.form_id, bill.number.upper())]
        model["FID"] = bill.id
        bill.number = str(model.get("FBillNo") or "").strip() or bill.number
        model["FBillNo"] = bill.number
        self._number_entries(bill.form, model)
        bill.model = model
        self._numbers[(bill.form.form_id, bill.number.upper())] = bill.id
        return bill

    def _number_entries(self, form: FormSpec, model: dict[str, Any]) -> None:
        for entity in form.entities:
            for row in model.get(entity) or []:
                if not _int(row.get("FEntryID")):
                    row["FEntryID"] = self._next_entry
                    self._next_entry += 1

    def _new_number(self, form: FormSpec, model: Mapping[str, Any]) -> str:
        day = parse_date(model.get(form.date_key)) or self._clock().date()
        self._next_seq += 1
        return f"{form.number_prefix}{day:%y%m}{self._next_seq:06d}"


# -- normalisation and validation ----------------------------------------------------------------


def _model_of(data: Mapping[str, Any]) -> Mapping[str, Any]:
    model = next((v for k, v in data.items() if k.lower() == "model"), None)
    if not isinstance(model, Mapping) or not model:
        raise BadRequest.one(MsgCode.PARAMETER_ERROR, "Model 参数不能为空", "Model")
    return model


def normalize(form: FormSpec, model: Mapping[str, Any]) -> tuple[dict[str, Any], list[KdError]]:
    """The model with the form's key spelling; errors for keys the form does not have."""
    keys = form.canonical
    out: dict[str, Any] = {}
    errors: list[KdError] = []
    for key, value in model.items():
        found = keys.get(key.upper())
        if found is None or found[1] is not None:
            if key.upper().startswith("F_"):  # customer extension fields (F_xxx_...)
                out[key] = copy.deepcopy(value)
            else:
                errors.append(KdError(not_exist(key), key))
            continue
        name = found[0]
        if name in form.entities:
            rows = value if isinstance(value, list) else []
            out[name] = [_children(form, name, r, errors) for r in rows if isinstance(r, Mapping)]
        elif name in form.subheaders:
            out[name] = _children(form, name, value if isinstance(value, Mapping) else {}, errors)
        else:
            out[name] = _value(name, value)
    return out, errors


def _children(
    form: FormSpec, parent: str, row: Mapping[str, Any], errors: list[KdError]
) -> dict[str, Any]:
    allowed = {c.upper(): c for c in (form.entities.get(parent) or form.subheaders[parent])}
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = allowed.get(key.upper())
        if name is None and not key.upper().startswith("F_"):
            errors.append(KdError(not_exist(key), f"{parent}.{key}"))
            continue
        out[name or key] = _value(name or key, value)
    return out


def _value(name: str, value: Any) -> Any:
    if name.upper() in BASE_DATA_FIELDS and isinstance(value, Mapping):
        return {"FNumber": number_of(value)} if number_of(value) else {}
    return copy.deepcopy(value)


def validate(form: FormSpec, model: Mapping[str, Any], base: BaseData) -> list[KdError]:
    errors: list[KdError] = []
    for key, label in form.required.items():
        if _empty(model.get(key)):
            errors.append(KdError(f"字段“{label}”是必填项。", key))
    if model.get(form.date_key) is not None and parse_date(model.get(form.date_key)) is None:
        errors.append(
            KdError(
                f"字段“{form.required.get(form.date_key, '日期')}”的日期格式不正确。", form.date_key
            )
        )
    rows = model.get(form.main_entity) or []
    if not rows:
        label = form.labels.get(form.main_entity, form.main_entity)
        errors.append(KdError(f"单据体“{label}”至少需要录入一行分录。", form.main_entity))
    for n, row in enumerate(rows, 1):
        for key, label in form.entry_required.items():
            if _empty(row.get(key)):
                errors.append(KdError(f"第{n}行分录，字段“{label}”是必填项。", key))
    errors.extend(_unknown_base_data(form, model, base))
    errors.extend(_plan_total(form, model))
    return errors


def _unknown_base_data(form: FormSpec, model: Mapping[str, Any], base: BaseData) -> list[KdError]:
    places: list[Mapping[str, Any]] = [model]
    places += [model.get(s) or {} for s in form.subheaders]
    places += [row for entity in form.entities for row in model.get(entity) or []]
    errors = []
    for place in places:
        for key, value in place.items():
            kind = BASE_DATA_FIELDS.get(key.upper())
            number = number_of(value)
            if kind in CHECKED_KINDS and number and base.find(kind, number) is None:
                errors.append(
                    KdError(
                        f"字段“{key}”：编码为“{number}”的{KIND_LABELS[kind]}不存在或未审核。", key
                    )
                )
    return errors


def _plan_total(form: FormSpec, model: Mapping[str, Any]) -> list[KdError]:
    plan, total = model.get("FEntityPlan") or [], _decimal(model.get("FALLAMOUNTFOR"))
    if "FEntityPlan" not in form.entities or not plan or total is None:
        return []
    planned = sum((_decimal(r.get("FPAYAMOUNTFOR")) or Decimal(0) for r in plan), Decimal(0))
    if planned != total:
        return [KdError("整单收款计划应收金额合计不等于整单价税合计", "FPAYAMOUNTFOR")]
    return []


def _merged(
    form: FormSpec, old: Mapping[str, Any], new: dict[str, Any], update_fields: Any
) -> dict[str, Any]:
    """A full model replaces the old one; with `NeedUpDateFields` only those keys change."""
    if (
        not isinstance(update_fields, Sequence)
        or isinstance(update_fields, str)
        or not update_fields
    ):
        merged = dict(new)
        for key in ("FCreateDate", form.status_key):
            if key in old:
                merged[key] = old[key]
        return merged
    merged = copy.deepcopy(dict(old))
    wanted = {str(f).split(".")[0].upper() for f in update_fields}
    for key, value in new.items():
        if key.upper() in wanted:
            merged[key] = value
    return merged


def parse_date(value: Any) -> date | None:
    match = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
