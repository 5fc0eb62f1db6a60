from decimal import Decimal

import pytest
from pydantic import ValidationError

from canonical import CurrencyMismatch, Money


def test_amounts_add_up_exactly_in_decimal():
    assert Money.of("0.10") + Money.of("0.20") == Money.of("0.30")


def test_mixing_currencies_is_refused():
    with pytest.raises(CurrencyMismatch):
        _ = Money.of("1.00") + Money.of("1.00", "USD")


def test_money_is_never_built_from_float():
    with pytest.raises(TypeError):
        Money.of(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _ = Money.of("1.00") * 0.8  # type: ignore[operator]


def test_interest_rounds_half_up_and_principal_rounds_down_to_the_fen():
    assert Money.of("1.005").round_half_up().amount == Decimal("1.01")
    assert Money.of("1.009").round_down().amount == Decimal("1.00")
    assert Money.of("-1.005").round_half_up().amount == Decimal("-1.01")


def test_json_writes_amounts_as_exact_decimal_strings():
    assert Money.of("113000.10").model_dump_json() == '{"amount":"113000.10","currency":"CNY"}'


def test_non_finite_amounts_and_bad_currencies_are_refused():
    with pytest.raises(ValidationError):
        Money(amount=Decimal("NaN"))
    with pytest.raises(ValidationError):
        Money(amount=Decimal("1"), currency="rmb")
