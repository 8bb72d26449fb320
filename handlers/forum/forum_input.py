"""Written input to a forum (``/forum <id> masukan``): named or anonymous (the organisers never see
who sent anonymous input), one message, a few per person."""

from __future__ import annotations

from bot.domain import forum_rules as rules
from bot.domain.i18n import N_
from bot.domain.messages import Choice, Kind
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_name import ask_name, asks_name, take_name
from handlers.forum.forum_buttons import INPUT_ANON, INPUT_NAMED, ForumFlow, InputStep, upcoming_link
from handlers.forum.forum_shared import cancel_choice, not_found
from storage.models import Forum

router = Router("forum_input")


def mode_choices(turn: Turn) -> list[Choice]:
    t = turn.t
    return [Choice(t("👤 Dengan nama"), INPUT_NAMED), Choice(t("🙈 Anonim"), INPUT_ANON), cancel_choice(t)]


async def input_problem(turn: Turn, f: Forum) -> str | None:
    """Why the person cannot send input to ``f`` now (a msgid), or None."""
    return rules.input_problem(
        status=f.status,
        starts_at=f.starts_at,
        now=turn.now,
        sent_by_person=await turn.uow.forum.input_count(f.id, turn.user.id),
    )


async def start_input(turn: Turn, forum_id: int) -> None:
    t = turn.t
    f = await turn.uow.forum.get(forum_id)
    if f is None:
        not_found(turn, forum_id)
        return
    problem = await input_problem(turn, f)
    if problem:
        turn.reply(t(problem, max=rules.MAX_INPUTS_PER_PERSON))
        return
    turn.set_state(ForumFlow.INPUT, InputStep.MODE, {"forum_id": f.id})
    turn.reply(
        t(
            'Masukan untuk forum #{id} "{title}". Kirim dengan nama Anda, atau anonim '
            "(panitia tidak melihat siapa pengirimnya)?",
            id=f.id,
            title=f.title,
        ),
        mode_choices(turn),
    )


@router.flow(ForumFlow.INPUT)
async def input_flow(turn: Turn) -> None:
    if turn.step == InputStep.MODE:
        choose_mode(turn)
    elif turn.step == InputStep.NAME:
        if take_name(turn, cancel_choice(turn.t)):
            ask_text(turn)
    else:
        await take_text(turn)


def choose_mode(turn: Turn) -> None:
    t = turn.t
    inbound = turn.inbound
    mode = (inbound.choice or "") if inbound.kind is Kind.CHOICE else ""
    if mode not in (INPUT_NAMED, INPUT_ANON):
        turn.reply(t("Pilih salah satu tombol: Dengan nama atau Anonim."), mode_choices(turn))
        return
    turn.set_state(ForumFlow.INPUT, InputStep.TEXT, {**turn.data, "anonymous": mode == INPUT_ANON})
    if mode == INPUT_NAMED and asks_name(turn):  # the web chat gives no name: ask for one
        turn.set_state(ForumFlow.INPUT, InputStep.NAME)
        ask_name(turn, cancel_choice(t))
        return
    ask_text(turn)


def ask_text(turn: Turn) -> None:
    t = turn.t
    turn.set_state(ForumFlow.INPUT, InputStep.TEXT)
    turn.reply(
        t("Tulis masukan Anda dalam satu pesan ({min}–{max} huruf).", min=rules.INPUT[0], max=rules.INPUT[1]),
        [cancel_choice(t)],
    )


async def take_text(turn: Turn) -> None:
    t = turn.t
    data = dict(turn.data)
    inbound = turn.inbound
    if inbound.kind is not Kind.TEXT:
        turn.reply(t("Tulis masukan Anda sebagai teks, atau /batal."))
        return
    try:
        text = rules.check_length(inbound.text or "", rules.INPUT, N_("Masukan"))
    except rules.ForumInputError as exc:
        turn.reply(exc.text(t), [cancel_choice(t)])
        return
    repo = turn.uow.forum
    f = await repo.get(int(data["forum_id"]))
    problem = None if f is None else await input_problem(turn, f)
    turn.clear_state()
    if f is None or problem:
        turn.reply(t(problem or N_("Forum ini dibatalkan."), max=rules.MAX_INPUTS_PER_PERSON))
        return
    anonymous = bool(data.get("anonymous"))
    repo.add_input(
        forum_id=f.id, user_id=turn.user.id, anonymous=anonymous, channel=turn.inbound.channel, text=text, now=turn.now
    )
    turn.audit("forum_input", subject_type="forum", subject_id=str(f.id), anonymous=anonymous)
    turn.reply(
        t("🙏 Terima kasih, masukan Anda untuk forum #{id} tersimpan dan akan dibahas di forum.", id=f.id),
        [Choice(t("⬅️ Daftar forum"), upcoming_link(0))],
    )
