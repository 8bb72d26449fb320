"""Telegram's small Bot API calls in a second process, so that sending uses the second CPU core.

At full speed (a local Bot API server, no rate limits) an HTTP call through aiohttp costs the bot
about as much CPU as the database work of a turn, and a button press needs two of them
(``answerCallbackQuery`` and the reply). :class:`ProcessRequest` is a PTB
:class:`~telegram.request.BaseRequest` that hands every call whose parameters are already one JSON
body (:class:`~bot.channels.telegram.telegram_request.JsonRequestData`: ``sendMessage``,
``answerCallbackQuery``) to a child process (``python -m bot.channels.telegram.http_process``), which posts
it with its own :class:`~bot.channels.telegram.telegram_request.AiohttpRequest` and returns the HTTP status
and body. Everything else (uploads, PTB's own calls) goes through the in-process request as before.
PTB still maps the answers to its errors (RetryAfter, Forbidden, …) in this process, exactly as
with :class:`~bot.channels.telegram.telegram_request.AiohttpRequest` alone.

The two processes speak over the child's stdin/stdout in length-prefixed frames:

* call: ``<IHI`` (call id, URL length, body length), the URL, the JSON body;
* answer: ``<IBHI`` (call id, kind, HTTP status, length), then the response body (kind 0) or an
  error message (kind 1: timed out, kind 2: network error), already without the token.

The URL carries the bot token, so it travels only through the pipe, never on a command line or in
the environment, and the child never logs a URL. If the child dies, its calls in flight fail as
:class:`telegram.error.NetworkError` (the outbox retries them) and the next call starts a new one.
When the bot stops (or is killed), the child reads end-of-file, finishes the calls it holds and
exits.

Turned on by ``KANAL_TELEGRAM_HTTP_PROCESS`` (see :mod:`bot.settings`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import struct
import sys
from typing import Any

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.channels.telegram.telegram_request import AiohttpRequest, JsonRequestData

log = logging.getLogger(__name__)

CALL = struct.Struct("<IHI")
ANSWER = struct.Struct("<IBHI")
OK, TIMED_OUT, NETWORK_ERROR = 0, 1, 2
#: An answer that has not come back after this many seconds fails the call (the child's own
#: timeouts end every call long before; this only guards against a child that hangs).
CALL_DEADLINE = 60.0


class ProcessRequest(BaseRequest):
    """:class:`~telegram.request.BaseRequest` that posts JSON-body calls from a child process and
    everything else through ``inner`` (an :class:`AiohttpRequest` by default)."""

    __slots__ = ("_child", "_ids", "_inner", "_pending", "_reader_task", "_starting", "_closed", "calls")

    def __init__(self, inner: BaseRequest | None = None) -> None:
        self._inner = inner or AiohttpRequest(connection_pool_size=256)
        self._child: asyncio.subprocess.Process | None = None
        self._reader_task: asyncio.Task | None = None
        self._starting: asyncio.Lock | None = None
        self._pending: dict[int, tuple[asyncio.Future, asyncio.TimerHandle]] = {}
        self._ids = itertools.count(1)
        self._closed = True
        #: calls handed to the child so far
        self.calls = 0

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    parse_json_payload = staticmethod(AiohttpRequest.parse_json_payload)

    async def initialize(self) -> None:
        await self._inner.initialize()
        self._closed = False
        self._starting = asyncio.Lock()
        await self._ensure_child()

    async def shutdown(self) -> None:
        """Let the child finish what it holds (end of its input), then stop it; calling it twice
        is harmless."""
        self._closed = True
        child, self._child = self._child, None
        if child is not None and child.returncode is None:
            try:
                child.stdin.close()
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                child.kill()
                await child.wait()
            except (ConnectionError, OSError):
                pass
        if self._reader_task is not None:
            await asyncio.gather(self._reader_task, return_exceptions=True)
            self._reader_task = None
        self._fail_pending("the HTTP process stopped")
        await self._inner.shutdown()

    def _live_child(self) -> asyncio.subprocess.Process | None:
        """The child, while it runs and its answers are read."""
        child = self._child
        if (
            child is not None
            and child.returncode is None
            and self._reader_task is not None
            and not self._reader_task.done()
        ):
            return child
        return None

    async def _ensure_child(self) -> asyncio.subprocess.Process:
        child = self._live_child()
        if child is not None:
            return child
        assert self._starting is not None
        async with self._starting:  # one start, however many calls find the child gone
            child = self._live_child()
            if child is not None:
                return child
            child = self._child
            if child is not None:
                log.warning("telegram HTTP process ended (exit code %s); starting a new one", child.returncode)
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.channels.telegram.http_process",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**24,
            )
            self._child = child
            self._reader_task = asyncio.create_task(self._read_answers(child))
            return child

    async def _read_answers(self, child: asyncio.subprocess.Process) -> None:
        stdout = child.stdout
        assert stdout is not None
        try:
            while True:
                head = await stdout.readexactly(ANSWER.size)
                call_id, kind, status, length = ANSWER.unpack(head)
                payload = await stdout.readexactly(length) if length else b""
                entry = self._pending.pop(call_id, None)
                if entry is None:  # expired already
                    continue
                future, timer = entry
                timer.cancel()
                if future.done():
                    continue
                if kind == OK:
                    future.set_result((status, payload))
                elif kind == TIMED_OUT:
                    future.set_exception(TimedOut(payload.decode("utf-8", "replace") or None))
                else:
                    future.set_exception(NetworkError(payload.decode("utf-8", "replace")))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            # the child is gone (or its output broken): nothing more will answer these calls
            self._fail_pending("the HTTP process ended")
            if child.returncode is None:
                child.kill()

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for future, timer in pending.values():
            timer.cancel()
            if not future.done():
                future.set_exception(NetworkError(f"{why}; the call may not have been sent"))

    def _expire(self, call_id: int) -> None:
        entry = self._pending.pop(call_id, None)
        if entry is not None and not entry[0].done():
            entry[0].set_exception(TimedOut("no answer from the HTTP process"))

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._closed or method != "POST" or type(request_data) is not JsonRequestData:
            return await self._inner.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        child = await self._ensure_child()
        call_id = next(self._ids) & 0xFFFFFFFF
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending[call_id] = (future, loop.call_later(CALL_DEADLINE, self._expire, call_id))
        encoded = url.encode()
        body = request_data.body
        try:
            child.stdin.write(CALL.pack(call_id, len(encoded), len(body)) + encoded + body)
        except (ConnectionError, OSError, RuntimeError):
            self._pending.pop(call_id, (None, None))[1].cancel()
            raise NetworkError("the HTTP process is gone; the call was not sent") from None
        self.calls += 1
        return await future


# ---- the child ------------------------------------------------------------------------------
async def _serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0))
    out_fd = os.dup(1)
    os.dup2(2, 1)  # a stray print() goes to stderr, never into the answers
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    request = AiohttpRequest(connection_pool_size=256)
    await request.initialize()
    calls: set[asyncio.Task] = set()

    async def one(call_id: int, url: str, body: bytes) -> None:
        try:
            status, payload = await request.do_request(url, "POST", JsonRequestData.encoded(body))
            kind = OK
        except TimedOut as exc:
            kind, status, payload = TIMED_OUT, 0, str(exc.message).encode()
        except NetworkError as exc:
            kind, status, payload = NETWORK_ERROR, 0, str(exc.message).encode()
        except Exception as exc:  # never the URL: the type only
            kind, status, payload = NETWORK_ERROR, 0, f"HTTP process: {type(exc).__name__}".encode()
        writer.write(ANSWER.pack(call_id, kind, status, len(payload)) + payload)
        if transport.get_write_buffer_size() > 1 << 20:
            await writer.drain()

    try:
        while True:
            try:
                head = await reader.readexactly(CALL.size)
                call_id, url_length, body_length = CALL.unpack(head)
                url = (await reader.readexactly(url_length)).decode()
                body = await reader.readexactly(body_length)
            except asyncio.IncompleteReadError:
                break  # the bot closed our input (or died): finish what we hold, then stop
            task = asyncio.ensure_future(one(call_id, url, body))
            calls.add(task)
            task.add_done_callback(calls.discard)
        if calls:
            await asyncio.wait(calls, timeout=30)
    finally:
        await request.shutdown()
        try:
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        transport.close()


def main() -> int:
    from bot.cli import run_loop

    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Ctrl-C reaches the whole process group: the bot stops us in order (end of input) instead
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run_loop(_serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
