"""Real databases for tests: a SQLite file per test, or a fresh PostgreSQL database per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """Create a throw-away database on the machine's PostgreSQL; yields its SQLAlchemy URL."""
    name = f"factorhub_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    except OSError as error:  # a leg that silently skipped would hide a broken product
        raise RuntimeError(
            f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}; .ci/run starts it"
        ) from error
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
