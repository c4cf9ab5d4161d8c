"""throttle events in the database (every instance counts the same failed logins)

Revision ID: 3c8d5f1e6a27
Revises: 7b2e91c0a4d5
Create Date: 2026-11-29 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3c8d5f1e6a27'
down_revision: str | None = '7b2e91c0a4d5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'throttleevent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_throttle_scope_key_at', 'throttleevent', ['scope', 'key', 'at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_throttle_scope_key_at', table_name='throttleevent')
    op.drop_table('throttleevent')
