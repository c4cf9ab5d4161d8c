"""reports and contact mail (safeguarding), participant.blocked_at

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'report',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('pair_id', sa.Integer(), sa.ForeignKey('pair.id'), nullable=True),
        sa.Column('org_id', sa.Integer(), sa.ForeignKey('organization.id'), nullable=True),
        sa.Column('reporter_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=True),
        sa.Column('reported_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=True),
        sa.Column('message_id', sa.Integer(), sa.ForeignKey('message.id'), nullable=True),
        sa.Column('report_message_id', sa.Integer(), sa.ForeignKey('message.id'), nullable=True),
        sa.Column('from_address', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.Text(), nullable=True),
        sa.Column('raw', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=320), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
    )
    op.create_index('ix_report_state_created', 'report', ['state', 'created_at'])
    op.create_index('ix_report_pair_id', 'report', ['pair_id'])
    op.create_index('ix_report_org_id', 'report', ['org_id'])
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('blocked_at')
    op.drop_index('ix_report_org_id', table_name='report')
    op.drop_index('ix_report_pair_id', table_name='report')
    op.drop_index('ix_report_state_created', table_name='report')
    op.drop_table('report')
