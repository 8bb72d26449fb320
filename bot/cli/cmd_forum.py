"""`kanal forum create|list|result`: forums from the command line (the chat has /forumbaru and
/forumhasil; both go through ``bot.services.forum_service``). Messages go to the outbox; the
running bot delivers them."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from bot.channels.registry import renderers
from bot.domain import forum_rules as rules
from bot.domain.i18n import Translator
from bot.domain.messages import Attachment
from bot.engine.notify import Notifier
from bot.engine.region_context import RegionContext, region_context
from bot.services.forum_service import NewForum, agenda_proposal, create_forum, publish_result, result_problem

COMMANDS = ("forum",)
#: a PDF is copied into every recipient's outbox row (the platforms take uploads, not links)
MAX_PDF_BYTES = 2 * 1024 * 1024


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "forum",
        help="public consultation forums (FKP)",
        description="Create, list, or publish the berita acara of public consultation forums (FKP).",
    )
    fsub = p.add_subparsers(dest="forum_command", metavar="ACTION", required=True)
    c = fsub.add_parser(
        "create",
        help="create and announce a forum",
        description="Create a forum and announce it to the subscribers of its OPD and of the whole region "
        "(through the outbox: the running bot delivers). Without --agenda the agenda is proposed from "
        "the OPD's weakest SKM elements and most frequent complaint topics of the last SKM period.",
    )
    c.add_argument("--opd", required=True, metavar="CODE", help="the OPD holding the forum")
    c.add_argument("--title", required=True)
    c.add_argument("--topic", help="main topic (default: the title)")
    c.add_argument(
        "--at",
        required=True,
        metavar="WHEN",
        help="local start time in the region's time zone, with its hour: '2026-12-10 09:00', "
        "'10/12 09:00', 'Kamis 10 Desember jam 9 pagi', 'besok jam 13.00'",
    )
    c.add_argument("--place", metavar="ADDRESS", help="address (and/or --url; one of them is required)")
    c.add_argument("--url", metavar="URL", help="online meeting link (https://…)")
    c.add_argument("--capacity", type=int, default=50, metavar="N", help="seats (default 50)")
    c.add_argument(
        "--description", help="what the forum is for and who is invited (default: a sentence from OPD and title)"
    )
    c.add_argument("--agenda", help="agenda text (default: proposed from the data)")
    fsub.add_parser("list", help="upcoming and past forums", description="Upcoming forums, then the last past ones.")
    r = fsub.add_parser(
        "result",
        help="publish a forum's berita acara",
        description="Publish the berita acara (minutes of agreement) of a forum that has started, "
        "optionally with a PDF, to its registered participants and to the subscribed citizens who filed "
        "a complaint or survey on its OPD in the forum's data period; once per forum (as /forumhasil in the chat).",
    )
    r.add_argument("forum_id", type=int, metavar="ID", help="the forum number (kanal forum list)")
    text = r.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the berita acara text")
    text.add_argument("--text-file", metavar="FILE", help="read the text from a UTF-8 file ('-' = standard input)")
    r.add_argument(
        "--pdf", metavar="FILE", help=f"attach this PDF (at most {MAX_PDF_BYTES // (1024 * 1024)} MB) to every message"
    )


class _Failed(Exception):
    """A message for standard error and the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


async def run(args: argparse.Namespace, db, settings, now: datetime) -> int:
    try:
        body, pdf = _result_input(args) if args.forum_command == "result" else (None, None)
        notifier = Notifier(renderers(None), languages=settings.languages)
        async with db.unit_of_work() as uow:
            if await uow.region.region() is None:
                raise _Failed("no region loaded: run `kanal region load FILE` first", 1)
            ctx = await region_context(uow.region)
            if args.forum_command == "list":
                await _list(uow, ctx, now)
            elif args.forum_command == "result":
                await _result(args, uow, ctx, notifier, now, body, pdf)
            else:
                await _create(args, uow, ctx, notifier, now)
    except _Failed as exc:
        print(f"kanal: {exc}", file=sys.stderr)
        return exc.code
    return 0


def _result_input(args: argparse.Namespace) -> tuple[str, bytes | None]:
    """The berita acara text and the PDF (or None) named on the command line."""
    pdf: bytes | None = None
    try:
        body = (
            sys.stdin.read()
            if args.text_file == "-"
            else (Path(args.text_file).read_text("utf-8") if args.text_file else args.text)
        )
        if args.pdf:
            pdf = Path(args.pdf).read_bytes()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Failed(f"cannot read {exc.filename or args.text_file}: {exc.strerror or exc}") from exc
    if pdf is not None and (len(pdf) > MAX_PDF_BYTES or not pdf.startswith(b"%PDF-")):
        raise _Failed(f"{args.pdf} is not a PDF of at most {MAX_PDF_BYTES // (1024 * 1024)} MB")
    return body, pdf


def _sender(uow, notifier: Notifier, now: datetime):
    def send(person, reply) -> None:
        notifier.to_user(uow.outbox, person, reply, now)

    return send


async def _list(uow, ctx: RegionContext, now: datetime) -> None:
    repo = uow.forum
    for label, page in (("upcoming", await repo.upcoming(now, limit=50)), ("past", await repo.past(now, limit=20))):
        print(f"{label} ({page.total}):")
        counts = await repo.registered_counts(f.id for f in page.rows)
        for f in page.rows:
            result = " result published" if f.result_published_at else ""
            print(
                f"  #{f.id:<5} {f.starts_at.astimezone(ctx.tz):%Y-%m-%d %H:%M}  {f.opd_code:12} {f.title}  "
                f"[{counts.get(f.id, 0)}/{f.capacity}]{result}"
            )


async def _result(args, uow, ctx: RegionContext, notifier: Notifier, now: datetime, body: str, pdf) -> None:
    f = await uow.forum.get(args.forum_id, lock=True)
    if f is None:
        raise _Failed(f"forum {args.forum_id} not found (kanal forum list)")
    problem = result_problem(f, now)
    try:
        if problem:
            raise rules.ForumInputError(problem)
        text = rules.check_length(body, rules.RESULT, "--text")
    except rules.ForumInputError as exc:
        raise _Failed(exc.text(Translator("en"))) from exc
    document = (
        Attachment(filename=f"berita-acara-forum-{f.id}.pdf", mime_type="application/pdf", data=pdf) if pdf else None
    )
    sent = await publish_result(
        uow.forum,
        ctx,
        f,
        now,
        text=text,
        by=None,
        translator_for=notifier.translator_for,
        send=_sender(uow, notifier, now),
        document=document,
    )
    uow.audit.audit(
        at=now,
        action="forum_result_published",
        actor_user_id=None,
        subject_type="forum",
        subject_id=str(f.id),
        detail={
            "via": "cli",
            "recipients": len(sent.all),
            "participants": len(sent.participants),
            "contributors": len(sent.contributors),
            "pdf": bool(pdf),
        },
    )
    await uow.commit()
    print(
        f"forum #{f.id}: berita acara published to {len(sent.all)} people "
        f"({len(sent.participants)} participants, {len(sent.contributors)} subscribed contributors)"
    )


async def _new_forum(args, uow, ctx: RegionContext, now: datetime) -> NewForum:
    """The forum the command line describes, checked; the agenda proposed from the data unless given."""
    opd = await uow.region.get_opd(args.opd.upper())
    if opd is None or not opd.active:
        known = ", ".join(o.code for o in await uow.region.opds())
        raise _Failed(f"unknown OPD {args.opd!r}; known: {known}")
    try:
        title = rules.check_length(args.title, rules.TITLE, "--title")
        topic = rules.check_length(args.topic or title, rules.TOPIC, "--topic")
        starts = rules.parse_when(args.at, ctx.tz, now)
        place, url = rules.parse_place(" | ".join(p for p in (args.place, args.url) if p))
        capacity = rules.parse_capacity(str(args.capacity))
        description = rules.check_length(
            args.description or f"Forum Konsultasi Publik {opd.name}: {title}.", rules.DESCRIPTION, "--description"
        )
        proposal = await agenda_proposal(
            uow.skm,
            uow.forum,
            tz=ctx.tz,
            skm_config=ctx.skm,
            opd_code=opd.code,
            opd_name=opd.name,
            now=now,
            t=Translator("id"),
            lang="id",
        )
        agenda = rules.check_length(args.agenda, rules.AGENDA, "--agenda") if args.agenda else proposal.text
    except rules.ForumInputError as exc:
        raise _Failed(exc.text(Translator("en"))) from exc
    return NewForum(
        opd_code=opd.code,
        title=title,
        topic=topic,
        starts_at=starts,
        place=place,
        online_url=url,
        capacity=capacity,
        description=description,
        agenda=agenda,
        data_period_key=proposal.period_key,
        data_from=proposal.start,
        data_to=proposal.end,
    )


async def _create(args, uow, ctx: RegionContext, notifier: Notifier, now: datetime) -> None:
    new = await _new_forum(args, uow, ctx, now)
    f, sent = await create_forum(
        uow.forum,
        ctx,
        new,
        created_by=None,
        created_via="cli",
        now=now,
        translator_for=notifier.translator_for,
        send=_sender(uow, notifier, now),
    )
    uow.audit.audit(
        at=now,
        action="forum_created",
        actor_user_id=None,
        subject_type="forum",
        subject_id=str(f.id),
        detail={"via": "cli", "announced": sent},
    )
    await uow.commit()
    print(
        f"forum #{f.id} created ({new.opd_code}, {new.starts_at.astimezone(ctx.tz):%Y-%m-%d %H:%M}); "
        f"announced to {sent} subscribers"
    )
    print("agenda:\n" + new.agenda)
