"""A round-robin reverse proxy in front of several ``kanal run`` instances, for tests and benchmarks.

With nginx installed it is the real thing: nginx started on a throwaway config whose ``server``
includes the very routes file the deployment uses (``deploy/nginx/kanal-routes.conf``), so a test
through it tests those routes. Without nginx (or with ``use_nginx=False``) a small aiohttp proxy
stands in: one backend per request in turn, bodies and headers passed through, websockets proxied
both ways, and a backend that refuses the connection skipped for the next one (nginx's
``proxy_next_upstream error``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
ROUTES = ROOT / "deploy" / "nginx" / "kanal-routes.conf"
START_TIMEOUT = 10.0

# RFC 9110 §7.6.1: meant for one connection only, never forwarded; Content-Length is recomputed
HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Trailers",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
    )
)


@dataclass(frozen=True)
class Proxy:
    port: int
    kind: str  # "nginx" or "python"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def nginx_binary() -> str | None:
    """nginx on PATH, or Debian's /usr/sbin/nginx (not on a non-root user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def round_robin_proxy(ports: list[int], *, use_nginx: bool | None = None) -> AsyncIterator[Proxy]:
    """A proxy on 127.0.0.1 spreading requests over ``127.0.0.1:PORT`` for each of ``ports``.

    ``use_nginx``: None = nginx where installed, else the Python proxy; True = nginx or an error;
    False = the Python proxy."""
    if not ports:
        raise ValueError("round_robin_proxy needs at least one backend port")
    binary = nginx_binary() if use_nginx is not False else None
    if use_nginx and binary is None:
        raise RuntimeError("use_nginx=True but nginx is not installed (apt-get install nginx-light)")
    if binary is not None:
        async with _nginx(binary, ports) as proxy:
            yield proxy
        return
    log.info(
        "round_robin_proxy: the Python proxy stands in for nginx (%s)",
        "use_nginx=False" if use_nginx is False else "nginx is not installed",
    )
    async with _python_proxy(ports) as proxy:
        yield proxy


# ---- nginx ------------------------------------------------------------------------------------
def nginx_config(tmp: Path, ports: list[int], listen: int) -> str:
    servers = "".join(f"        server 127.0.0.1:{p};\n" for p in ports)
    temp = "".join(
        f"    {kind}_temp_path {tmp / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        "daemon off;\n"
        "worker_processes 1;\n"
        f"pid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\n"
        "events {}\n"
        "http {\n"
        "    access_log off;\n"
        f"{temp}"
        "    upstream kanal {\n"
        f"{servers}"
        "    }\n"
        "    server {\n"
        f"        listen 127.0.0.1:{listen};\n"
        f"        include {ROUTES};\n"
        "    }\n"
        "}\n"
    )


@contextlib.asynccontextmanager
async def _nginx(binary: str, ports: list[int]) -> AsyncIterator[Proxy]:
    with tempfile.TemporaryDirectory(prefix="kanal-nginx-") as name:
        tmp = Path(name)
        # run as root, nginx's workers switch to an unprivileged user that must reach the temp paths
        tmp.chmod(0o755)
        port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(nginx_config(tmp, ports, port), encoding="utf-8")
        # -e: the log for errors before the config is read (Debian's default is a system path)
        proc = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            str(conf),
            "-p",
            str(tmp),
            "-e",
            str(tmp / "error.log"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await _wait_for_port(port, proc, tmp / "error.log")
            yield Proxy(port=port, kind="nginx")
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _wait_for_port(port: int, proc: asyncio.subprocess.Process, error_log: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        if proc.returncode is not None:
            stderr = (await proc.stderr.read()).decode(errors="replace") if proc.stderr else ""
            logged = error_log.read_text(errors="replace") if error_log.exists() else ""
            raise RuntimeError(f"nginx exited with {proc.returncode}: {stderr.strip()} {logged.strip()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                proc.terminate()
                raise RuntimeError(f"nginx did not listen on port {port} within {START_TIMEOUT:.0f} s") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


# ---- the Python stand-in ----------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _python_proxy(ports: list[int]) -> AsyncIterator[Proxy]:
    turn = itertools.count()
    session = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, connect=5))

    def order() -> list[int]:
        first = next(turn) % len(ports)
        return ports[first:] + ports[:first]

    def forwarded(request: web.Request) -> CIMultiDict[str]:
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        previous = request.headers.get("X-Forwarded-For")
        client = request.remote or ""
        headers["X-Forwarded-For"] = f"{previous}, {client}" if previous else client
        headers["X-Forwarded-Proto"] = request.scheme
        return headers

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await websocket(request)
        body = await request.read()
        headers = forwarded(request)
        for port in order():
            url = f"http://127.0.0.1:{port}{request.rel_url}"
            try:
                async with session.request(
                    request.method, url, headers=headers, data=body, allow_redirects=False
                ) as upstream:
                    payload = await upstream.read()
                    out = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP)
                    return web.Response(status=upstream.status, reason=upstream.reason, headers=out, body=payload)
            except aiohttp.ClientConnectorError as exc:
                log.warning("proxy: backend 127.0.0.1:%d refused (%s); trying the next", port, type(exc).__name__)
        return web.Response(status=502, text="no backend answered")

    async def websocket(request: web.Request) -> web.StreamResponse:
        headers = forwarded(request)
        for name in list(headers):
            if name.lower().startswith("sec-websocket-"):
                del headers[name]
        protocols = tuple(p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip())
        for port in order():
            url = f"http://127.0.0.1:{port}{request.rel_url}"
            try:
                upstream = await session.ws_connect(url, headers=headers, protocols=protocols, autoping=False)
            except aiohttp.ClientConnectorError as exc:
                log.warning("proxy: backend 127.0.0.1:%d refused (%s); trying the next", port, type(exc).__name__)
                continue
            except aiohttp.WSServerHandshakeError as exc:
                return web.Response(status=exc.status, text=exc.message)
            client = web.WebSocketResponse(protocols=protocols, autoping=False)
            await client.prepare(request)
            await _pump_both(client, upstream)
            return client
        return web.Response(status=502, text="no backend answered")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Proxy(port=port, kind="python")
    finally:
        await runner.cleanup()
        await session.close()


async def _pump_both(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Frames both ways until one side closes; the other is then closed with the same code."""

    async def pump(source, sink) -> None:  # noqa: ANN001 - the client and server socket types differ
        async for msg in source:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await sink.send_str(msg.data)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await sink.send_bytes(msg.data)
            elif msg.type == aiohttp.WSMsgType.PING:
                await sink.ping(msg.data)
            elif msg.type == aiohttp.WSMsgType.PONG:
                await sink.pong(msg.data)
            else:
                break
        await sink.close(code=source.close_code or aiohttp.WSCloseCode.OK)

    tasks = [asyncio.ensure_future(pump(client, upstream)), asyncio.ensure_future(pump(upstream, client))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream.close()
        await client.close()
