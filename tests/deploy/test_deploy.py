"""The deployment files (deploy/) and the round-robin proxy the scale-out tests run behind.

nginx checks the real config and serves the real routes file where it is installed (`.ci/run`
installs nginx-light); Docker Compose only validates the compose file (no Docker engine here).
Through both proxy kinds, two tiny aiohttp backends stand in for two `kanal run` instances.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from testkit.proxy import ROUTES, nginx_binary, round_robin_proxy

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = nginx_binary()
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")


# ---- static checks of deploy/ ----------------------------------------------------------------
def _top_level_statements(text: str) -> list[str]:
    """The statements of an nginx file outside any block (comments dropped)."""
    depth, statements, current = 0, [], ""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        for ch in line:
            if depth == 0 and ch not in "{};":
                current += ch
            if ch == "{":
                if depth == 0:
                    statements.append(current.strip())
                    current = ""
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == ";" and depth == 0:
                statements.append(current.strip())
                current = ""
        current += " " if depth == 0 and current else ""
    assert depth == 0, "unbalanced braces"
    return [s for s in statements if s]


def test_routes_file_holds_only_location_blocks_to_the_upstream() -> None:
    text = ROUTES.read_text(encoding="utf-8")
    statements = _top_level_statements(text)
    assert statements and all(s.startswith("location ") for s in statements), statements
    assert {"location /webhooks/", "location = /ws", "location = /healthz", "location /"} <= set(statements)
    assert text.count("proxy_pass http://kanal;") == len(statements)
    ws = text[text.index("location = /ws") :].split("}", 1)[0]
    assert "proxy_set_header Upgrade $http_upgrade;" in ws and 'proxy_set_header Connection "upgrade";' in ws
    assert "proxy_read_timeout 1h;" in ws


@needs_nginx
def test_nginx_accepts_the_production_config(tmp_path: Path) -> None:
    """`nginx -t` on deploy/nginx/kanal.conf with a throwaway certificate; the compose host names
    (which do not resolve here) replaced by 127.0.0.1 in a copy."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kanal.test"]
        + ["-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
        check=True,
        capture_output=True,
    )
    conf = (DEPLOY / "nginx" / "kanal.conf").read_text(encoding="utf-8")
    copy, hosts = re.subn(r"server kanal(\d+):8080", r"server 127.0.0.1:808\1", conf)
    assert hosts == 3
    copy = copy.replace("/etc/nginx/certs/", f"{tmp_path}/").replace("/etc/nginx/kanal-routes.conf", str(ROUTES))
    directives = "\n".join(line.split("#", 1)[0] for line in copy.splitlines())
    assert "kanal1" not in directives and "/etc/nginx" not in directives
    (tmp_path / "kanal.conf").write_text(copy, encoding="utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    client_body_temp_path {tmp_path}/body;\n    proxy_temp_path {tmp_path}/proxy;\n"
        f"    include {tmp_path}/kanal.conf;\n}}\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [NGINX, "-t", "-c", str(main), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    assert "syntax is ok" in run.stderr and "test is successful" in run.stderr


def _docker_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _docker_compose(), reason="`docker compose version` does not work here (no Compose v2)")
def test_compose_file_validates(tmp_path: Path) -> None:
    """`docker compose config -q`: needs no engine. A copy with kanal.env made from the example."""
    deploy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, deploy)
    shutil.copy(deploy / "kanal.env.example", deploy / "kanal.env")
    env = {**os.environ, "POSTGRES_PASSWORD": "test-only"}
    run = subprocess.run(
        ["docker", "compose", "-f", str(deploy / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    services = subprocess.run(
        ["docker", "compose", "-f", str(deploy / "compose.yaml"), "config", "--services"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    ).stdout.split()
    assert set(services) == {"postgres", "migrate", "kanal1", "kanal2", "kanal3", "nginx"}


# ---- through the proxy -------------------------------------------------------------------------
class Backend:
    """A stand-in for one `kanal run` instance: says who answered and what it received."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application(client_max_size=4_000_000)
        app.add_routes(
            [
                web.get("/healthz", self.who),
                web.get("/who", self.who),
                web.post("/webhooks/telegram", self.webhook),
                web.get("/ws", self.ws),
            ]
        )
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def who(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "backend": self.name,
                "host": request.host,
                "forwarded_for": request.headers.get("X-Forwarded-For"),
                "forwarded_proto": request.headers.get("X-Forwarded-Proto"),
            }
        )

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "backend": self.name,
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "content_type": request.content_type,
                "secret": request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
            },
            status=200,
            headers={"X-Backend": self.name},
        )

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(f"hello from {self.name}")  # the server speaks first, as the web chat does
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"{self.name}: {msg.data}")
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
        return ws


@pytest.fixture
async def backends():
    pair = [Backend("a"), Backend("b")]
    for backend in pair:
        await backend.start()
    yield pair
    for backend in pair:
        await backend.stop()


KINDS = [pytest.param("nginx", marks=needs_nginx), "python"]


@pytest.mark.parametrize("kind", KINDS)
async def test_requests_alternate_and_keep_host_and_client(kind: str, backends: list[Backend]) -> None:
    async with round_robin_proxy([b.port for b in backends], use_nginx=kind == "nginx") as proxy:
        assert proxy.kind == kind and proxy.url == f"http://127.0.0.1:{proxy.port}"
        async with aiohttp.ClientSession() as http:
            answers = []
            for _ in range(6):
                async with http.get(f"{proxy.url}/who") as resp:
                    assert resp.status == 200
                    answers.append(await resp.json())
    names = [a["backend"] for a in answers]
    assert sorted(set(names)) == ["a", "b"]
    assert all(x != y for x, y in zip(names, names[1:], strict=False)), names
    # the web chat compares Origin with Host, port included; the limits count X-Forwarded-For
    assert {a["host"] for a in answers} == {f"127.0.0.1:{proxy.port}"}
    assert {a["forwarded_for"] for a in answers} == {"127.0.0.1"}
    assert {a["forwarded_proto"] for a in answers} == {"http"}


@pytest.mark.parametrize("kind", KINDS)
async def test_websocket_is_proxied_both_ways(kind: str, backends: list[Backend]) -> None:
    async with (
        round_robin_proxy([b.port for b in backends], use_nginx=kind == "nginx") as proxy,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{proxy.url}/ws") as ws,
    ):
        hello = await ws.receive_str(timeout=10)
        assert hello in ("hello from a", "hello from b")
        name = hello.rsplit(" ", 1)[1]
        for text in ("halo", "lapor jalan rusak"):
            await ws.send_str(text)
            assert await ws.receive_str(timeout=10) == f"{name}: {text}"
        await ws.send_bytes(b"\x00\x01\x02kanal")
        assert await ws.receive_bytes(timeout=10) == b"lanak\x02\x01\x00"


@pytest.mark.parametrize("kind", KINDS)
async def test_webhook_body_arrives_intact(kind: str, backends: list[Backend]) -> None:
    body = os.urandom(300_000)  # bigger than one buffer of either proxy, smaller than the 1 MB limit
    async with (
        round_robin_proxy([b.port for b in backends], use_nginx=kind == "nginx") as proxy,
        aiohttp.ClientSession() as http,
        http.post(
            f"{proxy.url}/webhooks/telegram",
            data=body,
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
        ) as resp,
    ):
        assert resp.status == 200
        got = await resp.json()
        assert resp.headers["X-Backend"] == got["backend"]
    assert got["length"] == len(body)
    assert got["sha256"] == hashlib.sha256(body).hexdigest()
    assert got["content_type"] == "application/json"
    assert got["secret"] == "s3cret-token"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_backend_down_the_other_answers(kind: str, backends: list[Backend]) -> None:
    async with round_robin_proxy([b.port for b in backends], use_nginx=kind == "nginx") as proxy:
        await backends[1].stop()
        async with aiohttp.ClientSession() as http:
            names = []
            for _ in range(6):
                async with http.get(f"{proxy.url}/who") as resp:
                    assert resp.status == 200
                    names.append((await resp.json())["backend"])
            async with http.post(f"{proxy.url}/webhooks/telegram", data=b'{"update_id": 1}') as resp:
                assert resp.status == 200 and (await resp.json())["backend"] == "a"
            async with http.ws_connect(f"{proxy.url}/ws") as ws:
                assert await ws.receive_str(timeout=10) == "hello from a"
    assert names == ["a"] * 6


async def test_default_is_nginx_where_installed(backends: list[Backend]) -> None:
    async with round_robin_proxy([backends[0].port]) as proxy:
        assert proxy.kind == ("nginx" if NGINX else "python")
        async with aiohttp.ClientSession() as http, http.get(f"{proxy.url}/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["backend"] == "a"


async def test_python_fallback_says_why(backends: list[Backend], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="testkit.proxy"):
        async with round_robin_proxy([backends[0].port], use_nginx=False) as proxy:
            assert proxy.kind == "python"
    assert "use_nginx=False" in caplog.text


async def test_nginx_process_is_gone_after_exit(backends: list[Backend]) -> None:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    async with round_robin_proxy([backends[0].port], use_nginx=True) as proxy:
        port = proxy.port
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
