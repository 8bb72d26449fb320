"""Web chat as a first-class channel: report PINs, Web Push subscriptions, the app's own keys

``complaints.pin_hash`` lets number + PIN find a report from any channel or device (the PIN is
never stored). ``web_push_subscriptions`` holds where to notify a web chat person whose page is
closed; ``app_secrets`` the keys the app makes on first start (VAPID, media link signing).

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=64), nullable=True))
    op.create_table('web_push_subscriptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('address', sa.String(length=128), nullable=False),
    sa.Column('endpoint_hash', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.Text(), nullable=False),
    sa.Column('p256dh', sa.String(length=200), nullable=False),
    sa.Column('auth', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_push_subscriptions')),
    sa.UniqueConstraint('endpoint_hash', name=op.f('uq_web_push_subscriptions_endpoint_hash'))
    )
    with op.batch_alter_table('web_push_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_push_subscriptions_address'), ['address'], unique=False)
    op.create_table('app_secrets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_app_secrets'))
    )


def downgrade() -> None:
    op.drop_table('app_secrets')
    with op.batch_alter_table('web_push_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_push_subscriptions_address'))
    op.drop_table('web_push_subscriptions')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('pin_hash')
