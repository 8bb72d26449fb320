"""The baseline: a stock python-telegram-bot echo bot (default HTTPXRequest, long polling).

Run by bench/turn.py as a subprocess: ``python -m bench.echo_bot BASE_URL TOKEN [--aiohttp]``.
With ``--aiohttp`` the same bot uses our AiohttpRequest: the transport alone, measured."""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    base_url, token = sys.argv[1], sys.argv[2]
    builder = ApplicationBuilder().token(token).base_url(base_url).concurrent_updates(256)
    if "--aiohttp" in sys.argv[3:]:
        from bot.channels.telegram.telegram_request import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=2, read_timeout=35.0)
        )
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0.0, timeout=30, allowed_updates=["message"])


if __name__ == "__main__":
    main()
