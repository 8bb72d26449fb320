"""The migrations build exactly the schema ``storage.models`` declares (tables, columns and their
types, indexes, foreign keys), on SQLite and on PostgreSQL: a model changed without its migration,
or a migration whose table, column or index the models do not know, fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.models import Base


async def test_the_migrated_database_is_what_the_models_declare(db):
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync_conn: compare_metadata(
                MigrationContext.configure(sync_conn, opts={"compare_type": True}), Base.metadata
            )
        )
    assert diff == []
