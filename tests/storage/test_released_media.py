"""Deleted photo rows hand their file references to the database's ``on_media_released`` hook
after the commit (the app deletes web chat uploads no row names any more), never after a
rollback."""

from __future__ import annotations

from datetime import timedelta

from storage.models import Complaint, ComplaintPhoto

REF = "upload:" + "ab" * 32


async def _closed_complaint_with_photo(db, now, number: str, ref: str = REF) -> int:
    async with db.unit_of_work() as uow:
        c = Complaint(
            number=number,
            channel="web",
            text="keluhan lama",
            privacy="biasa",
            state="ditutup",
            opd_code=None,
            klass="keluhan",
            filed_at=now - timedelta(days=900),
            updated_at=now - timedelta(days=800),
            closed_at=now - timedelta(days=800),
            reopen_count=0,
        )
        uow.session.add(c)
        await uow.session.flush()
        uow.session.add(ComplaintPhoto(complaint_id=c.id, channel="web", file_ref=ref, added_at=now))
        await uow.commit()
        return c.id


async def test_retention_releases_the_refs_of_the_photos_it_deletes_after_commit_only(db, clock):
    now = clock.now()
    first = await _closed_complaint_with_photo(db, now, "ADU-2024-00001")
    second = await _closed_complaint_with_photo(db, now, "ADU-2024-00002")
    got: list[set[str]] = []

    async def hook(refs: set[str]) -> None:
        async with db.unit_of_work() as uow:  # the hook may use the database (the writer queue is free)
            got.append({r for r in refs if not await uow.complaints.media_ref_in_use(r)})

    db.on_media_released = hook
    async with db.unit_of_work() as uow:  # rolled back: nothing released
        await uow.sla.anonymise([first], closed_before=now, now=now)
    assert got == []
    async with db.unit_of_work() as uow:
        assert await uow.sla.anonymise([first], closed_before=now, now=now)
        await uow.commit()
    assert got == [set()]  # released, but the second complaint's photo still names the same bytes
    async with db.unit_of_work() as uow:
        await uow.sla.anonymise([second], closed_before=now, now=now)
        await uow.commit()
    assert got[-1] == {REF}  # now no row names it: the file may go
