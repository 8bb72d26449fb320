"""Keys the app makes for itself on first start and keeps in ``app_secrets`` (model
:class:`~storage.models.AppSecret`), so every instance and every restart agree on them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.models import AppSecret


async def kept_secret(db, name: str, make: Callable[[], str], now: datetime) -> str:
    """The secret ``name``: the stored one, else ``make()`` stored now. Two instances starting at
    once agree: the second insert fails on the primary key and reads the first one's value."""
    async with db.unit_of_work() as uow:
        row = (await uow.session.execute(select(AppSecret).where(AppSecret.name == name))).scalar_one_or_none()
        if row is not None:
            return row.value
        value = make()
        uow.session.add(AppSecret(name=name, value=value, created_at=now))
        try:
            await uow.commit()
            return value
        except IntegrityError:  # another instance stored it first
            pass
    return await _read(db, name)


async def _read(db, name: str) -> str:
    async with db.unit_of_work() as uow:
        return (await uow.session.execute(select(AppSecret.value).where(AppSecret.name == name))).scalar_one()
