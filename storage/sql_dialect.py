"""The dialect-specific statements the repositories share: an INSERT with ``ON CONFLICT`` for the
database in use (PostgreSQL or SQLite; both spell it the same way through SQLAlchemy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(dialect: str, model: Any):
    """``INSERT INTO model`` that supports ``on_conflict_do_nothing``/``on_conflict_do_update``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
