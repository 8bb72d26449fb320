"""``GET /media/<token>``: a complaint's photo for the staff who may see it, fetched from the channel
that holds it (Telegram ``getFile`` against the fake Bot API, WhatsApp's media URL against the fake
Graph API), and refused to everyone else."""

from __future__ import annotations

import io
from datetime import timedelta

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import select

from bot.channels.whatsapp.whatsapp_channel import WhatsAppChannel
from bot.domain.clock import SystemClock
from bot.domain.media_links import MediaLinks, make_token, read_token
from bot.media_route import KEY_NAME
from bot.settings import Settings
from storage.models import AppSecret, Complaint, ComplaintPhoto, User
from testkit.fakes.whatsapp_api import FakeWhatsAppServer
from testkit.tg_chat import person, running, text_of

ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."


def real_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 30)).save(out, "JPEG")
    return out.getvalue()


async def user_id(db, chat: int) -> int:
    async with db.unit_of_work() as uow:
        stmt = select(User.id).where(User.channel == "telegram", User.external_id == str(chat))
        return (await uow.session.execute(stmt)).scalar_one()


@pytest.fixture
async def world(settings, tmp_path):
    s = Settings(**{**settings.__dict__, "media_dir": str(tmp_path / "media")})
    async with running(s) as (tg, app):
        yield tg, app


async def filed_with_photo(tg, app, db, data: bytes) -> tuple[Complaint, ComplaintPhoto]:
    citizen = await person(tg, app, 101, "Siti Aminah")
    await citizen.send("/lapor")
    await citizen.send(ROAD)
    tg.push_photo(citizen.id, data=data, caption="lubang", first_name="Siti Aminah")
    out = await citizen.settle()
    assert "Foto 1 dari maks. 5" in text_of(out)
    for value in ("lapor:next", "lapor:skip", "lapor:privacy:biasa", "lapor:send"):
        await citizen.press(value)
    async with db.unit_of_work() as uow:
        complaint = (await uow.session.execute(select(Complaint))).scalar_one()
        photo = (await uow.session.execute(select(ComplaintPhoto))).scalar_one()
    assert complaint.opd_code == "PUPR" and photo.channel == "telegram"
    return complaint, photo


async def get(app, path: str) -> tuple[int, bytes, dict]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.port}{path}") as resp:
        return resp.status, await resp.read(), dict(resp.headers)


async def test_who_may_open_a_telegram_photo(world, db):
    tg, app = world
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    dinkes = await person(tg, app, 506, "Petugas Dinkes", role="officer", opd="DINKES")
    citizen_data = real_jpeg()
    complaint, photo = await filed_with_photo(tg, app, db, citizen_data)
    links, now = app.media.links, app.clock.now()

    # the handling OPD's officer: the bytes Telegram holds, fetched through getFile
    status, body, headers = await get(app, links.path("photo", photo.id, await user_id(db, pupr.id), now))
    assert status == 200 and body == citizen_data
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"] == "private, no-store" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'"
    # a coordinator too
    status, body, _ = await get(app, links.path("photo", photo.id, await user_id(db, coord.id), now))
    assert status == 200 and body == citizen_data
    # an officer of another OPD: refused, nothing of the photo
    status, body, _ = await get(app, links.path("photo", photo.id, await user_id(db, dinkes.id), now))
    assert status == 403 and citizen_data not in body and "Hanya petugas" in body.decode()
    # the citizen's own id in a link is no key either
    async with db.unit_of_work() as uow:
        citizen_id = (await uow.session.execute(select(Complaint.citizen_user_id))).scalar_one()
    status, _, _ = await get(app, links.path("photo", photo.id, citizen_id, now))
    assert status == 403

    # a link forged for the other officer by editing a good one: the signature does not match
    good = links.path("photo", photo.id, await user_id(db, pupr.id), now)
    body_part, _, sig = good.rpartition(".")
    head, viewer, expires = body_part.removeprefix("/media/").split(".")
    forged = f"/media/{head}.{await user_id(db, dinkes.id)}.{expires}.{sig}"
    assert (await get(app, forged))[0] == 403
    assert (await get(app, good[:-2] + ("AA" if not good.endswith("AA") else "BB")))[0] == 403
    assert (await get(app, "/media/not-a-token"))[0] == 403
    # an expired link: 410
    expired = make_token(links.key, "photo", photo.id, await user_id(db, pupr.id), int(now.timestamp()) - 1)
    status, body, _ = await get(app, "/media/" + expired)
    assert status == 410 and "kedaluwarsa" in body.decode()

    # the complaint moves to DINKES: the PUPR officer's link opens nothing any more, Dinkes' does
    await pupr.send(f"/teruskan {complaint.number} DINKES bukan kewenangan kami")
    assert (await get(app, good))[0] == 403
    status, body, _ = await get(app, links.path("photo", photo.id, await user_id(db, dinkes.id), now))
    assert status == 200 and body == citizen_data


async def test_the_officer_on_telegram_gets_the_photo_itself(world, db):
    tg, app = world
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    complaint, photo = await filed_with_photo(tg, app, db, real_jpeg())
    await pupr.settle()
    out = await pupr.send(f"/lihat {complaint.number}")
    (sent,) = [m for m in out if m["method"] == "sendPhoto"]
    assert sent["media"]["url"] is None  # same channel: by Telegram's own file id
    assert "lewat kanal lain" not in text_of(out)


async def test_the_link_key_is_kept_and_shared(world, db, settings):
    _, app = world
    async with db.unit_of_work() as uow:
        kept = (await uow.session.execute(select(AppSecret).where(AppSecret.name == KEY_NAME))).scalar_one()
    assert app.media.links.key == kept.value.encode()
    # a second instance on the same database signs with the same key
    from bot.media_route import MediaRoute

    again = MediaRoute(app.db, {}, app.settings, SystemClock())
    assert (await again.prepare()).key == app.media.links.key
    # with KANAL_WEB_SECRET the key comes from it instead (every instance has it)
    with_secret = Settings(**{**settings.__dict__, "web_secret": "a-shared-secret-value"})
    derived = await MediaRoute(app.db, {}, with_secret, SystemClock()).prepare()
    assert derived.key not in (app.media.links.key, b"a-shared-secret-value")


def test_tokens_round_trip_and_expire():
    links = MediaLinks(key=b"k" * 32, lifetime=timedelta(days=7), public_url="https://kanal.example.go.id/")
    now = SystemClock().now()
    path = links.path("voice", 7, 42, now)
    claim = read_token(links.key, path.removeprefix("/media/"), now + timedelta(days=6))
    assert (claim.kind, claim.media_id, claim.viewer_id) == ("voice", 7, 42)
    assert links.url("photo", 1, 2, now).startswith("https://kanal.example.go.id/media/p1.2.")
    assert MediaLinks(key=b"k").url("photo", 1, 2, now) is None


async def test_whatsapp_media_is_fetched_with_the_token():
    token = "EAAG-test-token-value"
    async with FakeWhatsAppServer(token=token, phone_number_id="1065", app_secret="s" * 16) as wa:
        media = wa._store_media(real_jpeg(), "image/jpeg", None)
        channel = WhatsAppChannel(
            token=token,
            phone_number_id="1065",
            app_secret="s" * 16,
            verify_token="v" * 16,
            api_base_url=wa.base_url,
            handle=None,
            clock=SystemClock(),
        )
        try:
            data, mime = await channel.fetch_media(media.id)
            assert (data, mime) == (media.data, "image/jpeg")
            with pytest.raises(Exception):  # noqa: B017 - an unknown id is an error, whatever its class
                await channel.fetch_media("999")
        finally:
            await channel.stop()
