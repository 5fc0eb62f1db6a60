"""What a 中登网 search says about our priority over a seller's receivables (pure, no I/O).

Civil Code art. 768 ranks factors who took the same receivable: a registered assignment beats an
unregistered one and, among registered ones, the **earlier registration** wins (the registration
time of the 初始登记; changes and extensions do not move it). So a factor searches the registry by
the 担保人's exact name before financing (the pre-search) and again after filing its own
registration, just before funds move (the re-search), and reads every hit's 财产描述 for the
receivables it is about to finance (factoring-domain §1.6 art. 768, §1.7 "Registry integration
rules" 1-4, §3.1 check 2-3; formats-outbound §3.1-3.2).

`priority_problem` reads the hits; the flow decides what a finding does (a specific conflict
blocks, a blanket registration goes to manual review).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime

from canonical.registry import RegistrationEntry, RegistrationKind, RegistrationState

__all__ = [
    "BLANKET",
    "CONFLICT",
    "OWN_MISSING",
    "is_blanket",
    "named_invoices",
    "priority_problem",
    "split_by_filer",
]

CONFLICT = "REGISTRY_CONFLICT"
"""Another party's live registration names one of our invoices and ranks before ours: blocking
(factoring-domain §3.1 check 2, "a specific match ... blocks"; §1.7 rule 4)."""
BLANKET = "REGISTRY_BLANKET"
"""Another party's live registration covers all of the seller's receivables (or all against a
debtor) without listing invoices, and ranks before ours: manual review (§3.1 check 2, "a blanket
description ... goes to MANUAL_REVIEW")."""
OWN_MISSING = "REGISTRY_OWN_MISSING"
"""A re-search that does not list our own live registration: our priority cannot be shown
(factoring-domain §4.1, REGISTERING -> REGISTERED: "our registration exists **and** a re-search
shows no earlier registration covering the receivable")."""

_BLANKET_WORDING = re.compile(
    "|".join(
        (
            r"(全部|所有|一切)(的)?(现有|已有|将有|未来|将来)?(的)?应收(账款|帐款|款项|债权)",
            r"(现有|已有|现在|既有|目前)(的)?(及|和|与|以及|或|、|/)(将有|将来|未来|今后)",
            r"(将有|将来|未来|今后)(产生|发生|形成|取得)?(的)?(全部|所有|一切)?应收(账款|帐款)",
        )
    )
)
"""How a blanket description reads (factoring-domain §1.7 rule 2: "wording that covers 'all
receivables'"; §3.1: "all receivables of seller X against debtor Y"; formats-outbound §3.2): the
seller's present and future receivables, all of them, e.g. "现有及将有的全部应收账款",
"对其全部买方享有的全部应收账款". Matched on the NFKC-folded text with whitespace removed."""

_ALNUM = r"[0-9A-Za-z]"


def priority_problem(
    records: Sequence[RegistrationEntry],
    *,
    invoice_numbers: Sequence[str],
    factor_uscc: str,
    own_registration_no: str | None = None,
) -> tuple[str, str] | None:
    """(code, detail) for the first registration in a search's hits that threatens our priority
    over `invoice_numbers`, or None when nothing does.

    `records` are the hits of a search by the seller's (担保人's) name: `SearchCertificate.hits`
    or registrations read one by one (`RegistrationRecord` is a `RegistrationEntry`).
    `factor_uscc` is ours (担保权人); `own_registration_no` is our registration's 登记证明编号
    on a re-search, None on the pre-search (factoring-domain §1.7 rules 1 and 4).

    Rules, in this order:

    - Only live registrations count: a cancelled one (注销登记 filed) or an expired one (登记到期日
      passed without 展期) no longer publishes anything, so it ranks as unregistered
      (art. 768 (1)); 注销 and 异议 entries are not assignments and are skipped too.
    - Our own registrations (担保权人 with `factor_uscc`) are ignored.
    - Rank (art. 768 (2)): on the re-search only a registration that ranks before ours matters;
      one registered after ours loses to us and is no problem (formats-outbound §3.2 step 3).
      A registration ranks by its 初始登记 time; an entry at the same second as ours does not
      rank after ours, so it counts; a 变更 / 展期 entry whose 初始登记 is not among `records`
      counts too (its own time is later than the time it ranks by). On the pre-search every
      live registration of another party counts.
    - `REGISTRY_CONFLICT` (blocking): it names one of our invoice numbers, in its attached
      invoice list or in its 财产描述 as a whole number (factoring-domain §3.1 check 2,
      "a specific match (invoice or contract number) blocks").
    - `REGISTRY_BLANKET` (manual review): it lists no invoice and its 财产描述 covers all the
      seller's (present and future) receivables, or all of them against a debtor (§1.7 rule 2,
      §3.1 check 2). The debtor it names is not compared here: the reviewer reads it.
    - `REGISTRY_OWN_MISSING`: on the re-search, our own registration is not among the live
      hits, so there is nothing to rank by (§4.1, REGISTERING -> REGISTERED guard).

    A conflict is reported before a blanket registration, the earliest first.
    """
    ours = _fold(factor_uscc).upper()
    live = _live(records)
    own_at: datetime | None = None
    if own_registration_no is not None:
        own = next(
            (
                r
                for r in live
                if r.registration_no == own_registration_no.strip()
                and _fold(r.assignee.id_number).upper() == ours
            ),
            None,
        )
        if own is None:
            return (
                OWN_MISSING,
                f"our registration {own_registration_no} is not among the search's live "
                "registrations, so no rank can be shown (factoring-domain §4.1 REGISTERING)",
            )
        own_at = own.registered_at
    ranks = {r.registration_no: r.registered_at for r in records}
    others = [r for r in live if _fold(r.assignee.id_number).upper() != ours]
    threats = sorted(
        (r for r in others if own_at is None or not _ranks_after(r, own_at, ranks)),
        key=lambda r: (_rank(r, ranks) or r.registered_at, r.registration_no),
    )
    for record in threats:
        named = named_invoices(record, invoice_numbers)
        if named:
            return (
                CONFLICT,
                f"registration {record.registration_no} of {_party(record)}, registered "
                f"{_when(record, ranks)}{_before(own_registration_no)}, names our "
                f"invoice(s) {'、'.join(named)} (民法典 768: the earlier registration wins)",
            )
    for record in threats:
        if is_blanket(record):
            return (
                BLANKET,
                f"registration {record.registration_no} of {_party(record)}, registered "
                f"{_when(record, ranks)}{_before(own_registration_no)}, covers all "
                f"receivables of {record.assignor.name} without listing invoices: "
                f"{_excerpt(record.property_description)}",
            )
    return None


def split_by_filer(
    records: Sequence[RegistrationEntry], factor_uscc: str
) -> tuple[dict[str, RegistrationEntry], list[RegistrationEntry]]:
    """(ours by registration number, everyone else's): a certificate read once for a batch
    ranks each application against the others' hits and its own registration only."""
    ours = _fold(factor_uscc).upper()
    mine: dict[str, RegistrationEntry] = {}
    others: list[RegistrationEntry] = []
    for record in records:
        if _fold(record.assignee.id_number).upper() == ours:
            mine[record.registration_no] = record
        else:
            others.append(record)
    return mine, others


def named_invoices(record: RegistrationEntry, invoice_numbers: Iterable[str]) -> list[str]:
    """Those of `invoice_numbers` the registration names: in its invoice list, or in its
    财产描述 as a whole number (not inside a longer run of letters and digits; written in groups
    like "2632 2000 ..." is fine), compared after NFKC folding (full-width digits are digits).
    So "12345678 23456789" names 12345678 and 23456789, not 78234567; it would also name
    1234567823456789 (erring towards a finding, never away from one)."""
    listed = {_fold(number) for number in record.invoice_numbers}
    text = unicodedata.normalize("NFKC", record.property_description)
    named = []
    for number in dict.fromkeys(_fold(n) for n in invoice_numbers):
        if not number:
            continue
        spaced = r"\s*".join(re.escape(char) for char in number)
        pattern = rf"(?<!{_ALNUM}){spaced}(?!{_ALNUM})"
        if number in listed or re.search(pattern, text):
            named.append(number)
    return named


def is_blanket(record: RegistrationEntry) -> bool:
    """Whether the registration covers receivables wholesale: no attached invoice list and
    wording for all (present and future) receivables (see `_BLANKET_WORDING`)."""
    if record.invoice_numbers:
        return False
    return _BLANKET_WORDING.search(_fold(record.property_description)) is not None


def _live(records: Sequence[RegistrationEntry]) -> list[RegistrationEntry]:
    """The registrations still in force: not cancelled, not expired, and not a 注销 / 异议 entry
    (a 注销 entry also takes its 初始登记 out)."""
    cancelled = {
        r.original_registration_no
        for r in records
        if r.kind is RegistrationKind.CANCELLATION and r.original_registration_no
    }
    return [
        r
        for r in records
        if r.kind not in (RegistrationKind.CANCELLATION, RegistrationKind.OBJECTION)
        and r.state not in (RegistrationState.CANCELLED, RegistrationState.EXPIRED)
        and r.cancelled_at is None
        and r.registration_no not in cancelled
        and r.original_registration_no not in cancelled
    ]


def _rank(record: RegistrationEntry, ranks: dict[str, datetime]) -> datetime | None:
    """The time the registration ranks by (its 初始登记's), None when that is not known."""
    if record.kind is RegistrationKind.INITIAL or not record.original_registration_no:
        return record.registered_at
    return ranks.get(record.original_registration_no)


def _when(record: RegistrationEntry, ranks: dict[str, datetime]) -> str:
    return (_rank(record, ranks) or record.registered_at).isoformat()


def _ranks_after(record: RegistrationEntry, own_at: datetime, ranks: dict[str, datetime]) -> bool:
    at = _rank(record, ranks)
    return at is not None and at > own_at


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _party(record: RegistrationEntry) -> str:
    party = record.assignee
    return f"{party.name} ({party.id_number})"


def _before(own_registration_no: str | None) -> str:
    return f", before ours ({own_registration_no})" if own_registration_no else ""


def _excerpt(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
