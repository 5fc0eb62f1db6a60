"""The `View` answer (formats-inbound.md §2.4): the bill in `Result.Result` with ORM property names.

Property names drop the `F` prefix (`FBillNo` -> `BillNo`; `FID` and `FEntryID` -> `Id`); a
base-data reference becomes `{"Id", "msterID", "Number", "Name": [{"Key": 2052, "Value"}]}` with a
sibling `<Name>_Id`; entries are arrays with a 1-based `Seq`; a sub-header is a one-row array;
dates are `2026-10-20T00:00:00`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulators.kingdee.forms import BASE_DATA_FIELDS
from simulators.kingdee.query import wire_date
from simulators.kingdee.seed import BaseData
from simulators.kingdee.store import Bill, number_of

__all__ = ["render_view"]


def render_view(bill: Bill, base: BaseData, lcid: int = 2052) -> dict[str, Any]:
    form = bill.form
    out: dict[str, Any] = {}
    for key, value in bill.model.items():
        if key in form.entities:
            out[_prop(key)] = [
                {"Seq": n, **_record(row, base, lcid)} for n, row in enumerate(value or [], 1)
            ]
        elif key in form.subheaders:
            out[_prop(key)] = [_record(value or {}, base, lcid)]
        else:
            out.update(_field(key, value, base, lcid))
    out["FormId"] = form.form_id
    return out


def _record(row: Mapping[str, Any], base: BaseData, lcid: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        out.update(_field(key, value, base, lcid))
    return out


def _prop(key: str) -> str:
    if key.upper() in {"FID", "FENTRYID"}:
        return "Id"
    if key.upper().startswith("F_") or not key.upper().startswith("F"):
        return key
    return key[1:]


def _field(key: str, value: Any, base: BaseData, lcid: int) -> dict[str, Any]:
    name = _prop(key)
    kind = BASE_DATA_FIELDS.get(key.upper())
    if kind is None:
        return {name: wire_date(value)}
    number = number_of(value)
    if not number:
        return {name: None, f"{name}_Id": 0}
    record = base.ref(kind, number)
    return {
        name: {
            "Id": record.internal_id,
            "msterID": record.internal_id,
            "Number": record.number,
            "Name": [{"Key": lcid, "Value": record.name}] if record.name else [],
        },
        f"{name}_Id": record.internal_id,
    }
