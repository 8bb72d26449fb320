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


async def set_notifications(turn: Turn, on: bool) -> bool:
    """Turn the person's SMS notifications on or off; False (and a reply) off SMS."""
    if turn.inbound.channel != "sms":
        turn.reply(turn.t("Perintah ini hanya untuk SMS."))
        return False
    await turn.uow.sms.set_opted_out(turn.user.external_id, not on)
    turn.audit("sms_opted_in" if on else "sms_opted_out", subject_type="user", subject_id=str(turn.user.id))
    return True


@router.command("stopsms", description=N_("berhenti menerima SMS pemberitahuan"), needs_consent=False, hidden=True)
async def stop_sms(turn: Turn, args: str) -> None:
    if turn.inbound.channel == "sms":
        await leave_flow(turn)
    if await set_notifications(turn, False):
        turn.reply(
            turn.t(
                "Baik, kami tidak mengirim SMS pemberitahuan lagi ke nomor ini. "
                "Jika Anda mengirim pesan, kami tetap membalas. Ketik MULAI untuk menerimanya lagi."
            )
        )


@router.command("mulaisms", description=N_("menerima SMS pemberitahuan lagi"), needs_consent=False, hidden=True)
async def start_sms(turn: Turn, args: str) -> None:
    if await set_notifications(turn, True):
        turn.reply(turn.t("Baik, SMS pemberitahuan aktif lagi. Ketik STOP untuk berhenti."))
