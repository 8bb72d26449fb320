"""Logging set-up: tokens, app secrets and passwords never reach a log line, whatever their length,
and control characters from outside (a newline in a web chat message id) cannot forge a line."""

from __future__ import annotations

import logging
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import fields

from bot.settings import database_password

REDACTED = "[REDACTED]"


def escape_controls(text: str) -> str:
    """``text`` with every control character (newline, carriage return, escape, …) written as a
    visible escape (``\\n``, ``\\x1b``), so one log record stays one line."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or unicodedata.category(c) not in ("Cc", "Zl", "Zp") else repr(c)[1:-1] for c in text
    )


class RedactSecrets(logging.Filter):
    """Redacts every configured secret (whatever its length) and escapes control characters in
    the message; a traceback keeps its lines but loses the secrets."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = escape_controls(self._clean(message))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def secret_values(settings) -> list[str]:
    """Every configured secret of ``settings`` (fields declared with ``secret=True``, and the
    database URL's password)."""
    values = [
        v
        for f in fields(settings)
        if f.metadata.get("secret") and isinstance(v := getattr(settings, f.name), str) and v
    ]
    password = database_password(getattr(settings, "database_url", None))
    return values + [password] if password else values


def add_secrets(secrets: Iterable[str | None]) -> None:
    """Also redact ``secrets`` in the handlers :func:`setup_logging` installed (channels enabled
    after logging was set up, e.g. WhatsApp's token, app secret and verify token)."""
    extra = [s for s in secrets if s]
    for handler in logging.getLogger().handlers:
        for flt in handler.filters:
            if isinstance(flt, RedactSecrets):
                flt.secrets = sorted(set(flt.secrets) | set(extra), key=len, reverse=True)


def setup_logging(level: str, secrets: Iterable[str | None] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx/PTB debug lines carry URLs with the token, aiosqlite's every SQL parameter (personal
    # data, the complaint PIN in its receipt): keep them quiet unless asked for
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler", "alembic.runtime.plugins", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
