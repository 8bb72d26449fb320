"""The platforms' sending budgets shared by every instance on one PostgreSQL

``rate_budgets``: one token bucket per name (e.g. ``telegram``), its tokens as of ``updated_at``
(the database server's clock); instances lease a few tokens at a time (``storage/rate_repo.py``).

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_budgets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_rate_budgets'))
    )


def downgrade() -> None:
    op.drop_table('rate_budgets')
