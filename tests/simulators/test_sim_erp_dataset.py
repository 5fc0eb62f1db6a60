from collections import Counter
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from simulators import uscc
from simulators.erp.dataset import (
    ANOMALIES,
    DISBURSABLE,
    ORDER_AMOUNT_MISMATCH,
    QUANTITY_OVER_DELIVERY,
    classify,
    generate_companies,
    generate_invoices,
)
from simulators.erp.payloads import render

FEN = Decimal("0.01")


def _cases(seed=7, count=200, **kwargs):
    return generate_invoices(seed, count, generate_companies(seed), **kwargs)


def _half_up(value):
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def test_same_seed_gives_byte_identical_payloads():
    first = [render(c) for c in _cases(seed=11)]
    second = [render(c) for c in _cases(seed=11)]
    assert first == second


def test_different_seeds_give_different_payloads_and_numbers():
    a, b = _cases(seed=1, count=50), _cases(seed=2, count=50)
    assert [render(c) for c in a] != [render(c) for c in b]
    assert not {c.invoice.number for c in a} & {c.invoice.number for c in b}


def test_first_cases_do_not_change_when_more_are_generated():
    few = _cases(seed=5, count=20, anomalies={name: 0 for name in ANOMALIES})
    many = _cases(seed=5, count=40, anomalies={name: 0 for name in ANOMALIES})
    assert [render(c) for c in few] == [render(c) for c in many[:20]]


def test_companies_have_valid_usccs_unique_names_and_bank_details():
    companies = generate_companies(3, sellers=10, buyers=40)
    everyone = companies.sellers + companies.buyers
    assert len(companies.sellers) == 10
    assert len(companies.buyers) == 40
    assert len({c.name for c in everyone}) == 50
    assert len({c.uscc for c in everyone}) == 50
    for company in everyone:
        assert uscc.is_valid(company.uscc)
        assert company.name.endswith("有限公司")
        assert company.bank_account.isdigit()
        assert len(company.cnaps_code) == 12
        assert company.cnaps_code.isdigit()
        assert company.kingdee_customer_number.startswith("CUST-")
        assert company.yonyou_org_id.isdigit()
        assert isinstance(company.yonyou_agent_id, int)


def test_line_and_header_amounts_reconcile_to_the_fen():
    for case in _cases(count=300):
        for document in (case.invoice, case.order):
            for line in document.lines:
                assert line.tax_rate in (13, 6)
                assert line.amount == _half_up(line.quantity * line.unit_price)
                assert line.tax == _half_up(line.amount * line.tax_rate / 100)
                assert line.total == line.amount + line.tax
            assert document.amount == sum(line.amount for line in document.lines)
            assert document.tax == sum(line.tax for line in document.lines)
            assert document.total == document.amount + document.tax
            assert document.total.as_tuple().exponent == -2


def test_every_case_has_a_20_digit_invoice_number_and_a_due_date_60_to_120_days_out():
    cases = _cases(count=300)
    assert len({c.invoice.number for c in cases}) == 300
    for case in cases:
        assert len(case.invoice.number) == 20
        assert case.invoice.number.isdigit()
        assert timedelta(days=60) <= case.due_date - case.invoice.issue_date <= timedelta(days=120)
        assert case.order.order_date < case.invoice.issue_date


def test_vendors_alternate_between_kingdee_and_yonyou():
    assert [c.vendor for c in _cases(count=6)] == ["kingdee", "yonyou"] * 3


def test_anomalies_appear_at_the_configured_rate():
    cases = _cases(
        count=1000, anomalies={ORDER_AMOUNT_MISMATCH: 0.05, QUANTITY_OVER_DELIVERY: 0.02}
    )
    counts = Counter(c.expected_outcome for c in cases)
    assert counts == {DISBURSABLE: 930, ORDER_AMOUNT_MISMATCH: 50, QUANTITY_OVER_DELIVERY: 20}


def test_default_anomaly_rate_is_three_percent_each():
    counts = Counter(c.expected_outcome for c in _cases(count=1000))
    assert counts[ORDER_AMOUNT_MISMATCH] == 30
    assert counts[QUANTITY_OVER_DELIVERY] == 30


def test_zero_rate_disables_anomalies():
    cases = _cases(count=500, anomalies={name: 0 for name in ANOMALIES})
    assert {c.expected_outcome for c in cases} == {DISBURSABLE}


def test_recorded_outcome_follows_from_the_documents_themselves():
    for case in _cases(count=1000, anomalies={name: 0.1 for name in ANOMALIES}):
        assert classify(case.invoice, case.order) == case.expected_outcome
        invoice, order = case.invoice, case.order
        diff = abs(order.total - invoice.total)
        if case.expected_outcome == ORDER_AMOUNT_MISMATCH:
            assert diff > invoice.total / 100
            assert diff > 100
            assert [ln.quantity for ln in order.lines] == [ln.quantity for ln in invoice.lines]
        elif case.expected_outcome == QUANTITY_OVER_DELIVERY:
            over = [
                (inv.quantity, ordered.quantity)
                for inv, ordered in zip(invoice.lines, order.lines, strict=True)
                if inv.quantity != ordered.quantity
            ]
            assert over == [(21, 20)]  # 5 % above the ordered quantity
            assert diff <= 100  # only the quantity is wrong, not the amount
        else:
            assert order.lines == invoice.lines


@pytest.mark.parametrize(
    "anomalies",
    [{"unknown_anomaly": 0.1}, {ORDER_AMOUNT_MISMATCH: 1.5}, {name: 0.6 for name in ANOMALIES}],
)
def test_bad_anomaly_settings_are_refused(anomalies):
    with pytest.raises(ValueError, match=r"anomal|rate"):
        _cases(count=10, anomalies=anomalies)


def test_goods_orders_have_a_delivery_note_that_ships_every_goods_line_in_full():
    from simulators.erp.vocabulary import SERVICES

    services = {p.code for p in SERVICES}
    cases = _cases()
    with_goods = [c for c in cases if any(ln.product_code not in services for ln in c.order.lines)]
    assert with_goods
    for case in cases:
        goods = [ln for ln in case.order.lines if ln.product_code not in services]
        if not goods:
            assert case.delivery is None
            continue
        assert case.delivery is not None
        assert case.delivery.order_number == case.order.number
        assert case.delivery.delivery_date == case.order.delivery_date
        assert case.delivery.delivery_date <= case.invoice.issue_date
        assert [(ln.product_code, ln.quantity) for ln in case.delivery.lines] == [
            (ln.product_code, ln.quantity) for ln in goods
        ]
        shipped = Counter()
        for line in case.delivery.lines:
            shipped[line.product_code] += line.quantity
        over = any(
            ln.quantity > shipped[ln.product_code]
            for ln in case.invoice.lines
            if ln.product_code not in services
        )
        assert over == (case.expected_outcome == QUANTITY_OVER_DELIVERY)


def test_the_erp_pushes_carry_the_delivery_note_beside_the_order():
    import json

    for case in _cases(count=40):
        body = json.loads(render(case))
        if case.vendor == "kingdee":
            data = body["data"] if isinstance(body["data"], dict) else json.loads(body["data"])
            notes = data["Related"]["SAL_OUTSTOCK"]
            numbers = [n["FBillNo"] for n in notes]
            sources = {e["FSrcBillNo"] for n in notes for e in n["FEntity"]}
        else:
            notes = body["related"].get("deliveries", [])
            numbers = [n["code"] for n in notes]
            sources = {n["srcBillNo"] for n in notes}
        expected = [case.delivery.number] if case.delivery else []
        assert numbers == expected
        assert sources == ({case.order.number} if case.delivery else set())
