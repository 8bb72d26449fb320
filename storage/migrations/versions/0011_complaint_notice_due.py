"""Complaints: a new-complaint notice waiting to go out in a summary

``notice_due_at`` is set on a new complaint whose OPD (or the coordinators, for triage) was told of
another new complaint shortly before: instead of one more notice, the ``new_complaints`` job sends
each handler one summary of that queue's waiting complaints once the first of them is due, and
clears the column in the same transaction. NULL for every other complaint.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('complaints', sa.Column('notice_due_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_complaints_notice_due', 'complaints', ['notice_due_at'])


def downgrade() -> None:
    op.drop_index('ix_complaints_notice_due', table_name='complaints')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('notice_due_at')
