"""The fake SMS gateway (:mod:`tests.fakes.sms_gateway`) speaks the wire protocols the SMS channel is tested against."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.sms_gateway import FakeSmsGateway, SentSms, sign


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


AUTH = basic("sms", "pw")
PHONE = "+6281234567890"


class Receiver:
    """The bot's side: records every webhook and answers the queued statuses (then 200)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self.server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((request.path_qs, dict(request.headers), await request.read()))
        return web.Response(status=self.answers.pop(0) if self.answers else 200)

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    rec.server = TestServer(app, host="127.0.0.1")
    await rec.server.start_server()
    yield rec
    await rec.server.close()


async def test_android_send_is_accepted_and_recorded() -> None:
    async with FakeSmsGateway(password="pw", auto_reports=False) as gw, aiohttp.ClientSession() as http:
        body = {"textMessage": {"text": "Halo"}, "phoneNumbers": [PHONE]}
        async with http.post(gw.send_url, json=body, headers=AUTH) as resp:
            assert resp.status == 202
            answer = await resp.json()
        assert answer["state"] == "Pending" and len(answer["id"]) == 21
        assert answer["recipients"] == [{"phoneNumber": PHONE, "state": "Pending"}]
        assert await gw.wait_for_sent(1, to="081234567890") == [SentSms(answer["id"], PHONE, "Halo")]

        for expected in (202, 409):  # an id of our own; the same id twice is refused
            async with http.post(gw.send_url, json={**body, "id": "kanal-1"}, headers=AUTH) as resp:
                assert resp.status == expected
        async with http.post(gw.send_url, json={"phoneNumbers": [PHONE]}, headers=AUTH) as resp:
            assert resp.status == 400 and "message" in await resp.json()
        assert [s.id for s in gw.sent] == [answer["id"], "kanal-1"]


async def test_android_wrong_or_missing_auth_is_401() -> None:
    async with FakeSmsGateway(password="pw") as gw, aiohttp.ClientSession() as http:
        body = {"textMessage": {"text": "Halo"}, "phoneNumbers": [PHONE]}
        for auth in (basic("sms", "wrong"), {}):
            async with http.post(gw.send_url, json=body, headers=auth) as resp:
                assert resp.status == 401
                assert await resp.json() == {"message": "Unauthorized"}
        assert gw.sent == []


async def test_inbound_webhook_is_signed(receiver: Receiver) -> None:
    async with FakeSmsGateway(signing_key="key") as gw:
        gw.webhook_url = receiver.url("/webhooks/sms")
        assert await gw.receive(PHONE, "lapor jalan rusak", event_id="ev-1") == 200
        ((path, headers, raw),) = receiver.got
        assert path == "/webhooks/sms" and headers["Content-Type"] == "application/json"
        assert headers["X-Signature"] == sign("key", raw, headers["X-Timestamp"])
        assert headers["X-Signature"] != sign("other", raw, headers["X-Timestamp"])
        envelope = json.loads(raw)
        assert envelope["event"] == "sms:received" and envelope["id"] == "ev-1"
        assert envelope["payload"]["message"] == "lapor jalan rusak" and envelope["payload"]["phoneNumber"] == PHONE
        assert {"deviceId", "webhookId"} <= envelope.keys()

        assert await gw.redeliver("ev-1") == 200  # the same body again, signed afresh
        assert receiver.got[1][2] == raw and receiver.got[1][1]["X-Signature"] == sign(
            "key", raw, receiver.got[1][1]["X-Timestamp"]
        )


async def test_retry_keeps_the_event_id(receiver: Receiver) -> None:
    async with FakeSmsGateway(retry_delay=0.01) as gw:
        gw.webhook_url = receiver.url("/webhooks/sms")
        receiver.answers = [500, 503]
        assert await gw.receive(PHONE, "halo") == 200
        ids = [json.loads(raw)["id"] for _, _, raw in receiver.got]
        assert len(ids) == 3 and len(set(ids)) == 1
        assert gw.webhook_attempts == [(ids[0], 500), (ids[0], 503), (ids[0], 200)]

        receiver.answers = [500] * 10  # gives up after 1 + retries attempts
        assert await gw.receive(PHONE, "lagi") == 500
        assert len(gw.webhook_attempts) == 3 + 4

        gw.webhook_url = "http://127.0.0.1:1/nowhere"  # nobody listens
        assert await gw.receive(PHONE, "halo") == 0


async def test_auto_reports_and_failures(receiver: Receiver) -> None:
    async with FakeSmsGateway(password="pw") as gw, aiohttp.ClientSession() as http:
        gw.webhook_url = receiver.url("/webhooks/sms")
        gw.fail_delivery("+6289900000000")
        body = {"textMessage": {"text": "Terima kasih"}, "phoneNumbers": [PHONE, "+6289900000000"]}
        async with http.post(gw.send_url, json=body, headers=AUTH) as resp:
            message_id = (await resp.json())["id"]
        await gw.wait_idle()
        events = sorted((e["event"], e["payload"]["phoneNumber"]) for e in (json.loads(r) for _, _, r in receiver.got))
        assert events == [("sms:delivered", PHONE), ("sms:failed", "+6289900000000"), ("sms:sent", PHONE)]
        failed = next(json.loads(r)["payload"] for _, _, r in receiver.got if b"sms:failed" in r)
        assert failed["messageId"] == message_id and failed["reason"] == "RESULT_ERROR_GENERIC_FAILURE"

        gw.fail_next(503, retry_after=2)
        async with http.post(gw.send_url, json=body, headers=AUTH) as resp:
            assert resp.status == 503 and resp.headers["Retry-After"] == "2"
        gw.fail_next("reset")
        with pytest.raises(aiohttp.ClientError):
            async with http.post(gw.send_url, json=body, headers=AUTH) as resp:
                await resp.read()


async def test_rate_limit_answers_429() -> None:
    async with FakeSmsGateway(password="pw", rate_per_second=0.5, burst=2, auto_reports=False) as gw:
        async with aiohttp.ClientSession() as http:
            body = {"textMessage": {"text": "Halo"}, "phoneNumbers": [PHONE]}
            statuses = []
            for _ in range(3):
                async with http.post(gw.send_url, json=body, headers=AUTH) as resp:
                    statuses.append(resp.status)
                    retry_after = resp.headers.get("Retry-After")
        assert statuses == [202, 202, 429] and retry_after == "1"
        assert gw.rate_limited == 1 and len(gw.sent) == 2


async def test_aggregator_send_inbound_and_report(receiver: Receiver) -> None:
    async with FakeSmsGateway(mode="aggregator", username="u", password="p") as gw, aiohttp.ClientSession() as http:
        gw.webhook_url = receiver.url("/webhooks/sms?token=T")
        gw.report_url = receiver.url("/webhooks/sms/report")
        async with http.get(gw.send_url, params={"user": "u", "pass": "x", "to": "6281234567890", "text": "a"}) as resp:
            assert resp.status == 401 and await resp.json() == {"status": "ERROR", "message": "auth"}
        form = {"user": "u", "pass": "p", "to": "6281234567890", "text": "Halo", "ref": "r1"}
        async with http.post(gw.send_url, data=form) as resp:
            answer = await resp.json()
        assert resp.status == 200 and answer["status"] == "OK"
        assert gw.sent == [SentSms(answer["message_id"], "6281234567890", "Halo")]
        await gw.wait_idle()
        path, headers, raw = receiver.got[0]
        assert path == "/webhooks/sms/report" and headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert dict(parse_qsl(raw.decode())) == {"message_id": answer["message_id"], "status": "DELIVERED"}

        assert await gw.receive(PHONE, "halo bot", event_id="m-1") == 200
        path, headers, raw = receiver.got[1]
        fields = dict(parse_qsl(raw.decode()))
        assert path == "/webhooks/sms?token=T" and fields.pop("time")
        assert fields == {"msisdn": "6281234567890", "message": "halo bot", "id": "m-1"}
