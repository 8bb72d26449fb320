"""Routing in the flows: the one decision a new complaint gets, the coordinators' "not ours" close
(/luar) and the region's own routing decisions kept as labelled examples.

* ``decide_route``: the keyword router of the region file together with the region's learned model
  (``bot.domain.routing_decision.decide``; the model is the latest one stored, trained from the
  examples below by the ``routing_retrain`` job or ``kanal routing train``). ``kanal routing evaluate``
  and ``explain`` ask the same function of the rules, so what they report is what filing does.
* ``/luar NOMOR [KODE]`` (coordinators): a complaint in triage that belongs to a body outside the
  Pemda (the region file's ``[[outside]]``: PLN, BPN, Samsat…) is closed as "diteruskan ke instansi
  berwenang"; the reporter is told which body handles it, and SP4N-LAPOR! where it applies.
* ``learn``: every routing decision of staff — ``/arahkan``, ``/teruskan``, ``/kembalikan`` (the OPD
  it was wrong for, kept as a negative mark) and ``/luar`` (label ``NONE``) — is stored with the
  complaint's text as an example of this region (``uow.routing.record``: the last decision about a
  complaint is its label). Erasure and retention delete a complaint's example with its text.
"""

from __future__ import annotations

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.domain.routing_decision import Decision, decide
from bot.domain.routing_model import NONE_LABEL
from bot.engine.region_context import RegionContext, region_context, routing_model
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.complaints.complaint_actions import apply_action, complaint_and_code
from handlers.complaints.complaint_buttons import after_action_choices, refer_choice, view_choice
from handlers.complaints.complaint_cards import notify_citizen, notify_followers, outside_body, short
from storage.models import Complaint

router = Router("complaints.routing")

LAPOR_URL = "https://www.lapor.go.id"


async def decide_route(turn: Turn, ctx: RegionContext, text: str) -> Decision:
    """The decision a complaint with ``text`` gets now (the keyword router and the stored model)."""
    return decide(text, ctx.router, await routing_model(turn.uow.routing))


async def learn(turn: Turn, c: Complaint, label: str, source: str) -> None:
    """Keep a staff routing decision about ``c`` as a labelled example; not once its reporter erased
    their data (the complaint is detached and its text is a marker)."""
    if c.text and c.citizen_user_id is not None:
        await turn.uow.routing.record(complaint_id=c.id, text=c.text, label=label, source=source, at=turn.now)


@router.command(
    "luar",
    "refer",
    description=N_("tutup: bukan urusan Pemda, teruskan ke instansi yang berwenang"),
    roles=(Role.COORDINATOR,),
    usage=N_("<nomor> [KODE-INSTANSI]"),
)
async def refer_out(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    got = await complaint_and_code(turn, args, "refer_out")
    if got is None:
        return
    c, target, typed = got
    body = outside_body(ctx, target)
    if body is None:
        ask_body(turn, ctx, c, unknown=typed or None)
        return
    c.referred_to = body.code
    apply_action(turn, c, "refer_out", actor_role=Role.COORDINATOR, text=body.name)
    await learn(turn, c, NONE_LABEL, "luar")
    msgid = (
        N_(
            "ℹ️ Laporan {number} bukan urusan Pemda, tetapi urusan {body}. Kami teruskan ke sana, dan laporan "
            "ini ditutup di sini. Untuk menanyakan kelanjutannya, hubungi mereka langsung, atau laporkan "
            "lewat SP4N-LAPOR!: {lapor}"
        )
        if body.lapor
        else N_(
            "ℹ️ Laporan {number} bukan urusan Pemda, tetapi urusan {body}. Kami teruskan ke sana, dan laporan "
            "ini ditutup di sini. Untuk menanyakan kelanjutannya, hubungi mereka langsung."
        )
    )
    await notify_citizen(turn, c, msgid, body=body.name, lapor=LAPOR_URL)
    await notify_followers(turn, c, N_("bukan urusan Pemda; diteruskan ke {body}."), body=body.name)
    turn.reply(
        t(
            "Laporan {number} ditutup: diteruskan ke {body}. Pelapor sudah diberi tahu.",
            number=c.number,
            body=body.name,
        ),
        after_action_choices(t, turn.user.role),
    )


def ask_body(turn: Turn, ctx: RegionContext, c: Complaint, *, unknown: str | None) -> None:
    """Which outside body? A button per body of the region file, the router's suggestion first."""
    t = turn.t
    lines = [t('Kode instansi "{code}" tidak dikenal.', code=short(unknown, 30))] if unknown else []
    if not ctx.outside:
        lines.append(
            t(
                "Berkas wilayah belum memuat instansi di luar Pemda ([[outside]]). "
                "Tambahkan, lalu muat ulang dengan: kanal region load"
            )
        )
        turn.reply("\n".join(lines), [view_choice(t, c.number)])
        return
    lines += [t("Laporan {number} urusan instansi mana?", number=c.number), "", f"“{short(c.text, 300)}”", ""]
    bodies = sorted(ctx.outside, key=lambda o: o.code != c.suggested_outside)
    lines += [f"• {o.code}: {o.name}" for o in bodies]
    choices = [refer_choice(t, c.number, o.code) for o in bodies]
    turn.reply("\n".join(lines), [*choices, view_choice(t, c.number)])
