"""Wiring: database, router, dispatcher, channels, outbox sender and the one HTTP server."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiohttp import web

from bot.delivery.sender import UNLIMITED, OutboxSender, RateLimit, telegram_limit
from bot.domain.clock import Clock, SystemClock
from bot.domain.i18n import Translator
from bot.domain.region import load_region_file
from bot.engine import language
from bot.engine.dispatch import Dispatcher
from bot.logs import add_secrets, secret_values
from bot.services.regions import store_region
from bot.settings import Settings
from handlers import build_router
from storage import Database, Repo, StorageError, migrate

log = logging.getLogger(__name__)


def whatsapp_limit(global_rate: float = 80.0, user_rate: float = 1 / 6, user_burst: int = 30) -> RateLimit:
    """Cloud API: 80 messages/s per business number by default; Meta's pair limit allows about
    one message every 6 s to one person, with bursts (up to 45) borrowed from later. 0 = none."""
    g = global_rate if global_rate > 0 else UNLIMITED.global_per_second
    u = user_rate if user_rate > 0 else UNLIMITED.per_address_per_second
    return RateLimit(
        global_per_second=g,
        global_burst=max(1, int(min(g, 10**9))),
        per_address_per_second=u,
        per_address_burst=user_burst if user_rate > 0 else 10**9,
    )


class KanalApp:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, telegram_request: Any = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url)
        self.router = build_router()
        self.dispatcher = Dispatcher(self.db, self.router, settings, clock=self.clock)
        self.webchat = None
        self.telegram = None
        self.whatsapp = None
        add_secrets(secret_values(settings))  # also when logging was set up before this channel existed
        senders: dict[str, Any] = {}
        if settings.webchat_enabled:
            from bot.channels.web.web_channel import WebChatChannel

            self.webchat = WebChatChannel(handle=self.dispatcher.handle, history=self._web_history)
            senders["web"] = self.webchat
        if settings.telegram_token:
            from bot.channels.telegram.telegram_channel import TelegramChannel

            if telegram_request is None and settings.telegram_http_process:
                from bot.channels.telegram.http_process import ProcessRequest

                telegram_request = ProcessRequest()
            self.telegram = TelegramChannel(
                token=settings.telegram_token,
                base_url=settings.telegram_base_url,
                handle=self.dispatcher.handle,
                webhook_url=settings.telegram_webhook_url,
                webhook_secret=settings.telegram_webhook_secret,
                request=telegram_request,
            )
            senders["telegram"] = self.telegram
        if settings.whatsapp_token:
            from bot.channels.whatsapp.whatsapp_channel import WhatsAppChannel

            self.whatsapp = WhatsAppChannel(
                token=settings.whatsapp_token,
                phone_number_id=settings.whatsapp_phone_number_id or "",
                app_secret=settings.whatsapp_app_secret or "",
                verify_token=settings.whatsapp_verify_token or "",
                api_base_url=settings.whatsapp_api_base_url,
                handle=self.dispatcher.handle,
                clock=self.clock,
                template_name=settings.whatsapp_template_notice,
                template_language=settings.whatsapp_template_language,
                last_inbound=self._wa_last_inbound,
                record_status=self._wa_record_status,
                last_payload=self._wa_last_payload,
            )
            senders["whatsapp"] = self.whatsapp
        for name, channel in senders.items():
            self.dispatcher.renderers[name] = channel.render
        self.outbox = OutboxSender(
            self.db,
            senders,
            clock=self.clock,
            limits={
                "telegram": telegram_limit(settings.telegram_global_rate, settings.telegram_chat_rate),
                "whatsapp": whatsapp_limit(
                    settings.whatsapp_global_rate, settings.whatsapp_user_rate, settings.whatsapp_user_burst
                ),
            },
            on_failed=self.dispatcher.notifier.delivery_failed,
        )
        self.dispatcher.on_commit.append(self.outbox.wake)
        self.http = self._http_app()
        self._runner: web.AppRunner | None = None
        self.leadership = None  # scheduler.leader.Leadership, when KANAL_SCHEDULER is on
        self.jobs = None  # scheduler.runner.JobRunner
        self.port: int | None = None

    def _http_app(self) -> web.Application:
        app = web.Application(client_max_size=1_000_000)
        if self.webchat is not None:
            app.add_routes(self.webchat.routes())
        if self.telegram is not None and self.settings.telegram_webhook_url:
            app.add_routes([web.post("/webhooks/telegram", self.telegram.webhook)])
        if self.whatsapp is not None:
            app.add_routes(self.whatsapp.routes())
        app.add_routes([web.get("/healthz", self.healthz)])
        return app

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            async with self.db.unit_of_work() as uow:
                backlog = await Repo(uow.session).outbox_backlog(self.clock.now())
        except Exception as exc:
            return web.json_response({"ok": False, "database": type(exc).__name__}, status=503)
        scheduler = "off" if self.leadership is None else ("leader" if self.leadership.is_leader else "standby")
        return web.json_response({"ok": True, "database": "ok", "outbox": backlog, "scheduler": scheduler})

    async def _web_history(self, address: str, after_id: int) -> list[tuple[int, dict[str, Any]]]:
        async with self.db.unit_of_work() as uow:
            rows = await Repo(uow.session).sent_since("web", address, after_id)
            return [(r.id, r.payload) for r in rows]

    # ---- what the WhatsApp channel asks the database -------------------------------------
    async def _wa_last_inbound(self, address: str):
        async with self.db.unit_of_work() as uow:
            return await Repo(uow.session).last_inbound_at("whatsapp", address)

    async def _wa_record_status(self, platform_message_id: str, status: str, at, error: str | None) -> bool:
        async with self.db.unit_of_work() as uow:
            repo = Repo(uow.session)
            found, tell = await repo.record_delivery_status(platform_message_id, status, at, error, channel="whatsapp")
            if tell:  # WhatsApp accepted a staff member's message, then could not deliver it
                await self.dispatcher.notifier.delivery_failed(repo, tell, self.clock.now())
            if found:
                await uow.commit()
            if tell:
                self.outbox.wake()
            return found

    async def _wa_last_payload(self, address: str) -> dict[str, Any] | None:
        async with self.db.unit_of_work() as uow:
            return await Repo(uow.session).last_delivered_payload("whatsapp", address)

    # ---- lifecycle ----------------------------------------------------------------------
    async def prepare_database(self, *, auto_migrate: bool = True) -> None:
        try:
            up_to_date = await migrate.is_up_to_date(self.db)
        except Exception as exc:
            raise StorageError(f"KANAL_DATABASE_URL: cannot open the database ({type(exc).__name__}: {exc})") from None
        if not up_to_date:
            if not auto_migrate:
                raise StorageError(
                    "the database is not migrated: run `kanal db upgrade` first (or start without --no-migrate)"
                )
            log.info("migrating the database to the newest schema")
            await migrate.upgrade(self.db)
        async with self.db.unit_of_work() as uow:
            region = await Repo(uow.session).region()
        if region is None:
            loaded = load_region_file(self.settings.region_file)
            counts = await store_region(self.db, loaded, self.clock.now())
            log.info("region %s loaded: %s", loaded.code, counts)

    async def start(self, *, auto_migrate: bool = True, serve_http: bool = True) -> None:
        """Start every part; if one cannot start (a refused token, a port in use), stop the parts
        already running before the error goes up: left to the end of the event loop, they were
        cancelled mid-transaction, with tracebacks and unclosed sessions in the log."""
        try:
            await self._start(auto_migrate=auto_migrate, serve_http=serve_http)
        except BaseException:
            try:
                await self.stop()
            except Exception as exc:  # the start's own error is the one to report
                log.warning("stopping after a failed start: %s", type(exc).__name__)
            raise

    async def _start(self, *, auto_migrate: bool, serve_http: bool) -> None:
        await self.prepare_database(auto_migrate=auto_migrate)
        language.warm(self.settings.languages)  # the detector's profiles, before the first turn
        if self.whatsapp is not None:
            await self.whatsapp.start()
        await self.outbox.start()
        if self.settings.scheduler_enabled:
            await self._start_scheduler()
        if serve_http:
            self._runner = web.AppRunner(self.http, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
            try:
                await site.start()
            except OSError as exc:
                raise RuntimeError(
                    f"KANAL_HTTP_PORT: cannot listen on {self.settings.http_host}:{self.settings.http_port} ({exc.strerror})"
                ) from None
            sockets = site._server.sockets if site._server else []  # port 0 → the real port
            self.port = sockets[0].getsockname()[1] if sockets else self.settings.http_port
        if self.telegram is not None:
            await self.telegram.start(self._command_menu())

    async def _start_scheduler(self) -> None:
        """Every instance schedules the jobs; only the leader runs them (scheduler/leader.py)."""
        from scheduler.jobs import JobContext, schedule
        from scheduler.leader import Leadership
        from scheduler.runner import JobRunner

        async with self.db.unit_of_work() as uow:
            region = await Repo(uow.session).region()
        timezone = region.timezone if region is not None else self.settings.timezone
        context = JobContext(self.db, self.settings, self.dispatcher.notifier, clock=self.clock, wake=self.outbox.wake)
        self.leadership = Leadership(self.db)
        self.jobs = JobRunner(self.leadership, context, timezone=timezone)
        schedule(self.jobs, self.settings)
        await self.jobs.start()
        await self.leadership.start()

    def _command_menu(self) -> dict[str, list[tuple[str, str]]]:
        """Telegram's command menu for citizens, per offered language (first name of each command)."""
        menus: dict[str, list[tuple[str, str]]] = {}
        for lang in self.settings.languages:
            t = Translator(lang)
            menus["" if lang == self.settings.default_language else lang] = [
                (c.names[0] if lang == "id" else c.names[-1], t(c.description))
                for c in self.router.commands_for("citizen")
            ]
        return menus

    async def stop(self) -> None:
        if self.leadership is not None:  # deposed first: running jobs finish, then the lock goes
            await self.leadership.stop()
        if self.jobs is not None:
            await self.jobs.stop()
        if self.telegram is not None:
            await self.telegram.stop()
        if self.webchat is not None:
            await self.webchat.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.dispatcher.close()
        await self.outbox.stop()
        if self.whatsapp is not None:  # after the outbox: its lanes send through the channel
            await self.whatsapp.stop()
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
        if self.whatsapp is not None:
            where.append("WhatsApp (webhook /webhooks/whatsapp)")
        log.info("Kanal Partisipasi berjalan / running: %s", ", ".join(where) or "no channel enabled")
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            await self.stop()
