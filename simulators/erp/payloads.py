"""Which native body and which hub endpoint belong to a generated case."""

from __future__ import annotations

from simulators.erp.dataset import GeneratedCase, Vendor
from simulators.erp.kingdee import render_kingdee
from simulators.erp.yonyou import render_yonyou

HUB_PATHS: dict[Vendor, str] = {
    "kingdee": "/v1/erp/kingdee/invoices",
    "yonyou": "/v1/erp/yonyou/invoices",
}


def render(case: GeneratedCase) -> bytes:
    """The UTF-8 JSON body the case's ERP would send."""
    if case.vendor == "kingdee":
        return render_kingdee(case)
    return render_yonyou(case)


def hub_path(case: GeneratedCase) -> str:
    return HUB_PATHS[case.vendor]
