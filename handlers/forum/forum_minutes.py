"""``/forumhasil <id>``: staff publish a forum's berita acara (text, optional photo) to its
registered participants and the subscribed contributors (``bot.services.forum_service``). A PDF
cannot be received in chat (the channels pass only images): ``kanal forum result ID --pdf FILE``
publishes one.
"""

from __future__ import annotations

from bot.domain import forum_rules as rules
from bot.domain.i18n import N_
from bot.domain.messages import Choice, Kind
from bot.engine.region_context import region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.services.forum_service import publish_result, result_problem
from handlers.forum.forum_buttons import PUBLISH_RESULT, RESULT_SKIP_PHOTO, ForumFlow, ResultStep, parse_id
from handlers.forum.forum_shared import STAFF, cancel_choice, not_found, staff_forum

router = Router("forum_minutes")

FLOW = ForumFlow.RESULT


@router.command(
    "forumhasil",
    "forumresult",
    description=N_("terbitkan berita acara forum"),
    roles=STAFF,
    usage=N_("<nomor> [teks]"),
)
async def forum_result(turn: Turn, args: str) -> None:
    turn.clear_state()
    t = turn.t
    forum_id = parse_id(args)
    if forum_id is None:
        turn.reply(t("Tulis nomor forum, misalnya /forumhasil 3."))
        return
    f = await staff_forum(turn, forum_id)
    if f is None:
        not_found(turn, forum_id)
        return
    problem = result_problem(f, turn.now)
    if problem:
        turn.reply(t(problem))
        return
    rest = args.strip().split(maxsplit=1)
    turn.set_state(FLOW, ResultStep.TEXT, {"forum_id": f.id})
    if len(rest) > 1:
        await take_text(turn, rest[1])
        return
    turn.reply(
        t(
            "Tulis berita acara forum #{id}: kesepakatan perbaikan dan langkah berikutnya ({min}–{max} huruf).",
            id=f.id,
            min=rules.RESULT[0],
            max=rules.RESULT[1],
        ),
        [cancel_choice(t)],
    )


async def take_text(turn: Turn, text: str) -> None:
    t = turn.t
    try:
        value = rules.check_length(text, rules.RESULT, N_("Berita acara"))
    except rules.ForumInputError as exc:
        turn.reply(exc.text(t), [cancel_choice(t)])
        return
    turn.set_state(FLOW, ResultStep.PHOTO, {**turn.data, "text": value})
    turn.reply(
        t("Lampirkan foto berita acara yang ditandatangani? Kirim fotonya, atau tekan Lewati."),
        [Choice(t("⏭ Lewati"), RESULT_SKIP_PHOTO), cancel_choice(t)],
    )


def publish_choices(turn: Turn) -> list[Choice]:
    t = turn.t
    return [Choice(t("📢 Terbitkan"), PUBLISH_RESULT), cancel_choice(t)]


@router.flow(FLOW)
async def result_flow(turn: Turn) -> None:
    t = turn.t
    inbound = turn.inbound
    if turn.step == ResultStep.TEXT:
        if inbound.kind is Kind.TEXT and (inbound.text or "").strip():
            await take_text(turn, inbound.text or "")
        else:
            turn.reply(t("Tulis berita acara sebagai teks, atau /batal."))
    elif turn.step == ResultStep.PHOTO:
        take_photo(turn)
    elif turn.step == ResultStep.CONFIRM:
        if inbound.kind is Kind.CHOICE and inbound.choice == PUBLISH_RESULT:
            await publish(turn, dict(turn.data))
        else:
            turn.reply(t("Tekan Terbitkan, atau /batal."), publish_choices(turn))


def take_photo(turn: Turn) -> None:
    t = turn.t
    inbound = turn.inbound
    data = dict(turn.data)
    if inbound.kind is Kind.PHOTO and inbound.photo is not None:
        data["photo"] = {"ref": inbound.photo.file_ref, "mime": inbound.photo.mime_type, "channel": inbound.channel}
    elif not (inbound.kind is Kind.CHOICE and inbound.choice == RESULT_SKIP_PHOTO):
        if inbound.kind is Kind.UNSUPPORTED and inbound.unsupported_type == "document":
            msg = t(
                "Dokumen PDF belum bisa diterima lewat chat. Kirim foto berita acara, atau tekan Lewati; "
                "admin dapat menerbitkan berita acara dengan lampiran PDF lewat perintah: "
                "kanal forum result {id} --pdf FILE",
                id=data["forum_id"],
            )
        else:
            msg = t("Kirim foto, atau tekan Lewati.")
        turn.reply(msg, [Choice(t("⏭ Lewati"), RESULT_SKIP_PHOTO), cancel_choice(t)])
        return
    turn.set_state(FLOW, ResultStep.CONFIRM, data)
    note = t("dengan 1 foto") if data.get("photo") else t("tanpa foto")
    turn.reply(
        t("Berita acara ({note}):", note=note)
        + "\n\n"
        + data["text"]
        + "\n\n"
        + t(
            "Terbitkan? Dikirim ke peserta terdaftar dan ke warga pelanggan kabar forum yang melapor atau "
            "mengisi survei tentang OPD ini."
        ),
        publish_choices(turn),
    )


async def publish(turn: Turn, data: dict) -> None:
    t = turn.t
    f = await staff_forum(turn, int(data["forum_id"]), lock=True)
    turn.clear_state()
    if f is None:
        not_found(turn, data.get("forum_id"))
        return
    problem = result_problem(f, turn.now)
    if problem:
        turn.reply(t(problem))
        return
    sent = await publish_result(
        turn.uow.forum,
        await region_context(turn.uow.region),
        f,
        turn.now,
        text=data["text"],
        by=turn.user.id,
        photo=data.get("photo") or {},
        translator_for=turn.translator_for,
        send=turn.notify,
    )
    n = len(sent.all)
    turn.audit(
        "forum_result_published",
        subject_type="forum",
        subject_id=str(f.id),
        recipients=n,
        participants=len(sent.participants),
        contributors=len(sent.contributors),
    )
    turn.reply(t("📄 Berita acara forum #{id} diterbitkan dan dikirim ke {n} orang.", id=f.id, n=n))
