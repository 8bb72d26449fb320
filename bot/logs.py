"""Logging set-up with secret redaction: tokens and app secrets never reach a log line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import fields

REDACTED = "[REDACTED]"


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = self._clean(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def secret_values(settings) -> list[str]:
    """Every configured secret of ``settings`` (fields declared with ``secret=True``)."""
    return [
        v
        for f in fields(settings)
        if f.metadata.get("secret") and isinstance(v := getattr(settings, f.name), str) and v
    ]


def add_secrets(secrets: Iterable[str | None]) -> None:
    """Also redact ``secrets`` in the handlers :func:`setup_logging` installed (channels enabled
    after logging was set up, e.g. WhatsApp's token, app secret and verify token)."""
    extra = [s for s in secrets if s and len(s) >= 6]
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
    # httpx/PTB debug lines carry URLs with the token; keep them quiet unless asked for
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
