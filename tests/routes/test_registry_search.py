"""priority_problem: what the hits of a 中登网 search mean for our priority (民法典 768), on the
pre-search (no registration of ours yet) and the re-search (ours filed, funds not yet moved)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from canonical import Provenance
from canonical.registry import (
    BusinessType,
    RegistrationKind,
    RegistrationRecord,
    RegistrationState,
    RegistryIdType,
    RegistryParty,
    RegistryPartyKind,
)
from routes.registry_search import (
    BLANKET,
    CONFLICT,
    OWN_MISSING,
    is_blanket,
    named_invoices,
    priority_problem,
)

CST = timezone(timedelta(hours=8))
OURS_AT = datetime(2026, 11, 28, 10, 0, tzinfo=CST)
INVOICE = "26322000000012345678"
OTHER_INVOICE = "26322000000087654321"


def _party(name: str, uscc: str) -> RegistryParty:
    return RegistryParty(
        kind=RegistryPartyKind.ENTERPRISE, name=name, id_type=RegistryIdType.USCC, id_number=uscc
    )


SELLER = _party("苏州华盛精密机械有限公司", "9132050571358240X0")
US = _party("演示商业保理有限公司", "91310115MA1H7XQR31")
THEM = _party("杭州另一商业保理有限公司", "91330106569821743D")
DEBTOR = "上海申联汽车零部件有限公司（统一社会信用代码913101156607431925）"
BLANKET_TEXT = (
    f"转让人{SELLER.name}将其对其全部买方现有及将有的全部应收账款转让给{THEM.name}（保理）。"
)


def _record(
    number: str,
    *,
    assignee: RegistryParty = THEM,
    at: datetime = OURS_AT - timedelta(days=30),
    description: str = f"应收账款：发票 {OTHER_INVOICE}",
    invoices: tuple[str, ...] = (),
    state: RegistrationState | None = RegistrationState.ACTIVE,
    kind: RegistrationKind = RegistrationKind.INITIAL,
    original: str = "",
    cancelled_at: datetime | None = None,
) -> RegistrationRecord:
    return RegistrationRecord(
        registration_no=number,
        kind=kind,
        business_type=BusinessType.FACTORING,
        registered_at=at,
        period_months=12,
        expires_on=date(at.year + 1, at.month, at.day),
        original_registration_no=original,
        assignor=SELLER,
        assignee=assignee,
        property_description=description,
        invoice_numbers=invoices,
        state=state,
        cancelled_at=cancelled_at,
        provenance=Provenance(source_system="zhongdeng", source_document_id=number),
    )


OURS = _record(
    "20261128000000090001",
    assignee=US,
    at=OURS_AT,
    description=f"应收账款：发票 {INVOICE}",
    invoices=(INVOICE,),
)


def _pre(*records: RegistrationRecord, invoices: tuple[str, ...] = (INVOICE,)):
    return priority_problem(records, invoice_numbers=invoices, factor_uscc=US.id_number)


def _re(*records: RegistrationRecord, invoices: tuple[str, ...] = (INVOICE,)):
    return priority_problem(
        (*records, OURS),
        invoice_numbers=invoices,
        factor_uscc=US.id_number,
        own_registration_no=OURS.registration_no,
    )


# -- pre-search --------------------------------------------------------------------------------


def test_a_search_with_no_hits_finds_no_problem():
    assert _pre() is None


def test_another_factors_registration_listing_our_invoice_is_a_conflict_naming_it_and_them():
    theirs = _record("20261029000000010001", invoices=(INVOICE,))

    problem = _pre(theirs)

    assert problem is not None
    code, detail = problem
    assert code == CONFLICT
    assert theirs.registration_no in detail
    assert THEM.name in detail
    assert INVOICE in detail


def test_an_invoice_named_only_in_the_property_description_is_a_conflict():
    theirs = _record("20261029000000010001", description=f"{DEBTOR}，对应发票号码：{INVOICE}。")

    problem = _pre(theirs)

    assert problem is not None
    assert problem[0] == CONFLICT
    assert named_invoices(theirs, [INVOICE]) == [INVOICE]


def test_full_width_digits_and_spaces_in_the_description_still_name_our_invoice():
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in INVOICE)
    spaced = " ".join(full_width[n : n + 4] for n in range(0, len(full_width), 4))

    theirs = _record("20261029000000010001", description=f"发票号码：{spaced}")

    problem = _pre(theirs)
    assert problem is not None
    assert problem[0] == CONFLICT


def test_our_invoice_number_inside_a_longer_number_is_not_a_match():
    theirs = _record("20261029000000010001", description=f"合同编号 HT{INVOICE}9 项下应收账款")

    assert named_invoices(theirs, [INVOICE]) == []
    assert _pre(theirs) is None


def test_numbers_listed_with_spaces_between_them_are_each_a_whole_number():
    first, second = "12345678", "23456789"
    theirs = _record("20261029000000010001", description=f"发票号码：{first} {second}")

    assert named_invoices(theirs, [second, "78234567", "1234567", first]) == [second, first]


def test_a_registration_of_other_invoices_of_the_same_seller_is_no_problem():
    theirs = _record("20261029000000010001", invoices=(OTHER_INVOICE,))

    assert _pre(theirs) is None


def test_on_the_pre_search_even_a_registration_made_a_moment_ago_counts():
    theirs = _record("20261128000000010001", at=OURS_AT + timedelta(days=1), invoices=(INVOICE,))

    problem = _pre(theirs)

    assert problem is not None
    assert problem[0] == CONFLICT


def test_our_own_registrations_are_ignored():
    earlier_of_ours = _record("20261001000000010001", assignee=US, invoices=(INVOICE,))

    assert _pre(earlier_of_ours) is None


def test_our_uscc_is_compared_without_regard_to_case_or_surrounding_spaces():
    earlier_of_ours = _record("20261001000000010001", assignee=US, invoices=(INVOICE,))

    problem = priority_problem(
        [earlier_of_ours], invoice_numbers=[INVOICE], factor_uscc=f" {US.id_number.lower()} "
    )

    assert problem is None


@pytest.mark.parametrize(
    "gone",
    [
        {"state": RegistrationState.CANCELLED},
        {"state": None, "cancelled_at": OURS_AT - timedelta(days=2)},
        {"state": RegistrationState.EXPIRED},
    ],
    ids=["cancelled", "cancelled_at_set", "expired"],
)
def test_a_registration_no_longer_in_force_is_ignored(gone):
    theirs = _record("20261029000000010001", invoices=(INVOICE,), **gone)

    assert _pre(theirs) is None
    assert _pre(_record("20261029000000010002", description=BLANKET_TEXT, **gone)) is None


def test_a_cancellation_entry_takes_its_registration_out():
    theirs = _record("20261029000000010001", invoices=(INVOICE,), state=None)
    cancellation = _record(
        "20261120000000010002",
        kind=RegistrationKind.CANCELLATION,
        original=theirs.registration_no,
        state=None,
    )

    assert _pre(theirs) is not None
    assert _pre(theirs, cancellation) is None


def test_a_registration_whose_state_is_not_known_counts_as_live():
    theirs = _record("20261029000000010001", invoices=(INVOICE,), state=None)

    problem = _pre(theirs)

    assert problem is not None
    assert problem[0] == CONFLICT


# -- blanket registrations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "description",
    [
        BLANKET_TEXT,
        f"转让人{SELLER.name}将其对债务人{DEBTOR}现有及将有的全部应收账款转让给{THEM.name}（保理）。",
        "出质人现有和未来的应收账款",
        "出让人所有应收账款",
        "将来产生的全部应收账款",
    ],
)
def test_a_registration_of_all_present_and_future_receivables_goes_to_review(description):
    theirs = _record("20261029000000010001", description=description)

    problem = _pre(theirs)

    assert problem is not None
    code, detail = problem
    assert code == BLANKET
    assert theirs.registration_no in detail
    assert THEM.name in detail


def test_a_registration_listing_invoices_is_not_blanket_whatever_its_wording():
    theirs = _record(
        "20261029000000010001",
        description=f"发票 {OTHER_INVOICE} 项下的全部应收账款",
        invoices=(OTHER_INVOICE,),
    )

    assert not is_blanket(theirs)
    assert _pre(theirs) is None


def test_a_specific_description_without_blanket_wording_is_not_blanket():
    theirs = _record("20261029000000010001", description=f"对债务人{DEBTOR}的应收账款，合同HT-7")

    assert not is_blanket(theirs)
    assert _pre(theirs) is None


def test_a_conflict_is_reported_before_an_earlier_blanket_registration():
    blanket = _record(
        "20261001000000010001", at=OURS_AT - timedelta(days=60), description=BLANKET_TEXT
    )
    specific = _record("20261029000000010002", invoices=(INVOICE,))

    problem = _pre(blanket, specific)

    assert problem is not None
    code, detail = problem
    assert code == CONFLICT
    assert specific.registration_no in detail


def test_of_two_conflicts_the_earlier_registration_is_reported():
    later = _record("20261029000000010002", invoices=(INVOICE,))
    earlier = _record("20261001000000010001", at=OURS_AT - timedelta(days=60), invoices=(INVOICE,))

    problem = _pre(later, earlier)

    assert problem is not None
    assert earlier.registration_no in problem[1]


# -- re-search ---------------------------------------------------------------------------------


def test_on_the_re_search_a_registration_before_ours_is_a_conflict():
    theirs = _record("20261128000000010001", at=OURS_AT - timedelta(seconds=1), invoices=(INVOICE,))

    problem = _re(theirs)

    assert problem is not None
    code, detail = problem
    assert code == CONFLICT
    assert theirs.registration_no in detail
    assert OURS.registration_no in detail


def test_on_the_re_search_a_registration_after_ours_is_no_problem():
    specific = _record(
        "20261128000000010002", at=OURS_AT + timedelta(seconds=1), invoices=(INVOICE,)
    )
    blanket = _record(
        "20261128000000010003", at=OURS_AT + timedelta(hours=1), description=BLANKET_TEXT
    )

    assert _re(specific, blanket) is None


def test_on_the_re_search_a_blanket_registration_before_ours_goes_to_review():
    blanket = _record("20261001000000010001", description=BLANKET_TEXT)

    problem = _re(blanket)

    assert problem is not None
    assert problem[0] == BLANKET


def test_a_registration_at_the_same_second_as_ours_does_not_rank_after_ours():
    theirs = _record("20261128000000010001", at=OURS_AT, invoices=(INVOICE,))

    problem = _re(theirs)

    assert problem is not None
    assert problem[0] == CONFLICT


def test_a_change_entry_ranks_by_its_initial_registration():
    initial = _record("20261001000000010001", at=OURS_AT - timedelta(days=60))
    change = _record(
        "20261129000000010002",
        at=OURS_AT + timedelta(days=1),
        kind=RegistrationKind.CHANGE,
        original=initial.registration_no,
        invoices=(INVOICE,),
    )

    problem = _re(initial, change)

    assert problem is not None
    assert problem[0] == CONFLICT
    assert change.registration_no in problem[1]


def test_a_change_entry_whose_initial_registration_is_unknown_counts_as_before_ours():
    change = _record(
        "20261129000000010002",
        at=OURS_AT + timedelta(days=1),
        kind=RegistrationKind.CHANGE,
        original="20261001000000010001",
        invoices=(INVOICE,),
    )

    problem = _re(change)

    assert problem is not None
    assert problem[0] == CONFLICT


def test_a_re_search_that_does_not_list_our_registration_cannot_show_priority():
    problem = priority_problem(
        [],
        invoice_numbers=[INVOICE],
        factor_uscc=US.id_number,
        own_registration_no=OURS.registration_no,
    )

    assert problem is not None
    code, detail = problem
    assert code == OWN_MISSING
    assert OURS.registration_no in detail


def test_our_registration_number_on_another_partys_registration_is_not_ours():
    impostor = OURS.model_copy(update={"assignee": THEM})

    problem = priority_problem(
        [impostor],
        invoice_numbers=[INVOICE],
        factor_uscc=US.id_number,
        own_registration_no=OURS.registration_no,
    )

    assert problem is not None
    assert problem[0] == OWN_MISSING


def test_our_own_cancelled_registration_cannot_show_priority():
    cancelled = OURS.model_copy(update={"state": RegistrationState.CANCELLED})

    problem = priority_problem(
        [cancelled],
        invoice_numbers=[INVOICE],
        factor_uscc=US.id_number,
        own_registration_no=OURS.registration_no,
    )

    assert problem is not None
    assert problem[0] == OWN_MISSING
