"""The web chat as people use it, in real headless Chromium: reloads and reconnects mid-flow,
typed answers, the page's own controls, accessibility (axe-core) and screenshots at 360 × 740."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from storage.models import Complaint, ComplaintPhoto, SurveyResponse, User
from testkit.browser import CHROMIUM, DRIVER, SHOTS, Person, axe_script

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER),
        reason="no browser here: install Debian's chromium and chromium-driver to run this test",
    ),
]

UNIT = "PUPR-BM"


@pytest.fixture
def app(web_app):
    return web_app


@pytest.fixture
def base(app) -> str:
    return f"http://127.0.0.1:{app.port}"


async def in_browser(fn, *args):
    """Run a person's steps (blocking selenium calls) beside the app's event loop."""
    return await asyncio.to_thread(fn, *args)


async def web_users(app) -> list[User]:
    async with app.db.unit_of_work() as uow:
        return list((await uow.session.execute(select(User).where(User.channel == "web"))).scalars())


def survey_with_a_reload(base: str) -> dict:
    person = Person(base)
    try:
        person.open(f"/?start=skm_{UNIT}")  # the QR code at the counter
        assert "start=" not in person.js("return location.href")  # acted on once, then dropped
        person.wait_for("UU No. 27/2022")
        person.screenshot("1-consent")
        person.type("setuju", expect="Layanan apa")
        person.type("2", expect="umur")  # the second service, by its number
        person.type("35", expect="jenis kelamin")
        person.type("perempuan")
        person.type("lewati")
        person.type("lewati", expect="Pertanyaan 1 dari 9")
        person.type("4", expect="Pertanyaan 2 dari 9")
        person.type("3", expect="Pertanyaan 3 dari 9")
        person.screenshot("2-survey-question")
        person.driver.refresh()  # a reload mid-survey (the address no longer has the start link)
        person.until(lambda: person.js("return document.body.dataset.connected") == "1")
        person.settle(1.0)
        after_reload = person.texts(".msg")
        own_after_reload = person.texts(".msg.user .text")
        person.type("4", expect="Pertanyaan 4 dari 9")
        person.driver.get(f"{base}/?start=skm_{UNIT}")  # the same QR code scanned again
        person.until(lambda: person.js("return document.body.dataset.connected") == "1")
        person.wait_for("Lanjutkan?")
        person.tap("Lanjutkan")
        person.wait_for("Pertanyaan 4 dari 9")
        for n in range(5, 10):
            person.type("4", expect=f"Pertanyaan {n} dari 9")
        person.type("4", expect="saran")
        person.type("tidak ada", expect="Terima kasih")
        return {"after_reload": after_reload, "own_after_reload": own_after_reload}
    finally:
        person.close()


async def test_a_reload_and_a_second_scan_mid_survey_keep_every_answer(app, base):
    seen = await in_browser(survey_with_a_reload, base)
    # after the reload both sides are on the page: the person's typed answers too
    assert seen["own_after_reload"] == ["setuju", "2", "35", "perempuan", "lewati", "lewati", "4", "3"]
    assert "Pertanyaan 3 dari 9" in "\n".join(seen["after_reload"])
    (person,) = await web_users(app)
    async with app.db.unit_of_work() as uow:
        rows = list(
            (await uow.session.execute(select(SurveyResponse).where(SurveyResponse.user_id == person.id))).scalars()
        )
    assert len(rows) == 1, "one questionnaire: no repeat start, no duplicate respondent"
    (row,) = rows
    assert row.status == "complete" and row.unit_code == UNIT
    assert [row.u1, row.u2, row.u3, row.u4, row.u5, row.u6, row.u7, row.u8, row.u9] == [4, 3, 4, 4, 4, 4, 4, 4, 4]


def complaint_with_a_reconnect(base: str) -> dict:
    person = Person(base)
    try:
        person.open()
        person.type("iya", expect="Menu utama")
        person.type("lapor")
        person.type("Jalan di depan SDN 2 Sukamaju berlubang besar, sudah dua motor jatuh minggu ini.")
        person.driver.refresh()  # the page reloaded mid-complaint (a screen lock, a tab the phone dropped)
        person.until(lambda: person.js("return document.body.dataset.connected") == "1")
        person.settle(1.0)
        after_reload = person.texts(".msg")
        person.type("lanjut")  # no photo
        person.type("Jl. Melati no. 5, RT 02/RW 03, Sukamaju")
        person.type("biasa", expect="Siapa nama Anda?")  # the web chat asks for the name staff see
        person.type("Siti Aminah", expect="Kirim laporan ini?")
        summary = person.texts()[-1]
        person.type("kirim", expect="ADU-")
        return {"after_reload": after_reload, "summary": summary, "last": person.texts()[-3:]}
    finally:
        person.close()


async def test_a_reload_mid_complaint_keeps_the_story(app, base):
    seen = await in_browser(complaint_with_a_reconnect, base)
    assert any("berlubang besar" in t for t in seen["after_reload"])
    async with app.db.unit_of_work() as uow:
        complaints = list((await uow.session.execute(select(Complaint))).scalars())
        count = (await uow.session.execute(select(func.count()).select_from(Complaint))).scalar_one()
    assert count == 1, seen
    assert "berlubang besar" in complaints[0].text and "Melati" in (complaints[0].address or "")


def accessibility(base: str, source: str) -> dict:
    person = Person(base)
    try:
        person.open(f"/?start=skm_{UNIT}")
        person.type("setuju", expect="Layanan apa")
        survey = person.axe(source)
        person.type("batal")
        person.type("lapor")
        person.type("Lampu jalan di gang Mawar mati sejak seminggu, gelap dan rawan.")
        person.type("lanjut")
        person.type("lewati")
        person.type("biasa")
        person.type("lewati")  # no name
        summary = person.axe(source)
        narrow = person.js("return document.documentElement.scrollWidth")
        person.cdp("Emulation.setDeviceMetricsOverride", width=320, height=640, deviceScaleFactor=1, mobile=True)
        person.settle(0.5)
        narrowest = person.js("return document.documentElement.scrollWidth")
        person.screenshot("6-summary-at-320px")
        return {"survey": survey, "summary": summary, "narrow": narrow, "narrowest": narrowest}
    finally:
        person.close()


async def test_the_page_has_no_wcag_violations(app, base):
    source = await asyncio.to_thread(axe_script)
    if source is None:
        pytest.skip("axe-core could not be installed from the npm registry (no npm here)")
    seen = await in_browser(accessibility, base, source)
    assert seen["survey"] == [], seen["survey"]
    assert seen["summary"] == [], seen["summary"]
    assert seen["narrow"] <= 360 and seen["narrowest"] <= 320, "nothing wider than the phone's screen"
    assert SHOTS.is_dir()


PLACE = (-7.2575, 112.7521)


def photo_and_place_then_the_officer(base: str, photo: str, code: str) -> dict:
    citizen, officer = Person(base), Person(base)
    try:
        citizen.open()
        citizen.type("ya", expect="Menu utama")
        citizen.type("lapor")
        citizen.type("Jalan di depan pasar Sukamaju berlubang besar, mobil sering terperosok saat hujan.")
        citizen.driver.find_element("id", "file").send_keys(photo)  # chosen from the phone's gallery
        citizen.wait_for("Foto 1 dari maks. 5 diterima")
        offered = citizen.until(lambda: citizen.buttons(), "the photo's location offered")
        origin = base.rstrip("/")
        citizen.cdp("Browser.grantPermissions", origin=origin, permissions=["geolocation"])
        citizen.cdp("Emulation.setGeolocationOverride", latitude=PLACE[0], longitude=PLACE[1], accuracy=10)
        citizen.tap("📍 Lokasi")  # the page's own button: the browser's position
        citizen.wait_for("Lokasi diterima")
        citizen.type("lanjut", expect="Siapa yang boleh tahu nama Anda")
        citizen.type("biasa", expect="Siapa nama Anda")
        citizen.type("kirim", expect="bukan nama")  # one step early: not taken as a name
        citizen.type("Bu Siti Aminah", expect="Kirim laporan ini?")
        citizen.settle(1.0)
        citizen.screenshot("3-complaint-summary")
        citizen.js("document.querySelector('.msg.user img').scrollIntoView({block: 'start'})")
        citizen.screenshot("3-complaint-summary-with-photo")
        summary = citizen.texts()[-1]
        citizen.type("kirim", expect="ADU-")
        number = next(w.strip(".,:·") for w in citizen.texts()[-1].split() if w.startswith("ADU-"))
        citizen.type(f"status {number}", expect="Riwayat")
        citizen.screenshot("4-status-view")
        officer.open()
        officer.type("setuju", expect="Menu utama")
        officer.type(f"/gabung {code}")
        officer.settle(2.0)  # the role changed: the page fetches its new identity and reconnects
        officer.until(lambda: officer.js("return document.body.dataset.connected") == "1")
        officer.type(f"/lihat {number}", expect=number)
        officer.settle(1.5)
        images = officer.until(
            lambda: officer.js(
                "return Array.from(document.querySelectorAll('.msg.bot img'))"
                ".filter(i => i.complete && i.naturalWidth > 0).map(i => i.getAttribute('src'))"
            ),
            "the photo shown to the officer",
        )
        officer.js("document.querySelector('.msg.bot .imgbtn').click()")  # tap to enlarge
        enlarged = officer.until(lambda: officer.js("return document.getElementById('viewer').open"), "the viewer")
        return {
            "offered": offered,
            "summary": summary,
            "number": number,
            "images": images,
            "enlarged": enlarged,
            "seen": officer.transcript(),
        }
    finally:
        citizen.close()
        officer.close()


async def test_a_photo_from_disk_and_the_browsers_location_reach_the_officer(app, base, tmp_path):
    import io

    from PIL import Image

    from testkit.tg_chat import invite_code

    path = tmp_path / "jalan.jpg"
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 110, 90)).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    code = await invite_code(app, "officer", "PUPR")
    seen = await in_browser(photo_and_place_then_the_officer, base, str(path), code)
    assert "📷" in seen["summary"] or "foto" in seen["summary"].lower()
    async with app.db.unit_of_work() as uow:
        complaint = (await uow.session.execute(select(Complaint))).scalar_one()
        photos = (await uow.session.execute(select(ComplaintPhoto))).scalars().all()
    assert complaint.number == seen["number"] and complaint.opd_code == "PUPR"
    assert (complaint.latitude, complaint.longitude) == PLACE
    assert len(photos) == 1 and photos[0].file_ref.startswith("upload:")
    assert seen["images"] and seen["images"][0].startswith("/media/"), seen["seen"][-800:]
    assert seen["enlarged"] is True
    assert "Pelapor: Bu Siti Aminah" in seen["seen"]  # the name the citizen chose to give
    # an officer of another OPD: the same photo's link, made for them, is refused
    async with app.db.unit_of_work() as uow:
        other = await uow.users.get_or_create_user("telegram", "990001", app.clock.now())
        other.role, other.opd_code = "officer", "DINKES"
        await uow.commit()
        other_id = other.id
    import aiohttp

    path403 = app.media.links.path("photo", photos[0].id, other_id, app.clock.now())
    async with aiohttp.ClientSession() as http, http.get(base + path403) as resp:
        assert resp.status == 403


FAKE_PUSH = """
(() => {
  const sub = %s;
  const made = { endpoint: sub.endpoint, toJSON: () => sub, unsubscribe: () => Promise.resolve(true) };
  let subscribed = false;
  // the browser's push service stands in for FCM: the page's code runs unchanged against it
  if (window.PushManager) {
    PushManager.prototype.subscribe = function () { subscribed = true; return Promise.resolve(made); };
    PushManager.prototype.getSubscription = function () { return Promise.resolve(subscribed ? made : null); };
  }
  Object.defineProperty(Notification, 'permission', { get: () => (subscribed ? 'granted' : 'default') });
  Notification.requestPermission = () => Promise.resolve('granted');
})();
"""


def notified_while_away(base: str, subscription: dict, code: str) -> dict:
    citizen = Person(base, scripts=(FAKE_PUSH % json.dumps(subscription),))
    officer = Person(base)
    try:
        citizen.open()
        citizen.type("setuju", expect="Menu utama")
        citizen.type("lapor")
        citizen.type("Jalan di depan balai desa Sukamaju berlubang besar, sudah tiga motor jatuh.")
        citizen.type("lanjut")
        citizen.type("lewati")
        citizen.type("anonim", expect="Kirim laporan ini?")
        citizen.type("kirim", expect="PIN")
        receipt = citizen.texts()[-1]
        number = next(w.strip(".,:·") for w in receipt.split() if w.startswith("ADU-"))
        citizen.js("document.getElementById('bell').click()")  # 🔔: allow notifications
        citizen.wait_for("Pemberitahuan aktif", ".notice")
        # the tab goes to the background: a new answer shows in the title
        citizen.js("Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })")
        officer.open()
        officer.type("setuju", expect="Menu utama")
        officer.type(f"/gabung {code}")
        officer.settle(2.0)
        officer.until(lambda: officer.js("return document.body.dataset.connected") == "1")
        officer.type(f"/balas {number} Tim kami datang besok pagi untuk menambal lubangnya.", expect="Jawaban")
        title = citizen.until(lambda: (t := citizen.driver.title).startswith("(1)") and t, "the unread count")
        citizen.close()  # the tab is closed
        officer.type(f"/balas {number} Lubang sudah ditambal, mohon dicek.", expect="Jawaban")
        told = officer.texts()[-1]
        pin = receipt.split("PIN", 1)[1].split()[0].strip(".,)")
        other = Person(base)  # the cookie is lost: another browser, another phone
        try:
            other.open()
            other.type("setuju", expect="Menu utama")
            other.type(f"cek {number} PIN {pin}", expect="Hubungkan laporan ini")
            other.screenshot("5-reclaim-with-pin")
            shown = other.texts()
            other.type("ya")
            other.type(f"status {number}", expect="Riwayat")
            after = other.texts()[-1]
        finally:
            other.close()
        return {"number": number, "title": title, "told": told, "shown": shown, "after": after}
    finally:
        officer.close()


async def test_a_closed_tab_gets_the_answer_as_a_push_and_a_second_browser_reclaims_the_report(app, base):
    import base64
    import os

    import http_ece
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from testkit.fakes.push_service import FakePushService
    from testkit.tg_chat import invite_code

    key, auth = ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).decode().rstrip("=")

    code = await invite_code(app, "officer", "PUPR")
    async with FakePushService() as push:
        subscription = {"endpoint": push.endpoint("tab"), "keys": {"p256dh": b64(point), "auth": b64(auth)}}
        seen = await in_browser(notified_while_away, base, subscription, code)
        await push.wait_for(1)  # the first answer reached the open (hidden) tab itself: no push
    assert seen["title"].startswith("(1) Kanal Partisipasi")
    assert "Jawaban terkirim ke pelapor" in seen["told"]
    texts = [
        json.loads(http_ece.decrypt(d.body, private_key=key, auth_secret=auth, version="aes128gcm"))["body"]
        for d in push.received
    ]
    assert len(texts) == 1 and seen["number"] in texts[0] and "Lubang sudah ditambal" in texts[0]
    # reclaimed in a second browser profile with the number and the PIN from the receipt
    assert any("Lubang sudah ditambal" in t for t in seen["shown"])  # what the reporter sees
    assert "Lubang sudah ditambal" in seen["after"]
    people = await web_users(app)
    async with app.db.unit_of_work() as uow:
        complaint = (await uow.session.execute(select(Complaint))).scalar_one()
    owner = next(u for u in people if u.id == complaint.citizen_user_id)
    citizens = sorted(u.id for u in people if u.role == "citizen")
    assert len(citizens) == 2 and owner.id == citizens[-1]  # the second browser's identity holds it now


BLACKOUT = "Listrik di dusun kami padam sudah tiga hari, token listrik juga tidak bisa diisi. Tolong dibantu."


def not_ours_on_the_page(base: str, code: str) -> dict:
    citizen, coordinator = Person(base), Person(base)
    try:
        citizen.open()
        citizen.type("ya", expect="Menu utama")
        citizen.type("saya mau lapor", expect="Ceritakan")
        citizen.type(BLACKOUT)
        citizen.type("lanjut")
        citizen.type("lewati")
        citizen.type("biasa", expect="Siapa nama Anda")
        citizen.type("lewati", expect="Kirim laporan ini?")
        citizen.settle(1.0)
        summary = citizen.texts()[-1]
        citizen.screenshot("7-outside-summary")
        citizen.type("kirim", expect="ADU-")
        receipt = citizen.texts()[-1]
        number = next(w.strip(".,:·") for w in receipt.split() if w.startswith("ADU-"))
        coordinator.open()
        coordinator.type("setuju", expect="Menu utama")
        coordinator.type(f"/gabung {code}")
        coordinator.settle(2.0)
        coordinator.until(lambda: coordinator.js("return document.body.dataset.connected") == "1")
        coordinator.type(f"/lihat {number}", expect=number)
        card = coordinator.wait_for("Tampaknya urusan")
        buttons = coordinator.buttons()
        coordinator.screenshot("7-outside-coordinator-card")
        coordinator.tap("🏛️ Teruskan ke PLN")
        done = coordinator.wait_for("Pelapor sudah diberi tahu")
        told = citizen.wait_for("bukan urusan Pemda")
        citizen.settle(0.5)
        citizen.screenshot("7-outside-citizen-told")
        return {"summary": summary, "receipt": receipt, "card": card, "buttons": buttons, "done": done, "told": told}
    finally:
        citizen.close()
        coordinator.close()


async def test_not_ours_typed_on_the_page_and_closed_by_a_coordinator(app, base):
    from testkit.tg_chat import invite_code

    code = await invite_code(app, "coordinator", None)
    seen = await in_browser(not_ours_on_the_page, base, code)
    assert "urusan PLN" in seen["summary"] and "bukan Pemda" in seen["summary"]
    assert "diteruskan ke sana" in seen["receipt"]
    assert "Tampaknya urusan PLN" in seen["card"] and any("Teruskan ke PLN" in b for b in seen["buttons"])
    assert "PLN" in seen["done"] and "lapor.go.id" in seen["told"]
    async with app.db.unit_of_work() as uow:
        complaint = (await uow.session.execute(select(Complaint))).scalar_one()
    assert (complaint.state, complaint.referred_to) == ("ditutup", "PLN")
