import pytest
from pydantic import ValidationError

from canonical import Party, PartyRole, normalise_uscc, uscc_problem

VALID = [
    "9132050571358240X0",
    "913101156607431925",
    "91330106569821743D",
    "91320594794160355G",
    "91310118134829068J",
]


@pytest.mark.parametrize("code", VALID)
def test_reference_vectors_are_valid(code):
    assert uscc_problem(code) is None


def test_a_remainder_of_31_maps_to_check_character_zero():
    assert uscc_problem("9132050571358240X0") is None
    assert uscc_problem("9132050571358240XY") is not None


def test_a_wrong_check_digit_is_named_with_the_expected_one():
    assert uscc_problem("913101156607431926") == "check digit is '6', expected '5'"


def test_letters_outside_the_alphabet_are_refused():
    assert "not in the USCC alphabet" in (uscc_problem("91310115660743192I") or "")


def test_whitespace_full_width_and_lowercase_are_normalised_before_checking():
    assert normalise_uscc(" ９１３３０１０６５６９８２１７４３ｄ ") == "91330106569821743D"
    party = Party(name="某公司", uscc=" 91330106569821743d", role=PartyRole.SELLER)
    assert party.uscc == "91330106569821743D"


def test_a_party_with_an_invalid_uscc_cannot_exist():
    with pytest.raises(ValidationError, match="统一社会信用代码"):
        Party(name="某公司", uscc="913101156607431926", role=PartyRole.BUYER)
