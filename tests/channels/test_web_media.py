"""Photos and location from the web chat page: ``POST /upload`` (real image bytes made by Pillow),
the ``photo`` and ``location`` frames filing a complaint, staff seeing the photo, and the file
leaving the disk with an erasure."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import zlib
from pathlib import Path

import aiohttp
import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import select

from bot.channels.web.web_channel import render
from bot.channels.web.web_media import MediaStore, Refused, process_image, sha_of
from bot.domain.messages import Attachment, Reply
from bot.settings import Settings
from storage.models import Complaint, ComplaintPhoto
from testkit.tg_chat import person, running, text_of

ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."


# ---- image bytes ------------------------------------------------------------------------------
def jpeg_with_gps(size: tuple[int, int] = (40, 20)) -> bytes:
    """A JPEG taken "sideways" (EXIF orientation 6) with a camera make and a GPS position in
    Jakarta (6°10'30" S, 106°49'12" E)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 12.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Siti Aminah, Jl. Merdeka 5")
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 128, 0, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 255)).save(out, "WEBP")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` (a decompression bomb's header)."""
    raw = io.BytesIO()
    Image.new("1", (8, 8)).save(raw, "PNG")
    data = bytearray(raw.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


# ---- the checks ---------------------------------------------------------------------------------
def test_jpeg_gps_is_read_then_every_piece_of_metadata_goes_and_the_photo_stands_upright():
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif()  # the input does carry EXIF
    done = process_image(original, 40_000_000)
    assert done.gps == (-6.175, 106.82)
    assert (done.mime, done.ext) == ("image/jpeg", "jpg")
    stored = Image.open(io.BytesIO(done.data))
    assert stored.format == "JPEG" and not stored.getexif() and "exif" not in stored.info
    assert b"PhoneMaker" not in done.data and b"Exif" not in done.data
    assert (done.width, done.height) == stored.size == (20, 40)  # turned by its orientation


def test_png_stays_png_without_its_text_chunks_and_webp_becomes_jpeg():
    done = process_image(png_with_text(), 40_000_000)
    assert (done.mime, done.gps) == ("image/png", None)
    assert b"Siti Aminah" not in done.data and Image.open(io.BytesIO(done.data)).mode == "RGBA"
    done = process_image(webp(), 40_000_000)
    assert done.mime == "image/jpeg" and Image.open(io.BytesIO(done.data)).format == "JPEG"


@pytest.mark.parametrize(
    "data, status, words",
    [
        (b"%PDF-1.4 not a photo at all" * 10, 415, "bukan foto"),
        (b"GIF89a" + bytes(100), 415, "bukan foto"),
        (jpeg_with_gps()[:200], 415, "bukan foto"),  # cut off
        (png_declaring(8000, 6000), 413, "40 megapiksel"),  # 48 MP > 40 MP
        (png_declaring(30000, 30000), 413, "40 megapiksel"),  # Pillow's own bomb guard
    ],
)
def test_what_is_refused(data, status, words):
    with pytest.raises(Refused) as refused:
        process_image(data, 40_000_000)
    assert refused.value.status == status and words in refused.value.text and " / " in refused.value.text


def test_store_names_by_hash_and_deletes(tmp_path):
    store = MediaStore(tmp_path)
    data = process_image(jpeg_with_gps(), 40_000_000).data
    ref = store.store(data, "jpg")
    sha = sha_of(ref)
    assert (tmp_path / sha[:2] / f"{sha}.jpg").read_bytes() == data
    assert store.store(data, "jpg") == ref and store.read(ref) == (data, "image/jpeg")
    assert not list(tmp_path.rglob(".up-*"))  # no temporary file left
    assert store.find("upload:../../etc/passwd") is None and sha_of("upload:" + "A" * 64) is None
    assert store.delete(ref) and store.find(ref) is None


def test_web_render_shows_a_media_link_as_an_image():
    (payload,) = render(Reply("Foto", image=Attachment("foto.jpg", "image/jpeg", file_ref="/media/p1.2.3.sig")))
    assert payload["image"] == {"url": "/media/p1.2.3.sig", "filename": "foto.jpg"}
    (payload,) = render(Reply("Foto", image=Attachment("foto.jpg", "image/jpeg", file_ref="AgACAgUAAx")))
    assert payload["image"] is None  # a platform file id means nothing to a browser


# ---- over HTTP and the websocket ------------------------------------------------------------------
class Page:
    """A browser tab: the identity cookie, uploads, the socket."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.frames: list[dict] = []
        self.n = 0

    async def open(self) -> None:
        async with self.session.post(self.base + "/session") as resp:
            assert resp.status == 204
        self.ws = await self.session.ws_connect(self.base + "/ws")
        await self.ws.send_json({"type": "hello", "last_seen": 0})

    async def upload(self, data: bytes, *, headers: dict | None = None) -> tuple[int, dict]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename="IMG_0001.jpg", content_type="image/jpeg")
        async with self.session.post(self.base + "/upload", data=form, headers=headers) as resp:
            self.last_headers = resp.headers
            return resp.status, await resp.json()

    async def send(self, frame: dict) -> list[dict]:
        """Send a frame; the messages (and errors) it brought, once the bot is quiet."""
        self.n += 1
        await self.ws.send_json({"id": f"f{self.n}", **frame})
        got: list[dict] = []
        while True:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), 0.6 if got else 5.0)
            except TimeoutError:
                return got
            frame_in = json.loads(msg.data)
            if frame_in["type"] in ("message", "error"):
                got.append(frame_in)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.session.close()


def texts(frames: list[dict]) -> str:
    return "\n".join(f.get("text") or "" for f in frames)


def values(frame: dict) -> list[str]:
    return [c["value"] for c in frame.get("choices", [])]


@pytest.fixture
def media_settings(settings, tmp_path) -> Settings:
    return Settings(**{**settings.__dict__, "media_dir": str(tmp_path / "media"), "media_max_bytes": 20_000})


@pytest.fixture
async def world(media_settings):
    async with running(media_settings) as (tg, app):
        yield tg, app


@pytest.fixture
async def page(world):
    _, app = world
    p = Page(f"http://127.0.0.1:{app.port}")
    yield p
    await p.close()


async def test_upload_needs_the_cookie_the_same_origin_and_a_small_real_image(world, page):
    _, app = world
    async with aiohttp.ClientSession() as anonymous:
        form = aiohttp.FormData()
        form.add_field("file", jpeg_with_gps(), filename="a.jpg")
        async with anonymous.post(page.base + "/upload", data=form) as resp:
            assert resp.status == 401 and "Buka halaman" in (await resp.json())["error"]
    await page.open()
    status, body = await page.upload(jpeg_with_gps(), headers={"Origin": "https://evil.example"})
    assert status == 403
    status, body = await page.upload(b"MZ\x90\x00 an executable" * 50)
    assert status == 415 and "bukan foto" in body["error"]
    status, body = await page.upload(bytes(30_000))  # over 20 000 bytes: cut off while streaming
    assert status == 413 and "terlalu besar" in body["error"]
    status, body = await page.upload(bytes(300_000))  # refused by its Content-Length
    assert status == 413
    status, body = await page.upload(png_declaring(30000, 30000))
    assert status == 413 and "megapiksel" in body["error"]
    status, body = await page.upload(jpeg_with_gps())
    assert status == 200, body
    assert body["gps"] == {"latitude": -6.175, "longitude": 106.82}
    assert (body["mime"], body["width"], body["height"]) == ("image/jpeg", 20, 40)
    stored = app.webchat.media.find(body["ref"])
    assert stored is not None and stored.is_relative_to(Path(app.settings.media_dir))
    assert stored.stat().st_size == body["size"] and not Image.open(stored).getexif()
    async with page.session.get(page.base + "/media/" + stored.name) as resp:
        assert resp.status == 403  # the folder is not served: only signed links open a photo


async def test_uploads_count_against_the_web_limits(media_settings):
    limited = Settings(**{**media_settings.__dict__, "web_turns_per_identity": 2})
    async with running(limited) as (_, app):
        p = Page(f"http://127.0.0.1:{app.port}")
        try:
            async with p.session.post(p.base + "/session") as resp:
                assert resp.status == 204
            statuses = [(await p.upload(png_with_text()))[0] for _ in range(3)]
            status, body = await p.upload(png_with_text())
        finally:
            await p.close()
    assert statuses[:2] == [200, 200] and statuses[2] == 429
    assert status == 429 and "Terlalu banyak" in body["error"] and int(p.last_headers["Retry-After"]) > 0


async def test_photo_and_location_frames_file_a_complaint_that_staff_see(world, page, db):
    tg, app = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    await page.open()
    await page.send({"type": "choice", "value": "consent:yes", "label": "Saya setuju"})
    await page.send({"type": "text", "text": "/lapor"})
    out = await page.send({"type": "text", "text": ROAD})
    assert "lapor:next" in values(out[-1])

    status, up = await page.upload(jpeg_with_gps())
    assert status == 200
    other = Page(page.base)  # another browser cannot send this page's upload as its own
    try:
        await other.open()
        refused = await other.send({"type": "photo", "ref": up["ref"]})
        assert refused and refused[0]["type"] == "error" and "Foto tidak dikenal" in refused[0]["text"]
    finally:
        await other.close()
    bad = await page.send({"type": "photo", "ref": "upload:" + "0" * 64})
    assert bad[0]["type"] == "error"
    out = await page.send({"type": "photo", "ref": up["ref"], "caption": "lubang jalan"})
    assert "Foto 1 dari maks. 5" in texts(out)

    out = await page.send({"type": "choice", "value": "lapor:next", "label": "Lanjut"})
    assert "lapor:skip" in values(out[-1])
    wrong = await page.send({"type": "location", "latitude": 123.0, "longitude": 106.8})
    assert wrong[0]["type"] == "error" and "Lokasi tidak valid" in wrong[0]["text"]
    out = await page.send({"type": "location", "latitude": -6.175, "longitude": 106.82})
    assert "lapor:privacy:biasa" in values(out[-1])
    out = await page.send({"type": "choice", "value": "lapor:privacy:biasa", "label": "Biasa"})
    assert "Siapa nama Anda" in texts(out)  # the web chat has no name from a platform
    await page.send({"type": "text", "text": "lewati"})
    out = await page.send({"type": "choice", "value": "lapor:send", "label": "Kirim"})
    assert "ADU-" in texts(out)

    async with db.unit_of_work() as uow:
        complaint = (await uow.session.execute(select(Complaint))).scalar_one()
        photo = (await uow.session.execute(select(ComplaintPhoto))).scalar_one()
    assert (complaint.channel, complaint.latitude, complaint.longitude) == ("web", -6.175, 106.82)
    assert (photo.channel, photo.file_ref, photo.caption) == ("web", up["ref"], "lubang jalan")
    assert photo.mime_type == "image/jpeg" and photo.size == up["size"]

    # a Telegram officer without KANAL_PUBLIC_URL: one short line for the photo from the web
    await officer.settle()
    out = await officer.send(f"/lihat {complaint.number}")
    assert "1 foto laporan ini dikirim lewat kanal lain" in text_of(out)
    assert not [m for m in out if m["method"] == "sendPhoto"]
    # the officer's signed link opens the stored (stripped) bytes
    link = app.media.links.path("photo", photo.id, officer_id := await user_id(db, "telegram", "501"), app.clock.now())
    async with page.session.get(page.base + link) as resp:
        assert resp.status == 200 and resp.content_type == "image/jpeg"
        assert await resp.read() == app.webchat.media.read(up["ref"])[0]
    assert officer_id


async def user_id(db, channel: str, external_id: str) -> int:
    from storage.models import User

    async with db.unit_of_work() as uow:
        stmt = select(User.id).where(User.channel == channel, User.external_id == external_id)
        return (await uow.session.execute(stmt)).scalar_one()


async def test_staff_on_telegram_get_the_photo_by_its_public_link(media_settings, tmp_path, db):
    public = Settings(**{**media_settings.__dict__, "public_url": "https://kanal.example.go.id"})
    async with running(public) as (tg, app):
        officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
        p = Page(f"http://127.0.0.1:{app.port}")
        try:
            await p.open()
            await p.send({"type": "choice", "value": "consent:yes", "label": "ok"})
            await p.send({"type": "text", "text": "/lapor"})
            await p.send({"type": "text", "text": ROAD})
            _, up = await p.upload(jpeg_with_gps())
            await p.send({"type": "photo", "ref": up["ref"]})
            for value in ("lapor:next", "lapor:skip", "lapor:privacy:biasa", "nama:lewati", "lapor:send"):
                await p.send({"type": "choice", "value": value, "label": "ok"})
        finally:
            await p.close()
        async with db.unit_of_work() as uow:
            number = (await uow.session.execute(select(Complaint.number))).scalar_one()
        await officer.settle()
        out = await officer.send(f"/lihat {number}")
    (sent,) = [m for m in out if m["method"] == "sendPhoto"]
    assert sent["media"]["url"].startswith("https://kanal.example.go.id/media/p")
    assert "lewat kanal lain" not in text_of(out)


async def test_erasure_removes_the_uploaded_file_unless_another_photo_uses_it(world, page, db):
    _, app = world
    await page.open()
    await page.send({"type": "choice", "value": "consent:yes", "label": "ok"})
    await page.send({"type": "text", "text": "/lapor"})
    await page.send({"type": "text", "text": ROAD})
    _, up = await page.upload(jpeg_with_gps())
    await page.send({"type": "photo", "ref": up["ref"]})
    for value in ("lapor:next", "lapor:skip", "lapor:privacy:biasa", "nama:lewati", "lapor:send"):
        await page.send({"type": "choice", "value": value, "label": "ok"})
    store = app.webchat.media
    assert store.find(up["ref"]) is not None

    await app.media.released({up["ref"]})  # a row still names it: kept
    assert store.find(up["ref"]) is not None

    await page.send({"type": "text", "text": "/hapusdata"})
    out = await page.send({"type": "choice", "value": "erase:yes", "label": "Hapus"})
    assert "sudah dihapus" in texts(out)
    for _ in range(50):  # the file goes right after the erasure's commit
        if store.find(up["ref"]) is None:
            break
        await asyncio.sleep(0.05)
    assert store.find(up["ref"]) is None
    async with db.unit_of_work() as uow:
        assert (await uow.session.execute(select(ComplaintPhoto))).first() is None
