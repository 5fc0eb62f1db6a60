"""Cross-border e-commerce customs messages (CEB): export orders and collection receipts.

A CEB303 电子订单 lists the goods an e-commerce seller sold abroad; a CEB403 收款单 is the proof
that the sale was paid, which is what a factor looks for behind an export receivable. Parties are
named by their 10-character customs codes (no 统一社会信用代码 in these messages).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from canonical.documents import DocumentLine, Provenance
from canonical.money import Money

__all__ = [
    "CollectionReceipt",
    "CollectionReceipts",
    "CustomsApplication",
    "CustomsCompany",
    "EcommerceOrder",
    "EcommerceOrders",
]

_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")


class CustomsApplication(StrEnum):
    """What a CEB message asks customs to do with the business document (appType)."""

    NEW = "new"
    """1 新增."""
    CHANGE = "change"
    """2 变更."""
    DELETE = "delete"
    """3 删除."""


class CustomsCompany(BaseModel):
    """A company as customs knows it: its 10-character customs code and its name."""

    model_config = _FROZEN

    code: str = Field(min_length=1, max_length=18)
    name: str = Field(min_length=1, max_length=140)


class EcommerceOrder(BaseModel):
    """A CEB303 export e-commerce order (电子订单)."""

    model_config = _FROZEN

    order_no: str = Field(min_length=1, max_length=64)
    guid: str = Field(min_length=1, max_length=64)
    """The message's own id for this order (a UUID)."""
    application: CustomsApplication
    app_time: datetime
    """When it was declared (China time)."""
    declared: bool
    """appStatus 2 申报 (True) or 1 暂存, saved but not yet declared (False)."""
    order_type: str = Field(pattern=r"^[EB]$")
    """E export retail, B business-to-business (9710)."""
    platform: CustomsCompany
    """电商平台 (ebp)."""
    seller: CustomsCompany
    """电商企业 (ebc): the exporter."""
    goods_value: Money
    freight: Money
    lines: tuple[DocumentLine, ...] = Field(min_length=1)
    note: str = ""
    provenance: Provenance

    @model_validator(mode="after")
    def _one_currency(self) -> EcommerceOrder:
        if self.goods_value.currency != self.freight.currency:
            raise ValueError("goods value and freight must be in one currency")
        return self


class CollectionReceipt(BaseModel):
    """A CEB403 收款单: the seller collected `charge` for an order."""

    model_config = _FROZEN

    pay_no: str = Field(min_length=1, max_length=64)
    """The collection's serial number at the payment company."""
    order_no: str = Field(min_length=1, max_length=64)
    guid: str = Field(min_length=1, max_length=64)
    application: CustomsApplication
    app_time: datetime
    declared: bool
    platform: CustomsCompany
    seller: CustomsCompany
    payment_company: CustomsCompany
    """The payment / collection company (payCode, payName)."""
    charge: Money
    accounting_date: date
    note: str = ""
    provenance: Provenance


class EcommerceOrders(BaseModel):
    """Every order of one CEB303 message, in document order."""

    model_config = _FROZEN

    message_guid: str = ""
    orders: tuple[EcommerceOrder, ...] = Field(min_length=1)


class CollectionReceipts(BaseModel):
    """Every receipt of one CEB403 message, in document order."""

    model_config = _FROZEN

    message_guid: str = ""
    receipts: tuple[CollectionReceipt, ...] = Field(min_length=1)
