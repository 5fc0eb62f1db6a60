"""`factorhub tenants add|list|rotate-key`: the ERP connections allowed to push, their sellers
and the keys their pushes are signed with (`hub.security.ingress_auth`).

An HMAC-SM3 secret is generated here and printed once, when made; `list` never shows one. An
SM2 tenant brings its own public key (`--public-key FILE`: PEM, or 128/130 hex digits). Bad
input exits 2 naming the option; an unknown tenant exits 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from canonical.uscc import normalise_uscc, uscc_problem
from hub.cli_support import DatabaseOpt, with_units
from hub.security.gm import InvalidKey
from hub.security.ingress_auth import Scheme
from hub.security.sm2 import Sm2PublicKey

if TYPE_CHECKING:
    from hub.persistence.tenants import Tenant
    from hub.persistence.uow import UnitOfWorkFactory

__all__ = ["tenants_app"]

console = Console()
errors = Console(stderr=True)
tenants_app = typer.Typer(
    help="Tenants: the ERP connections whose signed pushes the ingress accepts "
    "(FACTORHUB_INGRESS_AUTH=on).",
    no_args_is_help=True,
)
PublicKeyOpt = Annotated[
    Path | None,
    typer.Option("--public-key", help="The tenant's SM2 public key: PEM, or hex (x||y)."),
]


@tenants_app.command("add")
def add_command(
    tenant_id: Annotated[str, typer.Option("--id", help="Tenant id (sent as X-FH-Tenant).")],
    name: Annotated[str, typer.Option(help="The enterprise's name.")],
    seller: Annotated[
        list[str], typer.Option("--seller", help="A seller USCC it may submit for (repeat).")
    ],
    scheme: Annotated[
        str, typer.Option(help="hmac-sm3 (a secret is generated) or sm2 (--public-key).")
    ] = "hmac-sm3",
    public_key: PublicKeyOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Add a tenant. For hmac-sm3 the secret is printed once: hand it to the ERP connection."""
    from hub.persistence.tenants import TenantExists, add_tenant, new_secret

    tenant_id = tenant_id.strip()
    if not tenant_id or len(tenant_id) > 64 or not tenant_id.isascii():
        _fail("--id: 1-64 ASCII characters")
    chosen = _scheme(scheme)
    sellers = [_uscc(s) for s in seller]
    key = new_secret() if chosen == "hmac-sm3" else _public_key(public_key)

    async def action(units: UnitOfWorkFactory) -> Tenant:
        async with units() as uow:
            tenant = await add_tenant(
                uow.session,
                tenant_id=tenant_id,
                name=name,
                sellers=sellers,
                scheme=chosen,
                key=key,
                now=units.clock(),
            )
            await uow.commit()
            return tenant

    try:
        tenant = with_units(database_url, action)
    except TenantExists:
        _fail(f"--id: tenant {tenant_id!r} exists (rotate its key with `tenants rotate-key`)")
    console.print(f"tenant {tenant.id}: {tenant.scheme}, key id {tenant.key_id}")
    if chosen == "hmac-sm3":
        console.print("secret (shown once, store it now):")
        sys.stdout.write(key + "\n")


@tenants_app.command("list")
def list_command(
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The tenants, their sellers and key ids; never a secret."""
    from hub.persistence.tenants import list_tenants

    async def action(units: UnitOfWorkFactory) -> list[Tenant]:
        async with units() as uow:
            return await list_tenants(uow.session)

    tenants: list[Tenant] = with_units(database_url, action)
    rows = [_summary(t) for t in tenants]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("id", "name", "scheme", "key id", "previous key until", "sellers")
    for row in rows:
        until = row["previous_key_expires_at"] or ""
        table.add_row(
            row["id"], row["name"], row["scheme"], row["key_id"], until, ", ".join(row["sellers"])
        )
    console.print(table)


@tenants_app.command("rotate-key")
def rotate_command(
    tenant_id: Annotated[str, typer.Argument(help="The tenant id.")],
    public_key: PublicKeyOpt = None,
    grace_hours: Annotated[
        float, typer.Option(help="How long the old key keeps verifying.", min=0)
    ] = 24.0,
    database_url: DatabaseOpt = None,
) -> None:
    """Give a tenant a new key (hmac-sm3: generated and printed once; sm2: --public-key); the
    old one keeps verifying for the grace period."""
    from datetime import timedelta

    from hub.persistence.tenants import get_tenant, new_secret, rotate_key

    async def action(units: UnitOfWorkFactory) -> tuple[Tenant | None, str]:
        async with units() as uow:
            current = await get_tenant(uow.session, tenant_id)
            if current is None:
                return None, ""
            key = new_secret() if current.scheme == "hmac-sm3" else _public_key(public_key)
            tenant = await rotate_key(
                uow.session,
                tenant_id,
                key=key,
                now=units.clock(),
                grace=timedelta(hours=grace_hours),
            )
            await uow.commit()
            return tenant, key

    tenant, key = with_units(database_url, action)
    if tenant is None:
        errors.print(f"[red]no tenant {tenant_id!r}[/red]")
        raise typer.Exit(1)
    console.print(
        f"tenant {tenant.id}: new key id {tenant.key_id}; {tenant.previous_key_id} verifies "
        f"until {tenant.previous_expires_at:%Y-%m-%d %H:%M} UTC"
    )
    if tenant.scheme == "hmac-sm3":
        console.print("secret (shown once, store it now):")
        sys.stdout.write(key + "\n")


def _summary(tenant: Tenant) -> dict[str, Any]:
    expires = tenant.previous_expires_at
    return {
        "id": tenant.id,
        "name": tenant.name,
        "scheme": tenant.scheme,
        "key_id": tenant.key_id,
        "previous_key_id": tenant.previous_key_id,
        "previous_key_expires_at": None if expires is None else expires.isoformat(),
        "sellers": sorted(tenant.sellers),
        "created_at": tenant.created_at.isoformat(),
        "rotated_at": None if tenant.rotated_at is None else tenant.rotated_at.isoformat(),
    }


def _scheme(raw: str) -> Scheme:
    if raw == "hmac-sm3":
        return "hmac-sm3"
    if raw == "sm2":
        return "sm2"
    _fail(f"--scheme: hmac-sm3 or sm2, not {raw!r}")


def _public_key(path: Path | None) -> str:
    """The key file's text, checked to be an SM2 public key."""
    if path is None:
        _fail("--public-key: required for an sm2 tenant")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"--public-key: cannot read {path}: {error}")
    try:
        Sm2PublicKey.from_pem(text) if text.startswith("-----") else Sm2PublicKey.from_hex(text)
    except InvalidKey as error:
        _fail(f"--public-key: {error}")
    return text


def _uscc(raw: str) -> str:
    code = normalise_uscc(raw)
    problem = uscc_problem(code)
    if problem is not None:
        _fail(f"--seller: invalid 统一社会信用代码 {raw!r}: {problem}")
    return code


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]{message}[/red]")
    raise typer.Exit(2)
