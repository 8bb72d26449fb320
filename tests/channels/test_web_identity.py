"""Web chat identities (issued and signed by the server, rotated on a role change, cookie flags),
the proxy headers it believes, and its limits."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.channels.web.web_channel import user_key_for
from bot.channels.web.web_limits import ClientAddresses, Identities, LimitConfig, WebLimits, limit_text, parse_proxies
from bot.settings import Settings, SettingsError
from storage import Repo
from storage.models import User

PROXIES = parse_proxies(["10.0.0.0/8", "127.0.0.1"])


# ---- proxy headers ----------------------------------------------------------------------------
def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    addresses = ClientAddresses(PROXIES)
    assert addresses.client("198.51.100.7", "1.2.3.4") == "198.51.100.7"  # a client writing the header itself
    assert addresses.client("10.1.2.3", "203.0.113.9") == "203.0.113.9"
    # the client's own entries come first: only the hops our proxies added count
    assert addresses.client("10.1.2.3", "6.6.6.6, 203.0.113.9, 10.0.0.5") == "203.0.113.9"
    assert addresses.client("10.1.2.3", "10.0.0.7, 10.0.0.5") == "10.0.0.7"  # all ours: the first
    assert addresses.client("10.1.2.3", "garbage, 203.0.113.9") == "203.0.113.9"
    assert addresses.client("10.1.2.3", "203.0.113.9\r\nX: y") == "10.1.2.3"  # malformed: the proxy itself
    assert addresses.client("10.1.2.3", None) == "10.1.2.3"
    assert ClientAddresses().client("10.1.2.3", "203.0.113.9") == "10.1.2.3"  # no proxies configured


def test_forwarded_proto_is_believed_only_from_a_trusted_proxy():
    addresses = ClientAddresses(PROXIES)
    assert addresses.is_tls("10.1.2.3", False, "https")
    assert addresses.is_tls("10.1.2.3", False, "HTTPS, http")
    assert not addresses.is_tls("10.1.2.3", False, "http")
    assert not addresses.is_tls("198.51.100.7", False, "https")  # anyone can write the header
    assert addresses.is_tls("198.51.100.7", True, None)  # our own TLS


def test_trusted_proxies_setting_is_checked():
    assert Settings.from_env({"KANAL_TRUSTED_PROXIES": "10.0.0.1, 172.16.0.0/12"}).trusted_proxies == (
        "10.0.0.1",
        "172.16.0.0/12",
    )
    with pytest.raises(SettingsError, match="KANAL_TRUSTED_PROXIES"):
        Settings.from_env({"KANAL_TRUSTED_PROXIES": "proxy.local"})


# ---- identities and limits --------------------------------------------------------------------
def test_identities_are_signed_by_the_server():
    ids = Identities(b"k" * 32)
    token = ids.issue()
    assert ids.signed(token) and token != ids.issue()
    assert not Identities(b"x" * 32).signed(token)  # another key
    assert not ids.signed(token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not ids.signed("A" * len(token)) and not ids.signed(None) and not ids.signed(token + "A")


def test_limits_count_per_address_per_identity_and_overall():
    limits = WebLimits(
        LimitConfig(
            identities_per_address_hour=2,
            identities_per_hour=3,
            turns_per_identity_minute=2,
            turns_per_address_minute=3,
            turns_per_minute=0,
        )
    )
    assert [limits.new_identity("a") for _ in range(3)][:2] == [0, 0]
    assert 0 < limits.new_identity("a") <= 3600
    assert limits.new_identity("b") == 0
    assert limits.new_identity("c") > 0  # 3 an hour in all
    assert [limits.turn("id1", "a") for _ in range(2)] == [0, 0]
    assert 0 < limits.turn("id1", "a") <= 60  # per identity
    assert limits.turn("id2", "a") == 0
    assert limits.turn("id3", "a") > 0  # per address: 3 a minute (the refused turn was not counted)
    assert limits.turn("id4", "b") == 0  # another address (and 0 = no overall limit)
    assert limit_text(30).startswith("Terlalu banyak") and "30 detik" in limit_text(30)
    assert "Wait 3 minutes" in limit_text(150)


# ---- over HTTP ----------------------------------------------------------------------------------
@pytest.fixture
async def app(settings):
    from bot.app import KanalApp

    application = KanalApp(Settings(**{**settings.__dict__, "trusted_proxies": ("127.0.0.1",)}))
    await application.start()
    yield application
    await application.stop()


def cookie_header(resp: aiohttp.ClientResponse) -> str:
    (header,) = resp.headers.getall("Set-Cookie")
    return header


async def test_cookie_is_host_prefixed_and_secure_when_the_proxy_says_tls(app):
    base = f"http://127.0.0.1:{app.port}"
    async with aiohttp.ClientSession() as s:
        async with s.post(base + "/session", headers={"X-Forwarded-Proto": "https"}) as resp:
            assert resp.status == 204
            header = cookie_header(resp)
        assert header.startswith("__Host-kanal_web=")
        for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
            assert flag in header
        assert "Domain" not in header
        async with s.post(base + "/session") as resp:  # plain HTTP (development)
            header = cookie_header(resp)
        assert header.startswith("kanal_web=") and "Secure" not in header and "HttpOnly" in header


async def test_tls_header_from_an_untrusted_peer_is_ignored(web_app):
    url = f"http://127.0.0.1:{web_app.port}/session"
    async with aiohttp.ClientSession() as s, s.post(url, headers={"X-Forwarded-Proto": "https"}) as resp:
        header = cookie_header(resp)
    assert header.startswith("kanal_web=") and "Secure" not in header


async def test_a_client_chosen_cookie_is_not_an_identity(app):
    base = f"http://127.0.0.1:{app.port}"
    chosen = "A" * 54  # the right shape, not signed by the server
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        s.cookie_jar.update_cookies({"kanal_web": chosen})
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await s.ws_connect(base + "/ws")
        assert err.value.status == 401
        async with s.post(base + "/session") as resp:
            assert resp.status == 204
            issued = resp.cookies["kanal_web"].value
        assert issued != chosen
        ws = await s.ws_connect(base + "/ws")
        await ws.close()
        with pytest.raises(aiohttp.ClientResponseError):
            async with s.post(base + "/session", headers={"Origin": "https://evil.example"}) as resp:
                resp.raise_for_status()


async def receive(ws: aiohttp.ClientWebSocketResponse, kind: str, needle: str = "") -> dict:
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        if frame["type"] == kind and needle in (frame.get("text") or ""):
            return frame


async def test_identity_is_rotated_when_the_role_changes(app):
    base = f"http://127.0.0.1:{app.port}"
    async with app.db.unit_of_work() as uow:
        Repo(uow.session).create_invite(
            code="ABCD-EFGH-JKLM", role="officer", opd_code="PUPR", now=app.clock.now(), valid_for=timedelta(days=7)
        )
        await uow.commit()
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as s:
        async with s.post(base + "/session") as resp:
            old = resp.cookies["kanal_web"].value
        ws = await s.ws_connect(base + "/ws")
        await ws.send_json({"type": "hello", "start": None, "last_seen": 0})
        await receive(ws, "message", "UU No. 27/2022")
        await ws.send_json({"type": "choice", "id": "c1", "value": "consent:yes", "label": "ok"})
        await receive(ws, "ack")
        await ws.send_json({"type": "text", "id": "j1", "text": "/gabung ABCD-EFGH-JKLM"})
        await receive(ws, "ack")
        await receive(ws, "rotate")
        assert (await asyncio.wait_for(ws.receive(), 5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        async with s.post(base + "/session") as resp:  # what the page does on reconnect
            assert resp.status == 204
            new = resp.cookies["kanal_web"].value
        assert new != old
        ws = await s.ws_connect(base + "/ws")
        await ws.send_json({"type": "hello", "start": None, "last_seen": 0})
        await receive(ws, "message", "terdaftar sebagai petugas")  # the history moved with the person
        await ws.send_json({"type": "text", "id": "q1", "text": "/antrian"})
        await receive(ws, "message", "Tidak ada pengaduan terbuka")
        await ws.close()
    async with app.db.unit_of_work() as uow:
        roles = dict((await uow.session.execute(select(User.external_id, User.role))).all())
    assert roles == {user_key_for(new): "officer"}  # nothing left under the old cookie
    # the old cookie is worth nothing more than a new visitor's
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        s.cookie_jar.update_cookies({"kanal_web": old})
        ws = await s.ws_connect(base + "/ws")
        await ws.send_json({"type": "hello", "start": None, "last_seen": 0})
        await receive(ws, "message", "UU No. 27/2022")
        await ws.close()


async def test_an_unsigned_cookie_of_a_stored_person_is_replaced_by_a_signed_one(app):
    base = f"http://127.0.0.1:{app.port}"
    legacy = "L" * 43  # a cookie from before identities were signed (the client could choose it)
    async with app.db.unit_of_work() as uow:
        await uow.users.get_or_create_user("web", user_key_for(legacy), app.clock.now())
        await uow.commit()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        s.cookie_jar.update_cookies({"kanal_web": legacy})
        async with s.post(base + "/session") as resp:
            assert resp.status == 204
            fresh = resp.cookies["kanal_web"].value
    assert fresh != legacy
    async with app.db.unit_of_work() as uow:
        keys = (await uow.session.execute(select(User.external_id))).scalars().all()
    assert keys == [user_key_for(fresh)]  # the same person, under the new identity
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        s.cookie_jar.update_cookies({"kanal_web": legacy})
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await s.ws_connect(base + "/ws")
        assert err.value.status == 401  # the old one is dead
