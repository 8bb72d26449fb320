"""jobs: indexes for the SLA sweep, auto-close, retention and digest; digests_sent

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the SLA sweep's range scans (the completion stage uses ix_complaints_state_due from 0004)
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index('ix_complaints_triage_due', ['state', 'triage_due_at'], unique=False)
        batch_op.create_index(
            'ix_complaints_response_due', ['state', 'response_due_at'], unique=False,
            sqlite_where=sa.text('first_response_at IS NULL'), postgresql_where=sa.text('first_response_at IS NULL'),
        )
        # auto-close: state = 'selesai' AND resolved_at < bound
        batch_op.create_index('ix_complaints_resolved', ['state', 'resolved_at'], unique=False)
        # retention: state = 'ditutup' AND closed_at < bound AND anonymised_at IS NULL
        batch_op.create_index(
            'ix_complaints_retention', ['state', 'closed_at'], unique=False,
            sqlite_where=sa.text('anonymised_at IS NULL'), postgresql_where=sa.text('anonymised_at IS NULL'),
        )
        # digest: complaints filed in a window
        batch_op.create_index('ix_complaints_filed', ['filed_at'], unique=False)

    op.create_table('digests_sent',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digests_sent_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_digests_sent'))
    )


def downgrade() -> None:
    op.drop_table('digests_sent')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_filed')
        batch_op.drop_index('ix_complaints_retention')
        batch_op.drop_index('ix_complaints_resolved')
        batch_op.drop_index('ix_complaints_response_due')
        batch_op.drop_index('ix_complaints_triage_due')
