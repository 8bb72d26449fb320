"""queue index: an OPD's open complaints in deadline order, for /antrian

``/antrian`` lists ``opd_code = ? AND state IN ('disposisi', 'tindak_lanjut') ORDER BY
completion_due_at, id`` a page at a time. ``ix_complaints_queue`` (opd_code, state,
completion_due_at) finds those rows but not in that order (two states), so every page sorted the
whole queue (50,000 open complaints: ~50 ms for page 1 and ~150 ms for deep pages on PostgreSQL).
This partial index holds exactly the open queue in display order: page 1 reads 8 entries, a deep
page skips its OFFSET inside the index (``ComplaintRepo.queue`` selects the ids first), and the
count is an index-only scan. The predicate is written with literals so both planners can prove it
from the query (``storage.complaint_repo.QUEUE_OPEN``, rendered as literals too).

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OPEN = "state IN ('disposisi', 'tindak_lanjut')"


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(
            'ix_complaints_open_queue', ['opd_code', 'completion_due_at', 'id'], unique=False,
            sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_open_queue')
