"""Routing that learns: the region's labelled examples, its trained models, and the complaint's
outside body and triage reason

``routing_examples`` holds where staff decided each complaint belongs (an OPD code or ``NONE``)
and the rows imported from the region's history; ``routing_models`` the trained models every
instance loads. ``complaints`` gets ``suggested_outside`` (the body outside the Pemda whose words
the router saw), ``route_reason`` (why it waits in triage) and ``referred_to`` (the body a
coordinator closed it to with /luar).

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggested_outside', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('route_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('referred_to', sa.String(length=20), nullable=True))
    op.create_table('routing_examples',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('complaint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_routing_examples_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_examples')),
    sa.UniqueConstraint('complaint_id', name=op.f('uq_routing_examples_complaint_id'))
    )
    op.create_table('routing_models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('n_examples', sa.Integer(), nullable=False),
    sa.Column('sklearn_version', sa.String(length=32), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_models'))
    )


def downgrade() -> None:
    op.drop_table('routing_models')
    op.drop_table('routing_examples')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('referred_to')
        batch_op.drop_column('route_reason')
        batch_op.drop_column('suggested_outside')
