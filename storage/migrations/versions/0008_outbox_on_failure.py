"""Outbox: whom to tell when a message cannot be delivered

``on_failure`` holds ``{"user_id": …, "about": …}`` on messages a staff member's action sent to a
citizen (an answer, a final answer, a request for information): when such a message fails for
good, or WhatsApp later reports it failed, that officer is told, so nobody believes an answer
arrived that did not. NULL for every other message.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('on_failure', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('on_failure')
