"""统一社会信用代码 (GB 32100-2015): own implementation, so simulators never share the hub's bug."""

from __future__ import annotations

import random

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_char(body: str) -> str:
    """Check character for the first 17 characters of a code."""
    if len(body) != 17:
        raise ValueError("a USCC body has 17 characters")
    try:
        total = sum(_VALUE[c] * w for c, w in zip(body, WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the USCC charset") from exc
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """True when `code` is 18 charset characters whose last one is the right check character."""
    if len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_char(code[:17]) == code[17]


def org_code_check_char(body: str) -> str:
    """GB 11714 check of the embedded 组织机构代码 (values over the full 36-character alphabet)."""
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def generate(rng: random.Random, region: str = "320505") -> str:
    """A valid enterprise code (登记机关 9, 类别 1) with a valid inner org code too."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region must be a 6-digit GB/T 2260 code")
    if rng.random() < 0.5:
        org_body = "".join(rng.choice("0123456789") for _ in range(8))
    else:
        org_body = "MA" + "".join(rng.choice(CHARSET) for _ in range(6))
    body = "91" + region + org_body + org_code_check_char(org_body)
    return body + check_char(body)
