"""`factorhub tenants add|list|rotate-key` as an operator types them: a secret printed once and
never listed, an SM2 tenant with its key file, a rotation that keeps the old key for the grace
period, and bad input refused naming the option."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from hub.cli import app
from hub.persistence import Database
from hub.persistence.tenants import Tenant, get_tenant
from hub.security import sm2

runner = CliRunner()
SELLER = "91440300MA5FAKE001"


def _valid_uscc() -> str:
    """A USCC with a correct check character (the CLI refuses a wrong one)."""
    from canonical.uscc import uscc_problem

    base = "91440300MA5G00000"
    for check in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if uscc_problem(base + check) is None:
            return base + check
    raise AssertionError("no check character fits")


def _tenant(url: str, tenant_id: str) -> Tenant | None:
    async def read() -> Tenant | None:
        database = Database(url)
        try:
            async with database.session() as session:
                return await get_tenant(session, tenant_id)
        finally:
            await database.aclose()

    return asyncio.run(read())


def _add(url: str, *extra: str) -> list[str]:
    uscc = _valid_uscc()
    args = ["tenants", "add", "--id", "acme", "--name", "Acme ERP", "--seller", uscc]
    return [*args, *extra, "--database-url", url]


class TestAdd:
    def test_an_hmac_tenant_gets_a_secret_printed_once_and_stored(self, sqlite_url):
        result = runner.invoke(app, _add(sqlite_url))
        assert result.exit_code == 0, result.output
        secret = result.output.strip().splitlines()[-1]
        assert len(secret) == 64
        assert int(secret, 16) >= 0
        tenant = _tenant(sqlite_url, "acme")
        assert tenant is not None
        assert tenant.scheme == "hmac-sm3"
        assert tenant.sellers == frozenset({_valid_uscc()})
        assert tenant.keys_all[0].material == secret

    def test_an_sm2_tenant_is_added_with_its_public_key_file(self, sqlite_url, tmp_path: Path):
        key_file = tmp_path / "acme.pem"
        key_file.write_text(sm2.Sm2PrivateKey.generate().public_key.pem)
        result = runner.invoke(
            app, _add(sqlite_url, "--scheme", "sm2", "--public-key", str(key_file))
        )
        assert result.exit_code == 0, result.output
        assert "secret" not in result.output
        tenant = _tenant(sqlite_url, "acme")
        assert tenant is not None
        assert tenant.scheme == "sm2"

    def test_bad_input_is_refused_naming_the_option(self, sqlite_url, tmp_path: Path):
        bad_key = tmp_path / "bad.pem"
        bad_key.write_text("not a key")
        cases = [
            (["tenants", "add", "--id", "x", "--name", "X", "--seller", SELLER], "--seller"),
            (_add(sqlite_url, "--scheme", "rsa"), "--scheme"),
            (_add(sqlite_url, "--scheme", "sm2"), "--public-key"),
            (_add(sqlite_url, "--scheme", "sm2", "--public-key", str(bad_key)), "--public-key"),
        ]
        for args, option in cases:
            result = runner.invoke(app, [*args, "--database-url", sqlite_url])
            assert result.exit_code == 2, (args, result.output)
            assert option in result.output

    def test_an_existing_id_is_refused(self, sqlite_url):
        assert runner.invoke(app, _add(sqlite_url)).exit_code == 0
        again = runner.invoke(app, _add(sqlite_url))
        assert again.exit_code == 2
        assert "exists" in again.output


class TestList:
    def test_it_shows_tenants_sellers_and_key_ids_but_no_secret(self, sqlite_url):
        added = runner.invoke(app, _add(sqlite_url))
        secret = added.output.strip().splitlines()[-1]
        result = runner.invoke(app, ["tenants", "list", "--json", "--database-url", sqlite_url])
        assert result.exit_code == 0, result.output
        (row,) = json.loads(result.output)
        assert (row["id"], row["scheme"], row["sellers"]) == ("acme", "hmac-sm3", [_valid_uscc()])
        assert secret not in result.output
        table = runner.invoke(app, ["tenants", "list", "--database-url", sqlite_url])
        assert "acme" in table.output
        assert secret not in table.output


class TestRotateKey:
    def test_a_new_secret_is_current_and_the_old_key_verifies_for_the_grace(self, sqlite_url):
        added = runner.invoke(app, _add(sqlite_url))
        old_secret = added.output.strip().splitlines()[-1]
        before = _tenant(sqlite_url, "acme")
        assert before is not None
        result = runner.invoke(app, ["tenants", "rotate-key", "acme", "--database-url", sqlite_url])
        assert result.exit_code == 0, result.output
        new_secret = result.output.strip().splitlines()[-1]
        assert new_secret != old_secret
        assert len(new_secret) == 64
        after = _tenant(sqlite_url, "acme")
        assert after is not None
        assert after.rotated_at is not None
        assert after.previous_key_id == before.key_id != after.key_id
        assert after.previous_expires_at is not None
        assert (after.previous_expires_at - after.rotated_at).total_seconds() == 24 * 3600
        assert [k.material for k in after.keys(after.rotated_at)] == [new_secret, old_secret]

    def test_an_unknown_tenant_exits_1(self, sqlite_url):
        result = runner.invoke(
            app, ["tenants", "rotate-key", "nobody", "--database-url", sqlite_url]
        )
        assert result.exit_code == 1
        assert "nobody" in result.output
