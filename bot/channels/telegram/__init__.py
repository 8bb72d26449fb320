"""Telegram through python-telegram-bot 22, used as a transport (see ``telegram_channel``)."""

import os

# opt in to PTB's future behaviour (durations as timedelta) before any of PTB is used; the
# channel handles both forms
os.environ.setdefault("PTB_TIMEDELTA", "1")
