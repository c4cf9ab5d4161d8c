"""participant profile (birth date, school level, interests, bio, capacity, guardian), consent

Revision ID: 0007
Revises: 0009
Create Date: 2026-11-30 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('last_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('birth_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('school_level', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('bio', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('capacity', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('guardian_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('consent_state', sa.String(length=12),
                                      server_default='not_needed', nullable=False))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    # "awaiting_consent" is longer than the old 10/12 characters.
    with op.batch_alter_table('pair', schema=None) as batch_op:
        batch_op.alter_column('state', type_=sa.String(length=20), existing_type=sa.String(length=10),
                              existing_nullable=False)
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.alter_column('from_state', type_=sa.String(length=20),
                              existing_type=sa.String(length=12), existing_nullable=True)
        batch_op.alter_column('to_state', type_=sa.String(length=20),
                              existing_type=sa.String(length=12), existing_nullable=True)
    op.create_table(
        'participantinterest',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('interest', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('participant_id', 'interest'),
    )
    op.create_index('ix_participantinterest_participant_id', 'participantinterest',
                    ['participant_id'], unique=False)
    op.create_index('ix_participantinterest_interest', 'participantinterest', ['interest'],
                    unique=False)
    op.create_table(
        'consentrequest',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('guardian_email', sa.String(length=320), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reminders_sent', sa.Integer(), nullable=False),
        sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('coordinator_told_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('method', sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_consentrequest_participant_id', 'consentrequest', ['participant_id'],
                    unique=False)
    op.create_index('ix_consentrequest_requested_at', 'consentrequest', ['requested_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_consentrequest_requested_at', table_name='consentrequest')
    op.drop_index('ix_consentrequest_participant_id', table_name='consentrequest')
    op.drop_table('consentrequest')
    op.drop_index('ix_participantinterest_interest', table_name='participantinterest')
    op.drop_index('ix_participantinterest_participant_id', table_name='participantinterest')
    op.drop_table('participantinterest')
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.alter_column('to_state', type_=sa.String(length=12), existing_type=sa.String(length=20))
        batch_op.alter_column('from_state', type_=sa.String(length=12),
                              existing_type=sa.String(length=20))
    with op.batch_alter_table('pair', schema=None) as batch_op:
        batch_op.alter_column('state', type_=sa.String(length=10), existing_type=sa.String(length=20))
    with op.batch_alter_table('participant', schema=None) as batch_op:
        for name in ('updated_at', 'consent_state', 'guardian_email', 'capacity', 'bio',
                     'school_level', 'birth_year', 'birth_date', 'last_name', 'first_name'):
            batch_op.drop_column(name)
