import random

import pytest

from simulators import uscc

VECTORS = [
    "9132050571358240X0",
    "913101156607431925",
    "91330106569821743D",
    "91320594794160355G",
    "91310118134829068J",
]


@pytest.mark.parametrize("code", VECTORS)
def test_reference_vectors_validate(code):
    assert uscc.is_valid(code)
    assert uscc.check_char(code[:17]) == code[17]


def test_weights_are_powers_of_three_mod_31():
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def test_remainder_zero_gives_check_character_zero_not_y():
    # 9132050571358240X0 sums to 1581 = 51 * 31, the "31 -> 0" edge case
    assert uscc.check_char("9132050571358240X") == "0"


@pytest.mark.parametrize(
    "code",
    [
        "9132050571358240X1",  # wrong check character
        "9132050571358240x0",  # lowercase is not the canonical form
        "9132050571358240I0",  # I is outside the charset
        "9132050571358240X",  # too short
        "",
    ],
)
def test_bad_codes_are_rejected(code):
    assert not uscc.is_valid(code)


def test_generated_codes_are_valid_and_carry_a_valid_inner_org_code():
    rng = random.Random(3)
    for _ in range(500):
        code = uscc.generate(rng, "310115")
        assert uscc.is_valid(code)
        assert code.startswith("91310115")
        assert uscc.org_code_check_char(code[8:16]) == code[16]


def test_inner_org_code_of_the_worked_example_is_x():
    assert uscc.org_code_check_char("71358240") == "X"
