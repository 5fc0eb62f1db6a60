"""Receivable eligibility: one status each, in the documented order, with hand-checked faces."""

from __future__ import annotations

import pytest

from tests.routes.test_quote_example import EXAMPLE_INPUT, build, run

BASE = EXAMPLE_INPUT["receivables"][0]


def invoice(rid: str, **changes: object) -> dict[str, object]:
    return {**BASE, "id": rid, **changes}


def test_a_pool_counts_only_eligible_faces_and_names_why_the_others_are_out():
    pool = [
        invoice("OK"),
        invoice("VOID", verification="void"),
        invoice("DISPUTED", disputed=True),
        invoice("PAST-DUE", issue_date="2025-12-01", due_date="2026-01-04"),
        invoice("OLD", issue_date="2025-06-01"),  # 218 days old at 2026-01-05
        invoice("SOON", due_date="2026-01-10"),  # 5 days to due, under 7
        invoice("FAR", due_date="2026-08-01"),  # 208 days to due, over 180
    ]
    output = run(build(receivables=pool, events=[]))
    statuses = {line["id"]: line["status"] for line in output["receivables"]}
    assert statuses == {
        "OK": "ELIGIBLE",
        "VOID": "INELIGIBLE_VERIFICATION",
        "DISPUTED": "INELIGIBLE_DISPUTED",
        "PAST-DUE": "INELIGIBLE_OVERDUE",
        "OLD": "INELIGIBLE_AGE",
        "SOON": "INELIGIBLE_TENOR",
        "FAR": "INELIGIBLE_TENOR",
    }
    assert output["reasons"] == [
        "INVOICE_VOID",
        "DISPUTED",
        "PAST_DUE",
        "AGE_EXCEEDED",
        "TENOR_TOO_SHORT",
        "TENOR_TOO_LONG",
    ]
    assert output["eligible_base"] == "452000.00"
    assert output["principal"] == "361600.00"
    assert output["fee"] == "2260.00"  # only the eligible face pays the fee
    assert output["decision"] == "APPROVED"
    assert [line["principal"] for line in output["receivables"][1:]] == ["0.00"] * 6
    assert output["state"] == "DISBURSED"


def test_the_first_status_that_applies_wins():
    # void, disputed, overdue and too old at once: verification comes first
    everything = invoice(
        "X", verification="void", disputed=True, issue_date="2025-01-01", due_date="2026-01-01"
    )
    disputed_and_overdue = invoice(
        "Y", disputed=True, issue_date="2025-12-01", due_date="2026-01-01"
    )
    output = run(build(receivables=[everything, disputed_and_overdue], events=[]))
    assert [r["status"] for r in output["receivables"]] == [
        "INELIGIBLE_VERIFICATION",
        "INELIGIBLE_DISPUTED",
    ]


@pytest.mark.parametrize(
    ("verification", "code"),
    [
        ("void", "INVOICE_VOID"),
        ("red_flushed", "INVOICE_RED_FLUSHED"),
        ("out_of_control", "INVOICE_OUT_OF_CONTROL"),
        ("not_found", "INVOICE_NOT_FOUND"),
        ("rate_limited", "VERIFICATION_PENDING"),
    ],
)
def test_an_invoice_not_verified_normal_makes_nothing_eligible(verification, code):
    output = run(build(receivable={"verification": verification}))
    assert output["decision"] == "REJECTED"
    assert output["reasons"] == [code, "NOTHING_ELIGIBLE"]
    assert output["receivables"][0]["status"] == "INELIGIBLE_VERIFICATION"
    assert output["principal"] == output["fee"] == "0.00"
    assert output["repayments"] == []
    assert output["state"] == "REJECTED"
    assert [limit["reserve"] for limit in output["limits"]] == ["0.00", "0.00"]


def test_a_red_letter_reduces_the_face_and_marks_it_reduced():
    # 452000 - 52000 = 400000; x 0.80 = 320000; fee 400000 x 0.005 = 2000
    output = run(build(receivable={"red_letter_amount": "52000.00"}, events=[]))
    line = output["receivables"][0]
    assert (line["status"], line["eligible_face"]) == ("ELIGIBLE_REDUCED", "400000.00")
    assert output["principal"] == "320000.00"
    assert output["fee"] == "2000.00"
    assert output["reasons"] == ["RED_LETTER_REDUCED"]
    assert output["decision"] == "APPROVED"


def test_a_red_letter_for_the_whole_face_is_a_full_red_flush():
    output = run(build(receivable={"red_letter_amount": "452000.00"}))
    assert output["receivables"][0]["status"] == "INELIGIBLE_VERIFICATION"
    assert output["reasons"] == ["INVOICE_RED_FLUSHED", "NOTHING_ELIGIBLE"]


def test_a_partial_delivery_finances_only_what_was_delivered():
    # invoiced 400 > delivered 300 x 1.02 = 306: eligible = 300 x 1130 = 339000; x 0.8 = 271200
    match = {"invoiced_quantity": "400", "delivered_quantity": "300", "unit_price": "1130.00"}
    output = run(build(receivable={"match": match}, events=[]))
    line = output["receivables"][0]
    assert (line["status"], line["eligible_face"]) == ("ELIGIBLE_REDUCED", "339000.00")
    assert output["principal"] == "271200.00"
    assert output["fee"] == "1695.00"  # 339000 x 0.005
    assert output["reasons"] == ["MATCH_QTY"]


def test_a_quantity_within_the_two_percent_tolerance_is_matched_in_full():
    # 393 x 1.02 = 400.86 >= 400 invoiced
    match = {"invoiced_quantity": "400", "delivered_quantity": "393", "unit_price": "1130.00"}
    output = run(build(receivable={"match": match}, events=[]))
    assert output["receivables"][0]["status"] == "ELIGIBLE"
    assert output["eligible_base"] == "452000.00"
    assert output["reasons"] == []


def test_a_match_exception_is_rejected_when_the_programme_says_reject():
    match = {"invoiced_quantity": "400", "delivered_quantity": "300", "unit_price": "1130.00"}
    output = run(
        build(
            policy={"matching": {"partial_match_mode": "reject"}},
            receivable={"match": match, "disputed": True},
        )
    )
    assert output["receivables"][0]["status"] == "MATCH_EXCEPTION"  # before the dispute
    assert output["decision"] == "REJECTED"
    assert output["reasons"] == ["MATCH_QTY", "NOTHING_ELIGIBLE"]


def test_a_match_exception_under_manual_review_is_quoted_but_reserves_nothing():
    match = {"invoiced_quantity": "400", "delivered_quantity": "300", "unit_price": "1130.00"}
    output = run(
        build(
            policy={"matching": {"partial_match_mode": "manual_review"}},
            receivable={"match": match},
        )
    )
    assert output["decision"] == "REVIEW"
    assert output["reasons"] == ["MATCH_QTY", "MATCH_REVIEW"]
    assert output["principal"] == "271200.00"
    assert output["state"] == "MATCH_REVIEW"
    assert output["repayments"] == []
    assert [limit["reserve"] for limit in output["limits"]] == ["0.00", "0.00"]


def test_the_purchase_order_caps_the_face_when_the_invoice_exceeds_it():
    # PO 390 x 1130 = 440700; |452000 - 440700| = 11300 > max(0.5% x 440700 = 2203.50, 100)
    match = {
        "invoiced_quantity": "400",
        "delivered_quantity": "400",
        "unit_price": "1130.00",
        "ordered_quantity": "390",
        "po_unit_price": "1130.00",
    }
    output = run(build(receivable={"match": match}, events=[]))
    assert output["reasons"] == ["MATCH_AMOUNT"]
    assert output["eligible_base"] == "440700.00"
    assert output["principal"] == "352560.00"  # 440700 x 0.8


def test_a_unit_price_off_the_order_by_more_than_half_a_percent_is_an_exception():
    # |1130 - 1120| = 10 > 1120 x 0.005 = 5.60; PO value 448000 is 4000 off (> 2240)
    match = {
        "invoiced_quantity": "400",
        "delivered_quantity": "400",
        "unit_price": "1130.00",
        "ordered_quantity": "400",
        "po_unit_price": "1120.00",
    }
    output = run(
        build(policy={"matching": {"partial_match_mode": "reject"}}, receivable={"match": match})
    )
    assert output["reasons"] == ["MATCH_AMOUNT", "MATCH_PRICE", "NOTHING_ELIGIBLE"]


def test_age_and_days_to_due_are_measured_at_as_of_with_inclusive_bounds():
    # issued exactly 180 days before as_of, due exactly 7 days after: both allowed
    edge = {"issue_date": "2025-07-09", "due_date": "2026-01-12"}
    assert run(build(receivable=edge, events=[]))["receivables"][0]["status"] == "ELIGIBLE"
    older = {"issue_date": "2025-07-08", "due_date": "2026-01-12"}
    assert run(build(receivable=older, events=[]))["receivables"][0]["status"] == "INELIGIBLE_AGE"
    sooner = {"issue_date": "2025-12-20", "due_date": "2026-01-11"}
    assert (
        run(build(receivable=sooner, events=[]))["receivables"][0]["status"] == "INELIGIBLE_TENOR"
    )
