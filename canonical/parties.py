"""Parties to a factoring deal, identified by their 统一社会信用代码."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from canonical.text import PlainText
from canonical.uscc import normalise_uscc, uscc_problem

__all__ = ["USCC", "BankAccount", "Party", "PartyRole"]

_CANONICAL = re.compile(r"[0-9A-Z]{18}")
"""Already normalised (the usual case on the bus): no folding needed."""


def _normalise(value: object) -> object:
    if isinstance(value, str):
        return value if _CANONICAL.fullmatch(value) else normalise_uscc(value)
    return value


def _check(value: str) -> str:
    problem = uscc_problem(value)
    if problem:
        raise ValueError(f"invalid 统一社会信用代码: {problem}")
    return value


USCC = Annotated[str, BeforeValidator(_normalise), AfterValidator(_check)]
"""A validated 统一社会信用代码: blanks removed, full-width folded, uppercased, checked; any other
character (a look-alike letter, an invisible one) refused by name (`canonical.uscc`)."""


class PartyRole(StrEnum):
    """What a party is in the deal."""

    SELLER = "seller"
    """The supplier who sells its receivable (转让人)."""
    BUYER = "buyer"
    """The debtor who owes the receivable (债务人)."""
    FACTOR = "factor"
    """The factor who finances it (保理人)."""
    ANCHOR = "anchor"
    """The core enterprise of a supply-chain programme."""


class BankAccount(BaseModel):
    """A settlement account at a Chinese bank (no IBAN: account number plus CNAPS 行号)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    number: str = Field(min_length=1, max_length=34, pattern=r"^[0-9A-Za-z-]+$")
    name: str = Field(min_length=1, max_length=140)
    bank_name: str = Field(default="", max_length=140)
    cnaps_code: str = Field(default="", pattern=r"^([0-9]{12})?$")


class Party(BaseModel):
    """A legal entity in the deal."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    name: PlainText = Field(min_length=1, max_length=140)
    """Any printable text, but no control, bidi or zero-width character (`canonical.text`)."""
    uscc: USCC
    role: PartyRole
    erp_code: PlainText = ""
