"""Secrets never reach a log line, an error message, a stored error or printed settings.

The Telegram token, the Telegram webhook secret, the WhatsApp access token, app secret and verify
token are checked on the paths most likely to leak them: network failures of PTB's HTTP stack
(aiohttp errors carry the request URL ``…/bot<TOKEN>/method``), 5xx answers, dropped connections
and timeouts at the fake servers, forged webhooks, start-up with a refused token or an unreachable
Bot API, ``kanal`` configuration errors, ``kanal config`` and ``repr``/``str`` of the settings.

Real processes (``python -m bot run`` at ``KANAL_LOG_LEVEL=DEBUG``) are judged by everything they
write to stderr/stdout — every logger, aiohttp's, PTB's and SQLAlchemy's included. In-process tests
capture every record of every logger at DEBUG. ``tests/channels/test_telegram_e2e.py::test_token_never_logged``
and ``tests/channels/test_whatsapp.py::test_secrets_never_logged`` cover one reset each in-process; this
module extends them. A secret is also looked for by its parts (the token without its bot id,
URL-quoted forms), so a half-redacted leak fails too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import KanalApp
from bot.logs import RedactSecrets, secret_values
from bot.settings import Settings, SettingsError
from storage import Database
from storage.models import OutboxMessage
from testkit.fakes.telegram_api import FakeTelegramServer
from testkit.fakes.whatsapp_api import FakeWhatsAppServer

TG_TOKEN = "5550001:AAHsecretTokenPartQ7w9Xv2LmN"
TG_OTHER = "5550001:AAHwrongTokenPartB3k8Zr1PqT"  # the right format, refused by the server
HOOK_SECRET = "hookSecret_9fK2mQ7xLw"
WA_TOKEN = "EAAGsecretWaTokenZ81pQ3vTq0wYb5Kd"
WA_SECRET = "a9c1e07b2d4e6a8c0b1d2e3f40516273"
WA_VERIFY = "verifyTok-7Gh2LqX9"
PNID = "106540352242922"
LAPOR_TOKEN = "laporKeyToken-4Rw8Zq1Xv7"
SECRETS = (TG_TOKEN, TG_OTHER, HOOK_SECRET, WA_TOKEN, WA_SECRET, WA_VERIFY, LAPOR_TOKEN)


def fragments(secret: str) -> set[str]:
    """The secret, its part after the bot id, and URL-quoted forms."""
    out = {secret, quote(secret, safe=""), secret.partition(":")[2] or secret}
    return {s for s in out if len(s) >= 8}


def leaks(text: str, secrets=SECRETS) -> list[str]:
    return sorted({f for s in secrets for f in fragments(s) if f in text})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(db_url: str, **kanal: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAL_")}
    env.update(
        {
            "KANAL_DATABASE_URL": db_url,
            "KANAL_WEBCHAT": "false",
            "KANAL_SCHEDULER": "false",
            "KANAL_LOG_LEVEL": "DEBUG",
            "KANAL_HTTP_PORT": str(free_port()),
        }
    )
    env.update({f"KANAL_{k.upper()}": v for k, v in kanal.items()})
    return env


async def start_bot(env: dict[str, str], cwd: Path, log: Path, *args: str) -> asyncio.subprocess.Process:
    with open(log, "wb") as out:  # a file, not a pipe: a chatty DEBUG log never blocks the bot
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *(args or ("run",)),
            env=env,
            cwd=str(cwd),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def stop_bot(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.wait(), timeout=30)


async def wait_http(port: int, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise TimeoutError("the bot's HTTP server did not come up")
            await asyncio.sleep(0.1)


async def stored_errors(db_url: str) -> str:
    db = Database(db_url)
    try:
        async with db.unit_of_work() as uow:
            rows = (await uow.session.execute(select(OutboxMessage.last_error))).scalars().all()
    finally:
        await db.dispose()
    return "\n".join(r for r in rows if r)


# ---- settings and the CLI ------------------------------------------------------------------
def test_settings_repr_str_and_describe_hide_secrets():
    s = Settings(
        telegram_token=TG_TOKEN,
        telegram_webhook_url="https://kanal.example.go.id/webhooks/telegram",
        telegram_webhook_secret=HOOK_SECRET,
        whatsapp_token=WA_TOKEN,
        whatsapp_phone_number_id=PNID,
        whatsapp_app_secret=WA_SECRET,
        whatsapp_verify_token=WA_VERIFY,
        lapor_url="https://www.lapor.go.id",
        lapor_token=LAPOR_TOKEN,
    )
    shown = repr(s) + str(s) + repr(s.describe()) + repr(vars(s).keys())
    assert not leaks(shown)
    assert {v for _, v, _ in s.describe() if v == "****"} == {"****"}
    assert set(secret_values(s)) == {
        TG_TOKEN,
        HOOK_SECRET,
        WA_TOKEN,
        WA_SECRET,
        WA_VERIFY,
        LAPOR_TOKEN,
    }  # what the log filter redacts


@pytest.mark.parametrize(
    "var, bad",
    [
        ("TELEGRAM_TOKEN", "AAHsecretTokenPartQ7w9Xv2LmN"),  # no bot id
        ("TELEGRAM_TOKEN", "bot5550001:AAHsecretTokenPart"),
        ("TELEGRAM_WEBHOOK_SECRET", "hookSecret 9fK2mQ7xLw!"),
        ("WHATSAPP_TOKEN", "EAAGsecret WaTokenZ81pQ3vTq0wYb5Kd"),
        ("WHATSAPP_APP_SECRET", "a9c1e07b 2d4e6a8c0b1d2e3f40516273"),
        ("WHATSAPP_VERIFY_TOKEN", "verifyTok 7Gh2LqX9"),
        ("LAPOR_TOKEN", "laporKey Token-4Rw8Zq1Xv7"),
    ],
)
def test_bad_secret_values_are_not_echoed(var, bad, tmp_path):
    empty = tmp_path / "kanal.toml"
    empty.write_text("")
    with pytest.raises(SettingsError) as err:
        Settings.from_env({f"KANAL_{var}": bad}, config_file=str(empty))
    assert var in str(err.value)
    assert not leaks(str(err.value), [bad, *bad.split()])


def test_database_password_is_masked_in_config_and_redacted_from_logs():
    """``kanal config`` shows the database URL without its password, and the log filter redacts it."""
    password = "pg-Pa55w0rd-Kanal"
    s = Settings(database_url=f"postgresql+asyncpg://kanal:{password}@db.example.go.id:5432/kanal")
    shown = {var: value for var, value, _ in s.describe()}
    assert password not in repr(s) + str(s) + repr(s.describe())
    assert shown["KANAL_DATABASE_URL"] == "postgresql+asyncpg://kanal:***@db.example.go.id:5432/kanal"
    assert password in secret_values(s)
    record = logging.LogRecord("x", logging.ERROR, __file__, 0, "connect to %s failed", (s.database_url,), None)
    RedactSecrets(secret_values(s)).filter(record)
    assert password not in record.getMessage() and "[REDACTED]" in record.getMessage()


@pytest.mark.parametrize("secret", ["k", "ab", "x9Z", "s3cr3"])
def test_short_secrets_are_redacted_too(secret):
    """A webhook secret of any length (Telegram allows 1-256 characters) is redacted, not only
    those of six characters or more."""
    record = logging.LogRecord("x", logging.DEBUG, __file__, 0, "header secret=%s;", (secret,), None)
    RedactSecrets([secret]).filter(record)
    assert record.getMessage() == "header secret=[REDACTED];"


def test_control_characters_cannot_forge_log_lines():
    """A message id with a newline (a web chat client chooses it) stays on one line, visibly escaped."""
    forged = "m1\n2026-12-04 10:00:00 INFO bot.app: officer 7 granted coordinator\r\x1b[2K"
    record = logging.LogRecord("x", logging.INFO, __file__, 0, "duplicate %s ignored", (forged,), None)
    RedactSecrets([]).filter(record)
    line = logging.Formatter("%(levelname)s %(message)s").format(record)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert (
        line == "INFO duplicate m1\\n2026-12-04 10:00:00 INFO bot.app: officer 7 granted coordinator\\r\\x1b[2K ignored"
    )


async def test_kanal_cli_config_and_errors_never_print_secrets(db_url, tmp_path):
    """``kanal config`` masks; a configuration error names the variable, never the value."""
    good = bot_env(
        db_url,
        telegram_token=TG_TOKEN,
        whatsapp_token=WA_TOKEN,
        whatsapp_phone_number_id=PNID,
        whatsapp_app_secret=WA_SECRET,
        whatsapp_verify_token=WA_VERIFY,
        telegram_webhook_secret=HOOK_SECRET,
        lapor_url="https://www.lapor.go.id",
        lapor_token=LAPOR_TOKEN,
    )
    cases = [
        (good, ("config",), 0),
        ({**good, "KANAL_TELEGRAM_TOKEN": TG_TOKEN.replace(":", "")}, ("run",), 2),  # malformed token
        ({**good, "KANAL_WHATSAPP_PHONE_NUMBER_ID": ""}, ("run",), 2),  # token set, the rest missing
        (
            {
                **good,
                "KANAL_TELEGRAM_WEBHOOK_URL": "https://kanal.example.go.id/webhooks/telegram",
                "KANAL_TELEGRAM_WEBHOOK_SECRET": "",
            },
            ("run",),
            2,
        ),
        ({**good, "KANAL_DATABASE_URL": "postgresql+asyncpg://kanal@127.0.0.1:1/none"}, ("db", "current"), 1),
    ]
    procs = [await start_bot(env, tmp_path, tmp_path / f"cli{i}.log", *args) for i, (env, args, _) in enumerate(cases)]
    await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), timeout=90)  # side by side: CI time
    for i, ((_env, args, code), proc) in enumerate(zip(cases, procs, strict=False)):
        out = (tmp_path / f"cli{i}.log").read_text(errors="replace")
        assert proc.returncode == code, (args, out[-2000:])
        assert not leaks(out + out.replace("5550001", "")), (args, leaks(out), out[-2000:])
        if args == ("config",):
            assert "KANAL_TELEGRAM_TOKEN" in out and "****" in out and "KANAL_LAPOR_TOKEN" in out


# ---- start-up failures ---------------------------------------------------------------------
async def test_start_with_refused_token_or_unreachable_api_says_so_without_the_token(db_url, tmp_path):
    async with FakeTelegramServer(token=TG_TOKEN) as tg:
        # the server knows TG_TOKEN: TG_OTHER is refused with 401 (getMe at start-up)
        refused = await start_bot(
            bot_env(db_url, telegram_token=TG_OTHER, telegram_base_url=tg.base_url), tmp_path, tmp_path / "refused.log"
        )
        await asyncio.wait_for(refused.wait(), timeout=60)
    # one after the other: both would load the region into the same database at once
    closed = free_port()  # nothing listens here: connection refused, with the URL in aiohttp's error
    unreachable = await start_bot(
        bot_env(db_url, telegram_token=TG_TOKEN, telegram_base_url=f"http://127.0.0.1:{closed}/bot"),
        tmp_path,
        tmp_path / "unreachable.log",
    )
    await asyncio.wait_for(unreachable.wait(), timeout=60)
    for proc, log, says in (
        (refused, "refused.log", "rejected the token"),
        (unreachable, "unreachable.log", "cannot reach the Bot API"),
    ):
        out = (tmp_path / log).read_text(errors="replace")
        assert proc.returncode == 1 and says in out, out[-2000:]
        assert not leaks(out), (log, leaks(out), out[-3000:])
        assert "Traceback" not in out
        # what had started was stopped in order, not cancelled at the end of the event loop
        assert "Unclosed" not in out and "Exception during reset" not in out, out[-3000:]


# ---- a running bot meeting every kind of network fault -------------------------------------
@pytest.mark.parametrize("everything", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["ci", "all-faults"])
async def test_running_bot_with_network_faults_logs_no_secret(db_url, tmp_path, everything):
    """Telegram (long polling) and WhatsApp in one DEBUG process; both platforms misbehave. The
    long variant adds a hung sendMessage (PTB's read timeout), more 5xx and a hung setMyCommands."""
    async with (
        FakeTelegramServer(token=TG_TOKEN) as tg,
        FakeWhatsAppServer(token=WA_TOKEN, phone_number_id=PNID, app_secret=WA_SECRET) as wa,
    ):
        env = bot_env(
            db_url,
            telegram_token=TG_TOKEN,
            telegram_base_url=tg.base_url,
            telegram_global_rate="0",
            telegram_chat_rate="0",
            whatsapp_token=WA_TOKEN,
            whatsapp_phone_number_id=PNID,
            whatsapp_app_secret=WA_SECRET,
            whatsapp_verify_token=WA_VERIFY,
            whatsapp_api_base_url=wa.base_url,
            whatsapp_user_rate="0",
        )
        port = int(env["KANAL_HTTP_PORT"])
        wa.webhook_url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
        # Telegram: polling meets a reset, an nginx 502 and a 500; sending a reset, a 500, a hang
        tg.fail_next("getUpdates", "reset")
        tg.fail_next("getUpdates", 502)
        tg.fail_next("sendMessage", "reset")
        tg.fail_next("setMyCommands", 500)
        # WhatsApp: a reset (retried), then a refused token (401/190: failed for good)
        wa.fail_next("messages", "reset")
        if everything:
            tg.fail_next("getUpdates", 500)
            tg.fail_next("sendMessage", 500)
            tg.fail_next("sendMessage", "timeout")
            tg.fail_next("setMyCommands", "timeout")
            wa.fail_next("messages", 500)
            wa.fail_next("media", "reset")
        log = tmp_path / "bot.log"
        proc = await start_bot(env, tmp_path, log)
        try:
            await wait_http(port)
            tg.push_message(8101, "/start")
            await wa.push_text("6281200000001", "/start")
            await tg.wait_for_sent(1, chat_id=8101, timeout=30)
            await wa.wait_for_sent(1, to="6281200000001", timeout=30)
            wa.fail_next("messages", 401, code=190)
            await wa.push_text("6281200000002", "/start")
            # forged and malformed webhooks, a wrong verify token
            assert await wa.deliver(b'{"object":"whatsapp_business_account"}', signature="sha256=" + "0" * 64) == 403
            assert await wa.deliver(b"{}", signature=None) == 401
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    wa.webhook_url,
                    params={"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY[:-1], "hub.challenge": "7"},
                ) as r,
            ):
                assert r.status == 403
            for _ in range(100):  # the refused token is recorded on the outbox row
                if "190" in await stored_errors(db_url) or "token" in (await stored_errors(db_url)).lower():
                    break
                await asyncio.sleep(0.1)
        finally:
            await stop_bot(proc)
        out = log.read_text(errors="replace")
    assert proc.returncode == 0, out[-3000:]
    # the faults did happen and were logged (at some level) …
    assert [e for e in tg.errors if e.method.lower() == "getupdates"] and [
        e for e in tg.errors if e.method.lower() == "sendmessage"
    ]
    assert "telegram" in out.lower() and "whatsapp" in out.lower() and " DEBUG " in out
    assert "[REDACTED]" in out  # PTB logs its token-bearing URLs at DEBUG: the filter met them
    # … and no secret in the process output or in what was stored about the failures
    assert not leaks(out), (leaks(out), [line for line in out.splitlines() if leaks(line)][:5])
    assert not leaks(await stored_errors(db_url))


async def test_webhook_mode_forged_calls_and_send_failures_log_no_secret(db_url, tmp_path):
    """Telegram in webhook mode: setWebhook carries the secret (PTB logs parameters at DEBUG)."""
    async with FakeTelegramServer(token=TG_TOKEN) as tg:
        env = bot_env(
            db_url,
            telegram_token=TG_TOKEN,
            telegram_base_url=tg.base_url,
            telegram_global_rate="0",
            telegram_chat_rate="0",
            telegram_webhook_url="https://kanal.example.go.id/webhooks/telegram",
            telegram_webhook_secret=HOOK_SECRET,
        )
        port = int(env["KANAL_HTTP_PORT"])
        url = f"http://127.0.0.1:{port}/webhooks/telegram"
        tg.fail_next("sendMessage", 500)
        log = tmp_path / "hook.log"
        proc = await start_bot(env, tmp_path, log)
        try:
            await wait_http(port)
            update = {
                "update_id": 5001,
                "message": {
                    "message_id": 1,
                    "date": 1700000000,
                    "chat": {"id": 8201, "type": "private"},
                    "from": {"id": 8201, "is_bot": False, "first_name": "Ani"},
                    "text": "/start",
                },
            }
            assert await tg.deliver_webhook(url, update, secret_token=HOOK_SECRET[:-1]) == 403
            assert await tg.deliver_webhook(url, update, secret_token=HOOK_SECRET + "x") == 403
            assert await tg.deliver_webhook(url, update, secret_token=None) == 403
            assert await tg.deliver_webhook(url, update, secret_token=HOOK_SECRET) == 200
            await tg.wait_for_sent(1, chat_id=8201, timeout=30)
        finally:
            await stop_bot(proc)
        out = log.read_text(errors="replace")
    assert proc.returncode == 0, out[-3000:]
    assert [p for m, p, _ in tg.requests if m.lower() == "setwebhook" and p.get("secret_token") == HOOK_SECRET]
    assert not leaks(out), (leaks(out), [line for line in out.splitlines() if leaks(line)][:5])


# ---- in-process: every record of every logger ----------------------------------------------
class Everything(logging.Handler):
    """Keeps every record (all loggers, DEBUG) with its traceback formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, int, str]] = []
        self.formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.levelno, self.format(record)))


async def test_every_record_in_process_is_clean_or_redacted(settings, tmp_path):
    """Raw records: nothing at INFO or above carries a secret, and no traceback does; the only raw
    DEBUG carriers are PTB's own "Set Bot API URL" lines, and the production filter cleans those."""
    root = logging.getLogger()
    handler = Everything()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        async with FakeTelegramServer(token=TG_TOKEN) as tg:
            s = Settings(
                **{
                    **settings.__dict__,
                    "webchat_enabled": False,
                    "telegram_token": TG_TOKEN,
                    "telegram_base_url": tg.base_url,
                    "telegram_global_rate": 0.0,
                    "telegram_chat_rate": 0.0,
                }
            )
            tg.fail_next("getUpdates", "reset")
            tg.fail_next("getUpdates", 502)
            tg.fail_next("sendMessage", 503)
            app = KanalApp(s)
            await app.start()
            try:
                tg.push_message(8301, "/start")
                await tg.wait_for_sent(1, chat_id=8301, timeout=20)
                # a send through the channel with the API gone: aiohttp's connection error names the URL
                await tg.close()
                from bot.domain.messages import SendError

                with pytest.raises(SendError) as err:
                    await app.telegram.send("8301", {"method": "sendMessage", "text": "x"})
                assert not leaks(str(err.value)) and err.value.__cause__ is None
            finally:
                await app.stop()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    dirty = [(name, level, text) for name, level, text in handler.lines if leaks(text)]
    assert all(
        level == logging.DEBUG and name.startswith("telegram") and "Set Bot API" in text for name, level, text in dirty
    ), dirty
    redactor = RedactSecrets(secret_values(s))
    for name, level, text in dirty:
        record = logging.LogRecord(name, level, __file__, 0, text, None, None)
        redactor.filter(record)
        assert not leaks(record.getMessage())
    assert any("getUpdates" in text or "Network" in text for _, _, text in handler.lines)  # the faults were met
