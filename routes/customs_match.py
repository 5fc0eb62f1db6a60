"""An export invoice against its customs declarations (报关单; §3.3 "Export: customs").

An export invoice is one the goods left the country for: the request carries a declaration,
the invoice is in a foreign currency, or it bears no VAT at all (every line at 0 %: exports are
zero-rated, 零税率 / 出口免税; a domestic 免税 invoice reads the same and is treated alike).
Its declarations are those whose contract number (ContrNo) is one of the invoice's
`order_numbers`: carried on the request, or looked up among the documents ingested through
`/v1/ingest`, in the one indexed query that also looks for late orders (`routes.awaiting`), and
then kept on the stored request; an invoice that is not an export, or a policy with
`customs_matching: off`, costs no query at all. Under `when_present` an export with no
declaration yet is matched without one (a declaration ingested afterwards changes nothing);
under `required` it waits for one as for a late order.

The rules, each an exception with a stable code (MATCH_REVIEW, or REJECTED under the policy's
`match_exceptions: reject`), the first found reported:

- `CUSTOMS_MISSING`: `required`, and no declaration came (the wait ran out, or no wait);
- `CUSTOMS_NOT_EXPORT`: every declaration found is an import (IEFlag I);
- `CUSTOMS_NOT_CLEARED`: an export declaration has no 海关编号 (EntryId) yet: not released;
- `CUSTOMS_EXPORTER`: its 境内发货人 (TradeCoScc) is not the seller's USCC;
- `CUSTOMS_DATE`: exported (IEDate, else the declaration date) after the invoice date + 30 d;
- `CUSTOMS_CURRENCY`: declared in another currency than invoiced: the hub has no FX source,
  so the amounts cannot be compared;
- `CUSTOMS_AMOUNT`: |invoiced (excl. VAT) - declared (Σ DeclTotal of the export
  declarations)| > `customs_amount_tolerance_pct` (1 %) x declared. The declaration states its
  basis (成交方式 CIF, FOB, ...), the invoice does not: a gap that is only freight or insurance
  is still an exception, for an operator to compare on the same incoterm basis (§3.3).

Imports found beside an export declaration are set aside (a contract number may also name the
materials imported for it); a declaration ingested again, cleared, replaces its earlier
version (same SeqNo, ClientSeqNo or EntryId).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from canonical import CustomsDeclaration, FinancingRequest
from routes.policy import FlowPolicy

__all__ = [
    "CUSTOMS_AMOUNT",
    "CUSTOMS_CODES",
    "CUSTOMS_CURRENCY",
    "CUSTOMS_DATE",
    "CUSTOMS_EXPORTER",
    "CUSTOMS_MISSING",
    "CUSTOMS_NOT_CLEARED",
    "CUSTOMS_NOT_EXPORT",
    "awaited_contracts",
    "customs_problem",
    "declarations_for",
    "is_export",
    "wants_declarations",
]

CUSTOMS_MISSING = "CUSTOMS_MISSING"
"""`customs_matching: required` and no declaration for the export invoice."""
CUSTOMS_NOT_EXPORT = "CUSTOMS_NOT_EXPORT"
"""Every declaration found under the invoice's contracts is an import."""
CUSTOMS_NOT_CLEARED = "CUSTOMS_NOT_CLEARED"
"""A declaration is not released yet (no 海关编号, only its 统一编号)."""
CUSTOMS_EXPORTER = "CUSTOMS_EXPORTER"
"""The declaration's exporter (境内发货人) is not the seller."""
CUSTOMS_DATE = "CUSTOMS_DATE"
"""Exported more than 30 days after the invoice date."""
CUSTOMS_CURRENCY = "CUSTOMS_CURRENCY"
"""Declared in another currency than invoiced (no FX source to compare them)."""
CUSTOMS_AMOUNT = "CUSTOMS_AMOUNT"
"""Invoiced and declared values differ by more than the tolerance."""
CUSTOMS_CODES = frozenset(
    {
        CUSTOMS_MISSING,
        CUSTOMS_NOT_EXPORT,
        CUSTOMS_NOT_CLEARED,
        CUSTOMS_EXPORTER,
        CUSTOMS_DATE,
        CUSTOMS_CURRENCY,
        CUSTOMS_AMOUNT,
    }
)
"""Every customs exception: each waits for an operator, or is rejected, as other mismatches."""

EXPORT_WINDOW = timedelta(days=30)
"""§3.3: export date <= invoice date + 30 days."""

_NUMBER_MAX = 64  # the longest contract number the index keeps
_TRANS_MODES = {"1": "CIF", "2": "CFR", "3": "FOB", "4": "C&I", "7": "EXW"}


def is_export(request: FinancingRequest) -> bool:
    """Whether the invoice is an export's: a declaration came with it, it is in a foreign
    currency, or it bears no VAT (every line at 0 %)."""
    invoice = request.invoice
    if request.declarations or invoice.total.currency != "CNY":
        return True
    return invoice.tax.amount == 0 and all(line.tax_rate == 0 for line in invoice.lines)


def wants_declarations(request: FinancingRequest, policy: FlowPolicy) -> bool:
    """Whether matching looks the invoice's declarations up: an export invoice naming a
    contract and carrying none, under a policy that matches them."""
    return (
        policy.customs_matching != "off"
        and not request.declarations
        and is_export(request)
        and bool(_contracts(request))
    )


def awaited_contracts(request: FinancingRequest, policy: FlowPolicy) -> tuple[str, ...]:
    """The contracts a declaration is waited for under: those the invoice names, when the
    policy requires a declaration and the export invoice has none."""
    if policy.customs_matching != "required" or request.declarations:
        return ()
    return _contracts(request) if is_export(request) else ()


def declarations_for(
    request: FinancingRequest, found: Iterable[CustomsDeclaration]
) -> tuple[CustomsDeclaration, ...]:
    """The declarations (latest first) under contracts the invoice names, the latest version
    of each; none when the request carries its own."""
    if request.declarations:
        return ()
    contracts = set(_contracts(request))
    seen: set[tuple[str, str]] = set()
    chosen: list[CustomsDeclaration] = []
    for declaration in found:
        if declaration.contract_number[:_NUMBER_MAX] not in contracts:
            continue
        keys = _identity(declaration)
        if keys & seen:
            continue  # an earlier version of one already chosen
        seen |= keys
        chosen.append(declaration)
    return tuple(chosen)


def customs_problem(request: FinancingRequest, policy: FlowPolicy) -> tuple[str, str] | None:
    """The first reason the invoice does not match its declarations, as (code, detail), or
    None (no customs match wanted, none needed, or all rules kept)."""
    if policy.customs_matching == "off":
        return None
    if not request.declarations:
        if policy.customs_matching == "required" and is_export(request):
            named = ", ".join(_contracts(request)) or "none"
            return CUSTOMS_MISSING, (
                f"no customs declaration (报关单) for the export invoice (contracts named: {named})"
            )
        return None
    exports = [d for d in request.declarations if d.ie_flag == "E"]
    if not exports:
        ids = ", ".join(d.entry_id for d in request.declarations)
        return CUSTOMS_NOT_EXPORT, f"declaration(s) {ids} declare an import (IEFlag I)"
    invoice = request.invoice
    seller = request.seller.uscc
    for d in exports:
        if not d.cleared:
            return CUSTOMS_NOT_CLEARED, (
                f"declaration {d.entry_id} (统一编号) has no 海关编号 yet: not released"
            )
    for d in exports:
        if d.trade_uscc != seller:
            who = f"{d.trade_uscc or 'no USCC'} {d.trade_name}".rstrip()
            return CUSTOMS_EXPORTER, (
                f"declaration {d.entry_id} names exporter (境内发货人) {who}, not the seller "
                f"{seller}"
            )
    latest = invoice.issue_date + EXPORT_WINDOW
    for d in exports:
        exported = d.ie_date or d.declare_date
        if exported > latest:
            return CUSTOMS_DATE, (
                f"declaration {d.entry_id}: exported {exported}, after invoice date "
                f"{invoice.issue_date} + 30 d ({latest})"
            )
    invoiced = invoice.amount
    for d in exports:
        if d.total.currency != invoiced.currency:
            return CUSTOMS_CURRENCY, (
                f"declaration {d.entry_id} is in {d.total.currency}, the invoice in "
                f"{invoiced.currency}: no FX rate source to compare them"
            )
    declared = sum((d.total.amount for d in exports), Decimal("0.00"))
    allowed = declared * policy.customs_amount_tolerance_pct
    if abs(invoiced.amount - declared) > allowed:
        ids = ", ".join(d.entry_id for d in exports)
        bases = sorted({_TRANS_MODES.get(d.trans_mode, d.trans_mode or "?") for d in exports})
        return CUSTOMS_AMOUNT, (
            f"invoiced {invoiced.amount} {invoiced.currency} (excl. VAT) vs declared "
            f"{declared} on {ids} ({'/'.join(bases)}), more than "
            f"{policy.customs_amount_tolerance_pct:%} apart: compare on the same incoterm "
            "basis (freight, insurance)"
        )
    return None


def _contracts(request: FinancingRequest) -> tuple[str, ...]:
    return tuple(
        n for n in dict.fromkeys(request.invoice.order_numbers) if 0 < len(n) <= _NUMBER_MAX
    )


def _identity(declaration: CustomsDeclaration) -> set[tuple[str, str]]:
    """What names one declaration across its versions: its 统一编号 (the key before
    clearance), the declarant's own ClientSeqNo, its 海关编号 once cleared."""
    seq_no = declaration.seq_no or ("" if declaration.cleared else declaration.entry_id)
    keys = {
        ("seq", seq_no),
        ("client", declaration.client_seq_no),
        ("entry", declaration.entry_id if declaration.cleared else ""),
    }
    return {key for key in keys if key[1]}
