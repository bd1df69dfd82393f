"""dashboard indexes: partial indexes on open service requests

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000

The admin queue and the owners' cards read open requests (requested, scheduled, in progress): a few percent of the
table once it holds years of finished work. Two partial indexes cover only those rows: by day (the queue's order),
and by home and service (the cards count them from the index alone). `luxserv.services.models` declares the same
indexes; `tests/core/test_migrations.py` checks that the two agree, predicates included.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The open statuses as of this revision (`OPEN_INDEX_STATUSES` in luxserv.services.models), written out: a migration
# keeps meaning what it meant when it was written.
_OPEN = "'requested', 'scheduled', 'in_progress'"
# PostgreSQL: on the column's text, the same predicate whether status is VARCHAR (as now) or a native enum.
_POSTGRESQL_WHERE = f"CAST(status AS TEXT) IN ({_OPEN})"
_SQLITE_WHERE = f"status IN ({_OPEN})"
INDEXES = {
    "ix_service_requests_open_day": ["scheduled_for", "time_of_day", "id"],
    "ix_service_requests_open_home": ["property_id", "service_type_id", "scheduled_for"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(
            name,
            "service_requests",
            columns,
            unique=False,
            postgresql_where=sa.text(_POSTGRESQL_WHERE),
            sqlite_where=sa.text(_SQLITE_WHERE),
        )


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="service_requests")
