"""The SMS channel: the numbers behind SMS people's hashed keys, and what was sent per day

``sms_numbers``: key (the hashed number, ``users.external_id``) → number, STOP opt-out, erasure
mark. ``sms_usage``: messages and segments per day (``key`` "") and per person per day (the cap).

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_numbers',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sms_numbers'))
    )
    op.create_index(op.f('ix_sms_numbers_erased_at'), 'sms_numbers', ['erased_at'], unique=False)
    op.create_table('sms_usage',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('capped', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'key', name=op.f('pk_sms_usage'))
    )


def downgrade() -> None:
    op.drop_table('sms_usage')
    op.drop_index(op.f('ix_sms_numbers_erased_at'), table_name='sms_numbers')
    op.drop_table('sms_numbers')
