"""Storage: models, unit of work, repositories and migrations. SQL lives here and nowhere else."""

from storage.db import Database, StorageError, UnitOfWork
from storage.repo import Repo

__all__ = ["Database", "Repo", "StorageError", "UnitOfWork"]
