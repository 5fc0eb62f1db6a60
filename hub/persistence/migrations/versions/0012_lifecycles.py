"""the receivable, limit reservation and registration lifecycles (§4.2-4.4) drive the flow:
the receivable's state beside its application's and its moves on the application's history
rows, the reservation's §4.3 states (a hold given back is CANCELLED; repaid principal
PARTIALLY_RELEASED / RELEASED) with what it occupies, the registration's state, and one history
table for the reservation's and the registration's moves

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECEIVABLE = {
    "SUBMITTED": "IMPORTED",
    "AWAITING_DOCUMENTS": "IMPORTED",
    "MATCH_REVIEW": "VERIFIED",
    "MATCHED": "ELIGIBLE",
    "LIMIT_RESERVED": "RESERVED",
    "REGISTRY_REVIEW": "RESERVED",
    "REGISTERED": "REGISTERED",
    "DISBURSING": "REGISTERED",
    "DISBURSED": "FINANCED",
    "PARTIALLY_REPAID": "PARTIALLY_COLLECTED",
    "OVERDUE": "OVERDUE",
    "SETTLED": "COLLECTED",
    "CANCELLED": "ELIGIBLE",
}
"""routes/lifecycle/hub_receivable.py's projection as it stood at this revision (REJECTED:
ELIGIBLE once matched, else INVALID)."""

_requests = sa.table(
    "financing_requests",
    sa.column("id", sa.String),
    sa.column("state", sa.String),
    sa.column("receivable_state", sa.String),
)
_events = sa.table("request_events", sa.column("request_id", sa.String), sa.column("state"))
_reservations = sa.table(
    "limit_reservations",
    sa.column("request_id", sa.String),
    sa.column("state", sa.String),
    sa.column("amount_fen", sa.BigInteger),
    sa.column("used_fen", sa.BigInteger),
)
_loans = sa.table(
    "loans",
    sa.column("request_id", sa.String),
    sa.column("principal_fen", sa.BigInteger),
    sa.column("released_fen", sa.BigInteger),
)
_registrations = sa.table(
    "registrations",
    sa.column("state", sa.String),
    sa.column("cancelled_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "lifecycle_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("event", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("message_type", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lifecycle_events_request", "lifecycle_events", ["request_id", "id"])
    with op.batch_alter_table("request_events") as batch:
        batch.add_column(sa.Column("receivable_from", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("receivable_to", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("receivable_event", sa.String(length=128), nullable=True))
    _receivables_up()
    _reservations_up()
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="REGISTERED")
        )
    op.execute(
        _registrations.update()
        .where(_registrations.c.cancelled_at.is_not(None))
        .values(state="CANCELLED")
    )


def downgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("state")
    r = _reservations.c
    op.execute(
        _reservations.update()
        .where(r.state.in_(["PARTIALLY_RELEASED", "RELEASED"]))
        .values(state="CONSUMED")
    )
    op.execute(
        _reservations.update().where(r.state.in_(["CANCELLED", "EXPIRED"])).values(state="RELEASED")
    )
    with op.batch_alter_table("limit_reservations") as batch:
        batch.drop_column("used_fen")
        batch.alter_column(
            "state",
            existing_type=sa.String(length=24),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
    with op.batch_alter_table("financing_requests") as batch:
        batch.drop_column("receivable_state")
    with op.batch_alter_table("request_events") as batch:
        for name in ("receivable_event", "receivable_to", "receivable_from"):
            batch.drop_column(name)
    op.drop_index("ix_lifecycle_events_request", table_name="lifecycle_events")
    op.drop_table("lifecycle_events")


def _receivables_up() -> None:
    """Each application's receivable where its state puts it (a rejected one: ELIGIBLE again
    once it had been matched, else INVALID)."""
    with op.batch_alter_table("financing_requests") as batch:
        batch.add_column(
            sa.Column(
                "receivable_state", sa.String(length=24), nullable=False, server_default="IMPORTED"
            )
        )
    for state, receivable in _RECEIVABLE.items():
        op.execute(
            _requests.update().where(_requests.c.state == state).values(receivable_state=receivable)
        )
    matched = (
        sa.exists()
        .where(_events.c.request_id == _requests.c.id, _events.c.state == "MATCHED")
        .correlate(_requests)
    )
    op.execute(
        _requests.update()
        .where(_requests.c.state == "REJECTED")
        .values(receivable_state=sa.case((matched, "ELIGIBLE"), else_="INVALID"))
    )


def _reservations_up() -> None:
    """§4.3 states: a hold given back (until now RELEASED) is CANCELLED; a consumed one occupies
    its loan's principal less what was given back, PARTIALLY_RELEASED or RELEASED once some or
    all of it was."""
    with op.batch_alter_table("limit_reservations") as batch:
        batch.alter_column(
            "state",
            existing_type=sa.String(length=16),
            type_=sa.String(length=24),
            existing_nullable=False,
        )
        batch.add_column(sa.Column("used_fen", sa.BigInteger(), nullable=False, server_default="0"))
    r, loan = _reservations.c, _loans.c
    op.execute(_reservations.update().where(r.state == "RELEASED").values(state="CANCELLED"))
    of_loan = loan.request_id == r.request_id
    occupied = (
        sa.select(loan.principal_fen - loan.released_fen)
        .where(of_loan)
        .correlate(_reservations)
        .scalar_subquery()
    )
    op.execute(
        _reservations.update()
        .where(r.state == "CONSUMED")
        .values(used_fen=sa.func.coalesce(occupied, r.amount_fen))
    )
    given_back = sa.exists().where(of_loan, loan.released_fen > 0).correlate(_reservations)
    op.execute(
        _reservations.update()
        .where(r.state == "CONSUMED", given_back)
        .values(state=sa.case((r.used_fen <= 0, "RELEASED"), else_="PARTIALLY_RELEASED"))
    )
