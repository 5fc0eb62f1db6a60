"""Persistence: SQLAlchemy 2 (async) over SQLite or PostgreSQL, with Alembic migrations."""

from hub.persistence.db import Database
from hub.persistence.uow import SqlUnitOfWork, UnitOfWorkFactory

__all__ = ["Database", "SqlUnitOfWork", "UnitOfWorkFactory"]
