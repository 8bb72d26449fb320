"""Pengaduan: citizens file and follow complaints; OPD officers and coordinators handle them.

Privacy is enforced in two places: queries for officers are scoped to their OPD in SQL
(``storage.complaint_repo``), and every text an officer or coordinator sees about a reporter is built
by :func:`reporter_line`, which prints nothing identifying for an anonymous complaint.
"""

from __future__ import annotations

from bot.domain import complaint_rules as rules
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Attachment, Choice, Kind, Reply
from bot.engine.region_context import RegionContext, fmt_date, fmt_datetime, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account import INVITE_VALID_FOR, new_invite_code, show_menu
from storage.complaint_repo import ComplaintRepo
from storage.models import Complaint, User

PAGE = 8
FLOW = "lapor"
OFFICER_FLOW = "petugas"
RATE_FLOW = "nilai"

ACTION_EVENT_LABELS = {
    "filed": N_("Laporan diterima"),
    "routed": N_("Didisposisikan ke {opd}"),
    "auto_routed": N_("Diteruskan otomatis ke {opd}"),
    "to_triage": N_("Menunggu verifikasi koordinator"),
    "answer": N_("Jawaban petugas"),
    "resolve": N_("Dinyatakan selesai"),
    "forward": N_("Diteruskan ke {opd}"),
    "return": N_("Dikembalikan ke koordinator"),
    "rate_good": N_("Pelapor puas; ditutup"),
    "rate_bad": N_("Pelapor tidak puas; dibuka kembali"),
    "autoclose": N_("Ditutup otomatis (tidak ada konfirmasi)"),
}


# ---- helpers --------------------------------------------------------------------------------
def reporter_line(t: Translator, c: Complaint, citizen: User | None) -> str:
    """Who filed it, as an officer/coordinator may see it. Anonim: nothing identifying, ever."""
    if c.privacy == "anonim":
        return t("Pelapor: Anonim")
    if citizen is None or citizen.erased_at is not None:
        return t("Pelapor: (data pribadi telah dihapus)")
    name = citizen.display_name or t("tanpa nama")
    extra = t(" · 🔒 Rahasia") if c.privacy == "rahasia" else ""
    return t("Pelapor: {name}", name=name) + extra


def short(text: str, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def page_number(turn: Turn, command: str, word: str | None) -> int | None:
    """The page typed after a list command (1 when none); None, with the command's usage told,
    when ``word`` is not one ("/antrian abc", "/triase 0": silently showing page 1 misleads)."""
    if word is None:
        return 1
    if word.isdecimal() and 0 < int(word) < 100000:  # isdecimal, not isdigit: "²" is no int()
        return int(word)
    turn.reply(
        turn.t(
            '"{word}" bukan nomor halaman. Cara pakai: /{command} {usage}',
            word=short(word, 30),
            command=command,
            usage=turn.t("[halaman]"),
        )
    )
    return None


def state_label(t: Translator, state: str) -> str:
    return t(rules.STATE_LABELS.get(state, state))


def overdue_mark(turn: Turn, ctx: RegionContext, c: Complaint) -> str:
    if c.completion_due_at is None or c.state not in rules.OPEN_STATES:
        return ""
    if turn.now > c.completion_due_at:
        days = ctx.calendar.working_days_between(c.completion_due_at, turn.now)
        return " ⚠️ " + turn.t("lewat {n} hari kerja", n=max(days, 1)) if days else " ⚠️ " + turn.t("lewat batas")
    return ""


def officer_buttons(t: Translator, c: Complaint) -> list[Choice]:
    n = c.number
    return [
        Choice(t("👁 Lihat"), f"/lihat {n}"),
        Choice(t("💬 Balas"), f"/balas {n}"),
        Choice(t("✅ Selesai"), f"/selesai {n}"),
        Choice(t("↩️ Kembalikan"), f"/kembalikan {n}"),
    ]


def complaint_card(
    turn: Turn, ctx: RegionContext, c: Complaint, citizen: User | None, t: Translator, *, heading: str
) -> str:
    lines = [heading, "", short(c.text, 600), ""]
    if c.address:
        lines.append(t("📍 {address}", address=c.address))
    if c.latitude is not None and c.longitude is not None:
        lines.append(t("📍 Lokasi: {lat:.5f}, {lon:.5f}", lat=c.latitude, lon=c.longitude))
    lines.append(reporter_line(t, c, citizen))
    lines.append(t("Status: {state}", state=t(rules.STATE_LABELS[c.state])))
    if c.opd_code:
        lines.append(t("OPD: {opd}", opd=ctx.opd_names.get(c.opd_code, c.opd_code)))
    lines.append(t("Batas tanggapan pertama: {date}", date=fmt_date(turn, ctx, c.response_due_at)))
    lines.append(
        t("Batas penyelesaian: {date}", date=fmt_date(turn, ctx, c.completion_due_at)) + overdue_mark(turn, ctx, c)
    )
    return "\n".join(lines)


async def notify_handlers(turn: Turn, ctx: RegionContext, c: Complaint, heading_msgid: str, **kw) -> None:
    """Tell the complaint's current handlers: the OPD's officers, or the coordinators for triage."""
    if c.state == "triase" or c.opd_code is None:
        people = await turn.repo.users_with_role("coordinator")
    else:
        people = await turn.repo.users_with_role("officer", c.opd_code)
    citizen = await turn.repo.get_user(c.citizen_user_id) if c.citizen_user_id else None
    for person in people:
        if person.id == turn.user.id:
            continue
        t = turn.translator_for(person)
        text = complaint_card(turn, ctx, c, citizen, t, heading=t(heading_msgid, number=c.number, **kw))
        choices = (
            officer_buttons(t, c)
            if person.role == "officer"
            else [Choice(t("👁 Lihat"), f"/lihat {c.number}")]
            + (
                [Choice(t("➡️ Arahkan ke {opd}", opd=c.suggested_opd), f"/arahkan {c.number} {c.suggested_opd}")]
                if c.state == "triase" and c.suggested_opd
                else []
            )
        )
        turn.notify(person, Reply(text=text, choices=tuple(choices)))


async def notify_citizen(turn: Turn, c: Complaint, msgid: str, choices: tuple[Choice, ...] = (), **kw) -> None:
    if c.citizen_user_id is None or c.citizen_user_id == turn.user.id:
        return
    citizen = await turn.repo.get_user(c.citizen_user_id)
    if citizen is None or citizen.erased_at is not None:
        return
    t = turn.translator_for(citizen)
    # a staff member's answer that cannot be delivered is reported back to them (Notifier.delivery_failed)
    report = {"user_id": turn.user.id, "about": c.number} if turn.user.role in ("officer", "coordinator") else None
    turn.notify(citizen, Reply(text=t(msgid, number=c.number, **kw), choices=choices, on_failure=report))


# ---- registration ---------------------------------------------------------------------------
def register(router: Router) -> None:
    # ===== citizen: filing ====================================================================
    @router.command("lapor", "complaint", description=N_("buat pengaduan"))
    async def lapor(turn: Turn, args: str) -> None:
        turn.clear_state()  # another flow left half-way restarts cleanly (an SKM questionnaire stays resumable)
        turn.set_state(FLOW, "text", {"photos": []})
        t = turn.t
        text = args.strip()
        if text:
            await step_text(turn, text)  # "/lapor jalan rusak di ..." works in one go
            return
        turn.reply(
            t(
                "Ceritakan masalah yang ingin Anda laporkan: apa yang terjadi, di mana, dan sejak kapan.\n"
                "Tulis dalam satu pesan (minimal {min} karakter). Ketik /batal untuk keluar.",
                min=rules.MIN_TEXT,
            ),
            title=t("Buat pengaduan"),
        )

    def nav(t: Translator, *extra: Choice) -> list[Choice]:
        return [*extra, Choice(t("❌ Batal"), "/batal")]

    async def step_text(turn: Turn, text: str) -> None:
        t = turn.t
        problem = rules.validate_text(text)
        if problem:
            turn.reply(t(problem, min=rules.MIN_TEXT, max=rules.MAX_TEXT, n=len(text.strip())), nav(t))
            return
        data = {**turn.data, "text": text.strip()}
        await advance(turn, data, "confirm" if data.get("editing") else "photos")

    async def advance(turn: Turn, data: dict, step: str) -> None:
        t = turn.t
        turn.set_state(FLOW, step, data)
        if step == "photos":
            have = len(data.get("photos", []))
            turn.reply(
                t(
                    "Ada foto pendukung? Kirim hingga {max} foto sekarang (sudah {n}), atau tekan Lanjut.",
                    max=rules.MAX_PHOTOS,
                    n=have,
                ),
                nav(t, Choice(t("➡️ Lanjut"), "lapor:next")),
            )
        elif step == "location":
            turn.reply(
                t("Di mana lokasinya? Kirim lokasi (📎 → Lokasi) atau ketik alamatnya. Tekan Lewati jika tidak perlu."),
                nav(t, Choice(t("⏭ Lewati"), "lapor:skip")),
            )
        elif step == "privacy":
            turn.reply(
                t(
                    "Pilih kerahasiaan laporan:\n"
                    "• Biasa — petugas yang menangani melihat nama Anda.\n"
                    "• Rahasia — isi laporan hanya dilihat OPD yang menangani dan koordinator.\n"
                    "• Anonim — petugas tidak pernah tahu siapa Anda; jawaban tetap sampai ke Anda di sini."
                ),
                nav(t, *(Choice(t(rules.PRIVACY_LABELS[p]), f"lapor:privacy:{p}") for p in rules.PRIVACY)),
            )
        elif step == "confirm":
            await show_summary(turn, data)

    async def show_summary(turn: Turn, data: dict) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        route = ctx.router.route(data["text"])
        data = {**data, "editing": True}
        turn.set_state(FLOW, "confirm", data)
        where = data.get("address") or (t("titik lokasi terkirim") if data.get("lat") is not None else t("tidak ada"))
        opd = ctx.opd_names.get(route.opd_code, "") if route.opd_code else t("ditentukan oleh koordinator")
        text = "\n".join(
            [
                short(data["text"], 700),
                "",
                t("📷 Foto: {n}", n=len(data.get("photos", []))),
                t("📍 Lokasi: {where}", where=where),
                t("🔒 Kerahasiaan: {p}", p=t(rules.PRIVACY_LABELS[data.get("privacy", "biasa")])),
                t("🏢 Usulan OPD tujuan: {opd}", opd=opd),
                "",
                t("Kirim laporan ini?"),
            ]
        )
        turn.reply(
            text,
            [
                Choice(t("✅ Kirim"), "lapor:send"),
                Choice(t("✏️ Ubah teks"), "lapor:edit:text"),
                Choice(t("📷 Ubah foto"), "lapor:edit:photos"),
                Choice(t("📍 Ubah lokasi"), "lapor:edit:location"),
                Choice(t("🔒 Ubah kerahasiaan"), "lapor:edit:privacy"),
                Choice(t("❌ Batal"), "/batal"),
            ],
            title=t("Ringkasan laporan"),
        )

    @router.flow(FLOW)
    async def filing(turn: Turn) -> None:
        t = turn.t
        inbound = turn.inbound
        step = turn.step
        data = dict(turn.data)
        choice = inbound.choice if inbound.kind is Kind.CHOICE else None
        text = (inbound.text or "").strip() if inbound.kind is Kind.TEXT else ""
        word = text.lower()
        if inbound.kind is Kind.PHOTO and inbound.photo is not None and step in ("text", "photos"):
            photos = list(data.get("photos", []))
            if len(photos) >= rules.MAX_PHOTOS:
                turn.reply(
                    t("Sudah {max} foto; foto berikutnya tidak disimpan. Tekan Lanjut.", max=rules.MAX_PHOTOS),
                    nav(t, Choice(t("➡️ Lanjut"), "lapor:next")),
                )
                return
            p = inbound.photo
            photos.append(
                {
                    "ref": p.file_ref,
                    "mime": p.mime_type,
                    "size": p.size,
                    "caption": (p.caption or "")[:1000] or None,
                    "channel": inbound.channel,
                }
            )
            data["photos"] = photos
            if step == "text":
                if p.caption and not rules.validate_text(p.caption):
                    data["text"] = p.caption.strip()
                    await advance(turn, data, "confirm" if data.get("editing") else "photos")
                    return
                turn.set_state(FLOW, "text", data)
                turn.reply(
                    t(
                        "Foto diterima. Sekarang ceritakan masalahnya dalam satu pesan (minimal {min} karakter).",
                        min=rules.MIN_TEXT,
                    ),
                    nav(t),
                )
                return
            turn.set_state(FLOW, "photos", data)
            turn.reply(
                t(
                    "Foto {n} dari maks. {max} diterima. Kirim foto lain atau tekan Lanjut.",
                    n=len(photos),
                    max=rules.MAX_PHOTOS,
                ),
                nav(t, Choice(t("➡️ Lanjut"), "lapor:next")),
            )
            return
        if step == "text":
            if inbound.kind is Kind.TEXT and text:
                await step_text(turn, text)
            else:
                turn.reply(
                    t("Mohon tuliskan laporan Anda sebagai teks (minimal {min} karakter).", min=rules.MIN_TEXT), nav(t)
                )
        elif step == "photos":
            if choice == "lapor:next" or word in ("lanjut", "next", "lewati", "skip", "tidak", "tidak ada"):
                await advance(turn, data, "confirm" if data.get("editing") else "location")
            else:
                turn.reply(
                    t("Kirim foto, atau tekan Lanjut jika tidak ada foto."), nav(t, Choice(t("➡️ Lanjut"), "lapor:next"))
                )
        elif step == "location":
            if inbound.kind is Kind.LOCATION and inbound.location is not None:
                data.update(
                    lat=inbound.location.latitude,
                    lon=inbound.location.longitude,
                    address=(inbound.location.address or data.get("address")),
                )
            elif choice == "lapor:skip" or word in ("lewati", "skip", "tidak", "tidak ada"):
                data.update(lat=None, lon=None, address=None)
            elif text and len(text) >= 5:
                data.update(address=text[:500], lat=None, lon=None)
            else:
                turn.reply(
                    t("Kirim lokasi, ketik alamat (minimal 5 karakter), atau tekan Lewati."),
                    nav(t, Choice(t("⏭ Lewati"), "lapor:skip")),
                )
                return
            await advance(turn, data, "confirm" if data.get("editing") else "privacy")
        elif step == "privacy":
            picked = (
                (choice or "").removeprefix("lapor:privacy:")
                if choice
                else {"1": "biasa", "2": "rahasia", "3": "anonim"}.get(word, word)
            )
            if picked not in rules.PRIVACY:
                turn.reply(
                    t("Mohon pilih Biasa, Rahasia, atau Anonim."),
                    nav(t, *(Choice(t(rules.PRIVACY_LABELS[p]), f"lapor:privacy:{p}") for p in rules.PRIVACY)),
                )
                return
            data["privacy"] = picked
            await advance(turn, data, "confirm")
        elif step == "confirm":
            if choice == "lapor:send" or word in ("kirim", "send", "ya"):
                await submit(turn, data)
            elif choice and choice.startswith("lapor:edit:"):
                what = choice.removeprefix("lapor:edit:")
                if what == "text":
                    turn.set_state(FLOW, "text", data)
                    turn.reply(t("Tulis ulang laporan Anda (minimal {min} karakter):", min=rules.MIN_TEXT), nav(t))
                elif what == "photos":
                    data["photos"] = []
                    turn.set_state(FLOW, "photos", data)
                    turn.reply(
                        t("Foto lama dihapus. Kirim hingga {max} foto baru, atau tekan Lanjut.", max=rules.MAX_PHOTOS),
                        nav(t, Choice(t("➡️ Lanjut"), "lapor:next")),
                    )
                elif what in ("location", "privacy"):
                    await advance(turn, data, what)
                else:
                    await show_summary(turn, data)
            else:
                await show_summary(turn, data)

    async def submit(turn: Turn, data: dict) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        repo = ComplaintRepo(turn.repo.session)
        route = ctx.router.route(data["text"])
        now = turn.now
        routed = route.opd_code is not None and route.opd_code in ctx.opd_names
        c = await repo.create(
            number_year=now.astimezone(ctx.tz).year,
            citizen_user_id=turn.user.id,
            channel=turn.inbound.channel,
            text=data["text"],
            latitude=data.get("lat"),
            longitude=data.get("lon"),
            address=data.get("address"),
            privacy=data.get("privacy", "biasa"),
            state="disposisi" if routed else "triase",
            opd_code=route.opd_code if routed else None,
            suggested_opd=route.opd_code,
            route_confidence=route.confidence,
            topic=(route.topic or None) and route.topic[:64],
            klass="keluhan",
            filed_at=now,
            updated_at=now,
            routed_at=now if routed else None,
            triage_due_at=ctx.due(now, ctx.sla.triage_days),
            response_due_at=ctx.due(now, ctx.sla.first_response_days),
            completion_due_at=ctx.due(now, ctx.completion_days("keluhan")),
            reopen_count=0,
        )
        for p in data.get("photos", []):
            repo.add_photo(
                complaint_id=c.id,
                channel=p.get("channel") or turn.inbound.channel,
                file_ref=p["ref"],
                mime_type=p.get("mime"),
                size=p.get("size"),
                caption=p.get("caption"),
                now=now,
            )
        repo.add_event(
            complaint=c, at=now, actor_user_id=turn.user.id, actor_role="citizen", action="filed", text=c.text
        )
        if routed:
            repo.add_event(complaint=c, at=now, actor_user_id=None, actor_role="system", action="auto_routed")
        turn.audit(
            "complaint_filed",
            subject_type="complaint",
            subject_id=c.number,
            state=c.state,
            opd=c.opd_code,
            privacy=c.privacy,
        )
        turn.clear_state()
        if routed:
            nxt = t(
                "Laporan Anda langsung diteruskan ke {opd}. Tanggapan pertama paling lambat {due}, penyelesaian paling lambat {done}.",
                opd=ctx.opd_names[c.opd_code],
                due=fmt_date(turn, ctx, c.response_due_at),
                done=fmt_date(turn, ctx, c.completion_due_at),
            )
        else:
            nxt = t(
                "Koordinator pengaduan akan memeriksa dan meneruskannya ke OPD yang tepat paling lambat {due}.",
                due=fmt_date(turn, ctx, c.triage_due_at),
            )
        turn.reply(
            t("✅ Laporan terkirim. Nomor laporan Anda: {number}", number=c.number)
            + "\n\n"
            + nxt
            + "\n\n"
            + t("Simpan nomor ini. Cek perkembangannya kapan saja dengan /status {number}.", number=c.number),
            [Choice(t("🔎 Cek Status"), f"/status {c.number}"), Choice(t("🏠 Menu"), "/menu")],
        )
        await notify_handlers(
            turn, ctx, c, N_("📣 Pengaduan baru {number}") if routed else N_("📥 Pengaduan baru untuk triase: {number}")
        )

    # ===== citizen: following =================================================================
    @router.command("status", description=N_("cek status pengaduan Anda"), usage=N_("[nomor]"))
    async def status(turn: Turn, args: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        repo = ComplaintRepo(turn.repo.session)
        if not args.strip():
            mine = await repo.for_citizen(turn.user.id)
            if not mine:
                show_menu(turn, t("Anda belum pernah membuat laporan. Buat laporan baru dengan /lapor."))
                return
            lines = [t("Laporan Anda:")]
            for c in mine:
                lines.append(
                    f"• {c.number} — {state_label(t, c.state)} ({t('diperbarui {date}', date=fmt_date(turn, ctx, c.updated_at))})\n  {short(c.text, 70)}"
                )
            lines.append("")
            lines.append(t("Ketik /status <nomor> untuk riwayat lengkap."))
            turn.reply("\n".join(lines), [Choice(c.number, f"/status {c.number}") for c in mine[:6]])
            return
        number = rules.parse_number(args.split()[0])
        c = await repo.get(number, citizen_user_id=turn.user.id) if number else None
        if c is None:
            turn.reply(
                t(
                    "Laporan {number} tidak ditemukan di antara laporan Anda. Periksa nomornya atau ketik /status untuk daftar laporan Anda.",
                    number=short(args.split()[0], 30),
                )
            )
            return
        lines = [
            t("Laporan {number}", number=c.number),
            short(c.text, 400),
            "",
            t("Status: {state}", state=state_label(t, c.state)),
        ]
        if c.opd_code:
            lines.append(t("Ditangani: {opd}", opd=ctx.opd_names.get(c.opd_code, c.opd_code)))
        if c.state in rules.OPEN_STATES:
            lines.append(t("Batas penyelesaian: {date}", date=fmt_date(turn, ctx, c.completion_due_at)))
        lines += ["", t("Riwayat:")]
        for ev in await repo.events(c.id, citizen_view=True):
            lines.append(event_line(turn, ctx, t, ev, for_citizen=True))
        choices = []
        if c.state == "selesai":
            choices = [
                Choice(t("👍 Puas"), f"/nilai {c.number} puas"),
                Choice(t("👎 Tidak puas"), f"/nilai {c.number} tidak"),
            ]
        turn.reply("\n".join(lines), choices)

    def event_line(turn: Turn, ctx: RegionContext, t: Translator, ev, *, for_citizen: bool) -> str:
        label = t(
            ACTION_EVENT_LABELS.get(ev.action, ev.action), opd=ctx.opd_names.get(ev.opd_code or "", ev.opd_code or "-")
        )
        if ev.actor_role == "citizen":
            who = t("Anda") if for_citizen else t("Pelapor")
        elif ev.actor_role == "officer":
            who = t("Petugas {opd}", opd=ev.opd_code or "")
        elif ev.actor_role == "coordinator":
            who = t("Koordinator")
        else:
            who = t("Sistem")
        body = f"\n  “{short(ev.text, 500)}”" if ev.text and ev.action != "filed" else ""
        return f"• {fmt_datetime(turn, ctx, ev.at)} · {who}: {label}{body}"

    @router.command(
        "nilai",
        "rate",
        description=N_("beri penilaian atas laporan yang selesai"),
        roles=("citizen", "officer", "coordinator"),
        usage=N_("<nomor> puas|tidak"),
    )
    async def rate(turn: Turn, args: str) -> None:
        t = turn.t
        parsed = rules.split_number(args)
        verdict = parsed.rest.lower().split()[0] if parsed.rest else ""
        repo = ComplaintRepo(turn.repo.session)
        c = await repo.get(parsed.number, citizen_user_id=turn.user.id, lock=True) if parsed.number else None
        if c is None:
            turn.reply(t("Laporan tidak ditemukan di antara laporan Anda. Ketik /status untuk daftar laporan Anda."))
            return
        if c.state != "selesai":
            turn.reply(
                t(
                    'Laporan {number} berstatus "{state}"; penilaian hanya bisa diberikan setelah laporan dinyatakan selesai.',
                    number=c.number,
                    state=state_label(t, c.state),
                )
            )
            return
        if verdict in ("puas", "good", "ya"):
            await apply(turn, c, "rate_good", actor_role="citizen", text=None)
            c.rating = "puas"
            turn.reply(t("Terima kasih atas penilaian Anda. Laporan {number} ditutup.", number=c.number))
        elif verdict in ("tidak", "tidak_puas", "bad", "no"):
            turn.set_state(RATE_FLOW, "reason", {"number": c.number})
            turn.reply(
                t(
                    "Mohon maaf belum memuaskan. Apa yang belum selesai? Tuliskan alasannya; laporan akan dibuka kembali untuk OPD yang sama."
                ),
                [Choice(t("❌ Batal"), "/batal")],
            )
        else:
            turn.reply(
                t("Apakah Anda puas dengan penyelesaian laporan {number}?", number=c.number),
                [
                    Choice(t("👍 Puas"), f"/nilai {c.number} puas"),
                    Choice(t("👎 Tidak puas"), f"/nilai {c.number} tidak"),
                ],
            )

    @router.flow(RATE_FLOW)
    async def rate_reason(turn: Turn) -> None:
        t = turn.t
        reason = (turn.inbound.text or "").strip() if turn.inbound.kind is Kind.TEXT else ""
        if len(reason) < 3:
            turn.reply(t("Mohon tuliskan alasannya (beberapa kata), atau ketik /batal."))
            return
        repo = ComplaintRepo(turn.repo.session)
        c = await repo.get(turn.data.get("number", ""), citizen_user_id=turn.user.id, lock=True)
        turn.clear_state()
        if c is None or c.state != "selesai":
            turn.reply(t("Laporan itu sudah tidak menunggu penilaian. Ketik /status untuk melihat statusnya."))
            return
        ctx = await region_context(turn.repo)
        c.rating = "tidak_puas"
        c.reopen_count += 1
        c.resolved_at = None
        c.completion_due_at = ctx.due(turn.now, ctx.completion_days(c.klass))
        await apply(turn, c, "rate_bad", actor_role="citizen", text=reason[: rules.MAX_ANSWER])
        turn.reply(
            t(
                "Laporan {number} dibuka kembali dan diteruskan lagi ke {opd}. Batas penyelesaian baru: {date}.",
                number=c.number,
                opd=ctx.opd_names.get(c.opd_code or "", c.opd_code or "-"),
                date=fmt_date(turn, ctx, c.completion_due_at),
            )
        )
        await notify_handlers(
            turn,
            ctx,
            c,
            N_("🔁 Dibuka kembali: pelapor belum puas dengan {number}. Alasan: {reason}"),
            reason=short(reason, 300),
        )

    # ===== shared transition ==================================================================
    async def apply(
        turn: Turn, c: Complaint, action: str, *, actor_role: str, text: str | None, visible: bool = True
    ) -> None:
        before = c.state
        c.state = rules.next_state(action, before)
        c.updated_at = turn.now
        if action == "rate_good":
            c.closed_at = turn.now
        repo = ComplaintRepo(turn.repo.session)
        repo.add_event(
            complaint=c,
            at=turn.now,
            actor_user_id=turn.user.id,
            actor_role=actor_role,
            action=action,
            from_state=before,
            text=text,
            visible_to_citizen=visible,
        )
        turn.audit(
            f"complaint_{action}",
            subject_type="complaint",
            subject_id=c.number,
            from_state=before,
            to_state=c.state,
            opd=c.opd_code,
        )

    # ===== officers and coordinators ==========================================================
    HANDLERS = ("officer", "coordinator")

    async def find_for_handler(turn: Turn, number: str | None, *, lock: bool = True) -> Complaint | None:
        if number is None:
            return None
        repo = ComplaintRepo(turn.repo.session)
        if turn.user.role == "coordinator":
            return await repo.get(number, lock=lock)
        if turn.user.role == "officer" and turn.user.opd_code:
            return await repo.get(number, lock=lock, opd_code=turn.user.opd_code)
        return None

    def not_found(turn: Turn, raw: str) -> None:
        typed = turn.inbound.command
        command = router.commands.get(typed[0]) if typed else None
        if not raw and command is not None:  # "/balas" alone: say how, not "report ? not found"
            turn.reply(
                turn.t(
                    "Tulis nomor laporannya. Cara pakai: /{command} {usage}",
                    command=typed[0],
                    usage=turn.t(command.usage),
                )
            )
            return
        turn.reply(turn.t("Laporan {number} tidak ditemukan.", number=short(raw or "?", 30)))

    @router.command(
        "antrian",
        "queue",
        description=N_("antrean pengaduan OPD saya"),
        roles=HANDLERS,
        usage=N_("[halaman] [KODE-OPD]"),
    )
    async def queue(turn: Turn, args: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        words = args.split()
        # a coordinator may name the OPD instead: "/antrian PUPR"
        page = page_number(
            turn, "antrian", words[0] if words and (words[0].isdecimal() or turn.user.role != "coordinator") else None
        )
        if page is None:
            return
        opd = turn.user.opd_code
        if turn.user.role == "coordinator":
            named = [w.upper() for w in words if not w.isdecimal()]
            opd = named[0] if named else None
            if opd is None or opd not in ctx.opd_names:
                turn.reply(
                    t(
                        "Koordinator: ketik /antrian <KODE-OPD>, misalnya /antrian {code}. Untuk laporan yang belum diarahkan: /triase.",
                        code=next(iter(ctx.opd_names), "PUPR"),
                    )
                )
                return
        if opd is None:
            turn.reply(t("Akun Anda belum terhubung ke OPD. Mintalah kode undangan baru kepada koordinator."))
            return
        result = await ComplaintRepo(turn.repo.session).queue(opd, limit=PAGE, offset=(page - 1) * PAGE)
        await send_list(
            turn,
            ctx,
            result,
            t("Antrean {opd}", opd=ctx.opd_names.get(opd, opd)),
            page,
            "/antrian {page}" + (f" {opd}" if turn.user.role == "coordinator" else ""),
            empty=t("Tidak ada pengaduan terbuka untuk {opd}. 👍", opd=ctx.opd_names.get(opd, opd)),
        )

    async def send_list(
        turn: Turn, ctx: RegionContext, result, title: str, page: int, page_command: str, *, empty: str
    ) -> None:
        t = turn.t
        if not result.rows:
            turn.reply(empty if page == 1 else t("Halaman {page} kosong.", page=page))
            return
        pages = (result.total + PAGE - 1) // PAGE
        lines = [
            t(
                "{title} — {total} laporan, halaman {page}/{pages}:",
                title=title,
                total=result.total,
                page=page,
                pages=pages,
            ),
            "",
        ]
        for i, c in enumerate(result.rows, start=result.offset + 1):
            due = c.triage_due_at if c.state == "triase" else c.completion_due_at
            suggestion = t(" · usulan: {opd}", opd=c.suggested_opd) if c.state == "triase" and c.suggested_opd else ""
            lines.append(
                f"{i}. {c.number} · {state_label(t, c.state)} · {t('batas {date}', date=fmt_date(turn, ctx, due))}{overdue_mark(turn, ctx, c)}{suggestion}\n   {short(c.text, 80)}"
            )
        choices = [Choice(c.number, f"/lihat {c.number}") for c in result.rows]
        if page > 1:
            choices.append(Choice(t("◀️ Sebelumnya"), page_command.format(page=page - 1)))
        if page < pages:
            choices.append(Choice(t("Berikutnya ▶️"), page_command.format(page=page + 1)))
        turn.reply("\n".join(lines), choices)

    @router.command(
        "lihat", "view", description=N_("lihat rincian dan riwayat pengaduan"), roles=HANDLERS, usage=N_("<nomor>")
    )
    async def view(turn: Turn, args: str) -> None:
        t = turn.t
        parsed = rules.split_number(args)
        c = await find_for_handler(turn, parsed.number, lock=False)
        if c is None:
            not_found(turn, args.split()[0] if args.split() else "")
            return
        ctx = await region_context(turn.repo)
        repo = ComplaintRepo(turn.repo.session)
        citizen = await turn.repo.get_user(c.citizen_user_id) if c.citizen_user_id else None
        lines = [
            complaint_card(turn, ctx, c, citizen, t, heading=t("Laporan {number}", number=c.number)),
            "",
            t("Riwayat:"),
        ]
        for ev in await repo.events(c.id):
            lines.append(event_line(turn, ctx, t, ev, for_citizen=False))
        choices = (
            officer_buttons(t, c)
            if turn.user.role == "officer"
            else [Choice(t("💬 Balas"), f"/balas {c.number}"), Choice(t("✅ Selesai"), f"/selesai {c.number}")]
        )
        turn.reply("\n".join(lines), choices if c.state in rules.OPEN_STATES else [])
        for p in await repo.photos(c.id):
            if p.channel == turn.inbound.channel:
                turn.reply(
                    t("Foto laporan {number}", number=c.number) + (f"\n{short(p.caption, 200)}" if p.caption else ""),
                    image=Attachment(filename="foto.jpg", mime_type=p.mime_type or "image/jpeg", file_ref=p.file_ref),
                )
            else:
                turn.reply(
                    t(
                        "📷 Laporan ini memuat foto yang dikirim lewat {channel}; buka melalui kanal itu.",
                        channel=p.channel,
                    )
                )
        turn.audit("complaint_viewed", subject_type="complaint", subject_id=c.number)

    async def ask_text(turn: Turn, action: str, number: str, prompt: str) -> None:
        turn.set_state(OFFICER_FLOW, "text", {"action": action, "number": number})
        turn.reply(prompt, [Choice(turn.t("❌ Batal"), "/batal")])

    @router.flow(OFFICER_FLOW)
    async def officer_text(turn: Turn) -> None:
        text = (turn.inbound.text or "").strip() if turn.inbound.kind is Kind.TEXT else ""
        if not text:
            turn.reply(turn.t("Mohon ketik teksnya, atau /batal."))
            return
        data = turn.data
        turn.clear_state()
        await ACTIONS[data.get("action", "")](turn, f"{data.get('number', '')} {text}")

    async def handler_action(
        turn: Turn, args: str, action: str, *, prompt_msgid: str, min_len: int = 3
    ) -> tuple[Complaint, str] | None:
        t = turn.t
        parsed = rules.split_number(args)
        c = await find_for_handler(turn, parsed.number)
        if c is None:
            not_found(turn, args.split()[0] if args.split() else "")
            return None
        if not rules.can(action, c.state):
            turn.reply(
                t(
                    'Laporan {number} berstatus "{state}"; tindakan ini tidak bisa dilakukan sekarang.',
                    number=c.number,
                    state=state_label(t, c.state),
                )
            )
            return None
        if len(parsed.rest) < min_len:
            await ask_text(turn, action, c.number, t(prompt_msgid, number=c.number))
            return None
        if len(parsed.rest) > rules.MAX_ANSWER:
            turn.reply(
                t("Teks terlalu panjang ({n} karakter, maksimal {max}).", n=len(parsed.rest), max=rules.MAX_ANSWER)
            )
            return None
        return c, parsed.rest

    @router.command("balas", "reply", description=N_("jawab pelapor"), roles=HANDLERS, usage=N_("<nomor> <teks>"))
    async def answer(turn: Turn, args: str) -> None:
        got = await handler_action(turn, args, "answer", prompt_msgid=N_("Ketik jawaban untuk pelapor {number}:"))
        if got is None:
            return
        c, text = got
        t = turn.t
        if c.first_response_at is None:
            c.first_response_at = turn.now
        await apply(turn, c, "answer", actor_role=turn.user.role, text=text)
        ctx = await region_context(turn.repo)
        await notify_citizen(
            turn,
            c,
            N_("💬 Jawaban atas laporan {number} dari {opd}:\n\n{text}"),
            opd=ctx.opd_names.get(c.opd_code or "", ""),
            text=text,
        )
        turn.reply(t("Jawaban terkirim ke pelapor {number}.", number=c.number))

    @router.command(
        "selesai",
        "resolve",
        description=N_("nyatakan pengaduan selesai dengan jawaban akhir"),
        roles=HANDLERS,
        usage=N_("<nomor> <teks>"),
    )
    async def resolve(turn: Turn, args: str) -> None:
        got = await handler_action(
            turn, args, "resolve", prompt_msgid=N_("Ketik jawaban akhir (penyelesaian) untuk laporan {number}:")
        )
        if got is None:
            return
        c, text = got
        t = turn.t
        ctx = await region_context(turn.repo)
        if c.first_response_at is None:
            c.first_response_at = turn.now
        c.resolved_at = turn.now
        await apply(turn, c, "resolve", actor_role=turn.user.role, text=text)
        citizen = await turn.repo.get_user(c.citizen_user_id) if c.citizen_user_id else None
        if citizen is not None:
            ct = turn.translator_for(citizen)
            await notify_citizen(
                turn,
                c,
                N_(
                    "✅ Laporan {number} dinyatakan selesai oleh {opd}:\n\n{text}\n\nApakah Anda puas? Jika tidak ada jawaban dalam {days} hari, laporan ditutup otomatis."
                ),
                choices=(
                    Choice(ct("👍 Puas"), f"/nilai {c.number} puas"),
                    Choice(ct("👎 Tidak puas"), f"/nilai {c.number} tidak"),
                ),
                opd=ctx.opd_names.get(c.opd_code or "", ""),
                text=text,
                days=ctx.sla.confirmation_days,
            )
        turn.reply(t("Laporan {number} ditandai selesai; pelapor diminta konfirmasi.", number=c.number))

    @router.command(
        "teruskan",
        "forward",
        description=N_("disposisi ke OPD lain"),
        roles=HANDLERS,
        usage=N_("<nomor> <KODE-OPD> [alasan]"),
    )
    async def forward(turn: Turn, args: str) -> None:
        t = turn.t
        parsed = rules.split_number(args)
        target, _, reason = parsed.rest.partition(" ")
        target = target.upper()
        ctx = await region_context(turn.repo)
        c = await find_for_handler(turn, parsed.number)
        if c is None:
            not_found(turn, args.split()[0] if args.split() else "")
            return
        if target not in ctx.opd_names or target == c.opd_code:
            turn.reply(
                t(
                    "Sebutkan kode OPD tujuan yang lain dari OPD sekarang, misalnya: /teruskan {number} DLH alasan. Kode OPD: {codes}",
                    number=c.number,
                    codes=", ".join(sorted(ctx.opd_names)),
                )
            )
            return
        if not rules.can("forward", c.state):
            turn.reply(
                t(
                    'Laporan {number} berstatus "{state}"; tindakan ini tidak bisa dilakukan sekarang.',
                    number=c.number,
                    state=state_label(t, c.state),
                )
            )
            return
        c.opd_code = target
        c.routed_at = turn.now
        await apply(
            turn,
            c,
            "forward",
            actor_role=turn.user.role,
            text=reason.strip()[: rules.MAX_ANSWER] or None,
            visible=False,
        )
        await notify_citizen(
            turn,
            c,
            N_("ℹ️ Laporan {number} diteruskan ke {opd} yang berwenang menanganinya."),
            opd=ctx.opd_names[target],
        )
        await notify_handlers(
            turn, ctx, c, N_("📣 Disposisi: {number} diteruskan ke OPD Anda. {reason}"), reason=short(reason, 300)
        )
        turn.reply(t("Laporan {number} diteruskan ke {opd}.", number=c.number, opd=ctx.opd_names[target]))

    @router.command(
        "kembalikan",
        "return",
        description=N_("kembalikan ke koordinator (bukan kewenangan OPD)"),
        roles=("officer",),
        usage=N_("<nomor> <alasan>"),
    )
    async def give_back(turn: Turn, args: str) -> None:
        got = await handler_action(
            turn, args, "return", prompt_msgid=N_("Ketik alasan mengembalikan laporan {number} ke koordinator:")
        )
        if got is None:
            return
        c, reason = got
        t = turn.t
        ctx = await region_context(turn.repo)
        old = c.opd_code
        c.opd_code = None
        c.triage_due_at = ctx.due(turn.now, ctx.sla.triage_days)
        await apply(turn, c, "return", actor_role="officer", text=reason, visible=False)
        await notify_handlers(
            turn, ctx, c, N_("↩️ {number} dikembalikan oleh {opd}: {reason}"), opd=old, reason=short(reason, 300)
        )
        turn.reply(t("Laporan {number} dikembalikan ke koordinator.", number=c.number))

    @router.command(
        "triase",
        "triage",
        description=N_("pengaduan yang menunggu diarahkan"),
        roles=("coordinator",),
        usage=N_("[halaman]"),
    )
    async def triage(turn: Turn, args: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        words = args.split()
        page = page_number(turn, "triase", words[0] if words else None)
        if page is None:
            return
        result = await ComplaintRepo(turn.repo.session).triage(limit=PAGE, offset=(page - 1) * PAGE)
        await send_list(
            turn,
            ctx,
            result,
            t("Triase"),
            page,
            "/triase {page}",
            empty=t("Tidak ada laporan yang menunggu triase. 👍"),
        )

    @router.command(
        "arahkan",
        "route",
        description=N_("arahkan pengaduan ke OPD"),
        roles=("coordinator",),
        usage=N_("<nomor> <KODE-OPD>"),
    )
    async def route_cmd(turn: Turn, args: str) -> None:
        t = turn.t
        parsed = rules.split_number(args)
        target = (parsed.rest.split() or [""])[0].upper()
        ctx = await region_context(turn.repo)
        c = await find_for_handler(turn, parsed.number)
        if c is None:
            not_found(turn, args.split()[0] if args.split() else "")
            return
        if target not in ctx.opd_names:
            turn.reply(
                t(
                    "Sebutkan kode OPD tujuan, misalnya: /arahkan {number} PUPR. Kode OPD: {codes}",
                    number=c.number,
                    codes=", ".join(sorted(ctx.opd_names)),
                )
            )
            return
        if not rules.can("route", c.state):
            turn.reply(
                t(
                    'Laporan {number} berstatus "{state}"; tindakan ini tidak bisa dilakukan sekarang.',
                    number=c.number,
                    state=state_label(t, c.state),
                )
            )
            return
        c.opd_code = target
        c.routed_at = turn.now
        await apply(turn, c, "route", actor_role="coordinator", text=None)
        await notify_citizen(
            turn, c, N_("ℹ️ Laporan {number} sudah diverifikasi dan diteruskan ke {opd}."), opd=ctx.opd_names[target]
        )
        await notify_handlers(turn, ctx, c, N_("📣 Pengaduan baru {number} (diarahkan koordinator)"))
        turn.reply(t("Laporan {number} diarahkan ke {opd}.", number=c.number, opd=ctx.opd_names[target]))

    @router.command(
        "undang",
        "invite",
        description=N_("buat kode undangan petugas OPD"),
        roles=("coordinator",),
        usage=N_("<KODE-OPD>"),
    )
    async def invite(turn: Turn, args: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        opd = args.strip().upper()
        if opd not in ctx.opd_names:
            turn.reply(
                t(
                    "Sebutkan kode OPD, misalnya: /undang PUPR. Kode OPD: {codes}",
                    codes=", ".join(sorted(ctx.opd_names)),
                )
            )
            return
        code = new_invite_code()
        turn.repo.create_invite(
            code=code, role="officer", opd_code=opd, now=turn.now, valid_for=INVITE_VALID_FOR, created_by=turn.user.id
        )
        turn.audit("invite_created", subject_type="opd", subject_id=opd, role="officer")
        turn.reply(
            t("Kode undangan petugas {opd} (sekali pakai, berlaku 7 hari). Petugas mengetik:", opd=ctx.opd_names[opd])
            + f"\n\n/gabung {code}"
        )

    @router.command("cari", "search", description=N_("cari pengaduan"), roles=("coordinator",), usage=N_("<kata>"))
    async def search(turn: Turn, args: str) -> None:
        t = turn.t
        term = " ".join(args.split())[:100]
        if len(term) < 3:
            turn.reply(t("Ketik /cari diikuti minimal 3 huruf, misalnya: /cari jembatan"))
            return
        ctx = await region_context(turn.repo)
        rows = await ComplaintRepo(turn.repo.session).search(term)
        if not rows:
            turn.reply(t('Tidak ada laporan yang memuat "{term}".', term=term))
            return
        lines = [t('Hasil pencarian "{term}":', term=term)]
        for c in rows:
            lines.append(
                f"• {c.number} · {state_label(t, c.state)} · {c.opd_code or t('triase')}\n  {short(c.text, 80)}"
            )
        turn.reply("\n".join(lines), [Choice(c.number, f"/lihat {c.number}") for c in rows])

    ACTIONS = {"answer": answer, "resolve": resolve, "return": give_back}
