"""The issue's example quote, and the builder the other quote tests start from."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from hub.cli_calc import quote_json_schemas
from routes.quote import QuoteRequest, QuoteResult, quote

EXAMPLE_INPUT: dict[str, Any] = {
    "as_of": "2026-01-05",
    "policy": {
        "advance_rate": "0.80",
        "annual_rate": "0.06",
        "interest_method": "arrears",
        "day_count": "ACT/360",
        "fee_rate": "0.005",
        "penalty_rate": "0.09",
        "penalty_grace_days": 3,
        "receivable_grace_days": 0,
        "compound_penalty": False,
        "max_age_days": 180,
        "min_days_to_due": 7,
        "max_days_to_due": 180,
        "min_ticket": "10000.00",
        "partial_approval": True,
        "matching": {
            "amount_tolerance_pct": "0.005",
            "amount_tolerance_abs": "100.00",
            "quantity_tolerance_pct": "0.02",
            "partial_match_mode": "delivered_only",
        },
    },
    "limits": [
        {"kind": "seller_facility", "limit": "3000000.00", "used": "0.00", "reserved": "0.00"},
        {"kind": "buyer", "limit": "5000000.00", "used": "1000000.00", "reserved": "0.00"},
    ],
    "portfolio": {
        "net_assets": "50000000.00",
        "risk_assets": "200000000.00",
        "debtor_exposure": "20000000.00",
        "debtor_related": False,
        "related_exposure": "0.00",
    },
    "receivables": [
        {
            "id": "INV-9",
            "issue_date": "2025-12-20",
            "due_date": "2026-03-20",
            "face": "452000.00",
            "verification": "normal",
            "red_letter_amount": "0.00",
            "disputed": False,
            "already_financed": "0.00",
            "match": {
                "invoiced_quantity": "400",
                "delivered_quantity": "400",
                "unit_price": "1130.00",
            },
        }
    ],
    "request": {"amount": None, "disbursement_date": "2026-01-05"},
    "events": [{"type": "repayment", "date": "2026-03-20", "amount": "452000.00"}],
}

EXAMPLE_OUTPUT = {
    "decision": "APPROVED",
    "reasons": [],
    "eligible_base": "452000.00",
    "principal": "361600.00",
    "fee": "2260.00",
    "upfront_interest": "0.00",
    "net_disbursement": "359340.00",
    "interest_total": "4459.73",
    "receivables": [
        {
            "id": "INV-9",
            "status": "ELIGIBLE",
            "eligible_face": "452000.00",
            "principal": "361600.00",
            "interest": "4459.73",
            "maturity": "2026-03-20",
        }
    ],
    "limits": [
        {"kind": "seller_facility", "reserve": "361600.00"},
        {"kind": "buyer", "reserve": "361600.00"},
    ],
    "repayments": [
        {
            "date": "2026-03-20",
            "amount": "452000.00",
            "fees": "0.00",
            "penalty": "0.00",
            "interest": "4459.73",
            "principal": "361600.00",
            "surplus": "85940.27",
            "outstanding_after": "0.00",
        }
    ],
    "state": "SETTLED",
}


def build(
    policy: dict[str, Any] | None = None,
    receivable: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """The example input with policy keys, first-receivable keys and top-level keys replaced."""
    document = copy.deepcopy(EXAMPLE_INPUT)
    document["policy"].update(policy or {})
    document["receivables"][0].update(receivable or {})
    document.update(top)
    return document


def run(document: dict[str, Any]) -> dict[str, Any]:
    """Quote a document and return the output JSON as plain data."""
    result = quote(QuoteRequest.model_validate_json(json.dumps(document)))
    output: dict[str, Any] = json.loads(result.model_dump_json())
    return output


def test_the_issue_example_input_gives_exactly_the_issue_example_output():
    # 452000 x 0.80 = 361600; fee 452000 x 0.005 = 2260; 2026-01-05 -> 03-20 is 74 days:
    # 361600 x 0.06 x 74 / 360 = 4459.7333 -> 4459.73; surplus 452000 - 361600 - 4459.73.
    assert run(EXAMPLE_INPUT) == EXAMPLE_OUTPUT


def test_the_output_is_written_key_for_key_in_the_documented_order():
    text = quote(QuoteRequest.model_validate_json(json.dumps(EXAMPLE_INPUT))).model_dump_json()
    assert list(json.loads(text)) == list(EXAMPLE_OUTPUT)
    assert '"principal":"361600.00"' in text


def test_policy_keys_left_out_take_the_section_6_0_defaults():
    assert run(build(policy=None) | {"policy": {}}) == EXAMPLE_OUTPUT
    minimal = {k: EXAMPLE_INPUT[k] for k in ("as_of", "receivables", "events")}
    output = run(minimal)
    assert output["principal"] == "361600.00"
    assert output["limits"] == []


def test_the_published_schemas_accept_the_example_documents():
    schemas = quote_json_schemas()
    jsonschema.validate(EXAMPLE_INPUT, schemas["quote-request"])
    jsonschema.validate(EXAMPLE_OUTPUT, schemas["quote-result"])
    broken = build(receivable={"face": 452000.0})
    with pytest.raises(jsonschema.ValidationError) as caught:
        jsonschema.validate(broken, schemas["quote-request"])
    assert list(caught.value.absolute_path) == ["receivables", 0, "face"]


def test_quote_result_round_trips_through_its_own_json():
    result = quote(QuoteRequest.model_validate_json(json.dumps(EXAMPLE_INPUT)))
    assert QuoteResult.model_validate_json(result.model_dump_json(), strict=False) == result
