"""Alembic environment: runs on the connection the hub hands over (see db.Database.upgrade)."""

from __future__ import annotations

from alembic import context

from hub.persistence.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `factorhub db upgrade`, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
