"""Wiring: database, router, dispatcher, channels (from :mod:`bot.channels.registry`), outbox
sender, scheduler and the one HTTP server; the start and stop of them all, in order."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.channels.base import Channel, ChannelContext, CommandMenu
from bot.channels.registry import build_channels
from bot.delivery.sender import OutboxSender
from bot.domain.clock import Clock, SystemClock
from bot.domain.complaint_rules import Role
from bot.domain.i18n import Translator
from bot.domain.region import load_region_file
from bot.engine import language
from bot.engine.dispatch import Dispatcher
from bot.logs import add_secrets, secret_values
from bot.media_route import MediaRoute
from bot.ports import ChannelPorts, outbox_backlog
from bot.publik.public_route import PublicRoute
from bot.services.regions import store_region
from bot.settings import Settings
from handlers import build_router
from scheduler.job_context import JobContext
from scheduler.job_registry import schedule
from scheduler.leader import TELEGRAM_POLL_LOCK_KEY, Leadership
from scheduler.runner import JobRunner
from storage import Database, StorageError, migrate
from storage.file_claim import claim_database_file
from storage.pg_relay import PgBus

log = logging.getLogger(__name__)

#: seconds /healthz waits for the database before it answers 503 "timeout"
HEALTH_TIMEOUT = 1.5


def _retrieve(task: asyncio.Future) -> None:
    """Read a finished background health check's error, so asyncio does not log it as lost."""
    if not task.cancelled():
        task.exception()


class KanalApp:
    """One running bot: the channels the settings enable (built from the registry, each given a
    context with the dispatcher's ``handle`` and its database ports), the dispatcher, the outbox
    sender with the channels' rate limits, the scheduler and one HTTP server for every route."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None, telegram_request: Any = None) -> None:
        """``telegram_request`` replaces the Telegram channel's HTTP request object (tests)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url)
        # SP4N-LAPOR! bridge on: every complaint change LAPOR! must hear of is queued in its transaction
        self.db.lapor_bridge = settings.lapor_enabled
        self.router = build_router()
        self.dispatcher = Dispatcher(self.db, self.router, settings, clock=self.clock)
        add_secrets(secret_values(settings))  # also when logging was set up before this channel existed
        self._options: dict[str, dict[str, Any]] = {"telegram": {"request": telegram_request}}
        if settings.telegram_token and not settings.telegram_webhook_url:  # one instance long-polls
            self._options["telegram"]["election"] = Leadership(
                self.db, key=TELEGRAM_POLL_LOCK_KEY, name="telegram-poller"
            )
        if self.db.dialect == "postgresql":  # several instances may share it: web pages may be open on another
            self._options["web"] = {"bus": PgBus(settings.database_url)}
        self.channels: dict[str, Channel] = build_channels(settings, self._context)
        for name, channel in self.channels.items():
            self.dispatcher.renderers[name] = channel.render
            if getattr(channel, "merge_replies", False):  # every message costs: a turn's replies as one
                self.dispatcher.notifier.merging.add(name)
        self.outbox = OutboxSender(
            self.db,
            self.channels,
            clock=self.clock,
            limits={name: c.rate_limit for name, c in self.channels.items() if c.rate_limit is not None},
            on_failed=self.dispatcher.notifier.delivery_failed,
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )
        self.dispatcher.on_commit.append(self.outbox.wake)
        self.dispatcher.presence = self._presence
        self.media = MediaRoute(self.db, self.channels, settings, self.clock)  # /media/<token>
        self.publik = PublicRoute(self.db, self.clock)  # /publik, /publik.json, /publik.csv, /publik/skm/<unit>
        self.http = self._http_app()
        self._runner: web.AppRunner | None = None
        self.leadership: Leadership | None = None  # when KANAL_SCHEDULER is on
        self.jobs: JobRunner | None = None
        self.port: int | None = None
        self._health_check: asyncio.Future | None = None  # the /healthz database check under way

    def _presence(self, channel: str, address: str) -> bool | None:
        """A web chat page open here for ``address`` (None: the channel always delivers)."""
        web = self.channels.get(channel) if channel == "web" else None
        return web.connected_to(address) if web is not None else None

    def _context(self, name: str) -> ChannelContext:
        ports = ChannelPorts(
            self.db, name, clock=self.clock, on_failed=self.dispatcher.notifier.delivery_failed, wake=self._wake_outbox
        )
        options = {k: v for k, v in self._options.get(name, {}).items() if v is not None}
        return ChannelContext(handle=self.dispatcher.handle, clock=self.clock, ports=ports, options=options)

    def _wake_outbox(self) -> None:
        self.outbox.wake()

    # the channels by name, for tests and tools (None when off)
    @property
    def webchat(self) -> Any:
        return self.channels.get("web")

    @property
    def telegram(self) -> Any:
        return self.channels.get("telegram")

    @property
    def whatsapp(self) -> Any:
        return self.channels.get("whatsapp")

    @property
    def sms(self) -> Any:
        return self.channels.get("sms")

    def _http_app(self) -> web.Application:
        app = web.Application(client_max_size=1_000_000)
        for channel in self.channels.values():
            app.add_routes(channel.routes())
        app.add_routes([web.get("/healthz", self.healthz), *self.media.routes(), *self.publik.routes()])
        return app

    async def healthz(self, request: web.Request) -> web.Response:
        """200 with the outbox backlog, or 503 naming what is wrong, always within
        :data:`HEALTH_TIMEOUT`: a database that does not answer (a SQLite file locked by another
        process, a server that hangs) is reported as ``timeout`` while the check goes on in the
        background; one check at a time, so a monitor polling a stuck database piles nothing up."""
        if self._health_check is None or self._health_check.done():
            self._health_check = asyncio.ensure_future(outbox_backlog(self.db, self.clock.now()))
            self._health_check.add_done_callback(_retrieve)
        try:
            backlog = await asyncio.wait_for(asyncio.shield(self._health_check), HEALTH_TIMEOUT)
        except TimeoutError:
            return web.json_response({"ok": False, "database": "timeout"}, status=503)
        except Exception as exc:
            return web.json_response({"ok": False, "database": type(exc).__name__}, status=503)
        scheduler = "off" if self.leadership is None else ("leader" if self.leadership.is_leader else "standby")
        answer = {"ok": True, "database": "ok", "outbox": backlog, "scheduler": scheduler}
        if self.telegram is not None:
            answer["telegram"] = self.telegram.receiving  # webhook, polling, or standby (another polls)
        return web.json_response(answer)

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
            region = await uow.region.region()
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
        self.dispatcher.media_links = await self.media.prepare()  # flows sign staff media links
        self.db.on_media_released = self.media.released  # uploads of erased photos leave the disk
        language.warm(self.settings.languages)  # the detector's profiles, before the first turn
        for channel in self.channels.values():  # what sending needs, before the outbox sends
            await channel.start()
        await self.outbox.start()
        if self.settings.scheduler_enabled:
            await self._start_scheduler()
        if serve_http:
            await self._serve_http()
        menu = self._command_menu()
        for channel in self.channels.values():  # the webhooks' routes are served by now
            await channel.start_receiving(menu)

    async def _serve_http(self) -> None:
        self._runner = web.AppRunner(self.http, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        try:
            await site.start()
        except OSError as exc:
            raise RuntimeError(
                f"KANAL_HTTP_PORT: cannot listen on {self.settings.http_host}:{self.settings.http_port} "
                f"({exc.strerror})"
            ) from None
        sockets = site._server.sockets if site._server else []  # port 0 → the real port
        self.port = sockets[0].getsockname()[1] if sockets else self.settings.http_port

    async def _start_scheduler(self) -> None:
        """Every instance schedules the jobs; only the leader runs them (scheduler/leader.py)."""
        async with self.db.unit_of_work() as uow:
            region = await uow.region.region()
        timezone = region.timezone if region is not None else self.settings.timezone
        context = JobContext(self.db, self.settings, self.dispatcher.notifier, clock=self.clock, wake=self.outbox.wake)
        self.leadership = Leadership(self.db)
        self.jobs = JobRunner(self.leadership, context, timezone=timezone)
        schedule(self.jobs, self.settings)
        await self.jobs.start()
        await self.leadership.start()

    def _command_menu(self) -> CommandMenu:
        """The command menu for citizens (Telegram shows one), per offered language (first name of
        each command)."""
        menus: CommandMenu = {}
        for lang in self.settings.languages:
            t = Translator(lang)
            menus["" if lang == self.settings.default_language else lang] = [
                (c.names[0] if lang == "id" else c.names[-1], t(c.description))
                for c in self.router.commands_for(Role.CITIZEN)
            ]
        return menus

    async def stop(self) -> None:
        if self._health_check is not None:
            self._health_check.cancel()
        if self.leadership is not None:  # deposed first: running jobs finish, then the lock goes
            await self.leadership.stop()
        if self.jobs is not None:
            await self.jobs.stop()
        for channel in self.channels.values():  # no new messages, before the HTTP server goes
            await channel.stop_receiving()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.dispatcher.close()
        await self.outbox.stop()
        for channel in self.channels.values():  # after the outbox: its lanes send through the channels
            await channel.stop()
        await self.db.dispose()

    async def run_forever(self, *, auto_migrate: bool = True) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except NotImplementedError:  # pragma: no cover - Windows
                pass
        with claim_database_file(self.settings.database_url):
            await self._serve_until(stop, auto_migrate=auto_migrate)

    async def _serve_until(self, stop: asyncio.Event, *, auto_migrate: bool) -> None:
        await self.start(auto_migrate=auto_migrate)
        http_url = f"http://{self.settings.http_host}:{self.port}"
        where = [channel.summary(http_url) for channel in self.channels.values()]
        log.info("Kanal Partisipasi berjalan / running: %s", ", ".join(where) or "no channel enabled")
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            await self.stop()
