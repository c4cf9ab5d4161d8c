"""message erased_at (retention: bodies erased after [retention] keep_bodies_for)

Revision ID: 9a4f6c2d8e13
Revises: 3c8d5f1e6a27
Create Date: 2026-11-29 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9a4f6c2d8e13'
down_revision: str | None = '3c8d5f1e6a27'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_message_erased_updated', ['erased_at', 'updated_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_erased_updated')
        batch_op.drop_column('erased_at')
