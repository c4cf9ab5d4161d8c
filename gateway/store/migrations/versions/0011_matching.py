"""matching: suggestions, organizations' approved mentors, blocked pairs, offers by email

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'matchsuggestion',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentee_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('mentor_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('org_id', sa.Integer(), sa.ForeignKey('organization.id'), nullable=True),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('reasons', sa.String(length=1000), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=320), nullable=True),
        sa.Column('pair_id', sa.Integer(), sa.ForeignKey('pair.id'), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_matchsuggestion_mentee_id', 'matchsuggestion', ['mentee_id'])
    op.create_index('ix_matchsuggestion_mentor_id', 'matchsuggestion', ['mentor_id'])
    op.create_index('ix_matchsuggestion_state_org', 'matchsuggestion', ['state', 'org_id'])
    op.create_table(
        'matchapproval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), sa.ForeignKey('organization.id'), nullable=False),
        sa.Column('mentor_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('org_id', 'mentor_id'),
    )
    op.create_index('ix_matchapproval_org_id', 'matchapproval', ['org_id'])
    op.create_table(
        'matchblock',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentee_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('mentor_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('mentee_id', 'mentor_id'),
    )
    op.create_index('ix_matchblock_mentee_id', 'matchblock', ['mentee_id'])
    op.create_table(
        'matchoffer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentee_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('mentor_ids', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('chosen', sa.Integer(), nullable=True),
        sa.Column('suggestion_id', sa.Integer(), sa.ForeignKey('matchsuggestion.id'),
                  nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_matchoffer_mentee_id', 'matchoffer', ['mentee_id'])


def downgrade() -> None:
    op.drop_table('matchoffer')
    op.drop_table('matchblock')
    op.drop_table('matchapproval')
    op.drop_table('matchsuggestion')
