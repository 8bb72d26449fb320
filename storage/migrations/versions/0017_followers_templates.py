"""Citizens who follow a similar open complaint instead of filing it again, and the officers'
reply templates per OPD

``complaint_followers``: one row per (complaint, citizen), deleted with either. ``reply_templates``:
templates added with ``/templat tambah`` (``opd_code`` ``*``: every OPD).

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('complaint_followers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('complaint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_followers_complaint_id_complaints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_complaint_followers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_followers')),
    sa.UniqueConstraint('complaint_id', 'user_id', name=op.f('uq_complaint_followers_complaint_id_user_id'))
    )
    with op.batch_alter_table('complaint_followers', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_followers_user', ['user_id'], unique=False)
    op.create_table('reply_templates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('opd_code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates')),
    sa.UniqueConstraint('opd_code', 'name', name=op.f('uq_reply_templates_opd_code_name'))
    )


def downgrade() -> None:
    op.drop_table('reply_templates')
    with op.batch_alter_table('complaint_followers', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_followers_user')
    op.drop_table('complaint_followers')
