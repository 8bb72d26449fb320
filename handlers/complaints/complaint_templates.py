"""Reply templates for officers: ``/templat`` (list), ``/templat tambah NAMA TEKS`` and
``/templat hapus NAMA`` (an officer for their OPD, a coordinator for every OPD; audited), and the
template buttons /balas and /selesai offer when they ask for the text (``complaint_staff``).

Choosing a template (its button, its name or its number typed) shows its text with ``{nomor}`` and
``{opd}`` filled in; "✅ Kirim" sends it as it is, a typed text is sent instead (the officer's edited
version). An officer is offered their OPD's templates and the region-wide ones, never another OPD's.
"""

from __future__ import annotations

from bot.domain import reply_templates as rt
from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Choice
from bot.engine.region_context import RegionContext, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.complaints.complaint_actions import HANDLERS
from handlers.complaints.complaint_buttons import cancel_choice
from handlers.complaints.complaint_cards import short
from storage.follower_repo import EVERY_OPD

router = Router("complaints.templates")

PICK_PREFIX = "tpl:"
SEND = "tpl:send"
SEND_WORDS = ("kirim", "ya", "send", "ok", "oke")


async def templates_for(turn: Turn, ctx: RegionContext, opd: str | None) -> list[rt.Template]:
    """The templates offered for a complaint of ``opd``: the region file's and the stored ones."""
    stored = [
        rt.Template(r.name, r.text, None if r.opd_code == EVERY_OPD else r.opd_code, stored=True)
        for r in await turn.uow.followers.templates(opd)
    ]
    return rt.offered([*ctx.templates, *stored], opd)


def template_choices(t: Translator, templates: list[rt.Template]) -> list[Choice]:
    return [Choice(t("📝 {name}", name=x.name), f"{PICK_PREFIX}{i}") for i, x in enumerate(templates, start=1)]


def picked(templates: list[list[str]], choice: str | None, typed: str) -> tuple[str, str] | None:
    """(name, text) of the template a button, a typed name or a typed number picks, else None."""
    offered = [rt.Template(name, text) for name, text in templates]
    if choice and choice.startswith(PICK_PREFIX) and choice != SEND:
        index = choice.removeprefix(PICK_PREFIX)
        found = offered[int(index) - 1] if index.isdecimal() and 0 < int(index) <= len(offered) else None
    else:
        found = rt.find(offered, typed) if typed and not choice else None
    return (found.name, found.text) if found else None


def preview(turn: Turn, name: str, text: str) -> None:
    """The filled template, to send as it is or to edit by typing."""
    t = turn.t
    turn.reply(
        t("Templat “{name}”:", name=name)
        + f"\n\n{text}\n\n"
        + t("Tekan ✅ Kirim untuk mengirim teks ini apa adanya, atau ketik versi yang sudah Anda ubah."),
        [Choice(t("✅ Kirim"), SEND), cancel_choice(t)],
    )


def fill(ctx: RegionContext, text: str, number: str, opd: str | None) -> str:
    return rt.fill(text, number=number, opd=ctx.opd_names.get(opd or "", ""))


# ---- /templat --------------------------------------------------------------------------------
@router.command(
    "templat",
    "templates",
    description=N_("templat jawaban OPD: daftar, tambah, hapus"),
    roles=HANDLERS,
    usage=N_("[tambah NAMA TEKS | hapus NAMA]"),
)
async def templates_cmd(turn: Turn, args: str) -> None:
    ctx = await region_context(turn.uow.region)
    verb, _, rest = args.strip().partition(" ")
    if verb.lower() in ("tambah", "add"):
        await add(turn, ctx, rest.strip())
    elif verb.lower() in ("hapus", "remove", "delete"):
        await remove(turn, ctx, rest.strip())
    else:
        await list_templates(turn, ctx)


def scope(turn: Turn) -> str | None:
    """Where the person's templates go: their OPD (officer), every OPD (coordinator)."""
    return EVERY_OPD if turn.user.role == Role.COORDINATOR else turn.user.opd_code


async def list_templates(turn: Turn, ctx: RegionContext) -> None:
    t = turn.t
    opd = turn.user.opd_code if turn.user.role == Role.OFFICER else None
    found = await templates_for(turn, ctx, opd)
    lines = [t("Templat jawaban:") if found else t("Belum ada templat jawaban."), ""]
    for i, x in enumerate(found, start=1):
        where = ctx.opd_names.get(x.opd, x.opd) if x.opd else t("semua OPD")
        origin = t("ditambahkan") if x.stored else t("berkas wilayah")
        lines.append(f"{i}. {x.name} ({where}, {origin})\n   {short(x.text, 120)}")
    lines += [
        "",
        t("Tambah: /templat tambah NAMA TEKS · Hapus: /templat hapus NAMA"),
        t("Dalam teks, {nomor} diganti nomor laporan dan {opd} nama OPD.", nomor="{nomor}", opd="{opd}"),
    ]
    turn.reply("\n".join(lines))


async def add(turn: Turn, ctx: RegionContext, rest: str) -> None:
    t = turn.t
    where = scope(turn)
    name, _, text = rest.partition(" ")
    text = text.strip()
    if where is None:
        turn.reply(t("Akun Anda belum terhubung ke OPD. Mintalah kode undangan baru kepada koordinator."))
        return
    problem = rt.name_problem(name) or rt.text_problem(text)
    if problem:
        turn.reply(
            t(
                "Cara pakai: /templat tambah NAMA TEKS. NAMA satu kata (huruf, angka, - atau _, paling banyak 40); "
                "TEKS paling banyak {max} huruf, boleh memuat {nomor} dan {opd}.",
                max=rt.MAX_TEXT,
                nomor="{nomor}",
                opd="{opd}",
            )
        )
        return
    if any(x.name.lower() == name.lower() for x in ctx.templates if x.opd in (None, turn.user.opd_code)):
        turn.reply(t("Nama “{name}” sudah dipakai templat dari berkas wilayah. Pilih nama lain.", name=name))
        return
    new = await turn.uow.followers.put_template(where, name, text, turn.now)
    turn.audit("reply_template_added" if new else "reply_template_changed", subject_type="template", subject_id=name)
    turn.reply(t("Templat “{name}” disimpan.", name=name) if new else t("Templat “{name}” diperbarui.", name=name))


async def remove(turn: Turn, ctx: RegionContext, name: str) -> None:
    t = turn.t
    where = scope(turn)
    if not name or where is None or not await turn.uow.followers.drop_template(where, name):
        if any(x.name.lower() == name.lower() for x in ctx.templates):
            turn.reply(t("Templat “{name}” diatur di berkas wilayah; ubah di sana.", name=short(name, 40)))
            return
        turn.reply(t("Tidak ada templat bernama “{name}”. Lihat daftarnya: /templat", name=short(name, 40) or "-"))
        return
    turn.audit("reply_template_removed", subject_type="template", subject_id=name)
    turn.reply(t("Templat “{name}” dihapus.", name=name))
