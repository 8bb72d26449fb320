"""FKP — Forum Konsultasi Publik (PermenPANRB 16/2017) as conversations.

Citizens: ``/forum`` lists upcoming forums (paged) with details, **Daftar** (RSVP, cancellable),
**Kirim masukan** (written input, named or anonymous), past forums with their berita acara, and
opt-in announcements for the whole region or one OPD (the subscription is also the citizen's
agreement to receive the berita acara of forums on an OPD they complained about or surveyed).

Coordinators (any OPD) and officers (their own OPD): ``/forumbaru`` guided creation with an
agenda proposed from the OPD's weakest SKM elements and most frequent complaint topics of the
last period; ``/forum <id>`` registrations and input; ``/forumhasil <id>`` publishes the berita
acara (text, optional photo) to the participants and the subscribed contributors. A PDF cannot be
received in chat (the channels pass only images), so ``kanal forum result ID --pdf FILE`` is the
way to publish one; it shares ``announce_forum``/``deliver_result`` with the chat.

Rules are in ``bot/forum.py``, SQL in ``storage/forum.py``; every message to someone else goes
through the outbox as a notification (WhatsApp sends a template outside the 24 h window).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import forum_rules as rules
from bot.domain import skm as skm_rules
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Attachment, Choice, Kind, Reply
from bot.engine.region_context import RegionContext, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from storage.forum_repo import ForumRepo
from storage.models import Forum, User
from storage.skm_repo import SkmRepo

FLOW_NEW = "forumbaru"
FLOW_INPUT = "forummasukan"
FLOW_RESULT = "forumhasil"
PAGE = 5
STAFF = ("officer", "coordinator")
STEPS = ("title", "topic", "when", "place", "capacity", "description", "agenda", "confirm")


def is_staff(turn: Turn) -> bool:
    return turn.user.role in STAFF


def parse_id(text: str) -> int | None:
    word = (text or "").strip().split()[0] if (text or "").strip() else ""
    word = word.lstrip("#")
    return int(word) if word.isdecimal() and len(word) <= 12 else None


def when_text(turn: Turn, ctx: RegionContext, f: Forum) -> str:
    return rules.fmt_when(f.starts_at, ctx.tz, turn.lang)


def forum_card(ctx: RegionContext, f: Forum, t: Translator, *, registered: int | None = None, full: bool = True) -> str:
    """The forum in ``t``'s language (the reader's, also for notifications to others)."""
    return rules.render_card(
        f,
        opd_name=ctx.opd_names.get(f.opd_code, f.opd_code),
        tz=ctx.tz,
        t=t,
        lang=t.lang,
        registered=registered,
        full=full,
    )


async def announce_forum(
    repo: ForumRepo,
    ctx: RegionContext,
    f: Forum,
    *,
    exclude: int | None,
    translator_for: Callable[[User], Translator],
    send: Callable[[User, Reply], object],
) -> int:
    """Tell the subscribers of the forum's OPD and of the whole region (each once) that it is
    published; ``send`` adds the outbox rows (a turn's ``notify`` or the CLI's notifier). The
    number of people told, also stored on the forum."""
    sent = 0
    for person in await repo.subscribers(f.opd_code):
        if person.id == exclude:
            continue
        pt = translator_for(person)
        text = rules.announcement_text(
            f, opd_name=ctx.opd_names.get(f.opd_code, f.opd_code), tz=ctx.tz, t=pt, lang=pt.lang
        )
        send(
            person, Reply(text=text, choices=(Choice(pt("Lihat & daftar"), f"/forum {f.id}"),), purpose="notification")
        )
        sent += 1
    f.announced = sent
    return sent


async def deliver_result(
    repo: ForumRepo,
    ctx: RegionContext,
    f: Forum,
    now: datetime,
    *,
    exclude: int | None,
    translator_for: Callable[[User], Translator],
    send: Callable[[User, Reply], object],
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
    opd_name = ctx.opd_names.get(f.opd_code, f.opd_code)
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
                text=rules.result_text(f, opd_name=opd_name, tz=ctx.tz, t=pt, lang=pt.lang),
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


def page_choices(t: Translator, got, page: int, command: str) -> list[Choice]:
    """A button per forum on the page, then Sebelumnya / Berikutnya as ``<command> <page>``."""
    choices = [Choice(t("#{id} {title}", id=f.id, title=f.title[:40]), f"/forum {f.id}") for f in got.rows]
    if page > 0:
        choices.append(Choice(t("◀️ Sebelumnya"), f"{command} {page - 1}"))
    if (page + 1) * PAGE < got.total:
        choices.append(Choice(t("Berikutnya ▶️"), f"{command} {page + 1}"))
    return choices


def not_found(turn: Turn, forum_id: int | str | None) -> None:
    turn.reply(
        turn.t("Forum {id} tidak ditemukan. Ketik /forum untuk daftar forum.", id=f"#{forum_id}" if forum_id else "")
    )


@dataclass(frozen=True)
class AgendaDraft:
    text: str
    opd_name: str
    period_key: str
    period_label: str
    start: datetime
    end: datetime
    has_data: bool


async def agenda_proposal(
    session, *, tz: ZoneInfo, skm: dict, opd_code: str, opd_name: str, now: datetime, t, lang: str
) -> AgendaDraft:
    """The agenda proposed from the data: the OPD's weakest SKM elements and most frequent
    complaint topics of the last SKM period (the one before the current), rendered with ``t``."""
    period = skm_rules.period_containing(now.astimezone(tz).date(), skm.period).previous()
    start, end = period.utc_range(tz.key)
    totals = await SkmRepo(session).element_totals(start=start, end=end, group_by="opd", opd_code=opd_code)
    frepo = ForumRepo(session)
    proposal = rules.propose_agenda(
        opd_name=opd_name,
        period_key=period.key,
        period_label=period.label(lang),
        skm_totals=totals[0].totals if totals else None,
        skm_responses=totals[0].responses if totals else 0,
        topic_counts=await frepo.complaint_topics(opd_code, start, end),
        complaints=await frepo.complaint_count(opd_code, start, end),
        weight=skm.weight,
    )
    return AgendaDraft(
        rules.render_agenda(proposal, t, lang), opd_name, period.key, period.label(lang), start, end, proposal.has_data
    )


def register(router: Router) -> None:
    async def erase(turn: Turn) -> None:
        """/hapusdata: subscriptions end, input stays without its sender, seats are freed."""
        await ForumRepo(turn.repo.session).erase_user(turn.user.id, turn.now)

    router.on_erase.append(erase)

    # ===== citizens (and everyone): lists and details ==========================================
    @router.command(
        "forum",
        description=N_("forum konsultasi publik"),
        usage=N_("[nomor [daftar|batal|masukan]] | lalu | langganan [KODE-OPD]"),
    )
    async def forum(turn: Turn, args: str) -> None:
        """``/forum`` lists; ``/forum 3`` details (staff: registrations and input); ``/forum 3
        daftar|batal|masukan``; ``/forum halaman 2``; ``/forum lalu``; ``/forum langganan [scope]``.
        The buttons send these same commands, so they work from any flow and from old messages."""
        turn.clear_state()
        words = args.split()
        head = words[0].lower() if words else ""
        arg = words[1] if len(words) > 1 else ""
        page = int(arg) if arg.isdecimal() and len(arg) <= 4 else 0
        if not head:
            await list_upcoming(turn, 0)
        elif head in ("halaman", "page"):
            await list_upcoming(turn, page)
        elif head in ("lalu", "past"):
            await list_past(turn, page)
        elif head in ("langganan", "subscribe"):
            await (
                toggle_subscription(turn, arg if arg.lower() == rules.SCOPE_REGION else arg.upper())
                if arg
                else subscriptions(turn)
            )
        elif (forum_id := parse_id(head)) is None:
            turn.reply(
                turn.t("Tulis nomor forum, misalnya /forum 3."), [Choice(turn.t("⬅️ Daftar forum"), "/forum halaman 0")]
            )
        elif arg.lower() in ("daftar", "rsvp"):
            await rsvp(turn, forum_id)
        elif arg.lower() in ("batal", "cancel"):
            await unrsvp(turn, forum_id)
        elif arg.lower() in ("masukan", "input"):
            await start_input(turn, forum_id)
        elif is_staff(turn):
            await staff_view(turn, forum_id)
        else:
            await show_forum(turn, forum_id)

    async def list_upcoming(turn: Turn, page: int) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        repo = ForumRepo(turn.repo.session)
        scope = turn.user.opd_code if turn.user.role == "officer" else None
        got = await repo.upcoming(turn.now, limit=PAGE, offset=page * PAGE, opd_code=scope)
        counts = await repo.registered_counts(f.id for f in got.rows)
        if not got.rows:
            text = t("Belum ada forum konsultasi publik yang dijadwalkan.") if page == 0 else t("Tidak ada forum lagi.")
        else:
            lines = [t("Forum konsultasi publik mendatang ({n}):", n=got.total), ""]
            for f in got.rows:
                lines.append(forum_card(ctx, f, t, registered=counts.get(f.id, 0), full=False))
                lines.append("")
            text = "\n".join(lines).rstrip()
        choices = page_choices(t, got, page, "/forum halaman")
        choices.append(Choice(t("📜 Forum lalu & hasil"), "/forum lalu 0"))
        if is_staff(turn):
            choices.append(Choice(t("➕ Forum baru"), "/forumbaru"))
        else:
            choices.append(Choice(t("🔔 Langganan kabar forum"), "/forum langganan"))
        turn.reply(text, choices, title=t("Forum Konsultasi Publik"))

    async def list_past(turn: Turn, page: int) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        repo = ForumRepo(turn.repo.session)
        scope = turn.user.opd_code if turn.user.role == "officer" else None
        got = await repo.past(turn.now, limit=PAGE, offset=page * PAGE, opd_code=scope)
        if not got.rows:
            turn.reply(
                t("Belum ada forum yang sudah berlangsung."), [Choice(t("⬅️ Forum mendatang"), "/forum halaman 0")]
            )
            return
        lines = [t("Forum yang sudah berlangsung:"), ""]
        for f in got.rows:
            mark = t("✅ hasil terbit") if f.result_published_at else t("⏳ hasil belum terbit")
            lines.append(
                t("#{id} {title} — {when} ({mark})", id=f.id, title=f.title, when=when_text(turn, ctx, f), mark=mark)
            )
        choices = page_choices(t, got, page, "/forum lalu")
        choices.append(Choice(t("⬅️ Forum mendatang"), "/forum halaman 0"))
        turn.reply("\n".join(lines), choices)

    async def show_forum(turn: Turn, forum_id: int) -> None:
        t = turn.t
        repo = ForumRepo(turn.repo.session)
        f = await repo.get(forum_id)
        if f is None:
            not_found(turn, forum_id)
            return
        ctx = await region_context(turn.repo)
        registered = await repo.registered_count(f.id)
        mine = await repo.rsvp(f.id, turn.user.id)
        phase = rules.phase(f.status, f.starts_at, turn.now)
        text = forum_card(ctx, f, t, registered=registered)
        choices: list[Choice] = []
        if phase == "cancelled":
            text += "\n\n" + t("Forum ini dibatalkan.")
        elif phase == "upcoming":
            if mine is not None and mine.status == "registered":
                text += "\n\n" + t("✅ Anda terdaftar.")
                choices.append(Choice(t("❎ Batal daftar"), f"/forum {f.id} batal"))
            else:
                choices.append(Choice(t("📝 Daftar"), f"/forum {f.id} daftar"))
            choices.append(Choice(t("💬 Kirim masukan"), f"/forum {f.id} masukan"))
        elif f.result_published_at is not None:
            text += "\n\n" + t("📄 Berita acara:") + "\n" + (f.result_text or "")
        else:
            text += "\n\n" + t("Forum ini sudah berlangsung; berita acaranya belum diterbitkan.")
        choices.append(Choice(t("⬅️ Daftar forum"), "/forum halaman 0"))
        turn.reply(text, choices)
        if phase == "past" and f.result_photo_ref and f.result_photo_channel == turn.inbound.channel:
            turn.reply(
                t("Lampiran berita acara forum #{id}", id=f.id),
                image=Attachment(
                    filename="berita-acara.jpg",
                    mime_type=f.result_photo_mime or "image/jpeg",
                    file_ref=f.result_photo_ref,
                ),
            )

    async def rsvp(turn: Turn, forum_id: int) -> None:
        t = turn.t
        repo = ForumRepo(turn.repo.session)
        f = await repo.get(forum_id, lock=True)  # capacity is checked with the forum row locked
        if f is None:
            not_found(turn, forum_id)
            return
        mine = await repo.rsvp(f.id, turn.user.id)
        registered = await repo.registered_count(f.id)
        problem = rules.rsvp_problem(
            status=f.status,
            starts_at=f.starts_at,
            now=turn.now,
            capacity=f.capacity,
            registered=registered,
            already=mine is not None and mine.status == "registered",
        )
        if problem:
            turn.reply(t(problem, n=registered, capacity=f.capacity), [Choice(t("⬅️ Daftar forum"), "/forum halaman 0")])
            return
        await repo.register(f.id, turn.user.id, turn.now)
        turn.audit("forum_rsvp", subject_type="forum", subject_id=str(f.id))
        ctx = await region_context(turn.repo)
        turn.reply(
            t(
                '✅ Anda terdaftar di forum #{id} "{title}", {when}. Kami kirim pengingat sehari sebelumnya.',
                id=f.id,
                title=f.title,
                when=when_text(turn, ctx, f),
            ),
            [
                Choice(t("💬 Kirim masukan"), f"/forum {f.id} masukan"),
                Choice(t("❎ Batal daftar"), f"/forum {f.id} batal"),
            ],
        )

    async def unrsvp(turn: Turn, forum_id: int) -> None:
        t = turn.t
        repo = ForumRepo(turn.repo.session)
        f = await repo.get(forum_id)
        if f is None:
            not_found(turn, forum_id)
            return
        if rules.phase(f.status, f.starts_at, turn.now) != "upcoming" or not await repo.cancel(
            f.id, turn.user.id, turn.now
        ):
            turn.reply(
                t("Anda tidak terdaftar di forum #{id}.", id=f.id), [Choice(t("⬅️ Daftar forum"), "/forum halaman 0")]
            )
            return
        turn.audit("forum_rsvp_cancelled", subject_type="forum", subject_id=str(f.id))
        turn.reply(
            t("Pendaftaran Anda di forum #{id} dibatalkan.", id=f.id),
            [Choice(t("📝 Daftar lagi"), f"/forum {f.id} daftar")],
        )

    async def subscriptions(turn: Turn) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        repo = ForumRepo(turn.repo.session)
        mine = set(await repo.subscriptions(turn.user.id))
        lines = [
            t(
                "Pilih kabar forum yang ingin Anda terima. Dengan berlangganan, Anda setuju dihubungi untuk pengumuman forum, "
                "pengingat, dan berita acara forum tentang OPD yang pernah Anda laporkan atau survei. Tekan lagi untuk berhenti."
            )
        ]
        if mine:
            names = [ctx.name if s == rules.SCOPE_REGION else ctx.opd_names.get(s, s) for s in sorted(mine)]
            lines += ["", t("Langganan Anda: {names}", names=", ".join(names))]
        mark = lambda scope: "✅ " if scope in mine else ""  # noqa: E731
        choices = [
            Choice(
                mark(rules.SCOPE_REGION) + t("Semua forum ({region})", region=ctx.name)[:60],
                f"/forum langganan {rules.SCOPE_REGION}",
            )
        ]
        choices += [Choice(mark(code) + name[:56], f"/forum langganan {code}") for code, name in ctx.opd_names.items()]
        choices.append(Choice(t("⬅️ Daftar forum"), "/forum halaman 0"))
        turn.reply("\n".join(lines), choices, title=t("Langganan kabar forum"))

    async def toggle_subscription(turn: Turn, scope: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        if scope != rules.SCOPE_REGION and scope not in ctx.opd_names:
            await subscriptions(turn)
            return
        repo = ForumRepo(turn.repo.session)
        name = ctx.name if scope == rules.SCOPE_REGION else ctx.opd_names[scope]
        if await repo.subscribe(turn.user.id, scope, turn.now):
            turn.audit("forum_subscribed", subject_type="forum_subscription", subject_id=scope)
            turn.reply(t("🔔 Anda akan menerima kabar forum: {name}.", name=name))
        else:
            await repo.unsubscribe(turn.user.id, scope)
            turn.audit("forum_unsubscribed", subject_type="forum_subscription", subject_id=scope)
            turn.reply(t("🔕 Langganan kabar forum {name} dihentikan.", name=name))
        await subscriptions(turn)

    # ===== written input ========================================================================
    async def start_input(turn: Turn, forum_id: int) -> None:
        t = turn.t
        repo = ForumRepo(turn.repo.session)
        f = await repo.get(forum_id)
        if f is None:
            not_found(turn, forum_id)
            return
        problem = rules.input_problem(
            status=f.status,
            starts_at=f.starts_at,
            now=turn.now,
            sent_by_person=await repo.input_count(f.id, turn.user.id),
        )
        if problem:
            turn.reply(t(problem, max=rules.MAX_INPUTS_PER_PERSON))
            return
        turn.set_state(FLOW_INPUT, "mode", {"forum_id": f.id})
        turn.reply(
            t(
                'Masukan untuk forum #{id} "{title}". Kirim dengan nama Anda, atau anonim (panitia tidak melihat siapa pengirimnya)?',
                id=f.id,
                title=f.title,
            ),
            [
                Choice(t("👤 Dengan nama"), "forum:mode:named"),
                Choice(t("🙈 Anonim"), "forum:mode:anon"),
                Choice(t("❌ Batal"), "/batal"),
            ],
        )

    @router.flow(FLOW_INPUT)
    async def input_flow(turn: Turn) -> None:
        t = turn.t
        data = dict(turn.data)
        inbound = turn.inbound
        if turn.step == "mode":
            mode = (inbound.choice or "") if inbound.kind is Kind.CHOICE else ""
            if mode not in ("forum:mode:named", "forum:mode:anon"):
                turn.reply(
                    t("Pilih salah satu tombol: Dengan nama atau Anonim."),
                    [
                        Choice(t("👤 Dengan nama"), "forum:mode:named"),
                        Choice(t("🙈 Anonim"), "forum:mode:anon"),
                        Choice(t("❌ Batal"), "/batal"),
                    ],
                )
                return
            data["anonymous"] = mode.endswith("anon")
            turn.set_state(FLOW_INPUT, "text", data)
            turn.reply(
                t(
                    "Tulis masukan Anda dalam satu pesan ({min}–{max} karakter).",
                    min=rules.INPUT[0],
                    max=rules.INPUT[1],
                ),
                [Choice(t("❌ Batal"), "/batal")],
            )
            return
        if inbound.kind is not Kind.TEXT:
            turn.reply(t("Tulis masukan Anda sebagai teks, atau /batal."))
            return
        try:
            text = rules.check_length(inbound.text or "", rules.INPUT, N_("Masukan"))
        except rules.ForumInputError as exc:
            turn.reply(exc.text(t), [Choice(t("❌ Batal"), "/batal")])
            return
        repo = ForumRepo(turn.repo.session)
        f = await repo.get(int(data["forum_id"]))
        problem = (
            None
            if f is None
            else rules.input_problem(
                status=f.status,
                starts_at=f.starts_at,
                now=turn.now,
                sent_by_person=await repo.input_count(f.id, turn.user.id),
            )
        )
        turn.clear_state()
        if f is None or problem:
            turn.reply(t(problem or N_("Forum ini dibatalkan."), max=rules.MAX_INPUTS_PER_PERSON))
            return
        repo.add_input(
            forum_id=f.id,
            user_id=turn.user.id,
            anonymous=bool(data.get("anonymous")),
            channel=turn.inbound.channel,
            text=text,
            now=turn.now,
        )
        turn.audit("forum_input", subject_type="forum", subject_id=str(f.id), anonymous=bool(data.get("anonymous")))
        turn.reply(
            t("🙏 Terima kasih, masukan Anda untuk forum #{id} tersimpan dan akan dibahas di forum.", id=f.id),
            [Choice(t("⬅️ Daftar forum"), "/forum halaman 0")],
        )

    # ===== staff: creation =====================================================================
    @router.command("forumbaru", "newforum", description=N_("buat forum konsultasi publik"), roles=STAFF)
    async def new_forum(turn: Turn, args: str) -> None:
        turn.clear_state()
        t = turn.t
        if turn.user.role == "officer":
            await ask_step(turn, {"opd": turn.user.opd_code}, "title")
            return
        ctx = await region_context(turn.repo)
        turn.set_state(FLOW_NEW, "opd", {})
        turn.reply(
            t("Forum baru: untuk OPD mana?"),
            [Choice(name[:60], f"forumbaru:opd:{code}") for code, name in ctx.opd_names.items()]
            + [Choice(t("❌ Batal"), "/batal")],
            title=t("Forum konsultasi publik baru"),
        )

    async def ask_step(turn: Turn, data: dict, step: str) -> None:
        t = turn.t
        cancel = [Choice(t("❌ Batal"), "/batal")]
        if step == "agenda":
            await propose(turn, data)
            return
        if step == "confirm":
            await confirm(turn, data)
            return
        turn.set_state(FLOW_NEW, step, data)
        prompts = {
            "title": t('Judul forum? (mis. "Forum Konsultasi Publik Pelayanan Air Bersih")'),
            "topic": t("Topik utama yang dibahas? (satu kalimat pendek)"),
            "when": t(
                "Tanggal dan jam mulai ({tz})? Tulis seperti ini: {example}",
                tz=rules.tz_abbrev((await region_context(turn.repo)).tz),
                example=rules.DATE_EXAMPLE,
            ),
            "place": t('Tempatnya? Tulis alamat, atau tautan rapat daring (https://…), atau keduanya dipisah " | ".'),
            "capacity": t("Kuota peserta (jumlah orang)?"),
            "description": t("Deskripsi singkat untuk warga: apa tujuan forum dan siapa yang diundang?"),
        }
        turn.reply(prompts[step], cancel)

    async def propose(turn: Turn, data: dict) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        draft = await agenda_proposal(
            turn.repo.session,
            tz=ctx.tz,
            skm=ctx.skm,
            opd_code=data["opd"],
            opd_name=ctx.opd_names.get(data["opd"], data["opd"]),
            now=turn.now,
            t=t,
            lang=turn.lang,
        )
        data = {
            **data,
            "agenda": draft.text,
            "period": draft.period_key,
            "data_from": draft.start.isoformat(),
            "data_to": draft.end.isoformat(),
        }
        turn.set_state(FLOW_NEW, "agenda", data)
        intro = t(
            "Usulan agenda dari data {period} (SKM dan pengaduan {opd}):", period=draft.period_label, opd=draft.opd_name
        )
        if not draft.has_data:
            intro += "\n" + t("(Belum ada data SKM atau pengaduan untuk periode itu.)")
        turn.reply(
            f"{intro}\n\n{draft.text}\n\n" + t("Pakai agenda ini, atau ketik agenda Anda sendiri untuk menggantinya."),
            [Choice(t("✅ Pakai agenda ini"), "forumbaru:agenda:ok"), Choice(t("❌ Batal"), "/batal")],
        )

    async def confirm(turn: Turn, data: dict) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        turn.set_state(FLOW_NEW, "confirm", data)
        starts = datetime.fromisoformat(data["starts_at"])
        text = "\n".join(
            [
                t("🏢 {opd}", opd=ctx.opd_names.get(data["opd"], data["opd"])),
                t("📌 {title} — {topic}", title=data["title"], topic=data["topic"]),
                t("🗓 {when}", when=rules.fmt_when(starts, ctx.tz, turn.lang)),
                t("📍 {where}", where=rules.where_text(data.get("place"), data.get("url"), t)),
                t("👥 Kuota {n} orang", n=data["capacity"]),
                "",
                data["description"],
                "",
                t("Agenda:"),
                data["agenda"],
                "",
                t("Terbitkan forum ini? Pelanggan kabar forum OPD ini dan seluruh daerah akan diberi tahu."),
            ]
        )
        turn.reply(
            text,
            [Choice(t("📢 Terbitkan"), "forumbaru:publish"), Choice(t("❌ Batal"), "/batal")],
            title=t("Ringkasan forum"),
        )

    @router.flow(FLOW_NEW)
    async def creation(turn: Turn) -> None:
        t = turn.t
        data = dict(turn.data)
        step = turn.step
        inbound = turn.inbound
        choice = inbound.choice if inbound.kind is Kind.CHOICE else None
        text = (inbound.text or "") if inbound.kind is Kind.TEXT else ""
        ctx = await region_context(turn.repo)
        if step == "opd":
            code = (choice or "").removeprefix("forumbaru:opd:") if choice else text.strip().upper()
            if code not in ctx.opd_names:
                turn.reply(
                    t(
                        "Pilih OPD dengan tombol, atau ketik kodenya (mis. {code}).",
                        code=next(iter(ctx.opd_names), "PDAM"),
                    ),
                    [Choice(name[:60], f"forumbaru:opd:{c}") for c, name in ctx.opd_names.items()]
                    + [Choice(t("❌ Batal"), "/batal")],
                )
                return
            data["opd"] = code
            await ask_step(turn, data, "title")
            return
        if step == "confirm":
            if choice == "forumbaru:publish":
                await publish_forum(turn, data)
            else:
                await confirm(turn, data)
            return
        if step == "agenda":
            if choice == "forumbaru:agenda:ok":
                await ask_step(turn, data, "confirm")
                return
            if not text:
                await propose(turn, data)
                return
        if not text:
            turn.reply(t("Jawab dengan teks, atau /batal untuk keluar."), [Choice(t("❌ Batal"), "/batal")])
            return
        try:
            if step == "title":
                data["title"] = rules.check_length(text, rules.TITLE, N_("Judul"))
            elif step == "topic":
                data["topic"] = rules.check_length(text, rules.TOPIC, N_("Topik"))
            elif step == "when":
                data["starts_at"] = rules.parse_when(text, ctx.tz, turn.now).isoformat()
            elif step == "place":
                data["place"], data["url"] = rules.parse_place(text)
            elif step == "capacity":
                data["capacity"] = rules.parse_capacity(text)
            elif step == "description":
                data["description"] = rules.check_length(text, rules.DESCRIPTION, N_("Deskripsi"))
            elif step == "agenda":
                data["agenda"] = rules.check_length(text, rules.AGENDA, N_("Agenda"))
        except rules.ForumInputError as exc:
            turn.reply(exc.text(t), [Choice(t("❌ Batal"), "/batal")])
            return
        nxt = STEPS[STEPS.index(step) + 1] if step in STEPS[:-1] else "confirm"
        await ask_step(turn, data, nxt)

    async def publish_forum(turn: Turn, data: dict) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        if turn.user.role == "officer" and data["opd"] != turn.user.opd_code:
            turn.clear_state()
            turn.reply(t("Petugas hanya dapat membuat forum untuk OPD-nya sendiri."))
            return
        repo = ForumRepo(turn.repo.session)
        f = await repo.create(
            opd_code=data["opd"],
            title=data["title"],
            topic=data["topic"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            place=data.get("place"),
            online_url=data.get("url"),
            capacity=int(data["capacity"]),
            description=data["description"],
            agenda=data["agenda"],
            status="published",
            data_period_key=data.get("period"),
            data_from=datetime.fromisoformat(data["data_from"]) if data.get("data_from") else None,
            data_to=datetime.fromisoformat(data["data_to"]) if data.get("data_to") else None,
            created_by=turn.user.id,
            created_via="chat",
            created_at=turn.now,
        )
        sent = await announce_forum(
            repo, ctx, f, exclude=turn.user.id, translator_for=turn.translator_for, send=turn.notify
        )
        turn.clear_state()
        turn.audit("forum_created", subject_type="forum", subject_id=str(f.id), opd=f.opd_code, announced=sent)
        turn.reply(
            t(
                "📢 Forum #{id} diterbitkan dan diumumkan ke {n} pelanggan. Lihat pendaftar dan masukan dengan /forum {id}; "
                "terbitkan hasilnya dengan /forumhasil {id} setelah forum berlangsung.",
                id=f.id,
                n=sent,
            )
        )

    # ===== staff: one forum ====================================================================
    async def staff_forum(turn: Turn, forum_id: int, *, lock: bool = False) -> Forum | None:
        scope = turn.user.opd_code if turn.user.role == "officer" else None
        return await ForumRepo(turn.repo.session).get(forum_id, lock=lock, opd_code=scope)

    async def staff_view(turn: Turn, forum_id: int) -> None:
        t = turn.t
        f = await staff_forum(turn, forum_id)
        if f is None:
            not_found(turn, forum_id)
            return
        ctx = await region_context(turn.repo)
        repo = ForumRepo(turn.repo.session)
        people = await repo.attendees(f.id)
        inputs = await repo.inputs(f.id, limit=30)
        lines = [forum_card(ctx, f, t, registered=len(people), full=False), "", t("Pendaftar ({n}):", n=len(people))]
        lines += [f"• {p.name or t('(data dihapus)')} ({p.channel or '-'})" for p in people[:50]] or [t("(belum ada)")]
        if len(people) > 50:
            lines.append(t("… dan {n} lainnya.", n=len(people) - 50))
        lines += ["", t("Masukan tertulis ({n}):", n=await repo.input_count(f.id))]
        for row in inputs:
            who = t("anonim") if row.anonymous else (row.name or t("(data dihapus)"))
            lines.append(f"• {who}: {row.text[:300]}")
        if not inputs:
            lines.append(t("(belum ada)"))
        if f.result_published_at:
            lines += ["", t("📄 Berita acara terbit, dikirim ke {n} orang.", n=f.result_recipients or 0)]
        choices = [] if f.result_published_at else [Choice(t("📄 Terbitkan hasil"), f"/forumhasil {f.id}")]
        turn.reply("\n".join(lines), choices)
        turn.audit("forum_viewed", subject_type="forum", subject_id=str(f.id))

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
        problem = rules.result_problem(
            status=f.status, starts_at=f.starts_at, now=turn.now, published_at=f.result_published_at
        )
        if problem:
            turn.reply(t(problem))
            return
        rest = args.strip().split(maxsplit=1)
        turn.set_state(FLOW_RESULT, "text", {"forum_id": f.id})
        if len(rest) > 1:
            await result_text(turn, rest[1])
            return
        turn.reply(
            t(
                "Tulis berita acara forum #{id}: kesepakatan perbaikan dan tindak lanjutnya ({min}–{max} karakter).",
                id=f.id,
                min=rules.RESULT[0],
                max=rules.RESULT[1],
            ),
            [Choice(t("❌ Batal"), "/batal")],
        )

    async def result_text(turn: Turn, text: str) -> None:
        t = turn.t
        try:
            value = rules.check_length(text, rules.RESULT, N_("Berita acara"))
        except rules.ForumInputError as exc:
            turn.reply(exc.text(t), [Choice(t("❌ Batal"), "/batal")])
            return
        turn.set_state(FLOW_RESULT, "photo", {**turn.data, "text": value})
        turn.reply(
            t("Lampirkan foto berita acara yang ditandatangani? Kirim fotonya, atau tekan Lewati."),
            [Choice(t("⏭ Lewati"), "forumhasil:skip"), Choice(t("❌ Batal"), "/batal")],
        )

    @router.flow(FLOW_RESULT)
    async def result_flow(turn: Turn) -> None:
        t = turn.t
        inbound = turn.inbound
        data = dict(turn.data)
        if turn.step == "text":
            if inbound.kind is Kind.TEXT and (inbound.text or "").strip():
                await result_text(turn, inbound.text or "")
            else:
                turn.reply(t("Tulis berita acara sebagai teks, atau /batal."))
            return
        if turn.step == "photo":
            if inbound.kind is Kind.PHOTO and inbound.photo is not None:
                data["photo"] = {
                    "ref": inbound.photo.file_ref,
                    "mime": inbound.photo.mime_type,
                    "channel": inbound.channel,
                }
            elif not (inbound.kind is Kind.CHOICE and inbound.choice == "forumhasil:skip"):
                if inbound.kind is Kind.UNSUPPORTED and inbound.unsupported_type == "document":
                    msg = t(
                        "Dokumen PDF belum bisa diterima lewat chat. Kirim foto berita acara, atau tekan Lewati; "
                        "admin dapat menerbitkan berita acara dengan lampiran PDF lewat perintah: kanal forum result {id} --pdf FILE",
                        id=data["forum_id"],
                    )
                else:
                    msg = t("Kirim foto, atau tekan Lewati.")
                turn.reply(msg, [Choice(t("⏭ Lewati"), "forumhasil:skip"), Choice(t("❌ Batal"), "/batal")])
                return
            turn.set_state(FLOW_RESULT, "confirm", data)
            note = t("dengan 1 foto") if data.get("photo") else t("tanpa foto")
            turn.reply(
                t("Berita acara ({note}):", note=note)
                + "\n\n"
                + data["text"]
                + "\n\n"
                + t(
                    "Terbitkan? Dikirim ke peserta terdaftar dan ke warga pelanggan kabar forum yang melapor atau mengisi survei tentang OPD ini."
                ),
                [Choice(t("📢 Terbitkan"), "forumhasil:publish"), Choice(t("❌ Batal"), "/batal")],
            )
            return
        if turn.step == "confirm":
            if inbound.kind is Kind.CHOICE and inbound.choice == "forumhasil:publish":
                await publish_result(turn, data)
            else:
                turn.reply(
                    t("Tekan Terbitkan, atau /batal."),
                    [Choice(t("📢 Terbitkan"), "forumhasil:publish"), Choice(t("❌ Batal"), "/batal")],
                )

    async def publish_result(turn: Turn, data: dict) -> None:
        t = turn.t
        f = await staff_forum(turn, int(data["forum_id"]), lock=True)
        turn.clear_state()
        if f is None:
            not_found(turn, data.get("forum_id"))
            return
        problem = rules.result_problem(
            status=f.status, starts_at=f.starts_at, now=turn.now, published_at=f.result_published_at
        )
        if problem:
            turn.reply(t(problem))
            return
        ctx = await region_context(turn.repo)
        repo = ForumRepo(turn.repo.session)
        photo = data.get("photo") or {}
        f.result_text, f.result_by, f.result_published_at = data["text"], turn.user.id, turn.now
        f.result_photo_ref, f.result_photo_mime, f.result_photo_channel = (
            photo.get("ref"),
            photo.get("mime"),
            photo.get("channel"),
        )
        sent = await deliver_result(
            repo, ctx, f, turn.now, exclude=turn.user.id, translator_for=turn.translator_for, send=turn.notify
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
