"""Several real ``kanal run`` processes on one database, for the multi-instance suite and benchmark.

Each :class:`Instance` is a child process with its own HTTP port; :func:`start_instances` starts the
first one alone (it loads the region into an empty database) and the others once it answers
``/healthz``. Nothing here knows the scenario: the caller passes the environment.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without any KANAL_ setting, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAL_")}
    env.update(overrides)
    return env


def webhook_env(database_url: str, token: str, bot_api_url: str, secret: str, **overrides: str) -> dict[str, str]:
    """:func:`base_env` for instances in Telegram webhook mode (the URL Telegram is told is never
    called: :class:`TelegramWebhooks` posts to the proxy) where many people report the same street
    lamp on purpose (no "laporan serupa" offer)."""
    return base_env(
        KANAL_DATABASE_URL=database_url,
        KANAL_TELEGRAM_TOKEN=token,
        KANAL_TELEGRAM_BASE_URL=bot_api_url,
        KANAL_TELEGRAM_WEBHOOK_URL="https://kanal.example.go.id/webhooks/telegram",
        KANAL_TELEGRAM_WEBHOOK_SECRET=secret,
        KANAL_SIMILAR_COMPLAINTS="false",
        **overrides,
    )


class TelegramWebhooks:
    """Plays Telegram's side of the webhook: POST an update until it is answered 200."""

    def __init__(self, url: str, secret: str, *, retry_every: float = 0.25, connections: int = 100) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
        self.retry_every = retry_every
        self.refused = 0  # answers other than 200 (an instance killed mid-request, a proxy error)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))

    async def deliver(self, update: dict[str, Any], timeout: float = 60.0) -> None:
        body = json.dumps(update).encode()
        deadline = time.monotonic() + timeout
        while True:
            try:
                async with self.session.post(
                    self.url, data=body, headers=self.headers, timeout=aiohttp.ClientTimeout(total=15)
                ) as resp:
                    await resp.read()
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.refused += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"update {update['update_id']} not accepted within {timeout}s")
            await asyncio.sleep(self.retry_every)

    async def close(self) -> None:
        await self.session.close()


@dataclass
class Instance:
    name: str
    port: int
    proc: asyncio.subprocess.Process
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def health(self, session: aiohttp.ClientSession, timeout: float = 2.0) -> dict[str, Any] | None:
        """The /healthz answer, None when the process does not answer."""
        try:
            async with session.get(self.url + "/healthz", timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                return await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, the database session just ends."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self, timeout: float = 20.0) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
        await self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def spawn(name: str, env: dict[str, str], cwd: Path) -> Instance:
    port = free_port()
    log = cwd / f"{name}.log"
    out = log.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--no-migrate",
        env={**env, "KANAL_HTTP_PORT": str(port)},
        cwd=str(cwd),
        stdout=out,
        stderr=asyncio.subprocess.STDOUT,
    )
    out.close()  # the child has its own copy
    return Instance(name, port, proc, log)


async def wait_healthy(instances: list[Instance], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        for inst in instances:
            while True:
                if not inst.alive:
                    raise AssertionError(f"{inst.name} exited ({inst.proc.returncode}):\n{inst.tail()}")
                health = await inst.health(session)
                if health and health.get("ok"):
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{inst.name} not healthy within {timeout}s:\n{inst.tail()}")
                await asyncio.sleep(0.2)


async def start_instances(count: int, env: dict[str, str], cwd: Path) -> list[Instance]:
    """``count`` processes; the first alone, so that one of them loads the region."""
    first = await spawn("kanal1", env, cwd)
    await wait_healthy([first])
    rest = [await spawn(f"kanal{i}", env, cwd) for i in range(2, count + 1)]
    await wait_healthy(rest)
    return [first, *rest]


async def stop_all(instances: list[Instance]) -> None:
    await asyncio.gather(*(inst.stop() for inst in instances), return_exceptions=True)


async def roles(instances: list[Instance]) -> dict[str, dict[str, Any] | None]:
    """Each instance's /healthz (None when it does not answer)."""
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(*(inst.health(session) for inst in instances))
    return {inst.name: answer for inst, answer in zip(instances, answers, strict=True)}
