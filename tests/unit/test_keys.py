"""The key ring: keys by id from the environment and files, and rotation that breaks nothing."""

from __future__ import annotations

import stat

import pytest

from canonical.errors import ConfigurationError
from hub.security.gm import DecryptionFailed, UnknownKey
from hub.security.keys import KeyRing, generate
from hub.security.sm2 import Sm2PrivateKey, verify

MESSAGE = "转让通知 No. 2025-0001".encode()


def _environ(*key_ids: str, **extra: str) -> dict[str, str]:
    env: dict[str, str] = {"PATH": "/usr/bin"}
    for key_id in key_ids:
        env.update(generate(key_id).environ())
    return env | extra


def test_after_rotation_the_new_key_signs_and_the_old_one_still_verifies():
    before = _environ("2025q1")
    old = KeyRing.from_env(before)
    old_signer = old.current_signer()
    old_signature = old_signer.sign(MESSAGE)

    after = before | _environ("2025q2")
    ring = KeyRing.from_env(after)
    signer = ring.current_signer()
    assert (old_signer.key_id, signer.key_id) == ("2025q1", "2025q2")
    assert ring.verify("2025q1", MESSAGE, old_signature)
    signature = signer.sign(MESSAGE)
    assert ring.verify("2025q2", MESSAGE, signature)
    assert not ring.verify("2025q1", MESSAGE, signature)
    assert not ring.verify("2025q3", MESSAGE, signature)
    assert verify(ring.public_keys()["2025q2"], MESSAGE, signature)


def test_after_rotation_data_under_the_old_key_still_decrypts():
    before = _environ("k1")
    sealed_before = KeyRing.from_env(before).encrypt(b"bank account 6222 0202", b"req-1")
    ring = KeyRing.from_env(before | _environ("k2"))
    assert ring.data_key_id == "k2"
    assert ring.decrypt(sealed_before, b"req-1") == b"bank account 6222 0202"
    sealed_after = ring.encrypt(b"new", b"req-2")
    assert sealed_after[2:4] == b"k2"
    assert ring.decrypt(sealed_after, b"req-2") == b"new"
    with pytest.raises(UnknownKey, match="'k2'"):
        KeyRing.from_env(before).decrypt(sealed_after, b"req-2")


def test_the_newest_id_compares_digit_runs_as_numbers_unless_one_is_named():
    env = _environ("v9", "v10")
    assert KeyRing.from_env(env).current_signer().key_id == "v10"
    named = KeyRing.from_env(
        env | {"FACTORHUB_SIGNING_KEY_ID": "v9", "FACTORHUB_DATA_KEY_ID": "v9"}
    )
    assert named.current_signer().key_id == "v9"
    assert named.data_key_id == "v9"


def test_a_retired_key_kept_as_its_public_half_only_verifies():
    retired = Sm2PrivateKey.generate()
    signature = KeyRing(sm2={"old": retired}).current_signer().sign(MESSAGE)
    for public in (retired.public_key.pem, retired.public_key.hex):
        env = _environ("new") | {"FACTORHUB_SM2_KEY_old": public}
        ring = KeyRing.from_env(env)
        assert ring.current_signer().key_id == "new"
        assert ring.verify("old", MESSAGE, signature)
    with pytest.raises(ConfigurationError, match="FACTORHUB_SIGNING_KEY_ID=old: no SM2 private"):
        KeyRing.from_env(env | {"FACTORHUB_SIGNING_KEY_ID": "old"})


def test_a_pem_in_a_variable_may_be_on_one_line_with_escaped_newlines():
    key = Sm2PrivateKey.generate()
    one_line = key.pem.replace("\n", "\\n")
    ring = KeyRing.from_env({"FACTORHUB_SM2_KEY_a": one_line})
    assert ring.public_keys()["a"] == key.public_key


def test_a_ciphertext_moved_to_another_key_id_or_aad_does_not_decrypt():
    ring = KeyRing.from_env(_environ("k1", "k2"))
    sealed = ring.encrypt(b"secret", b"tenant-a")
    relabelled = sealed[:2] + b"k1" + sealed[4:]
    with pytest.raises(DecryptionFailed, match="does not authenticate"):
        ring.decrypt(relabelled, b"tenant-a")
    with pytest.raises(DecryptionFailed, match="does not authenticate"):
        ring.decrypt(sealed, b"tenant-b")
    # The tag covers the header: even under the same key bytes, another id does not decrypt.
    twins = KeyRing(sm4={"a": bytes(16), "b": bytes(16)}, data_key_id="a")
    with pytest.raises(DecryptionFailed, match="does not authenticate"):
        twins.decrypt(b"\x01\x01b" + twins.encrypt(b"secret")[3:])
    for foreign in (b"", b"\x01", b"\x02\x02k2" + sealed[4:], b"\x01\x09k2"):
        with pytest.raises(DecryptionFailed, match="format 1"):
            ring.decrypt(foreign)


def test_generated_keys_written_to_a_directory_load_owner_readable_only(tmp_path):
    first = generate("k1").write(tmp_path)
    generate("k2").write(tmp_path)
    (tmp_path / "README").write_text("not a key")
    assert [p.name for p in first] == ["sm2-k1.pem", "sm4-k1.hex"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in first)
    ring = KeyRing.from_directory(tmp_path)
    assert (ring.signing_key_id, ring.data_key_id) == ("k2", "k2")
    assert ring.decrypt(KeyRing.from_directory(tmp_path, data_key_id="k1").encrypt(b"x")) == b"x"
    with pytest.raises(FileExistsError):
        generate("k1").write(tmp_path)


def test_the_directory_accepts_hex_keys_and_joins_the_environment(tmp_path):
    key = Sm2PrivateKey.generate()
    (tmp_path / "sm2-a.hex").write_text(key.hex + "\n")
    (tmp_path / "sm2-b.hex").write_text(Sm2PrivateKey.generate().public_key.hex)
    env = _environ("c") | {"FACTORHUB_KEYS_DIR": str(tmp_path)}
    ring = KeyRing.from_env(env)
    assert sorted(ring.public_keys()) == ["a", "b", "c"]
    assert ring.public_keys()["a"] == key.public_key
    assert ring.signing_key_id == "c"  # b is public only


def test_an_id_in_both_the_directory_and_a_variable_is_refused(tmp_path):
    generate("k1").write(tmp_path)
    env = _environ("k1") | {"FACTORHUB_KEYS_DIR": str(tmp_path)}
    with pytest.raises(ConfigurationError, match=r"FACTORHUB_SM2_KEY_k1: sm2 key k1 is also in .*"):
        KeyRing.from_env(env)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("FACTORHUB_SM4_KEY_a", "00112233", "FACTORHUB_SM4_KEY_a: an SM4 key is 32 hex digits"),
        ("FACTORHUB_SM4_KEY_a", "secret-not-hex-secret-not-hex-12", "this is not hex"),
        ("FACTORHUB_SM2_KEY_a", "ab" * 20, "FACTORHUB_SM2_KEY_a: not an SM2 key"),
        ("FACTORHUB_SM2_KEY_a", "00" * 32, "FACTORHUB_SM2_KEY_a: .*scalar"),
        ("FACTORHUB_SM2_KEY_a", "11" * 64, "FACTORHUB_SM2_KEY_a: .*not a point"),
        ("FACTORHUB_SM2_KEY_a", "-----BEGIN PRIVATE KEY-----\nnope", "not an unencrypted PEM"),
        ("FACTORHUB_SM2_KEY_a-b", "00" * 32, "the key id 'a-b'"),
        ("FACTORHUB_SM4_KEY_", "00" * 16, "the key id ''"),
        ("FACTORHUB_SIGNING_KEY_ID", "nope", "FACTORHUB_SIGNING_KEY_ID=nope"),
        ("FACTORHUB_DATA_KEY_ID", "nope", "FACTORHUB_DATA_KEY_ID=nope: no SM4 key"),
        ("FACTORHUB_KEYS_DIR", "/nonexistent/keys", "FACTORHUB_KEYS_DIR=/nonexistent/keys"),
    ],
)
def test_a_bad_key_variable_is_named_in_the_error_without_its_value(variable, value, named):
    with pytest.raises(ConfigurationError, match=named) as caught:
        KeyRing.from_env(_environ("ok") | {variable: value})
    if len(value) > 8 and "KEY_ID" not in variable and "DIR" not in variable:
        assert value not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("sm4-x.pem", "00" * 16, "sm4-x.pem: key files are"),
        ("sm2-x y.pem", "", "sm2-x y.pem: key files are"),
        ("sm2-x.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "sm2-x.pem"),
        ("sm4-x.hex", "0011", "sm4-x.hex: an SM4 key is 32 hex digits"),
    ],
)
def test_a_bad_key_file_is_named_in_the_error(tmp_path, name, text, named):
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigurationError, match=named):
        KeyRing.from_directory(tmp_path)


def test_an_empty_ring_says_which_setting_is_missing_when_used():
    ring = KeyRing.from_env({"PATH": "/usr/bin"})
    with pytest.raises(ConfigurationError, match="FACTORHUB_SM2_KEY_<ID>"):
        ring.current_signer()
    with pytest.raises(ConfigurationError, match="FACTORHUB_SM4_KEY_<ID>"):
        ring.encrypt(b"x")
    assert not ring.verify("any", MESSAGE, b"\x30\x00")
    with pytest.raises(UnknownKey):
        ring.decrypt(b"\x01\x01a" + bytes(40))


def test_nothing_secret_shows_in_a_repr():
    keys = generate("k1")
    ring = KeyRing.from_env(keys.environ())
    for shown in (repr(ring), repr(keys), repr(ring.current_signer())):
        assert keys.sm2.hex not in shown
        assert keys.sm4.hex() not in shown
    assert repr(ring) == "KeyRing(sm2=['k1'], signing=k1, sm4=['k1'], data=k1)"
    assert repr(keys).startswith("NewKeys(k1, sm2=Sm2PrivateKey(public=")


def test_key_ids_are_checked_wherever_keys_are_made():
    with pytest.raises(ConfigurationError, match="key id 'a b'"):
        generate("a b")
    with pytest.raises(ConfigurationError, match="key id"):
        KeyRing(sm4={"x" * 33: bytes(16)})
    with pytest.raises(ConfigurationError, match="SM4 key k: 16 bytes, not 8"):
        KeyRing(sm4={"k": bytes(8)})
