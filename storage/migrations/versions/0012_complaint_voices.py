"""Complaints: voice notes

``complaint_voices`` holds a complaint's voice notes (and audio files) as the platform's file
reference with their length in seconds, like ``complaint_photos`` holds its photos: the bot keeps
no audio bytes. Erasure deletes them with the photos.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('complaint_voices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('complaint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('file_ref', sa.String(length=256), nullable=False),
    sa.Column('mime_type', sa.String(length=64), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_voices_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_voices'))
    )
    with op.batch_alter_table('complaint_voices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_voices_complaint_id'), ['complaint_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaint_voices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_voices_complaint_id'))

    op.drop_table('complaint_voices')
