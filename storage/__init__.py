"""Storage: models, unit of work, repositories and migrations. SQL lives here and nowhere else."""

from .db import Database, StorageError, UnitOfWork
from .repo import Repo

__all__ = ["Database", "Repo", "StorageError", "UnitOfWork"]
