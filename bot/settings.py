"""Settings from ``KANAL_*`` environment variables, optionally from a TOML file.

Order of precedence: environment variable > ``KANAL_CONFIG_FILE`` (or ``./kanal.toml``) > default.
A bad value stops the start with one line naming the variable (:class:`SettingsError`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
#: Graph API version pinned for WhatsApp Cloud API calls (v25.0: released 2026-02-18, available until 2028-07-29)
DEFAULT_WHATSAPP_API_BASE_URL = "https://graph.facebook.com/v25.0"
SUPPORTED_LANGUAGES = ("id", "en")


class SettingsError(Exception):
    """A configuration value is wrong. ``str()`` is one line that names the variable."""


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{Path.cwd() / 'kanal.sqlite3'}"


def _parse_number(
    var: str, raw: str, low: float, high: float, *, kind: type = int, what: str = "a whole number"
) -> Any:
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingsError(f"{var}: expected {what} {low:g}-{high:g}, got {raw!r}")
    return value


def _parse_port(var: str, raw: str) -> int:
    return _parse_number(var, raw, 1, 65535, what="a port number")


def _parse_rate(var: str, raw: str) -> float:
    return _parse_number(var, raw, 0, 10_000, kind=float, what="messages per second (0 = no limit)")


def _parse_timezone(var: str, raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{var}: unknown time zone {raw!r} (e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura)"
        ) from None
    return raw


def _parse_database_url(var: str, raw: str) -> str:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise SettingsError(
            f"{var}: not a database URL: expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB"
        ) from None
    if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise SettingsError(
            f"{var}: driver {url.drivername!r} is not supported; use sqlite+aiosqlite or postgresql+asyncpg"
        )
    return raw


def _parse_languages(var: str, raw: str) -> tuple[str, ...]:
    langs = tuple(dict.fromkeys(x.strip().lower() for x in raw.split(",") if x.strip()))
    bad = [x for x in langs if x not in SUPPORTED_LANGUAGES]
    if not langs or bad:
        raise SettingsError(f"{var}: expected a comma list of {', '.join(SUPPORTED_LANGUAGES)}, got {raw!r}")
    if langs[0] != "id" and "id" not in langs:
        raise SettingsError(f"{var}: 'id' (Bahasa Indonesia) is the source language and must be listed, got {raw!r}")
    return langs


def _parse_http_url(var: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{var}: expected an http(s):// URL, got {raw!r}")
    return raw


def _parse_https_url(var: str, raw: str) -> str:
    _parse_http_url(var, raw)
    if not raw.startswith("https://"):
        raise SettingsError(f"{var}: Telegram only delivers webhooks to https:// URLs")
    return raw


def _parse_token(var: str, raw: str) -> str:
    head, sep, tail = raw.partition(":")
    if not (sep and head.isdigit() and tail):
        # never echo the value: it is a secret
        raise SettingsError(f"{var}: does not look like a bot token from @BotFather (digits:letters)")
    return raw


def _parse_secret(var: str, raw: str) -> str:
    ok = 1 <= len(raw) <= 256 and all(c.isalnum() or c in "_-" for c in raw)
    if not ok:
        raise SettingsError(f"{var}: must be 1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)")
    return raw


def _parse_opaque_secret(var: str, raw: str) -> str:
    if not 8 <= len(raw) <= 2048 or any(c.isspace() for c in raw):
        # never echo the value: it is a secret
        raise SettingsError(f"{var}: expected 8-2048 characters without spaces")
    return raw


def _parse_networks(var: str, raw: str) -> tuple[str, ...]:
    nets = tuple(p.strip() for p in raw.split(",") if p.strip())
    for net in nets:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise SettingsError(f"{var}: expected addresses or networks (10.0.0.1, 10.0.0.0/8), got {net!r}") from None
    return nets


def _per(low: int, high: int) -> Callable[[str, str], int]:
    return lambda var, raw: _parse_number(var, raw, low, high)


def _parse_digits(var: str, raw: str) -> str:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 32):
        raise SettingsError(f"{var}: expected the numeric id from the WhatsApp Manager / App Dashboard, got {raw!r}")
    return raw


def _parse_template_name(var: str, raw: str) -> str:
    if not (1 <= len(raw) <= 512 and all(c.islower() or c.isdigit() or c == "_" for c in raw) and raw.isascii()):
        raise SettingsError(f"{var}: a WhatsApp template name has only a-z, 0-9 and _, got {raw!r}")
    return raw


def _parse_template_language(var: str, raw: str) -> str:
    head, sep, tail = raw.partition("_")
    ok = (
        raw.isascii()
        and 2 <= len(head) <= 3
        and head.isalpha()
        and head.islower()
        and (not sep or (len(tail) == 2 and tail.isupper()))
    )
    if not ok:
        raise SettingsError(f"{var}: expected a template language code such as id, en or en_US, got {raw!r}")
    return raw


def _parse_bot_username(var: str, raw: str) -> str:
    name = raw.strip().lstrip("@")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", name):
        raise SettingsError(f"{var}: expected a Telegram bot username like kanal_sukamaju_bot, got {raw!r}")
    return name


def _parse_path(var: str, raw: str) -> str:
    if not Path(raw).is_file():
        raise SettingsError(f"{var}: file not found: {raw}")
    return raw


def _parse_bool(var: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on", "ya"):
        return True
    if low in ("0", "false", "no", "off", "tidak"):
        return False
    raise SettingsError(f"{var}: expected true/false, got {raw!r}")


def _parse_choice(var: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise SettingsError(f"{var}: expected {' or '.join(allowed)}, got {raw!r}")
    return raw


def _parse_send_template(var: str, raw: str) -> str:
    # never echo the value: it holds the provider's credentials
    if not raw.startswith(("https://", "http://")) or "{to}" not in raw or "{text}" not in raw:
        raise SettingsError(f"{var}: expected an http(s) URL containing {{to}} and {{text}}")
    return raw


def _identity(var: str, raw: str) -> str:
    return raw


def _parse_clock_time(var: str, raw: str) -> str:
    hh, sep, mm = raw.strip().partition(":")
    ok = sep and hh.isdecimal() and mm.isdecimal() and len(mm) == 2 and 0 <= int(hh) <= 23 and 0 <= int(mm) <= 59
    if not ok:
        raise SettingsError(f"{var}: expected a local time HH:MM (00:00-23:59), got {raw!r}")
    return f"{int(hh):02d}:{mm}"


def _parse_event_loop(var: str, raw: str) -> str:
    low = raw.strip().lower()
    if low not in ("uvloop", "asyncio"):
        raise SettingsError(f"{var}: expected uvloop or asyncio, got {raw!r}")
    return low


def _opt(
    name: str,
    parse: Callable[[str, str], Any],
    default: Any = None,
    *,
    secret: bool = False,
    doc: str = "",
    show: Callable[[Any], str] | None = None,
):
    """A setting: ``secret`` ones are masked wherever shown and redacted from logs; ``show`` renders
    a value that holds a secret inside it (a database URL's password) for ``kanal config``."""
    return field(
        default=default,
        repr=not secret and show is None,
        metadata={"env": f"KANAL_{name}", "parse": parse, "secret": secret, "doc": doc, "show": show},
    )


def database_password(url: str | None) -> str | None:
    """The password inside a database URL (a secret to redact from logs), or None."""
    if not url:
        return None
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def masked_database_url(url: str) -> str:
    """``url`` with its password shown as ``***``."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class Settings:
    database_url: str = _opt(
        "DATABASE_URL",
        _parse_database_url,
        None,
        doc="SQLAlchemy async URL; default ./kanal.sqlite3",
        show=masked_database_url,
    )
    http_host: str = _opt("HTTP_HOST", _identity, "127.0.0.1", doc="address the HTTP server binds")
    http_port: int = _opt("HTTP_PORT", _parse_port, 8080, doc="port of web chat, webhooks and /healthz")
    timezone: str = _opt("TIMEZONE", _parse_timezone, "Asia/Jakarta", doc="the region's time zone (WIB/WITA/WIT)")
    region_file: str | None = _opt("REGION_FILE", _parse_path, None, doc="region TOML; default the bundled demo region")
    languages: tuple[str, ...] = _opt(
        "LANGUAGES", _parse_languages, ("id", "en"), doc="languages offered, first is default"
    )
    telegram_token: str | None = _opt(
        "TELEGRAM_TOKEN", _parse_token, None, secret=True, doc="bot token; Telegram is off without it"
    )
    telegram_base_url: str = _opt(
        "TELEGRAM_BASE_URL", _parse_http_url, DEFAULT_TELEGRAM_BASE_URL, doc="PTB base_url (token appended)"
    )
    telegram_webhook_url: str | None = _opt(
        "TELEGRAM_WEBHOOK_URL", _parse_https_url, None, doc="public https URL of /webhooks/telegram; polling when unset"
    )
    telegram_webhook_secret: str | None = _opt(
        "TELEGRAM_WEBHOOK_SECRET", _parse_secret, None, secret=True, doc="secret_token checked on every webhook call"
    )
    telegram_bot_username: str | None = _opt(
        "TELEGRAM_BOT_USERNAME", _parse_bot_username, None, doc="the bot's @username, for printed QR links (kanal qr)"
    )
    telegram_global_rate: float = _opt(
        "TELEGRAM_GLOBAL_RATE",
        _parse_rate,
        29.0,
        doc="messages/s per bot (Telegram allows ~30); 0 = no limit, e.g. a local Bot API server",
    )
    telegram_chat_rate: float = _opt(
        "TELEGRAM_CHAT_RATE", _parse_rate, 1.0, doc="messages/s per chat, sustained (bursts of 3); 0 = no limit"
    )
    whatsapp_token: str | None = _opt(
        "WHATSAPP_TOKEN",
        _parse_opaque_secret,
        None,
        secret=True,
        doc="Cloud API access token (system user); WhatsApp is off without it",
    )
    whatsapp_phone_number_id: str | None = _opt(
        "WHATSAPP_PHONE_NUMBER_ID", _parse_digits, None, doc="the business phone number id messages are sent from"
    )
    whatsapp_app_secret: str | None = _opt(
        "WHATSAPP_APP_SECRET",
        _parse_opaque_secret,
        None,
        secret=True,
        doc="Meta app secret; webhook bodies are verified with it (X-Hub-Signature-256)",
    )
    whatsapp_verify_token: str | None = _opt(
        "WHATSAPP_VERIFY_TOKEN",
        _parse_opaque_secret,
        None,
        secret=True,
        doc="verify token you typed in the App Dashboard for /webhooks/whatsapp",
    )
    whatsapp_api_base_url: str = _opt(
        "WHATSAPP_API_BASE_URL",
        _parse_http_url,
        DEFAULT_WHATSAPP_API_BASE_URL,
        doc="Graph API base URL with its pinned version",
    )
    whatsapp_template_notice: str | None = _opt(
        "WHATSAPP_TEMPLATE_NOTICE",
        _parse_template_name,
        None,
        doc="approved template (one body parameter) for notifications outside the 24-hour window",
    )
    whatsapp_template_language: str = _opt(
        "WHATSAPP_TEMPLATE_LANGUAGE",
        _parse_template_language,
        "id",
        doc="language code the notice template was approved in",
    )
    whatsapp_global_rate: float = _opt(
        "WHATSAPP_GLOBAL_RATE",
        _parse_rate,
        80.0,
        doc="messages/s per business number (Cloud API default throughput 80); 0 = no limit",
    )
    whatsapp_user_rate: float = _opt(
        "WHATSAPP_USER_RATE",
        _parse_rate,
        0.1667,
        doc="messages/s per person, sustained (Meta's pair limit: 1 per 6 s); 0 = no limit",
    )
    whatsapp_user_burst: int = _opt(
        "WHATSAPP_USER_BURST",
        lambda v, r: _parse_number(v, r, 1, 45),
        30,
        doc="messages to one person in a burst before the sustained rate applies (Meta tolerates 45)",
    )
    sms_transport: str | None = _opt(
        "SMS_TRANSPORT",
        lambda v, r: _parse_choice(v, r, ("android", "aggregator")),
        None,
        doc="android (an Android phone with SMS Gateway for Android) or aggregator (an HTTP SMS provider); "
        "SMS is off when unset",
    )
    sms_webhook_secret: str | None = _opt(
        "SMS_WEBHOOK_SECRET",
        _parse_opaque_secret,
        None,
        secret=True,
        doc="android: the app's webhook signing key; aggregator: the token in the webhook URL (?token=)",
    )
    sms_gateway_url: str | None = _opt(
        "SMS_GATEWAY_URL", _parse_http_url, None, doc="android: the phone's local server, e.g. http://192.168.1.20:8080"
    )
    sms_gateway_user: str = _opt("SMS_GATEWAY_USER", _identity, "sms", doc="android: the local server's username")
    sms_gateway_password: str | None = _opt(
        "SMS_GATEWAY_PASSWORD", _parse_opaque_secret, None, secret=True, doc="android: the local server's password"
    )
    sms_aggregator_send_url: str | None = _opt(
        "SMS_AGGREGATOR_SEND_URL",
        _parse_send_template,
        None,
        secret=True,
        doc="aggregator: send URL with {to}, {text} (and {ref}) and the provider's credentials",
    )
    sms_aggregator_method: str = _opt(
        "SMS_AGGREGATOR_METHOD",
        lambda v, r: _parse_choice(v, r.upper(), ("GET", "POST")),
        "GET",
        doc="aggregator: GET, or POST (the URL's query sent as a form)",
    )
    sms_aggregator_id_field: str = _opt(
        "SMS_AGGREGATOR_ID_FIELD", _identity, "message_id", doc="aggregator: the message id in the send answer (a.b.0)"
    )
    sms_aggregator_fields: str = _opt(
        "SMS_AGGREGATOR_FIELDS",
        _identity,
        "sender=msisdn,text=message,id=id,time=time,report_id=message_id,status=status,reason=reason",
        doc="aggregator: the field names of its inbound SMS and delivery reports",
    )
    sms_rate: float = _opt(
        "SMS_RATE", _parse_rate, 0.5, doc="SMS per second through the gateway (a phone: 0.5 at most); 0 = no limit"
    )
    sms_daily_cap: int = _opt(
        "SMS_DAILY_CAP",
        lambda v, r: _parse_number(v, r, 0, 10_000),
        100,
        doc="segments of replies per person per day (then one notice; an SKM and a complaint take about 50); "
        "0 = no cap",
    )
    sms_segment_price: float = _opt(
        "SMS_SEGMENT_PRICE",
        lambda v, r: _parse_number(v, r, 0, 100_000, kind=float, what="rupiah"),
        350.0,
        doc="rupiah per SMS segment, for the month's cost estimate in /kinerja and the digest",
    )
    sms_country_code: str = _opt(
        "SMS_COUNTRY_CODE",
        lambda v, r: str(_parse_number(v, r, 1, 999)),
        "62",
        doc="country code of numbers written 08…",
    )
    turn_batch: int = _opt(
        "TURN_BATCH",
        lambda v, r: _parse_number(v, r, 1, 500),
        64,
        doc="group commit: at most this many people's waiting turns share one transaction; "
        "1 = one transaction per turn",
    )
    turn_workers: int = _opt(
        "TURN_WORKERS",
        lambda v, r: _parse_number(v, r, 0, 16),
        0,
        doc="group commit: transactions of turns running at once; 0 = 2 on PostgreSQL (one batch's work "
        "while another waits for the server), 1 on SQLite (one writer)",
    )
    webchat_enabled: bool = _opt("WEBCHAT", _parse_bool, True, doc="serve the web chat at /")
    trusted_proxies: tuple[str, ...] = _opt(
        "TRUSTED_PROXIES",
        _parse_networks,
        (),
        doc="comma-separated addresses/networks of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (client address for limits, TLS for the Secure cookie)",
    )
    web_secret: str | None = _opt(
        "WEB_SECRET",
        _parse_opaque_secret,
        None,
        secret=True,
        doc="key that signs web chat identities; set it (the same on every instance) so an identity "
        "issued but not used yet survives a restart; default a random key per process",
    )
    web_identities_per_address: int = _opt(
        "WEB_IDENTITIES_PER_ADDRESS",
        _per(0, 1_000_000),
        300,
        doc="new web chat identities per client address per hour (an office NAT shares one); 0 = no limit",
    )
    web_identities_per_hour: int = _opt(
        "WEB_IDENTITIES_PER_HOUR", _per(0, 10_000_000), 20_000, doc="new web chat identities per hour; 0 = no limit"
    )
    web_turns_per_identity: int = _opt(
        "WEB_TURNS_PER_IDENTITY", _per(0, 100_000), 30, doc="web chat messages per minute per identity; 0 = no limit"
    )
    web_turns_per_address: int = _opt(
        "WEB_TURNS_PER_ADDRESS",
        _per(0, 10_000_000),
        1_200,
        doc="web chat messages per minute per client address; 0 = no limit",
    )
    web_turns_per_minute: int = _opt(
        "WEB_TURNS_PER_MINUTE", _per(0, 100_000_000), 30_000, doc="web chat messages per minute in all; 0 = no limit"
    )
    media_dir: str | None = _opt(
        "MEDIA_DIR",
        _identity,
        None,
        doc="folder of the photos uploaded in the web chat (never served publicly); default a media "
        "folder beside the SQLite file, ./kanal-media on PostgreSQL",
    )
    media_max_bytes: int = _opt(
        "MEDIA_MAX_BYTES", _per(10_000, 100_000_000), 10_000_000, doc="largest photo upload in bytes (web chat)"
    )
    media_max_pixels: int = _opt(
        "MEDIA_MAX_PIXELS",
        _per(10_000, 200_000_000),
        40_000_000,
        doc="largest photo upload in pixels (width x height; web chat); bigger ones are refused",
    )
    media_link_days: int = _opt(
        "MEDIA_LINK_DAYS",
        _per(1, 90),
        7,
        doc="days a staff member's link to a complaint's photo (/media/...) stays valid",
    )
    public_url: str | None = _opt(
        "PUBLIC_URL",
        _parse_http_url,
        None,
        doc="the bot's public https address (e.g. https://kanal.example.go.id); staff on Telegram and "
        "WhatsApp get a complaint's photos from other channels through it",
    )
    vapid_subject: str | None = _opt(
        "VAPID_SUBJECT",
        str,
        None,
        doc="who push services can reach about this bot's Web Push notifications (mailto:... or "
        "https://...); default: the public address, else mailto:admin@localhost",
    )
    complaints_per_day: int = _opt(
        "COMPLAINTS_PER_DAY",
        _per(0, 10_000),
        10,
        doc="complaints one person may file in 24 hours, on every channel; 0 = no limit",
    )
    similar_complaints: bool = _opt(
        "SIMILAR_COMPLAINTS",
        _parse_bool,
        True,
        doc="offer a citizen to follow a similar open complaint (same OPD, similar text, within 500 m) "
        "instead of filing it again",
    )
    complaint_notify_window: int = _opt(
        "COMPLAINT_NOTIFY_WINDOW",
        _per(0, 1440),
        10,
        doc="minutes: after a new-complaint notice to an OPD (or the coordinators), further new "
        "complaints for it within this window go out as one summary; 0 = one notice per complaint",
    )
    retention_days: int = _opt(
        "RETENTION_DAYS",
        lambda v, r: _parse_number(v, r, 30, 3650),
        730,
        doc="days after closing before a complaint is anonymised",
    )
    dedupe_hours: int = _opt(
        "DEDUPE_HOURS",
        lambda v, r: _parse_number(v, r, 25, 2160),
        192,
        doc="hours a message id is remembered against platform redeliveries (WhatsApp retries up to "
        "7 days, Telegram 24 h); older ids are pruned and a repeat of one is handled, with a warning",
    )
    outbox_keep_days: int = _opt(
        "OUTBOX_KEEP_DAYS",
        lambda v, r: _parse_number(v, r, 1, 365),
        7,
        doc="days a sent (or failed) message is kept in the outbox before the outbox_prune job deletes it",
    )
    outbox_lease_seconds: int = _opt(
        "OUTBOX_LEASE",
        _per(30, 3600),
        300,
        doc="seconds a claimed message stays with the instance that claimed it; after that another "
        "instance sends it (a crashed or killed instance's messages wait this long; a send slower than "
        "this can go out twice)",
    )
    lapor_url: str | None = _opt(
        "LAPOR_URL",
        _parse_http_url,
        None,
        doc="SP4N-LAPOR! API root (e.g. https://www.lapor.go.id); the bridge is off unless this and "
        "KANAL_LAPOR_TOKEN are set",
    )
    lapor_token: str | None = _opt(
        "LAPOR_TOKEN",
        _parse_opaque_secret,
        None,
        secret=True,
        doc="SP4N-LAPOR! access token (KEYTOKEN) issued by the LAPOR! team",
    )
    lapor_poll_minutes: int = _opt(
        "LAPOR_POLL_MINUTES",
        _per(1, 1440),
        5,
        doc="minutes between two pulls of SP4N-LAPOR! updates (the queue of pushes drains every minute)",
    )
    scheduler_enabled: bool = _opt(
        "SCHEDULER",
        _parse_bool,
        True,
        doc="run scheduled jobs (SLA reminders, auto-close, digest, retention); one instance leads",
    )
    digest_time: str = _opt(
        "DIGEST_TIME", _parse_clock_time, "07:00", doc="local time (region time zone) of the daily digest, HH:MM"
    )
    log_level: str = _opt("LOG_LEVEL", _identity, "INFO", doc="DEBUG, INFO, WARNING, ERROR")
    event_loop: str = _opt(
        "EVENT_LOOP",
        _parse_event_loop,
        "uvloop",
        doc="uvloop (less CPU per turn; asyncio where uvloop is not installed) or asyncio",
    )

    def __post_init__(self) -> None:
        if self.database_url is None:
            object.__setattr__(self, "database_url", _default_database_url())
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise SettingsError("KANAL_TELEGRAM_WEBHOOK_SECRET: required when KANAL_TELEGRAM_WEBHOOK_URL is set")
        if self.telegram_webhook_url and not self.telegram_token:
            raise SettingsError("KANAL_TELEGRAM_TOKEN: required when KANAL_TELEGRAM_WEBHOOK_URL is set")
        if self.whatsapp_token:
            for name in ("whatsapp_phone_number_id", "whatsapp_app_secret", "whatsapp_verify_token"):
                if not getattr(self, name):
                    raise SettingsError(f"KANAL_{name.upper()}: required when KANAL_WHATSAPP_TOKEN is set")
        if self.sms_transport and not self.sms_webhook_secret:
            raise SettingsError("KANAL_SMS_WEBHOOK_SECRET: required when KANAL_SMS_TRANSPORT is set")
        if self.sms_transport == "android" and not (self.sms_gateway_url and self.sms_gateway_password):
            raise SettingsError(
                "KANAL_SMS_GATEWAY_URL and KANAL_SMS_GATEWAY_PASSWORD: required for the android transport"
            )
        if self.sms_transport == "aggregator" and not self.sms_aggregator_send_url:
            raise SettingsError("KANAL_SMS_AGGREGATOR_SEND_URL: required for the aggregator transport")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError(f"KANAL_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {self.log_level!r}")

    @property
    def lapor_enabled(self) -> bool:
        """The SP4N-LAPOR! bridge runs: both its address and its token are set."""
        return bool(self.lapor_url and self.lapor_token)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def media_path(self) -> Path:
        """Where web chat uploads are kept: ``KANAL_MEDIA_DIR``, else ``media`` beside the SQLite
        file, else ``kanal-media`` in the working directory."""
        if self.media_dir:
            return Path(self.media_dir)
        if not self.is_postgres:
            database = make_url(self.database_url).database
            if database and database != ":memory:":
                return Path(database).resolve().parent / "media"
        return Path.cwd() / "kanal-media"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, config_file: str | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        file_values = _read_config_file(
            config_file or env.get("KANAL_CONFIG_FILE"), explicit=bool(config_file or env.get("KANAL_CONFIG_FILE"))
        )
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = f.metadata["env"]
            raw = env.get(var)
            if raw is None:
                raw = file_values.get(var.removeprefix("KANAL_").lower())
                if raw is not None and not isinstance(raw, str):
                    raw = (
                        ",".join(raw)
                        if isinstance(raw, list)
                        else str(raw).lower()
                        if isinstance(raw, bool)
                        else str(raw)
                    )
            if raw is None or raw == "":
                continue
            values[f.name] = f.metadata["parse"](var, raw)
        return cls(**values)

    def describe(self) -> list[tuple[str, str, str]]:
        """(variable, value shown safely, doc) for ``kanal config``; secrets are masked."""
        rows = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["secret"] and value:
                shown = "****"
            elif f.metadata["show"] and value:
                shown = f.metadata["show"](value)
            elif isinstance(value, tuple):
                shown = ",".join(value)
            else:
                shown = "" if value is None else str(value)
            rows.append((f.metadata["env"], shown, f.metadata["doc"]))
        return rows


def _read_config_file(path: str | None, *, explicit: bool) -> dict[str, Any]:
    candidate = Path(path) if path else Path.cwd() / "kanal.toml"
    if not candidate.is_file():
        if explicit:
            raise SettingsError(f"KANAL_CONFIG_FILE: file not found: {candidate}")
        return {}
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"KANAL_CONFIG_FILE: {candidate} is not valid TOML: {exc}") from None
    section = data.get("kanal", data)
    return {str(k).lower(): v for k, v in section.items()}
