from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def test_defaults():
    s = Settings.from_env({})
    assert (s.http_host, s.http_port, s.timezone, s.languages) == ("127.0.0.1", 8080, "Asia/Jakarta", ("id", "en"))
    assert s.database_url.startswith("sqlite+aiosqlite:///") and s.database_url.endswith("kanal.sqlite3")
    assert s.telegram_token is None and s.telegram_base_url == "https://api.telegram.org/bot"
    assert s.event_loop == "uvloop" and Settings.from_env({"KANAL_EVENT_LOOP": " AsyncIO "}).event_loop == "asyncio"


def test_the_chosen_event_loop_runs_the_bot():
    import asyncio

    from bot.cli import run_loop

    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run_loop(loop_module(), "uvloop").startswith("uvloop")
    assert run_loop(loop_module(), "asyncio").startswith("asyncio")


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"KANAL_HTTP_PORT": "delapan"}, "KANAL_HTTP_PORT"),
        ({"KANAL_HTTP_PORT": "70000"}, "KANAL_HTTP_PORT"),
        ({"KANAL_TIMEZONE": "Asia/Bandung"}, "KANAL_TIMEZONE"),
        ({"KANAL_DATABASE_URL": "mysql://root@localhost/x"}, "KANAL_DATABASE_URL"),
        ({"KANAL_DATABASE_URL": "::nonsense::"}, "KANAL_DATABASE_URL"),
        ({"KANAL_LANGUAGES": "id,fr"}, "KANAL_LANGUAGES"),
        ({"KANAL_REGION_FILE": "/no/such/file.toml"}, "KANAL_REGION_FILE"),
        ({"KANAL_TELEGRAM_TOKEN": "not-a-token"}, "KANAL_TELEGRAM_TOKEN"),
        ({"KANAL_TELEGRAM_BASE_URL": "ftp://x"}, "KANAL_TELEGRAM_BASE_URL"),
        (
            {"KANAL_TELEGRAM_TOKEN": "1:A", "KANAL_TELEGRAM_WEBHOOK_URL": "http://insecure/"},
            "KANAL_TELEGRAM_WEBHOOK_URL",
        ),
        (
            {"KANAL_TELEGRAM_TOKEN": "1:A", "KANAL_TELEGRAM_WEBHOOK_URL": "https://x.go.id/webhooks/telegram"},
            "KANAL_TELEGRAM_WEBHOOK_SECRET",
        ),
        ({"KANAL_TELEGRAM_WEBHOOK_SECRET": "has space"}, "KANAL_TELEGRAM_WEBHOOK_SECRET"),
        ({"KANAL_WEBCHAT": "maybe"}, "KANAL_WEBCHAT"),
        ({"KANAL_EVENT_LOOP": "trio"}, "KANAL_EVENT_LOOP"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_variable(env, variable):
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    message = str(err.value)
    assert message.startswith(variable + ":") and "\n" not in message


def test_secrets_never_shown():
    token = "123456:SECRET-token-value"
    s = Settings.from_env({"KANAL_TELEGRAM_TOKEN": token, "KANAL_TELEGRAM_WEBHOOK_SECRET": "s3cret-hook"})
    assert token not in repr(s) and "s3cret-hook" not in repr(s)
    shown = " ".join(v for _, v, _ in s.describe())
    assert token not in shown and "s3cret-hook" not in shown
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"KANAL_TELEGRAM_TOKEN": "SECRET-but-malformed"})
    assert "SECRET-but-malformed" not in str(err.value)


def test_toml_file_and_env_precedence(tmp_path):
    cfg = tmp_path / "kanal.toml"
    cfg.write_text('[kanal]\nhttp_port = 9000\nlanguages = ["id"]\ntimezone = "Asia/Makassar"\n')
    s = Settings.from_env({"KANAL_CONFIG_FILE": str(cfg), "KANAL_HTTP_PORT": "9100"})
    assert (s.http_port, s.languages, s.timezone) == (9100, ("id",), "Asia/Makassar")
    with pytest.raises(SettingsError, match="^KANAL_CONFIG_FILE:"):
        Settings.from_env({"KANAL_CONFIG_FILE": str(tmp_path / "missing.toml")})
