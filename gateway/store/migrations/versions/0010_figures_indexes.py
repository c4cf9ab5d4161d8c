"""program figures: indexes (a pair's messages in time order, audit events by action and time) and
the coordinators' weekly digest opt-out, badges earned by pairs

Revision ID: 0010
Revises: 9a4f6c2d8e13
Create Date: 2026-11-30 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '9a4f6c2d8e13'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'badge',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pair_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('earned_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['pair_id'], ['pair.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('pair_id', 'name'),
    )
    with op.batch_alter_table('badge', schema=None) as batch_op:
        batch_op.create_index('ix_badge_pair_id', ['pair_id'], unique=False)
    # Response times walk each pair's messages in time order; reports are found by action and time.
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_pair_received', ['pair_id', 'received_at'], unique=False)
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.create_index('ix_auditevent_action_at', ['action', 'at'], unique=False)
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weekly_digest', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))


def downgrade() -> None:
    op.drop_table('badge')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('weekly_digest')
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index('ix_auditevent_action_at')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_pair_received')
