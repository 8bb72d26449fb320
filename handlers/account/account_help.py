"""/bantuan: short, grouped by what the person does in their role, with the details on demand.

``/bantuan`` lists one line per group ("📣 Pengaduan: /lapor /status /tambah /nilai") with a button per
group; ``/bantuan pengaduan`` (a group), ``/bantuan lapor`` (a command: its group) or a near miss of
either shows that group's commands with how to type them and what they do. The commands come
from the whole composed router, filtered by the person's role, so a command added later appears
under "Lainnya" until it is given a group here.
"""

from __future__ import annotations

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Choice
from bot.engine.router import Command, Router
from bot.engine.turn import Turn
from handlers.account.account_menu import ROLE_NAMES
from handlers.account.account_suggest import closest_command

router = Router("account.help")

#: group key (what /bantuan <key> takes) → (label msgid, command names in the order shown)
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pengaduan": (N_("📣 Pengaduan"), ("lapor", "status", "tambah", "nilai")),
    "survei": (N_("📝 Survei"), ("survei",)),
    "triase": (N_("🗂 Belum diarahkan"), ("triase", "arahkan", "cari")),
    "laporan": (N_("📋 Laporan masuk"), ("antrian", "lihat", "balas", "selesai", "teruskan", "kembalikan")),
    "data": (N_("📊 Ringkasan & SKM"), ("ringkasan", "ikm", "ekspor", "populasi")),
    "petugas": (N_("👥 Petugas"), ("undang", "cabut")),
    "forum": (N_("🤝 Forum"), ("forum", "forumbaru", "forumhasil")),
    "warga": (N_("🙋 Layanan warga"), ("lapor", "status", "tambah", "nilai", "survei")),
    "akun": (
        N_("⚙️ Akun"),
        ("menu", "bahasa", "batal", "lanjutkan", "datasaya", "hapusdata", "gabung", "start", "bantuan"),
    ),
}
#: the groups each role sees, in this order; a command of the role in none of them is "Lainnya"
ROLE_GROUPS = {
    Role.CITIZEN: ("pengaduan", "survei", "forum", "akun"),
    Role.OFFICER: ("laporan", "data", "forum", "warga", "akun"),
    Role.COORDINATOR: ("triase", "laporan", "data", "petugas", "forum", "warga", "akun"),
}
OTHER = "lainnya"
OTHER_LABEL = N_("➕ Lainnya")
#: named in the details of their group, not in the short list (everyone knows them by now)
NOT_LISTED = frozenset({"start", "bantuan"})


def role_groups(turn: Turn) -> dict[str, list[Command]]:
    """The person's groups (key → their commands), in the role's order, empty ones left out."""
    commands = {c.names[0]: c for c in turn.router.commands_for(turn.user.role)}
    groups: dict[str, list[Command]] = {}
    placed: set[str] = set()
    for key in ROLE_GROUPS.get(turn.user.role, ROLE_GROUPS[Role.CITIZEN]):
        mine = [commands[n] for n in GROUPS[key][1] if n in commands]
        if mine:
            groups[key] = mine
            placed.update(c.names[0] for c in mine)
    rest = [c for name, c in commands.items() if name not in placed]
    if rest:
        groups[OTHER] = rest
    return groups


def group_label(t: Translator, key: str) -> str:
    return t(GROUPS[key][0]) if key in GROUPS else t(OTHER_LABEL)


def shown_name(t: Translator, cmd: Command) -> str:
    """The command as the reader types it: the English alias for English readers, where there is one."""
    return cmd.names[1] if t.lang == "en" and len(cmd.names) > 1 else cmd.names[0]


def find_group(turn: Turn, groups: dict[str, list[Command]], topic: str) -> str | None:
    """The group a topic names: a group's key, one of its commands (or aliases), or a near miss."""
    word = topic.strip().lstrip("/").lower().split(" ")[0]
    if word in groups:
        return word
    name = word if word in turn.router.commands else closest_command(turn.router, turn.user.role, word)
    command = turn.router.commands.get(name or "")
    return next((key for key, cmds in groups.items() if command in cmds), None)


@router.command("bantuan", "help", description=N_("daftar perintah"), needs_consent=False, usage=N_("[topik]"))
async def help_(turn: Turn, args: str) -> None:
    t = turn.t
    groups = role_groups(turn)
    if args.strip():
        key = find_group(turn, groups, args)
        if key is not None:
            group_details(turn, key, groups[key])
            return
        turn.reply(t('Tidak ada bantuan tentang "{topic}". Pilih salah satu:', topic=args.strip()[:30]))
    lines = [t("Perintah yang bisa Anda pakai ({role}):", role=t(ROLE_NAMES.get(turn.user.role, "warga")))]
    for key, cmds in groups.items():
        names = " ".join(f"/{shown_name(t, c)}" for c in cmds if c.names[0] not in NOT_LISTED)
        if names:
            lines.append(f"{group_label(t, key)}: {names}")
    lines += [
        "",
        t(
            "Rinciannya: tekan tombol, atau ketik misalnya /bantuan {command}. /batal keluar dari proses apa pun.",
            command=example(turn),
        ),
    ]
    choices = [Choice(group_label(t, key), f"/bantuan {key}") for key in groups]
    turn.reply("\n".join(lines), choices, title=t("Bantuan"))


def example(turn: Turn) -> str:
    """A command of the person's work to name in "/bantuan …", as they would type it."""
    name = {Role.OFFICER: "balas", Role.COORDINATOR: "arahkan"}.get(turn.user.role, "lapor")
    command = turn.router.commands.get(name)
    return shown_name(turn.t, command) if command is not None else name


def group_details(turn: Turn, key: str, cmds: list[Command]) -> None:
    """One group: each command with how to type it and what it does."""
    t = turn.t
    lines = [group_label(t, key), ""]
    for cmd in cmds:
        usage = f" {t(cmd.usage)}" if cmd.usage else ""
        lines.append(f"• /{shown_name(t, cmd)}{usage} — {t(cmd.description)}")
    choices = [Choice(t("❓ Semua bantuan"), "/bantuan"), Choice(t("🏠 Menu"), "/menu")]
    turn.reply("\n".join(lines), choices, title=t("Bantuan"))
