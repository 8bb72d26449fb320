"""Storage: models, unit of work, repositories and migrations. SQL lives here and nowhere else."""

from storage.core_repo import Repo
from storage.db import Database, StorageError, UnitOfWork
from storage.unit_state import WriteResult

__all__ = ["Database", "Repo", "StorageError", "UnitOfWork", "WriteResult"]
