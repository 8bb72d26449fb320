"""Outbox: platform delivery status (WhatsApp sent/delivered/read/failed) and lookup by platform id

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('delivery_status', sa.String(length=12), nullable=True))
    op.add_column('outbox', sa.Column('delivery_status_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_outbox_platform_message_id'), 'outbox', ['platform_message_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_platform_message_id'), table_name='outbox')
    op.drop_column('outbox', 'delivery_status_at')
    op.drop_column('outbox', 'delivery_status')
