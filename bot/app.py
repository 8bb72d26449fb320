"""Wiring: database, router, dispatcher, channels, outbox sender and the one HTTP server."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiohttp import web

from handlers import build_router
from storage import Database, Repo, StorageError
from storage import migrate

from .clock import Clock, SystemClock
from .delivery import OutboxSender, telegram_limit
from .dispatch import Dispatcher
from .i18n import Translator
from .region import load_region_file, store_region
from .settings import Settings

log = logging.getLogger(__name__)


class KanalApp:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, telegram_request: Any = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url)
        self.router = build_router()
        self.dispatcher = Dispatcher(self.db, self.router, settings, clock=self.clock)
        self.webchat = None
        self.telegram = None
        senders: dict[str, Any] = {}
        if settings.webchat_enabled:
            from .channels.webchat import WebChatChannel

            self.webchat = WebChatChannel(handle=self.dispatcher.handle, history=self._web_history)
            senders["web"] = self.webchat
        if settings.telegram_token:
            from .channels.telegram import TelegramChannel

            self.telegram = TelegramChannel(
                token=settings.telegram_token, base_url=settings.telegram_base_url, handle=self.dispatcher.handle,
                webhook_url=settings.telegram_webhook_url, webhook_secret=settings.telegram_webhook_secret,
                request=telegram_request,
            )
            senders["telegram"] = self.telegram
        for name, channel in senders.items():
            self.dispatcher.renderers[name] = channel.render
        self.outbox = OutboxSender(self.db, senders, clock=self.clock, limits={"telegram": telegram_limit(settings.telegram_global_rate, settings.telegram_chat_rate)})
        self.dispatcher.on_commit.append(self.outbox.wake)
        self.http = self._http_app()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def _http_app(self) -> web.Application:
        app = web.Application(client_max_size=1_000_000)
        if self.webchat is not None:
            app.add_routes(self.webchat.routes())
        if self.telegram is not None and self.settings.telegram_webhook_url:
            app.add_routes([web.post("/webhooks/telegram", self.telegram.webhook)])
        app.add_routes([web.get("/healthz", self.healthz)])
        return app

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            async with self.db.unit_of_work() as uow:
                backlog = await Repo(uow.session).outbox_backlog(self.clock.now())
        except Exception as exc:
            return web.json_response({"ok": False, "database": type(exc).__name__}, status=503)
        return web.json_response({"ok": True, "database": "ok", "outbox": backlog})

    async def _web_history(self, address: str, after_id: int) -> list[tuple[int, dict[str, Any]]]:
        async with self.db.unit_of_work() as uow:
            rows = await Repo(uow.session).sent_since("web", address, after_id)
            return [(r.id, r.payload) for r in rows]

    # ---- lifecycle ----------------------------------------------------------------------
    async def prepare_database(self, *, auto_migrate: bool = True) -> None:
        try:
            up_to_date = await migrate.is_up_to_date(self.db)
        except Exception as exc:
            raise StorageError(f"KANAL_DATABASE_URL: cannot open the database ({type(exc).__name__}: {exc})") from None
        if not up_to_date:
            if not auto_migrate:
                raise StorageError("the database is not migrated: run `kanal db upgrade` first (or start without --no-migrate)")
            log.info("migrating the database to the newest schema")
            await migrate.upgrade(self.db)
        async with self.db.unit_of_work() as uow:
            region = await Repo(uow.session).region()
        if region is None:
            loaded = load_region_file(self.settings.region_file)
            counts = await store_region(self.db, loaded, self.clock.now())
            log.info("region %s loaded: %s", loaded.code, counts)

    async def start(self, *, auto_migrate: bool = True, serve_http: bool = True) -> None:
        await self.prepare_database(auto_migrate=auto_migrate)
        await self.outbox.start()
        if serve_http:
            self._runner = web.AppRunner(self.http, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
            try:
                await site.start()
            except OSError as exc:
                raise RuntimeError(f"KANAL_HTTP_PORT: cannot listen on {self.settings.http_host}:{self.settings.http_port} ({exc.strerror})") from None
            sockets = site._server.sockets if site._server else []  # port 0 → the real port
            self.port = sockets[0].getsockname()[1] if sockets else self.settings.http_port
        if self.telegram is not None:
            await self.telegram.start(self._command_menu())

    def _command_menu(self) -> dict[str, list[tuple[str, str]]]:
        """Telegram's command menu for citizens, per offered language (first name of each command)."""
        menus: dict[str, list[tuple[str, str]]] = {}
        for lang in self.settings.languages:
            t = Translator(lang)
            menus["" if lang == self.settings.default_language else lang] = [
                (c.names[0] if lang == "id" else c.names[-1], t(c.description)) for c in self.router.commands_for("citizen")
            ]
        return menus

    async def stop(self) -> None:
        if self.telegram is not None:
            await self.telegram.stop()
        if self.webchat is not None:
            await self.webchat.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.outbox.stop()
        await self.db.dispose()

    async def run_forever(self, *, auto_migrate: bool = True) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except NotImplementedError:  # pragma: no cover - Windows
                pass
        await self.start(auto_migrate=auto_migrate)
        where = []
        if self.webchat is not None:
            where.append(f"web chat http://{self.settings.http_host}:{self.port}/")
        if self.telegram is not None:
            where.append("Telegram (" + ("webhook" if self.settings.telegram_webhook_url else "long polling") + ")")
        log.info("Kanal Partisipasi berjalan / running: %s", ", ".join(where) or "no channel enabled")
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            await self.stop()
