"""fkp: forums, forum_rsvps, forum_reminders, forum_inputs, forum_subscriptions (Forum Konsultasi Publik)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('forums',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('opd_code', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=500), nullable=True),
    sa.Column('online_url', sa.String(length=500), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('agenda', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('data_period_key', sa.String(length=32), nullable=True),
    sa.Column('data_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_via', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced', sa.Integer(), nullable=False),
    sa.Column('result_text', sa.Text(), nullable=True),
    sa.Column('result_photo_ref', sa.String(length=256), nullable=True),
    sa.Column('result_photo_channel', sa.String(length=16), nullable=True),
    sa.Column('result_photo_mime', sa.String(length=64), nullable=True),
    sa.Column('result_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('result_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_recipients', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['opd_code'], ['opds.code'], name=op.f('fk_forums_opd_code_opds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forums'))
    )
    with op.batch_alter_table('forums', schema=None) as batch_op:
        batch_op.create_index('ix_forums_opd_starts', ['opd_code', 'starts_at'], unique=False)
        batch_op.create_index('ix_forums_status_starts', ['status', 'starts_at'], unique=False)

    op.create_table('forum_inputs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('forum_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['forum_id'], ['forums.id'], name=op.f('fk_forum_inputs_forum_id_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_forum_inputs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_inputs'))
    )
    with op.batch_alter_table('forum_inputs', schema=None) as batch_op:
        batch_op.create_index('ix_forum_inputs_forum', ['forum_id', 'id'], unique=False)

    op.create_table('forum_rsvps',
    sa.Column('forum_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['forum_id'], ['forums.id'], name=op.f('fk_forum_rsvps_forum_id_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_forum_rsvps_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('forum_id', 'user_id', name=op.f('pk_forum_rsvps'))
    )
    with op.batch_alter_table('forum_rsvps', schema=None) as batch_op:
        batch_op.create_index('ix_forum_rsvps_user', ['user_id'], unique=False)

    op.create_table('forum_reminders',
    sa.Column('forum_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['forum_id'], ['forums.id'], name=op.f('fk_forum_reminders_forum_id_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_forum_reminders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('forum_id', 'user_id', 'kind', name=op.f('pk_forum_reminders'))
    )

    op.create_table('forum_subscriptions',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_forum_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'scope', name=op.f('pk_forum_subscriptions'))
    )
    with op.batch_alter_table('forum_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_forum_subscriptions_scope', ['scope'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('forum_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_subscriptions_scope')

    op.drop_table('forum_subscriptions')
    op.drop_table('forum_reminders')
    with op.batch_alter_table('forum_rsvps', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_rsvps_user')

    op.drop_table('forum_rsvps')
    with op.batch_alter_table('forum_inputs', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_inputs_forum')

    op.drop_table('forum_inputs')
    with op.batch_alter_table('forums', schema=None) as batch_op:
        batch_op.drop_index('ix_forums_status_starts')
        batch_op.drop_index('ix_forums_opd_starts')

    op.drop_table('forums')
