"""What an ERP invoice push maps to: the invoice and the sales orders it references."""

from __future__ import annotations

from dataclasses import dataclass

from canonical import Invoice, PurchaseOrder

__all__ = ["InvoicePush"]


@dataclass(frozen=True)
class InvoicePush:
    """One pushed invoice, with the orders the ERP sent alongside it (possibly none).

    `invoice.due_date` is set when the push says it (receivable plan or maturity date), and
    `invoice.order_numbers` lists the distinct order numbers the invoice lines reference, in
    order of first appearance; `orders` holds only the orders whose documents came with the push.
    """

    invoice: Invoice
    orders: tuple[PurchaseOrder, ...] = ()
