"""One running bot per SQLite file.

SQLite has no way for two processes to share the scheduler's leadership (PostgreSQL has advisory
locks, see ``scheduler.leader``), and two bots on one file would both send every reminder. So
``kanal run`` on SQLite claims the database file for its process with an exclusive ``flock``;
a second ``kanal run`` on the same file stops at once with one line. The claim goes with the
process (also when it is killed): nothing is left behind to clean up. ``flock`` and SQLite's own
(``fcntl``) locks are independent on Linux, so SQLite and the other ``kanal`` commands are not
disturbed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import StorageError


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, None for an in-memory database or another server."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


@contextlib.contextmanager
def claim_database_file(url: str) -> Iterator[None]:
    """Hold the SQLite file of ``url`` for this process while the block runs; raises
    :class:`StorageError` (one line) when another process holds it. Nothing to do elsewhere."""
    path = sqlite_file(url)
    if path is None or not path.parent.is_dir():
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StorageError(
                f"another `kanal run` is already using the SQLite file {path}: stop it first "
                "(one bot per SQLite file; use PostgreSQL to run several instances)"
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the claim
