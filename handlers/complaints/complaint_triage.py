"""Coordinators: /triase (complaints waiting to be routed, each with a button that asks for the
OPD), /arahkan (route one to an OPD; without the OPD: a button per OPD, the suggested one first),
/undang (an invitation code for an OPD's officer) and /cari (search all complaints)."""

from __future__ import annotations

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Forget
from bot.engine.region_context import RegionContext, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.services.invites import INVITE_VALID_FOR, new_invite_code
from handlers.complaints.complaint_actions import (
    apply_action,
    complaint_and_code,
    first_word,
)
from handlers.complaints.complaint_buttons import (
    after_action_choices,
    command,
    opd_choices,
    other_body_choice,
    pick_opd_choice,
    view_choice,
)
from handlers.complaints.complaint_cards import (
    PAGE,
    notify_citizen,
    notify_followers,
    notify_handlers,
    page_number,
    route_suggestion,
    send_list,
    short,
    staff_state_label,
)
from handlers.complaints.complaint_routing import learn
from storage.models import Complaint

router = Router("complaints.triage")

COORDINATOR = (Role.COORDINATOR,)


@router.command(
    "triase", "triage", description=N_("pengaduan yang menunggu diarahkan"), roles=COORDINATOR, usage=N_("[halaman]")
)
async def triage(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    page = page_number(turn, "triase", first_word(args) or None)
    if page is None:
        return
    result = await turn.uow.complaints.triage(limit=PAGE, offset=(page - 1) * PAGE)
    send_list(
        turn,
        ctx,
        result,
        t("Belum diarahkan"),
        page,
        lambda p: command("triase", p),
        empty=t("Tidak ada laporan yang menunggu diarahkan. 👍"),
        item_choice=lambda c: pick_opd_choice(t, c.number, f"➡️ {c.number}"),
    )


@router.command(
    "arahkan", "route", description=N_("arahkan pengaduan ke OPD"), roles=COORDINATOR, usage=N_("<nomor> <KODE-OPD>")
)
async def route_cmd(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    got = await complaint_and_code(turn, args, "route")
    if got is None:
        return
    c, target, typed = got
    if target not in ctx.opd_names:
        await ask_opd(turn, ctx, c, unknown=typed or None)
        return
    turn.uow.complaints.route_to(c, target, turn.now)
    apply_action(turn, c, "route", actor_role=Role.COORDINATOR, text=None)
    await learn(turn, c, target, "arahkan")
    await notify_citizen(
        turn, c, N_("ℹ️ Laporan {number} sudah diperiksa dan diteruskan ke {opd}."), opd=ctx.opd_names[target]
    )
    await notify_followers(turn, c, N_("diteruskan ke {opd}."), opd=ctx.opd_names[target])
    await notify_handlers(turn, ctx, c, N_("📣 Pengaduan baru {number} (diarahkan koordinator)"))
    lines = [t("Laporan {number} diarahkan ke {opd}.", number=c.number, opd=ctx.opd_names[target])]
    if not await turn.uow.users.users_with_role(Role.OFFICER, target):
        lines.append(no_officer_line(t, target, ctx.opd_names[target]))
    turn.reply("\n".join(lines), after_action_choices(t, turn.user.role))


async def ask_opd(turn: Turn, ctx: RegionContext, c: Complaint, *, unknown: str | None = None) -> None:
    """ "➡️ Arahkan": which OPD? A button per OPD, the router's suggestion first; and the text, so
    the coordinator decides without opening the complaint."""
    t = turn.t
    lines = [t('Kode OPD "{code}" tidak dikenal.', code=short(unknown, 30))] if unknown else []
    lines += [t("Arahkan {number} ke OPD mana?", number=c.number), "", f"“{short(c.text, 300)}”"]
    suggested = await route_suggestion(turn, ctx, c)
    if suggested:
        lines += ["", t("Usulan sistem: {opd}", opd=ctx.opd_names[suggested])]
    choices = opd_choices(t, list(ctx.opd_names), lambda code: command("arahkan", c.number, code), suggested)
    if ctx.outside:
        choices.append(other_body_choice(t, c.number))
    turn.reply("\n".join(lines), [*choices, view_choice(t, c.number)])


def no_officer_line(t: Translator, code: str, name: str) -> str:
    return t(
        "⚠️ {opd} belum punya petugas di Kanal, jadi belum ada yang menerima laporan ini. "
        "Undang petugasnya dengan /undang {code}.",
        opd=name,
        code=code,
    )


@router.command(
    "undang", "invite", description=N_("buat kode undangan petugas OPD"), roles=COORDINATOR, usage=N_("<KODE-OPD>")
)
async def invite(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    opd = args.strip().upper()
    if opd not in ctx.opd_names:
        turn.reply(
            t("Sebutkan kode OPD, misalnya: /undang PUPR. Kode OPD: {codes}", codes=", ".join(sorted(ctx.opd_names)))
        )
        return
    code = new_invite_code()
    turn.uow.invites.create_invite(
        code=code, role=Role.OFFICER, opd_code=opd, now=turn.now, valid_for=INVITE_VALID_FOR, created_by=turn.user.id
    )
    turn.audit("invite_created", subject_type="opd", subject_id=opd, role=Role.OFFICER)
    turn.reply(
        t("Kode undangan petugas {opd} (sekali pakai, berlaku 7 hari). Petugas mengetik:", opd=ctx.opd_names[opd])
        + f"\n\n{command('gabung', code)}",
        forget=Forget.PAYLOAD,  # the code is stored only hashed: not in the sent message either
    )


@router.command("cari", "search", description=N_("cari pengaduan"), roles=COORDINATOR, usage=N_("<kata>"))
async def search(turn: Turn, args: str) -> None:
    t = turn.t
    term = " ".join(args.split())[:100]
    if len(term) < 3:
        turn.reply(t("Ketik /cari diikuti minimal 3 huruf, misalnya: /cari jembatan"))
        return
    await region_context(turn.uow.region)  # as every complaint command: there must be a loaded region
    rows = await turn.uow.complaints.search(term)
    if not rows:
        turn.reply(t('Tidak ada laporan yang memuat "{term}".', term=term))
        return
    lines = [t('Hasil pencarian "{term}":', term=term)]
    for c in rows:
        where = c.opd_code or t("belum diarahkan")
        lines.append(f"• {c.number} · {staff_state_label(t, c.state)} · {where}\n  {short(c.text, 80)}")
    turn.reply("\n".join(lines), [view_choice(t, c.number, c.number) for c in rows])
