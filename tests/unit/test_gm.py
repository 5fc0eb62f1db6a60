"""国密 primitives: the standards' known answers, and interoperability with gmssl both ways.

gmssl (pure Python, its own SM2/SM3/SM4) is the independent implementation every native result
is checked against: what we sign it verifies, what it signs we verify, and CBC either way.
"""

from __future__ import annotations

import pytest
from gmssl import func  # type: ignore[import-untyped]
from gmssl import sm2 as gmssl_sm2  # type: ignore[import-untyped]
from gmssl import sm3 as gmssl_sm3  # type: ignore[import-untyped]
from gmssl import sm4 as gmssl_sm4  # type: ignore[import-untyped]

from canonical.errors import FactorHubError
from hub.security.gm import (
    CryptoError,
    DecryptionFailed,
    InvalidKey,
    MalformedSignature,
    equal,
    hmac_sm3,
    sm3,
)
from hub.security.sm2 import (
    DEFAULT_USER_ID,
    Sm2PrivateKey,
    Sm2PublicKey,
    sign,
    signature_from_raw,
    signature_to_raw,
    verify,
)
from hub.security.sm4 import (
    sm4_cbc_decrypt,
    sm4_cbc_encrypt,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)

# GB/T 32918.2 / GM/T 0003.5 example on the recommended curve (signer id 1234567812345678).
EXAMPLE_D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
EXAMPLE_PUBLIC = (
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
EXAMPLE_R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
EXAMPLE_S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")  # GB/T 32907 A.1: also the plaintext
SM4_BLOCK = bytes.fromhex("681edf34d206965e86b3e94f536e4246")  # ... and its ciphertext
N_HEX = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"  # the group order
CURVE_HEX = (  # a, b, xG, yG: written out again here so ZA is computed independently
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)


def _gmssl(key: Sm2PrivateKey) -> gmssl_sm2.CryptSM2:
    return gmssl_sm2.CryptSM2(private_key=key.hex, public_key=key.public_key.hex)


def _gmssl_sm3(data: bytes) -> bytes:
    return bytes.fromhex(gmssl_sm3.sm3_hash(func.bytes_to_list(data)))


def _e_by_hand(public_hex: str, user_id: bytes, message: bytes) -> bytes:
    """e = SM3(ZA || M) of GB/T 32918.2 §6.1, with gmssl's SM3."""
    entl = (len(user_id) * 8).to_bytes(2, "big")
    za = _gmssl_sm3(entl + user_id + bytes.fromhex(CURVE_HEX + public_hex))
    return _gmssl_sm3(za + message)


# SM3 and HMAC-SM3


def test_sm3_gives_the_gb_t_32905_examples():
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3(b"abcd" * 16).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


@pytest.mark.parametrize("key", [b"", b"k" * 16, b"k" * 64, b"long key " * 20])
def test_hmac_sm3_is_the_rfc_2104_construction_over_gmssl_sm3(key):
    message = "保理融资申请".encode() * 50
    block = _gmssl_sm3(key) if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner = _gmssl_sm3(bytes(b ^ 0x36 for b in block) + message)
    expected = _gmssl_sm3(bytes(b ^ 0x5C for b in block) + inner)
    assert hmac_sm3(key, message) == expected


def test_equal_tells_equal_values_from_any_difference():
    mac = hmac_sm3(b"key", b"data")
    assert equal(mac, bytes(mac))
    assert not equal(mac, mac[:-1] + bytes([mac[-1] ^ 1]))
    assert not equal(mac, mac[:-1])


# SM4


def test_sm4_core_decrypts_the_gb_t_32907_example_block():
    # CBC decrypts the example's ciphertext to its plaintext, then XORs the IV: an IV of
    # plaintext XOR target turns it into `target`, here 14 bytes and two bytes of padding.
    target = b"FactorHub SM4 " + b"\x02\x02"
    iv = bytes(p ^ t for p, t in zip(SM4_KEY, target, strict=True))
    assert sm4_cbc_decrypt(SM4_KEY, iv + SM4_BLOCK) == b"FactorHub SM4 "


def test_sm4_gcm_decrypts_the_rfc_8998_example():
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    sealed = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"  # the tag
    )
    assert sm4_gcm_decrypt(SM4_KEY, nonce + sealed, aad) == plaintext


def test_sm4_gcm_round_trips_under_a_fresh_nonce_each_time():
    first = sm4_gcm_encrypt(SM4_KEY, b"invoice 044001900111", b"tenant-a")
    second = sm4_gcm_encrypt(SM4_KEY, b"invoice 044001900111", b"tenant-a")
    assert first[:12] != second[:12]
    assert len(first) == 12 + 20 + 16
    assert sm4_gcm_decrypt(SM4_KEY, first, b"tenant-a") == b"invoice 044001900111"
    assert sm4_gcm_decrypt(SM4_KEY, sm4_gcm_encrypt(SM4_KEY, b""), b"") == b""


@pytest.mark.parametrize("where", [0, 11, 12, 20, -16, -1], ids=lambda w: f"byte {w}")
def test_sm4_gcm_refuses_a_changed_nonce_ciphertext_or_tag(where):
    sealed = bytearray(sm4_gcm_encrypt(SM4_KEY, b"pay 1,000,000.00 CNY to 6222...", b"aad"))
    sealed[where] ^= 0x01
    with pytest.raises(DecryptionFailed, match="does not authenticate"):
        sm4_gcm_decrypt(SM4_KEY, bytes(sealed), b"aad")


def test_sm4_gcm_refuses_another_key_other_aad_and_truncated_data():
    sealed = sm4_gcm_encrypt(SM4_KEY, b"secret", b"tenant-a")
    with pytest.raises(DecryptionFailed):
        sm4_gcm_decrypt(bytes(16), sealed, b"tenant-a")
    with pytest.raises(DecryptionFailed):
        sm4_gcm_decrypt(SM4_KEY, sealed, b"tenant-b")
    with pytest.raises(DecryptionFailed, match="shorter"):
        sm4_gcm_decrypt(SM4_KEY, sealed[:27], b"tenant-a")


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 1000])
def test_sm4_cbc_interoperates_with_gmssl_both_ways(size):
    plaintext = bytes(range(256)) * 4
    plaintext = plaintext[:size]
    ours = sm4_cbc_encrypt(SM4_KEY, plaintext)
    assert len(ours) == 16 + (size // 16 + 1) * 16
    theirs = gmssl_sm4.CryptSM4()
    theirs.set_key(SM4_KEY, gmssl_sm4.SM4_DECRYPT)
    assert theirs.crypt_cbc(ours[:16], ours[16:]) == plaintext

    iv = bytes(range(16))
    theirs.set_key(SM4_KEY, gmssl_sm4.SM4_ENCRYPT)
    assert sm4_cbc_decrypt(SM4_KEY, iv + theirs.crypt_cbc(iv, plaintext)) == plaintext


def test_sm4_cbc_refuses_bad_padding_and_partial_blocks():
    # The example block decrypts to 0123...3210: under a zero IV its last byte, 0x10, asks
    # for a whole block of padding that is not there.
    with pytest.raises(DecryptionFailed, match="padding"):
        sm4_cbc_decrypt(SM4_KEY, bytes(16) + SM4_BLOCK)
    sealed = sm4_cbc_encrypt(SM4_KEY, b"x" * 20)
    for broken in (sealed[:-1], sealed[:16], b""):
        with pytest.raises(DecryptionFailed, match="whole blocks"):
            sm4_cbc_decrypt(SM4_KEY, broken)


@pytest.mark.parametrize(
    "use",
    [
        lambda key: sm4_gcm_encrypt(key, b"x"),
        lambda key: sm4_gcm_decrypt(key, bytes(40)),
        lambda key: sm4_cbc_encrypt(key, b"x"),
        lambda key: sm4_cbc_decrypt(key, bytes(32)),
    ],
    ids=["gcm encrypt", "gcm decrypt", "cbc encrypt", "cbc decrypt"],
)
def test_an_sm4_key_of_the_wrong_size_is_refused_before_use(use):
    for key in (b"", bytes(15), bytes(32)):
        with pytest.raises(InvalidKey, match="16 bytes"):
            use(key)


# SM2


def test_the_gb_t_32918_example_signature_verifies_under_the_default_id():
    key = Sm2PrivateKey.from_hex(EXAMPLE_D)
    assert key.public_key.hex == EXAMPLE_PUBLIC.lower()
    signature = signature_from_raw(bytes.fromhex(EXAMPLE_R + EXAMPLE_S))
    assert verify(key.public_key, b"message digest", signature)
    assert not verify(key.public_key, b"message digest!", signature)
    assert not verify(key.public_key, b"message digest", signature, user_id=b"ALICE123@YAHOO.COM")


def test_our_signatures_verify_with_gmssl_sign_with_sm3():
    key = Sm2PrivateKey.generate()
    for message in (b"", b"abc", "应收账款转让通知".encode() * 100):
        signature = sign(key, message)
        assert _gmssl(key).verify_with_sm3(signature_to_raw(signature).hex(), message)


def test_gmssl_signatures_verify_with_ours():
    key = Sm2PrivateKey.generate()
    theirs = _gmssl(key)
    for message in (b"", b"abc", "应收账款转让通知".encode() * 100):
        raw = bytes.fromhex(theirs.sign_with_sm3(message, func.random_hex(64)))
        assert verify(key.public_key, message, signature_from_raw(raw))
        assert not verify(key.public_key, message + b".", signature_from_raw(raw))


def test_another_user_id_signs_over_its_own_za_both_ways_with_gmssl():
    key = Sm2PrivateKey.generate()
    user_id = b"ALICE123@YAHOO.COM"
    e = _e_by_hand(key.public_key.hex, user_id, b"message digest")
    ours = sign(key, b"message digest", user_id)
    assert _gmssl(key).verify(signature_to_raw(ours).hex(), e)
    assert verify(key.public_key, b"message digest", ours, user_id)
    assert not verify(key.public_key, b"message digest", ours)  # not under the default id

    theirs = bytes.fromhex(_gmssl(key).sign(e, func.random_hex(64)))
    assert verify(key.public_key, b"message digest", signature_from_raw(theirs), user_id)
    assert not verify(key.public_key, b"message digest", signature_from_raw(theirs))


def test_za_is_the_digest_of_the_id_the_curve_and_the_key():
    key = Sm2PrivateKey.from_hex(EXAMPLE_D)
    entl = (16 * 8).to_bytes(2, "big")
    expected = _gmssl_sm3(entl + DEFAULT_USER_ID + bytes.fromhex(CURVE_HEX + EXAMPLE_PUBLIC))
    assert key.public_key.za() == expected
    with pytest.raises(CryptoError, match="8191"):
        key.public_key.za(b"x" * 8192)


def _der(r: bytes, s: bytes) -> bytes:
    """A DER SEQUENCE of two INTEGERs with exactly these content bytes (no checks)."""
    body = bytes([2, len(r)]) + r + bytes([2, len(s)]) + s
    return bytes([0x30, len(body)]) + body


def _bad_signatures(key: Sm2PrivateKey, message: bytes) -> dict[str, bytes]:
    good = sign(key, message)
    raw = signature_to_raw(good)
    while raw[0] >= 0x80:  # wanted: an r whose minimal DER has no leading zero
        good = sign(key, message)
        raw = signature_to_raw(good)
    r, s = raw[:32], raw[32:]
    minimal_s = s if s[0] < 0x80 else b"\0" + s
    changed = bytearray(good)
    changed[-1] ^= 1
    assert verify(key.public_key, message, _der(r, minimal_s))  # the same, well formed
    return {
        "empty": b"",
        "garbage": b"not a signature at all",
        "truncated": good[:-1],
        "trailing byte": good + b"\0",
        "changed s": bytes(changed),
        "raw r||s": r + s,
        "another key's": sign(Sm2PrivateKey.generate(), message),
        "r = 0": _der(b"\0", minimal_s),
        "s = n": _der(r, b"\0" + bytes.fromhex(N_HEX)),
        "negative s": _der(r, s if s[0] >= 0x80 else bytes([s[0] | 0x80]) + s[1:]),
        "r with a needless leading zero": _der(b"\0" + r, minimal_s),
    }


def test_verify_answers_false_for_every_kind_of_bad_signature():
    key = Sm2PrivateKey.generate()
    for name, signature in _bad_signatures(key, b"transfer").items():
        assert verify(key.public_key, b"transfer", signature) is False, name
        assert verify(key.public_key, b"transfer", signature, b"other id") is False, name


def test_signatures_convert_between_der_and_r_s():
    key = Sm2PrivateKey.generate()
    der = sign(key, b"m")
    raw = signature_to_raw(der)
    assert len(raw) == 64
    assert signature_from_raw(raw) == der
    with pytest.raises(MalformedSignature):
        signature_to_raw(raw)
    with pytest.raises(MalformedSignature, match="64 bytes"):
        signature_from_raw(raw[:63])
    with pytest.raises(MalformedSignature, match=r"\[1, n-1\]"):
        signature_from_raw(bytes(64))


def test_keys_round_trip_through_pem_and_hex():
    key = Sm2PrivateKey.generate()
    assert "BEGIN PRIVATE KEY" in key.pem
    again = Sm2PrivateKey.from_pem(key.pem)
    assert again.hex == key.hex
    assert len(key.hex) == 64
    assert Sm2PrivateKey.from_hex(key.hex.upper()).public_key == key.public_key
    public = key.public_key
    assert Sm2PublicKey.from_pem(public.pem) == public
    assert Sm2PublicKey.from_hex(public.hex) == public
    assert Sm2PublicKey.from_hex("04" + public.hex) == public
    assert verify(Sm2PublicKey.from_pem(public.pem), b"m", sign(again, b"m"))


def test_a_sec1_private_key_pem_is_accepted():
    from tongsuopy.crypto import serialization

    key = Sm2PrivateKey.generate()
    sec1 = key._key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert b"BEGIN EC PRIVATE KEY" in sec1
    assert Sm2PrivateKey.from_pem(sec1).hex == key.hex


def test_a_private_key_repr_shows_no_secret():
    key = Sm2PrivateKey.from_hex(EXAMPLE_D)
    assert EXAMPLE_D.lower() not in repr(key).lower()
    assert EXAMPLE_PUBLIC[:16].lower() in repr(key).lower()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("00" * 32, "scalar"),
        (N_HEX[:-1] + "2", "scalar"),  # n-1: (1 + d) has no inverse
        (N_HEX, "scalar"),
        ("11" * 31, "32 bytes"),
        ("zz" * 32, "not hex"),
    ],
)
def test_a_private_scalar_outside_the_group_or_malformed_is_refused(text, message):
    with pytest.raises(InvalidKey, match=message):
        Sm2PrivateKey.from_hex(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("11" * 64, "not a point"),
        ("05" + EXAMPLE_PUBLIC, "64 bytes"),
        (EXAMPLE_PUBLIC[:-2], "64 bytes"),
    ],
)
def test_a_public_point_off_the_curve_or_malformed_is_refused(text, message):
    with pytest.raises(InvalidKey, match=message):
        Sm2PublicKey.from_hex(text)


def test_pem_keys_of_another_curve_or_kind_are_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec as p256

    other = p256.generate_private_key(p256.SECP256R1())
    private_pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for load, pem in [
        (Sm2PrivateKey.from_pem, private_pem),
        (Sm2PublicKey.from_pem, public_pem),
        (Sm2PrivateKey.from_pem, Sm2PrivateKey.generate().public_key.pem.encode()),
        (Sm2PublicKey.from_pem, b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
    ]:
        with pytest.raises(InvalidKey):
            load(pem)


def test_every_crypto_error_is_a_factorhub_error():
    assert issubclass(CryptoError, FactorHubError)
    for error in (InvalidKey, MalformedSignature, DecryptionFailed):
        assert issubclass(error, CryptoError)
