"""STOP and MULAI by SMS: a person who texts "STOP" or "BERHENTI" gets no more notifications by
SMS (answers to what they write still go); "MULAI" turns them on again. The SMS channel turns the
keywords into ``/stopsms`` and ``/mulaisms`` and refuses, when sending, every notification to a
number that said STOP (``bot/channels/sms``). STOP also leaves the flow under way: on SMS it is
the word people use to make messages end."""

from __future__ import annotations

from bot.domain.i18n import N_
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_cancel import leave_flow

router = Router("account.sms")


@router.command("stopsms", description=N_("berhenti menerima SMS pemberitahuan"), needs_consent=False, hidden=True)
async def stop_sms(turn: Turn, args: str) -> None:
    t = turn.t
    if turn.inbound.channel != "sms":
        turn.reply(t("Perintah ini hanya untuk SMS."))
        return
    await leave_flow(turn)
    await turn.uow.sms.set_opted_out(turn.user.external_id, True)
    turn.audit("sms_opted_out", subject_type="user", subject_id=str(turn.user.id))
    turn.reply(
        t(
            "Baik, kami tidak mengirim SMS pemberitahuan lagi ke nomor ini. "
            "Jika Anda mengirim pesan, kami tetap membalas. Ketik MULAI untuk menerimanya lagi."
        )
    )


@router.command("mulaisms", description=N_("menerima SMS pemberitahuan lagi"), needs_consent=False, hidden=True)
async def start_sms(turn: Turn, args: str) -> None:
    t = turn.t
    if turn.inbound.channel != "sms":
        turn.reply(t("Perintah ini hanya untuk SMS."))
        return
    await turn.uow.sms.set_opted_out(turn.user.external_id, False)
    turn.audit("sms_opted_in", subject_type="user", subject_id=str(turn.user.id))
    turn.reply(t("Baik, SMS pemberitahuan aktif lagi. Ketik STOP untuk berhenti."))
