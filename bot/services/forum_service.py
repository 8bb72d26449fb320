"""Forum (FKP) use cases shared by the chat (/forumbaru, /forumhasil) and ``kanal forum``: the
agenda proposed from the data, creating and announcing a forum, publishing its berita acara.

The caller owns the transaction and writes its own audit; messages to people are handed to
``send`` (a turn's ``notify`` or the CLI's notifier), which adds outbox rows in the same
transaction, rendered with ``translator_for(person)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain import forum_rules as rules
from bot.domain import skm as skm_rules
from bot.domain.i18n import Translator
from bot.domain.messages import Attachment, Choice, Reply
from bot.domain.region_config import SkmConfig
from storage.forum_repo import ForumRepo
from storage.models import Forum, User
from storage.skm_repo import SkmRepo

TranslatorFor = Callable[[User], Translator]
Send = Callable[[User, Reply], object]


class RegionView(Protocol):
    """What these use cases read of the region (``bot.engine.region_context.RegionContext`` has it)."""

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def opd_names(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class AgendaDraft:
    text: str
    opd_name: str
    period_key: str
    period_label: str
    start: datetime
    end: datetime
    has_data: bool


@dataclass(frozen=True)
class NewForum:
    """A checked forum, ready to be created (the fields of ``storage.models.Forum`` a creator sets)."""

    opd_code: str
    title: str
    topic: str
    starts_at: datetime
    place: str | None
    online_url: str | None
    capacity: int
    description: str
    agenda: str
    data_period_key: str | None
    data_from: datetime | None
    data_to: datetime | None


async def agenda_proposal(
    skm: SkmRepo,
    forums: ForumRepo,
    *,
    tz: ZoneInfo,
    skm_config: SkmConfig,
    opd_code: str,
    opd_name: str,
    now: datetime,
    t: Translator,
    lang: str,
) -> AgendaDraft:
    """The agenda proposed from the data: the OPD's weakest SKM elements and most frequent
    complaint topics of the current SKM period when it has any, else of the one before (the
    current period may have just begun), rendered with ``t``."""
    current = skm_rules.period_containing(now.astimezone(tz).date(), skm_config.period)
    draft = await _proposal_for(
        skm, forums, current, tz=tz, skm_config=skm_config, opd_code=opd_code, opd_name=opd_name, t=t, lang=lang
    )
    if draft.has_data:
        return draft
    return await _proposal_for(
        skm,
        forums,
        current.previous(),
        tz=tz,
        skm_config=skm_config,
        opd_code=opd_code,
        opd_name=opd_name,
        t=t,
        lang=lang,
    )


async def _proposal_for(
    skm: SkmRepo,
    forums: ForumRepo,
    period: skm_rules.Period,
    *,
    tz: ZoneInfo,
    skm_config: SkmConfig,
    opd_code: str,
    opd_name: str,
    t: Translator,
    lang: str,
) -> AgendaDraft:
    start, end = period.utc_range(tz.key)
    totals = await skm.element_totals(start=start, end=end, group_by="opd", opd_code=opd_code)
    proposal = rules.propose_agenda(
        opd_name=opd_name,
        period_key=period.key,
        period_label=period.label(lang),
        skm_totals=totals[0].totals if totals else None,
        skm_responses=totals[0].responses if totals else 0,
        topic_counts=await forums.complaint_topics(opd_code, start, end),
        complaints=await forums.complaint_count(opd_code, start, end),
        weight=skm_config.weight,
    )
    return AgendaDraft(
        rules.render_agenda(proposal, t, lang), opd_name, period.key, period.label(lang), start, end, proposal.has_data
    )


async def create_forum(
    repo: ForumRepo,
    region: RegionView,
    new: NewForum,
    *,
    created_by: int | None,
    created_via: str,
    now: datetime,
    translator_for: TranslatorFor,
    send: Send,
) -> tuple[Forum, int]:
    """Create the forum as published and announce it (not to its creator): (forum, people told).
    Raises ``rules.ForumInputError`` when its start has passed (or is too far) by now."""
    rules.check_start(new.starts_at, now)
    f = await repo.create(
        **dataclasses.asdict(new), status="published", created_by=created_by, created_via=created_via, created_at=now
    )
    sent = await announce_forum(repo, region, f, exclude=created_by, translator_for=translator_for, send=send)
    return f, sent


async def announce_forum(
    repo: ForumRepo,
    region: RegionView,
    f: Forum,
    *,
    exclude: int | None,
    translator_for: TranslatorFor,
    send: Send,
) -> int:
    """Tell the subscribers of the forum's OPD and of the whole region (each once) that it is
    published. The number of people told, also stored on the forum."""
    sent = 0
    opd_name = region.opd_names.get(f.opd_code, f.opd_code)
    for person in await repo.subscribers(f.opd_code):
        if person.id == exclude:
            continue
        pt = translator_for(person)
        text = rules.announcement_text(f, opd_name=opd_name, tz=region.tz, t=pt, lang=pt.lang)
        send(
            person, Reply(text=text, choices=(Choice(pt("Lihat & daftar"), f"/forum {f.id}"),), purpose="notification")
        )
        sent += 1
    f.announced = sent
    return sent


def result_problem(f: Forum, now: datetime) -> str | None:
    """Why the berita acara of ``f`` cannot be published now (a msgid), or None."""
    return rules.result_problem(status=f.status, starts_at=f.starts_at, now=now, published_at=f.result_published_at)


async def publish_result(
    repo: ForumRepo,
    region: RegionView,
    f: Forum,
    now: datetime,
    *,
    text: str,
    by: int | None,
    translator_for: TranslatorFor,
    send: Send,
    photo: Mapping[str, str | None] | None = None,
    document: Attachment | None = None,
) -> rules.Audience:
    """Record the berita acara on the forum (``photo``: ref, mime and channel of a photo received
    in chat) and send it to its audience (:func:`deliver_result`); the people reached."""
    f.result_text, f.result_by, f.result_published_at = text, by, now
    if photo is not None:
        f.result_photo_ref, f.result_photo_mime, f.result_photo_channel = (
            photo.get("ref"),
            photo.get("mime"),
            photo.get("channel"),
        )
    return await deliver_result(
        repo, region, f, now, exclude=by, translator_for=translator_for, send=send, document=document
    )


async def deliver_result(
    repo: ForumRepo,
    region: RegionView,
    f: Forum,
    now: datetime,
    *,
    exclude: int | None,
    translator_for: TranslatorFor,
    send: Send,
    document: Attachment | None = None,
) -> rules.Audience:
    """Send the published berita acara (``f.result_*`` already set) to the registered participants
    and to the subscribers who filed a complaint or survey on the OPD in the forum's data
    period up to now; nobody else. A photo received in chat goes to people on the same platform
    (its file reference is only valid there); ``document`` (a PDF from the CLI) goes to all."""
    since, until = rules.outcome_window(f.data_from, f.created_at, now)
    ids = await repo.outcome_audience(f, since, until)
    audience = rules.Audience(ids.participants, ids.contributors).without(exclude)
    people = await repo.users(audience.all)
    opd_name = region.opd_names.get(f.opd_code, f.opd_code)
    for person in people:
        pt = translator_for(person)
        image = None
        if f.result_photo_ref and person.channel == f.result_photo_channel:
            image = Attachment(
                filename="berita-acara.jpg", mime_type=f.result_photo_mime or "image/jpeg", file_ref=f.result_photo_ref
            )
        send(
            person,
            Reply(
                text=rules.result_text(f, opd_name=opd_name, tz=region.tz, t=pt, lang=pt.lang),
                image=image,
                document=document,
                choices=(Choice(pt("🤝 Forum lainnya"), "/forum"),),
                purpose="notification",
            ),
        )
    f.result_recipients = len(people)
    return rules.Audience(
        frozenset(p.id for p in people if p.id in audience.participants),
        frozenset(p.id for p in people if p.id not in audience.participants),
    )
