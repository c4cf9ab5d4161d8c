"""drop message's index on pair_id alone: (pair_id, received_at) answers every query it did

Each message row is written three times (received, queued, delivered), and every write went
into every index of the table (its state is indexed: no update is HOT).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 08:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_message_pair_id")  # SQLite and PostgreSQL alike


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_pair_id', ['pair_id'], unique=False)
