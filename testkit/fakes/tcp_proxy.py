"""A small TCP proxy for fault tests: put it between the bot and a real server, then cut it off.

:class:`TcpProxy` listens on ``127.0.0.1`` (a free port) and forwards every connection to
``upstream``. :meth:`TcpProxy.outage` simulates the server going away without touching it (other
tests and agents share the real PostgreSQL): every open connection is reset and the listening
socket is closed, so new connections are refused (``ECONNREFUSED``), exactly what a client sees
when the database host is down. :meth:`TcpProxy.restore` listens again on the same port::

    async with TcpProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/test"
        ...
        await proxy.outage()     # database unreachable
        await asyncio.sleep(3)
        await proxy.restore()    # and back

``connections`` counts connections forwarded, ``dropped`` the client and upstream sockets an
outage cut (connections refused while down are refused by the kernel and not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

__all__ = ["TcpProxy"]


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self._port = port
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.dropped = 0
        self.down = False

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("TcpProxy is not started")
        return self._port

    async def start(self) -> None:
        """Listen (on the same port as before after an outage)."""
        # reuse_address: the connections cut by an outage leave TIME_WAIT entries on this port
        self._server = await asyncio.start_server(self._accept, self.host, self._port, reuse_address=True)
        self._port = self._server.sockets[0].getsockname()[1]
        self.down = False

    async def outage(self) -> None:
        """The upstream is gone: stop listening (new connections are refused) and reset every open one."""
        self.down = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self._drop_all()

    async def restore(self) -> None:
        """The upstream is back."""
        await self.start()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self._drop_all(count=False)

    async def _drop_all(self, *, count: bool = True) -> None:
        for writer in list(self._writers):
            if count and not writer.is_closing():
                self.dropped += 1
            _reset(writer)
        self._writers.clear()
        pipes = list(self._pipes)
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:  # accepted in the instant before the listener closed
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(writer)
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        a = asyncio.create_task(self._pipe(reader, up_writer))
        b = asyncio.create_task(self._pipe(up_reader, writer))
        self._pipes.update((a, b))
        try:
            await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (a, b):
                task.cancel()
            await asyncio.gather(a, b, return_exceptions=True)
            self._pipes.difference_update((a, b))
            for w in (writer, up_writer):
                self._writers.discard(w)
                with contextlib.suppress(Exception):
                    w.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a vanished host or a killed server looks to the client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(Exception):
        writer.transport.abort()
