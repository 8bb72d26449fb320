"""The baselines: a python-telegram-bot echo bot (long polling), in three configurations.

Run by bench/turn.py as a subprocess: ``python -m bench.echo_bot BASE_URL TOKEN [MODE]``, MODE:

* ``default`` — PTB exactly as its documentation starts a bot: ``ApplicationBuilder`` defaults
  (``HTTPXRequest``, updates handled one at a time);
* ``concurrent`` — the same with ``concurrent_updates(256)``, the setting a user reaches for when
  the bot is busy (with httpx's small connection pool it is often slower);
* ``aiohttp`` — ``concurrent_updates(256)`` over our ``AiohttpRequest``: the transport alone.

"Stock" in bench/RESULTS.md and the README is the faster of the first two in the same run."""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

MODES = ("default", "concurrent", "aiohttp")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    base_url, token = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "default"
    if mode not in MODES:
        raise SystemExit(f"mode: one of {', '.join(MODES)}")
    builder = ApplicationBuilder().token(token).base_url(base_url)
    if mode != "default":
        builder = builder.concurrent_updates(256)
    if mode == "aiohttp":
        from bot.channels.telegram.telegram_request import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=2, read_timeout=35.0)
        )
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0.0, timeout=30, allowed_updates=["message"])


if __name__ == "__main__":
    main()
