"""Outbox: what is forgotten after delivery

``forget`` ("payload" or "row") marks a message whose content must not be kept once it went out
(an export workbook, an invite code, the goodbye after /hapusdata); ``scrubbed`` marks a row whose
payload was replaced (after such a delivery, or because it named a person who erased their data).

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('forget', sa.String(length=8), nullable=True))
    op.add_column('outbox', sa.Column('scrubbed', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('scrubbed')
        batch_op.drop_column('forget')
