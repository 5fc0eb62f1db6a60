"""Pure mappings between external documents and the canonical model (no I/O, no clock).

Inbound: Kingdee and YonBIP invoice pushes, pain.002 status reports. Outbound: pain.001.
Every mapper raises `canonical.MappingError` listing every problem it found, and nothing else.
"""

from mappings.erp import InvoicePush
from mappings.kingdee import kingdee_invoice_to_canonical
from mappings.pain001 import canonical_to_pain001, validate_pain001
from mappings.pain002 import Pain002Report, pain002_to_canonical
from mappings.yonyou import yonyou_invoice_to_canonical

__all__ = [
    "InvoicePush",
    "Pain002Report",
    "canonical_to_pain001",
    "kingdee_invoice_to_canonical",
    "pain002_to_canonical",
    "validate_pain001",
    "yonyou_invoice_to_canonical",
]
