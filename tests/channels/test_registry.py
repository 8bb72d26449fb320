"""The channel registry and the app's wiring of it: every channel the settings enable is built
from its one registry line, meets the one protocol, has its routes served, its renderer used for
the outbox and its platform's rate limits given to delivery."""

from __future__ import annotations

import dataclasses

import aiohttp

from bot.app import KanalApp
from bot.channels.base import Channel, ChannelContext
from bot.channels.registry import CHANNELS, build_channels, renderers
from bot.channels.sms import sms_channel
from bot.channels.telegram import telegram_channel
from bot.channels.telegram.telegram_channel import telegram_limit
from bot.channels.web import web_channel
from bot.channels.whatsapp import whatsapp_channel
from bot.domain.clock import SystemClock
from bot.settings import Settings

TG_TOKEN = "123456:REGISTRY-test"
WA = {
    "whatsapp_token": "EAAKanalRegistryToken0001",
    "whatsapp_phone_number_id": "106540352242922",
    "whatsapp_app_secret": "registry-app-secret-1",
    "whatsapp_verify_token": "registry-verify-1",
}


SMS = {
    "sms_transport": "android",
    "sms_webhook_secret": "registry-sms-signing-1",
    "sms_gateway_url": "http://192.168.1.20:8080",
    "sms_gateway_password": "registry-sms-password",
}


def all_on(settings: Settings, **extra) -> Settings:
    return Settings(**{**settings.__dict__, "telegram_token": TG_TOKEN, **WA, **SMS, **extra})


def test_one_registry_line_per_channel() -> None:
    assert [spec.name for spec in CHANNELS] == ["web", "telegram", "whatsapp", "sms"]
    assert renderers() == {
        "web": web_channel.render,
        "telegram": telegram_channel.render,
        "whatsapp": whatsapp_channel.render,
        "sms": sms_channel.render,
    }


def test_renderers_follow_the_settings(settings: Settings) -> None:
    assert set(renderers(settings)) == {"web"}
    assert set(renderers(all_on(settings, webchat_enabled=False))) == {"telegram", "whatsapp", "sms"}


async def test_every_built_channel_meets_the_protocol(settings: Settings) -> None:
    asked: list[str] = []

    def context_for(name: str) -> ChannelContext:
        asked.append(name)

        async def handle(inbound) -> None:
            return None

        return ChannelContext(handle=handle, clock=SystemClock(), ports=object())

    channels = build_channels(all_on(settings), context_for)
    assert list(channels) == asked == ["web", "telegram", "whatsapp", "sms"]
    for name, channel in channels.items():
        assert isinstance(channel, Channel) and channel.name == name
    await channels["telegram"].stop_receiving()  # closes what PTB's application opened


async def test_the_app_wires_what_the_registry_builds(settings: Settings) -> None:
    app = KanalApp(
        all_on(
            settings,
            telegram_webhook_url="https://kanal.example.go.id/webhooks/telegram",
            telegram_webhook_secret="hook-secret",
        )
    )
    try:
        assert list(app.channels) == ["web", "telegram", "whatsapp", "sms"]
        assert (app.webchat, app.telegram, app.whatsapp, app.sms) == tuple(app.channels.values())
        assert app.outbox.senders is app.channels
        assert {k: app.dispatcher.renderers[k] for k in app.channels} == renderers()
        # the platforms' limits, as before: Telegram's from its settings, none for the web chat
        assert set(app.outbox.buckets.limits) == {"telegram", "whatsapp", "sms"}
        assert dataclasses.astuple(app.outbox.buckets.limits["telegram"]) == dataclasses.astuple(
            telegram_limit(29.0, 1.0)
        )
        assert dataclasses.astuple(app.outbox.buckets.limits["whatsapp"]) == (80.0, 80, 0.1667, 30)
        assert dataclasses.astuple(app.outbox.buckets.limits["sms"]) == (0.5, 1, 1.0, 3)
        paths = {(r.method, r.resource.canonical) for r in app.http.router.routes()}
        assert {
            ("GET", "/"),
            ("GET", "/ws"),
            ("POST", "/webhooks/telegram"),
            ("GET", "/webhooks/whatsapp"),
            ("POST", "/webhooks/whatsapp"),
            ("POST", "/webhooks/sms"),
            ("POST", "/webhooks/sms/report"),
            ("GET", "/healthz"),
        } <= paths
    finally:
        await app.telegram.stop_receiving()
        await app.db.dispose()


async def test_a_channel_that_is_off_has_no_routes(web_app: KanalApp) -> None:
    assert list(web_app.channels) == ["web"] and web_app.telegram is None and web_app.whatsapp is None
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{web_app.port}/webhooks/whatsapp", data=b"{}") as resp:
            assert resp.status in (404, 405)
        async with http.get(f"http://127.0.0.1:{web_app.port}/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["ok"] is True
