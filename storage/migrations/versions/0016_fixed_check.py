"""Complaints: "Sudah beres?" — the reporter asked N working days after closing

``fixed_check_due_at`` is set when a complaint closes by the reporter's "puas" or by auto-close
(from the OPD's ``fixed_check_days``); the ``fixed_check`` job asks the reporter once it is due and
records ``fixed_asked_at`` (once, ever); ``fixed_answer`` is "sudah" or "belum". The partial index
holds only the complaints not asked yet: the job's scan.

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('complaints', sa.Column('fixed_check_due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('fixed_asked_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('fixed_answer', sa.String(length=8), nullable=True))
    op.create_index(
        'ix_complaints_fixed_check',
        'complaints',
        ['fixed_check_due_at'],
        sqlite_where=sa.text('fixed_asked_at IS NULL'),
        postgresql_where=sa.text('fixed_asked_at IS NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_complaints_fixed_check', table_name='complaints')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('fixed_answer')
        batch_op.drop_column('fixed_asked_at')
        batch_op.drop_column('fixed_check_due_at')
