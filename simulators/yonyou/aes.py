"""AES (FIPS-197) in CBC mode without padding, in plain Python.

YonBIP's event centre encrypts pushes with `AES/CBC/NoPadding` (its own PKCS#7 to 32 bytes is
applied by the caller). No AES library ships with this project (tongsuopy only has SM4), and
event bodies are a few kilobytes, so a table-driven software AES is fast enough. The tables are
computed, not typed in; known-answer tests from FIPS-197 and SP 800-38A guard the result.
"""

from __future__ import annotations

__all__ = ["BLOCK", "cbc_decrypt", "cbc_encrypt"]

BLOCK = 16


def _xtime(value: int) -> int:
    value <<= 1
    return (value ^ 0x11B) if value & 0x100 else value


def _multiply(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        a, b = _xtime(a), b >> 1
    return product


def _rotl8(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (8 - shift))) & 0xFF


def _sboxes() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """S-box = affine transform of the multiplicative inverse in GF(2^8)."""
    sbox = [0x63] * 256
    p = q = 1
    while True:
        p = _multiply(p, 3)  # p walks every non-zero element (3 generates the group)
        q = _multiply(q, 0xF6)  # 0xF6 is the inverse of 3, so q == p^-1
        sbox[p] = q ^ _rotl8(q, 1) ^ _rotl8(q, 2) ^ _rotl8(q, 3) ^ _rotl8(q, 4) ^ 0x63
        if p == 1:
            break
    inverse = [0] * 256
    for index, value in enumerate(sbox):
        inverse[value] = index
    return tuple(sbox), tuple(inverse)


_SBOX, _INV_SBOX = _sboxes()
_MUL = {k: tuple(_multiply(k, x) for x in range(256)) for k in (2, 3, 9, 11, 13, 14)}


def _expand_key(key: bytes) -> list[list[int]]:
    """Round keys (16 bytes each) for a 16-, 24- or 32-byte key."""
    if len(key) not in (16, 24, 32):
        raise ValueError(f"AES key must be 16, 24 or 32 bytes, not {len(key)}")
    nk = len(key) // 4
    rounds = nk + 6
    words = [list(key[4 * i : 4 * i + 4]) for i in range(nk)]
    rcon = 1
    for i in range(nk, 4 * (rounds + 1)):
        word = list(words[i - 1])
        if i % nk == 0:
            word = [_SBOX[b] for b in word[1:] + word[:1]]
            word[0] ^= rcon
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            word = [_SBOX[b] for b in word]
        words.append([a ^ b for a, b in zip(words[i - nk], word, strict=True)])
    return [[b for word in words[4 * r : 4 * r + 4] for b in word] for r in range(rounds + 1)]


def _add(state: list[int], round_key: list[int]) -> list[int]:
    return [a ^ b for a, b in zip(state, round_key, strict=True)]


def _mix(state: list[int], m: tuple[int, int, int, int]) -> list[int]:
    """Multiply each column by the circulant matrix whose first row is `m`."""
    out: list[int] = []
    for c in range(4):
        column = state[4 * c : 4 * c + 4]
        for r in range(4):
            value = 0
            for j, x in enumerate(column):
                k = m[(j - r) % 4]
                value ^= x if k == 1 else _MUL[k][x]
            out.append(value)
    return out


def _encrypt_block(block: bytes, keys: list[list[int]]) -> bytes:
    state = _add(list(block), keys[0])
    last = len(keys) - 1
    for rnd in range(1, last + 1):
        state = [_SBOX[b] for b in state]
        state = [state[r + 4 * ((c + r) % 4)] for c in range(4) for r in range(4)]
        if rnd != last:
            state = _mix(state, (2, 3, 1, 1))
        state = _add(state, keys[rnd])
    return bytes(state)


def _decrypt_block(block: bytes, keys: list[list[int]]) -> bytes:
    last = len(keys) - 1
    state = _add(list(block), keys[last])
    for rnd in range(last - 1, -1, -1):
        state = [state[r + 4 * ((c - r) % 4)] for c in range(4) for r in range(4)]
        state = [_INV_SBOX[b] for b in state]
        state = _add(state, keys[rnd])
        if rnd:
            state = _mix(state, (14, 11, 13, 9))
    return bytes(state)


def _check(data: bytes, iv: bytes) -> None:
    if len(iv) != BLOCK:
        raise ValueError("the IV must be 16 bytes")
    if len(data) % BLOCK:
        raise ValueError("CBC without padding needs a multiple of 16 bytes")


def cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    _check(plaintext, iv)
    keys, previous, out = _expand_key(key), iv, bytearray()
    for start in range(0, len(plaintext), BLOCK):
        chunk = bytes(
            a ^ b for a, b in zip(plaintext[start : start + BLOCK], previous, strict=True)
        )
        previous = _encrypt_block(chunk, keys)
        out += previous
    return bytes(out)


def cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    _check(ciphertext, iv)
    keys, previous, out = _expand_key(key), iv, bytearray()
    for start in range(0, len(ciphertext), BLOCK):
        chunk = ciphertext[start : start + BLOCK]
        out += bytes(a ^ b for a, b in zip(_decrypt_block(chunk, keys), previous, strict=True))
        previous = chunk
    return bytes(out)
