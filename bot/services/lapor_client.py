"""The SP4N-LAPOR! implementation of :class:`bot.services.lapor_sync.Upstream`: HTTPS POSTs with
JSON bodies built and parsed by :mod:`bot.domain.lapor_wire` (the one module with the wire format
and its assumptions). Every failure is a :class:`~bot.domain.lapor_wire.WireError` saying whether
it is worth retrying; its text never carries the token (it travels in the body, never in a URL)."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.domain import lapor_wire as wire

TIMEOUT = 20.0  # seconds per call


class LaporClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never the token
        return f"LaporClient({self.base_url!r})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> LaporClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _post(self, endpoint: str, body: dict[str, Any]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = self.base_url + wire.ENDPOINTS[endpoint]
        try:
            async with self._session.post(url, json=body) as resp:
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    data = None
                if resp.status != 200:
                    raise wire.error_for(resp.status, data, resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise wire.WireError(f"network: {type(exc).__name__} ({endpoint})", retry=True) from None
        if data is None:
            raise wire.WireError(f"{endpoint}: the answer is not JSON", retry=True)
        return data

    # ---- the Upstream protocol -------------------------------------------------------------------
    async def push_new(self, report: wire.NewReport) -> wire.Created:
        return wire.parse_created(await self._post("create", wire.create_body(self._token, report)))

    async def push_update(self, call: wire.Outgoing) -> None:
        endpoint, body = wire.update_body(self._token, call)
        wire.parse_done(await self._post(endpoint, body))

    async def pull_updates(self, *, cursor: str | None, instansi_id: str | None) -> wire.UpdatesPage:
        body = wire.updates_body(self._token, instansi_id=instansi_id, cursor=cursor)
        return wire.parse_updates(await self._post("updates", body))

    async def topics(self) -> list[wire.Topic]:
        return wire.parse_topics(await self._post("topics", wire.topics_body(self._token)))
