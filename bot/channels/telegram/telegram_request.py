"""python-telegram-bot's HTTP layer over aiohttp instead of httpx.

:class:`AiohttpRequest` implements PTB 22's :class:`telegram.request.BaseRequest` with one shared
:class:`aiohttp.ClientSession` per instance (created in :meth:`~AiohttpRequest.initialize`, closed in
:meth:`~AiohttpRequest.shutdown`). It mirrors :class:`telegram.request.HTTPXRequest`:

* the same constructor defaults (pool of 256 connections, 5 s read/write/connect, 1 s pool,
  20 s write timeout for uploads);
* per-call timeouts: :attr:`~telegram.request.BaseRequest.DEFAULT_NONE` means "the instance default",
  a float or ``None`` overrides it;
* plain calls send their parameters as ``application/x-www-form-urlencoded`` fields (the values of
  :attr:`RequestData.json_parameters <telegram.request.RequestData.json_parameters>`), uploads as
  ``multipart/form-data`` with the other parameters as extra fields;
* a :class:`JsonRequestData` (parameters already encoded as one JSON body) is posted as it is,
  ``application/json``, which the Bot API accepts like form fields;
* answers are parsed with orjson (:meth:`~AiohttpRequest.parse_json_payload`);
* timeouts raise :class:`telegram.error.TimedOut`, every other transport failure
  :class:`telegram.error.NetworkError`.

The request URL contains the bot token, and aiohttp puts URLs into some exception messages (e.g.
``ConnectionTimeoutError("Connection timeout to host https://…/bot123:ABC/getMe")``). So errors
are re-raised *without* the aiohttp exception attached as ``__cause__`` (a logged traceback would
print it) and with the token redacted from the message.

aiohttp has no per-write timeout. Plain calls have tiny bodies, so a write cannot stall them; for
uploads the write timeout is enforced as a budget for the whole call
(``total = connect + write + read``, when all three are finite), so a stalled upload cannot hang
forever. aiohttp's ``connect`` timeout would also count the wait for a pooled connection, so the
pool is a semaphore of our own and ``pool_timeout`` bounds exactly that wait, as with httpx. Proxies
come only from :paramref:`AiohttpRequest.proxy`: aiohttp's ``trust_env``
re-reads the environment on every request, which this class avoids.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import orjson
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest", "JsonRequestData"]

# aiohttp ≥ 3.10 tells connect timeouts apart; older versions raise a plain ServerTimeoutError.
_CONNECT_TIMEOUT: Final = getattr(aiohttp, "ConnectionTimeoutError", ())
_FORM_HEADERS: Final = {"Content-Type": "application/x-www-form-urlencoded"}
_JSON_HEADERS: Final = {"Content-Type": "application/json"}
# "/bot<token>/" in API URLs and "/file/bot<token>/" in file URLs; tokens look like "123:AbC-_x".
_TOKEN_IN_URL: Final = re.compile(r"(/bot)([^/?#\s'\"]+)")


def redact(text: str, url: str) -> str:
    """``text`` with the request URL and the bot token in it replaced by placeholders."""
    text = text.replace(url, "<url>")
    match = _TOKEN_IN_URL.search(url)
    if match:
        text = text.replace(match.group(2), "<token>")
    return _TOKEN_IN_URL.sub(r"\1<token>", text)


class JsonRequestData(RequestData):
    """The parameters of one Bot API call (plain JSON values: strings, numbers, dicts of the Bot
    API's own shapes), for :meth:`telegram.request.BaseRequest.post` without building PTB objects.

    :class:`AiohttpRequest` posts :attr:`body` as it is; any other
    :class:`~telegram.request.BaseRequest` reads the same parameters as form fields from
    :attr:`json_parameters`, as for PTB's own calls.
    """

    __slots__ = ("_params", "body")

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__()
        self._params = {k: v for k, v in params.items() if v is not None}
        self.body = orjson.dumps(self._params, option=orjson.OPT_NON_STR_KEYS)

    @property
    def json_parameters(self) -> dict[str, str]:
        return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in self._params.items()}


class AiohttpRequest(BaseRequest):
    """:class:`telegram.request.BaseRequest` over one shared :class:`aiohttp.ClientSession`.

    Args:
        connection_pool_size: Maximum number of simultaneous connections. Defaults to ``256``.
        read_timeout: Seconds to wait for (each chunk of) the response; ``None`` waits forever.
            Defaults to ``5``. For ``getUpdates`` PTB passes ``read_timeout + timeout`` itself.
        write_timeout: Seconds allowed for sending a request; see the module docs for how it is
            enforced. Defaults to ``5``.
        connect_timeout: Seconds to establish a TCP (and TLS) connection. Defaults to ``5``.
        pool_timeout: Seconds to wait for a free connection from the pool. Defaults to ``1``.
        media_write_timeout: Like ``write_timeout``, for requests that upload files.
            Defaults to ``20``.
        proxy: Optional proxy URL (``http://…``) for all requests.
    """

    __slots__ = (
        "_connection_pool_size",
        "_connect_timeout",
        "_default_timeout",
        "_media_write_timeout",
        "_pool",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        # The timeout of every call that does not override one; built once, not per request.
        self._default_timeout = self._client_timeout(read_timeout, None, connect_timeout)
        # The pool: a request holds a slot from before it asks aiohttp for a connection until its
        # response is read, so aiohttp's own limit never makes it wait and pool_timeout is exact.
        # (Re)created in initialize(), so it belongs to the event loop that uses the session.
        self._pool = asyncio.Semaphore(connection_pool_size)

    @staticmethod
    def parse_json_payload(payload: bytes) -> Any:
        """The Bot API's answer, parsed with orjson (PTB invites overriding this; several times
        faster than :func:`json.loads` on a batch of updates). What orjson refuses (invalid
        UTF-8, say) goes to PTB's own parser, which replaces bad bytes or raises TelegramError."""
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            return BaseRequest.parse_json_payload(payload)

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds (see :attr:`BaseRequest.read_timeout`)."""
        return self._read_timeout

    @staticmethod
    def _client_timeout(read: float | None, upload_write: float | None, connect: float | None) -> aiohttp.ClientTimeout:
        """PTB's read/write/connect timeouts as an :class:`aiohttp.ClientTimeout`.

        ``connect`` and ``sock_connect`` bound opening a connection (the pool wait is handled by
        :meth:`do_request` itself), ``sock_read`` the wait for each chunk of the response.
        ``upload_write`` (only for uploads) becomes a ``total`` budget for the whole call.
        """
        total = None
        if upload_write is not None and connect is not None and read is not None:
            total = connect + upload_write + read
        return aiohttp.ClientTimeout(total=total, connect=connect, sock_connect=connect, sock_read=read)

    async def initialize(self) -> None:
        """Create the shared session (again, after :meth:`shutdown`)."""
        if self._session is not None and not self._session.closed:
            return
        self._pool = asyncio.Semaphore(self._connection_pool_size)
        connector = aiohttp.TCPConnector(limit=self._connection_pool_size)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._default_timeout,
            headers={"User-Agent": self.USER_AGENT},
            trust_env=False,
        )

    async def shutdown(self) -> None:
        """Close the session and its connections; calling it twice is harmless."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; returns ``(HTTP status, body)``. See :meth:`BaseRequest.do_request`."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")

        uploads = request_data is not None and request_data.contains_files
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if isinstance(request_data, JsonRequestData):
            data, headers = request_data.body, _JSON_HEADERS
        elif request_data is not None:
            if uploads:
                data = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    data.add_field(name, value)
                for name, (filename, content, mimetype) in request_data.multipart_data.items():
                    data.add_field(name, content, filename=filename, content_type=mimetype)
            else:
                fields = request_data.json_parameters
                if fields:
                    data = urlencode(fields).encode()
                    headers = _FORM_HEADERS

        if uploads or not isinstance(read_timeout, DefaultValue) or not isinstance(connect_timeout, DefaultValue):
            timeout = self._client_timeout(
                self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout,
                (self._media_write_timeout if isinstance(write_timeout, DefaultValue) else write_timeout)
                if uploads
                else None,
                self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout,
            )
        else:
            timeout = self._default_timeout

        pool = self._pool
        if pool.locked():  # every connection busy: wait at most pool_timeout for one
            wait = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
            try:
                async with asyncio.timeout(wait):
                    await pool.acquire()
            except TimeoutError:
                raise TimedOut(
                    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
                    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
                ) from None
        else:
            await pool.acquire()  # returns at once
        try:
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=self._proxy
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError/ConnectionTimeoutError too
            if isinstance(exc, _CONNECT_TIMEOUT):
                raise TimedOut(
                    "Connect timeout: no connection to the Bot API. Request was *not* sent to Telegram."
                ) from None
            raise TimedOut() from None
        except (aiohttp.ClientError, OSError) as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {redact(str(exc), url)}") from None
        except Exception as exc:  # PTB would wrap it with its repr, which may carry the URL
            raise NetworkError(
                f"Unknown error in HTTP implementation: {type(exc).__name__}: {redact(str(exc), url)}"
            ) from None
        finally:
            pool.release()
