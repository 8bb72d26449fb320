"""SP4N-LAPOR! bridge: the durable queue of calls (``lapor_queue``), each complaint's LAPOR!
report (``lapor_links``) and the bridge's state (``lapor_state``: the updates cursor, the last pull)

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('lapor_queue',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('complaint_id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_lapor_queue_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lapor_queue'))
    )
    op.create_index('ix_lapor_queue_due', 'lapor_queue', ['status', 'due_at'], unique=False)
    op.create_index('ix_lapor_queue_complaint', 'lapor_queue', ['complaint_id', 'id'], unique=False)
    op.create_table('lapor_links',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('complaint_id', BigId, nullable=False),
    sa.Column('tracking_id', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lapor_status', sa.String(length=32), nullable=True),
    sa.Column('pulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_lapor_links_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lapor_links')),
    sa.UniqueConstraint('complaint_id', name=op.f('uq_lapor_links_complaint_id')),
    sa.UniqueConstraint('tracking_id', name=op.f('uq_lapor_links_tracking_id'))
    )
    op.create_table('lapor_state',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=300), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_lapor_state'))
    )


def downgrade() -> None:
    op.drop_table('lapor_state')
    op.drop_table('lapor_links')
    op.drop_index('ix_lapor_queue_complaint', table_name='lapor_queue')
    op.drop_index('ix_lapor_queue_due', table_name='lapor_queue')
    op.drop_table('lapor_queue')
