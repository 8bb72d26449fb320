"""Webhook inbox: WhatsApp webhook bodies stored before Meta is acknowledged

A webhook body is stored (one small transaction) before the request is answered 200, processed
from here, and deleted once its messages are stored as turns; rows a crash left are processed at
the next start.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_inbox'))
    )


def downgrade() -> None:
    op.drop_table('webhook_inbox')
