"""Every update delivered twice, through whole flows: no double effects, no extra replies.

Platforms deliver at least once: Telegram re-sends an update whose offset was not confirmed (or a
webhook that did not answer 200), Meta re-posts a webhook. Here EVERY inbound update of a complaint
filed with /lapor up to its tracking number, and of an SKM questionnaire answered through, arrives
twice — on Telegram through the fake Bot API server (the same ``update_id`` queued again, once
while the first copy is still unprocessed, once after its replies went out) and on WhatsApp (the
same signed webhook body POSTed twice, concurrently or after the replies). One person does the same
flow with single deliveries as the yardstick: the doubled person must get exactly as many replies,
with the same texts, and the database must hold one complaint and one survey response per person.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from sqlalchemy import func, select

from storage.models import Complaint, InboundMessage, OutboxMessage, SurveyResponse, User
from testkit.fakes.whatsapp_api import FakeWhatsAppServer
from testkit.tg_chat import NUMBER_RE, Chat, buttons, quiet, running, text_of
from tests.flows.test_whatsapp_flows import both_channels, kind, offered
from tests.flows.test_whatsapp_flows import quiet as wa_quiet

UNIT, SERVICE = "PDAM-PUSAT", "PDAM-PUSAT-03"
ANSWERS = [3, 4, 2, 3, 3, 4, 1, 3, 4]
WATER = "Air PDAM tidak mengalir sejak tiga hari di rumah kami"


def normalise(text: str) -> str:
    """Tracking numbers and other figures differ between two people; the words must not."""
    return re.sub(r"\d+", "#", NUMBER_RE.sub("ADU-#", text))


# ---- Telegram -------------------------------------------------------------------------------
class OnceChat(Chat):
    """A chat as in tg_chat, with a shorter quiet window (the outbox is drained first anyway)."""

    async def settle(self, expect_new: bool = True, timeout: float = 10.0) -> list[dict]:
        if expect_new:
            await self.tg.wait_for_sent(self.seen + 1, chat_id=self.id, timeout=timeout)
        await quiet(self.tg, self.app, window=0.05)
        return self.new()


class TwiceChat(OnceChat):
    """A Telegram chat whose every update is delivered twice by the server. Even turns: the copy
    is queued at once (both copies may be fetched in one ``getUpdates`` batch and handled
    concurrently); odd turns: the copy comes after the bot has answered the first one."""

    turns = 0

    async def _twice(self, update: dict[str, Any]) -> list[dict]:
        self.turns += 1
        if self.turns % 2 == 0:
            self.tg.push_update(update)  # same update_id: a redelivery
            return await self.settle()
        out = await self.settle()
        self.tg.push_update(update)
        late = await self.settle(expect_new=False)
        assert late == [], f"a late redelivery of update {update['update_id']} was answered again: {text_of(late)}"
        return out

    async def send(self, text: str) -> list[dict]:
        return await self._twice(self.tg.push_message(self.id, text, **self._profile()))

    async def press(self, value: str) -> list[dict]:
        return await self._twice(self.tg.push_callback(self.id, value, **self._profile()))


async def tg_complaint_and_survey(chat: OnceChat) -> list[list[str]]:
    """Consent, a complaint up to its number, then a whole SKM questionnaire; the (normalised)
    texts the person got for each turn."""
    steps: list[list[str]] = []

    async def turn(out: list[dict], must: str) -> list[dict]:
        assert must in text_of(out), f"expected {must!r} in {text_of(out)!r}"
        steps.append([normalise(f"{m.get('visible_text') or ''}:{buttons(m)}") for m in out])
        return out

    await turn(await chat.send("/start"), "UU No. 27/2022")
    await turn(await chat.press("consent:yes"), "Menu utama")
    await turn(await chat.send("/lapor"), "Ceritakan masalah")
    await turn(await chat.send(WATER), "")
    await turn(await chat.press("lapor:next"), "")
    await turn(await chat.press("lapor:skip"), "Anonim")
    await turn(await chat.press("lapor:privacy:biasa"), "Ringkasan")
    out = await turn(await chat.press("lapor:send"), "ADU-")
    assert len(set(NUMBER_RE.findall(text_of(out)))) == 1
    await turn(await chat.send(f"/survei {UNIT}"), "Layanan apa")
    await turn(await chat.press(f"skm:svc:{SERVICE}"), "boleh dilewati")
    await turn(await chat.press("skm:p:all"), "Pertanyaan 1 dari 9")
    for i, value in enumerate(ANSWERS):
        await turn(await chat.press(f"skm:a:{i}:{value}"), f"Pertanyaan {i + 2} dari 9" if i < 8 else "")
    await turn(await chat.press("skm:nosaran"), "Terima kasih")
    return steps


async def effects(db, channel: str, address: str) -> dict[str, Any]:
    """What the database holds for one person: complaints, survey responses, inbound rows, replies."""
    async with db.unit_of_work() as uow:
        s = uow.session
        user = (await s.execute(select(User).where(User.channel == channel, User.external_id == address))).scalar_one()
        complaints = (await s.execute(select(Complaint).where(Complaint.citizen_user_id == user.id))).scalars().all()
        surveys = (await s.execute(select(SurveyResponse).where(SurveyResponse.user_id == user.id))).scalars().all()
        inbound = (
            await s.execute(select(func.count()).select_from(InboundMessage).where(InboundMessage.user_id == user.id))
        ).scalar_one()
        outbox = (
            (
                await s.execute(
                    select(OutboxMessage.status).where(
                        OutboxMessage.channel == channel, OutboxMessage.address == address
                    )
                )
            )
            .scalars()
            .all()
        )
    return {
        "complaints": [(c.state, c.text) for c in complaints],
        "surveys": [(r.status, r.unit_code, [getattr(r, f"u{n}") for n in range(1, 10)]) for r in surveys],
        "inbound": inbound,
        "outbox": sorted(outbox),
    }


def duplicates_ignored(caplog, channel: str) -> int:
    """How many copies reached the dispatcher and were recognised there (its INFO log line)."""
    return sum(
        1
        for r in caplog.records
        if r.name == "bot.engine.dispatch" and r.getMessage().startswith(f"duplicate {channel} message")
    )


async def test_telegram_every_update_twice_no_double_effects(settings, db, caplog):
    caplog.set_level(logging.INFO, logger="bot.engine.dispatch")
    async with running(settings) as (tg, app):
        once = OnceChat(tg, app, 7101, "Sekali")
        twice = TwiceChat(tg, app, 7102, "Duakali")
        expected = await tg_complaint_and_survey(once)
        got = await tg_complaint_and_survey(twice)
        assert got == expected  # turn by turn: the same replies, none twice

        # every copy did reach the bot and was recognised as one (else this test would prove nothing)
        assert duplicates_ignored(caplog, "telegram") == len(expected)
        assert len(tg.sent(7102)) == len(tg.sent(7101)) == sum(map(len, expected))

        one, two = await effects(db, "telegram", "7101"), await effects(db, "telegram", "7102")
    assert len(two["complaints"]) == 1 and two["complaints"] == one["complaints"] == [("disposisi", WATER)]
    assert two["surveys"] == one["surveys"] == [("complete", UNIT, ANSWERS)]
    turns = len(expected)
    assert one["inbound"] == two["inbound"] == turns  # one dedupe row per update, the copy left none
    assert two["outbox"] == one["outbox"] == ["sent"] * sum(map(len, expected))


# ---- WhatsApp -------------------------------------------------------------------------------
class TwiceWa:
    """A person on WhatsApp; Meta posts every webhook twice (the same signed body). Even turns:
    both POSTs at the same time; odd turns: the copy after the bot has answered."""

    def __init__(self, wa: FakeWhatsAppServer, app, wa_id: str, name: str, *, twice: bool) -> None:
        self.wa, self.app, self.id, self.name, self.twice = wa, app, wa_id, name, twice
        self.seen = 0
        self.turns = 0
        self.posts: list[int] = []

    def new(self) -> list[dict]:
        sent = self.wa.sent(to=self.id)
        fresh, self.seen = sent[self.seen :], len(sent)
        return fresh

    async def settle(self) -> list[dict]:
        await self.wa.wait_for_sent(self.seen + 1, to=self.id, timeout=10)
        await wa_quiet(self.wa, self.app, window=0.05)
        return self.new()

    async def _post(self, fields: dict[str, Any]) -> list[dict]:
        payload = self.wa.message_payload(self.id, fields, name=self.name)
        self.wa.last_inbound[self.id] = time.monotonic()  # what FakeWhatsAppServer.push does: the window opens
        self.turns += 1
        if not self.twice:
            self.posts.append(await self.wa.deliver(payload))
            return await self.settle()
        if self.turns % 2 == 0:
            self.posts += await asyncio.gather(self.wa.deliver(payload), self.wa.deliver(payload))
            return await self.settle()
        self.posts.append(await self.wa.deliver(payload))
        out = await self.settle()
        self.posts.append(await self.wa.deliver(payload))
        await wa_quiet(self.wa, self.app, window=0.05)
        late = self.new()
        assert late == [], f"a late copy of a webhook was answered again: {[m.get('text') for m in late]}"
        return out

    async def send(self, text: str) -> list[dict]:
        return await self._post({"type": "text", "text": {"body": text}})

    async def tap(self, value: str) -> list[dict]:
        """Tap ``value`` on the newest interactive message, as Meta reports it (with its context)."""
        menus = [m for m in self.wa.sent(to=self.id) if m["type"] == "interactive"]
        assert menus, "no interactive message to tap on"
        menu = menus[-1]
        (row,) = [r for r in offered(menu) if r["id"] == value]
        context = {"from": self.wa.display_phone_number, "id": menu["id"]}
        if kind(menu) == "button":
            inter = {"type": "button_reply", "button_reply": {"id": row["id"], "title": row["title"]}}
        else:
            reply = {
                "id": row["id"],
                "title": row["title"],
                **({"description": row["description"]} if row.get("description") else {}),
            }
            inter = {"type": "list_reply", "list_reply": reply}
        return await self._post({"context": context, "type": "interactive", "interactive": inter})


async def wa_complaint_and_survey(p: TwiceWa) -> list[list[str]]:
    steps: list[list[str]] = []

    async def turn(out: list[dict], must: str) -> list[dict]:
        joined = "\n".join(m.get("text") or "" for m in out)
        assert must in joined, f"expected {must!r} in {joined!r}"
        steps.append(
            [
                normalise(
                    f"{kind(m)}:{m.get('text') or ''}:{[r['id'] for r in offered(m)] if m['type'] == 'interactive' else ''}"
                )
                for m in out
            ]
        )
        return out

    await turn(await p.send("Halo"), "UU No. 27/2022")
    await turn(await p.tap("consent:yes"), "")
    await turn(await p.tap("/lapor"), "Ceritakan masalah")
    await turn(await p.send(WATER), "")
    await turn(await p.tap("lapor:next"), "")
    await turn(await p.tap("lapor:skip"), "Anonim")
    await turn(await p.tap("lapor:privacy:biasa"), "Ringkasan laporan")
    out = await turn(await p.tap("lapor:send"), "ADU-")
    assert len(set(NUMBER_RE.findall("\n".join(m.get("text") or "" for m in out)))) == 1
    await turn(await p.send(f"/survei {UNIT}"), "Layanan apa")
    await turn(await p.tap(f"skm:svc:{SERVICE}"), "boleh dilewati")
    await turn(await p.tap("skm:p:all"), "Pertanyaan 1 dari 9")
    for i, value in enumerate(ANSWERS):
        await turn(await p.tap(f"skm:a:{i}:{value}"), f"Pertanyaan {i + 2} dari 9" if i < 8 else "")
    await turn(await p.tap("skm:nosaran"), "Terima kasih")
    return steps


async def test_whatsapp_every_webhook_twice_no_double_effects(settings, clock, db, caplog):
    caplog.set_level(logging.INFO, logger="bot.engine.dispatch")
    async with both_channels(settings, clock) as (_tg, wa, app):
        once = TwiceWa(wa, app, "6281100000001", "Sekali", twice=False)
        twice = TwiceWa(wa, app, "6281100000002", "Duakali", twice=True)
        expected = await wa_complaint_and_survey(once)
        got = await wa_complaint_and_survey(twice)
        assert got == expected
        # every copy was accepted (200): the dedupe is the bot's, not a refused signature
        assert twice.posts == [200] * (2 * len(expected)) and once.posts == [200] * len(expected)
        assert duplicates_ignored(caplog, "whatsapp") == len(expected)
        assert len(wa.sent(to=twice.id)) == len(wa.sent(to=once.id)) == sum(map(len, expected))
        one, two = await effects(db, "whatsapp", once.id), await effects(db, "whatsapp", twice.id)
    assert two["complaints"] == one["complaints"] == [("disposisi", WATER)]
    assert two["surveys"] == one["surveys"] == [("complete", UNIT, ANSWERS)]
    assert one["inbound"] == two["inbound"] == len(expected)
    assert two["outbox"] == one["outbox"] == ["sent"] * sum(map(len, expected))
