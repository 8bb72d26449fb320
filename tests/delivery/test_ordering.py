"""Per-chat ordering on its own: which claimed rows may go to their chat's lane and which are held
back behind an earlier message waiting for its retry (``bot.delivery.ordering.ChatOrder``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.delivery.ordering import PAUSES_KEPT, ChatOrder
from bot.delivery.outcomes import WAITING_BEHIND, Retry

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
A = ("telegram", "a")
B = ("telegram", "b")


def retry(row_id: int, chat=A, at: datetime = T0) -> Retry:
    return Retry(row_id, chat, at, WAITING_BEHIND, counts_attempt=False)


def test_a_chat_nothing_waits_for_sends_what_is_claimed():
    order = ChatOrder()
    with order.claim():
        order.claimed([1, 2])
        assert order.hold_until(A, 1, T0) is None
        assert order.hold_until(A, 2, T0) is None


def test_a_paused_chat_holds_rows_until_the_pause_ends_and_other_chats_go_on():
    order = ChatOrder()
    until = T0 + timedelta(seconds=30)
    order.pause(A, until, T0)
    assert order.hold_until(A, 5, T0) == until
    assert order.hold_until(B, 6, T0) is None
    assert order.hold_until(A, 7, until) is None  # the pause is over: forgotten
    assert order.paused(A) is None


def test_a_retry_not_yet_written_holds_later_rows_even_after_its_pause_ran_out():
    order = ChatOrder()
    first = retry(1, at=T0 + timedelta(seconds=1))
    order.held(first)
    order.pause(A, first.at, T0)
    later = T0 + timedelta(seconds=2)  # the pause is over, the retry still unwritten
    assert order.hold_until(A, 3, later) == later
    order.written(first)
    assert order.hold_until(A, 3, later) is None


def test_each_row_given_back_counts_until_it_is_written():
    order = ChatOrder()
    order.held(retry(1))
    order.held(retry(2))
    order.written(retry(1))
    assert order.hold_until(A, 3, T0) == T0  # "2" is still unwritten
    order.written(retry(2))
    assert order.hold_until(A, 3, T0) is None


def test_a_retry_written_during_a_claim_holds_the_later_rows_it_claimed_without_the_earlier():
    order = ChatOrder()
    order.held(retry(1))
    order.held(retry(2))
    with order.claim():
        order.written(retry(1))  # the claim's snapshot may predate these writes
        order.written(retry(2))
        order.claimed([3])
        assert order.hold_until(A, 3, T0) == T0
        assert order.hold_until(B, 4, T0) is None  # another chat is not concerned


def test_a_claim_that_took_the_rows_whose_retry_was_written_sends_them_in_order():
    order = ChatOrder()
    order.held(retry(1))
    order.held(retry(2))
    with order.claim():
        order.written(retry(1))
        order.written(retry(2))
        order.claimed([1, 2, 3])
        assert [order.hold_until(A, i, T0) for i in (1, 2, 3)] == [None, None, None]


def test_a_retry_written_outside_a_claim_does_not_concern_the_next_claim():
    order = ChatOrder()
    order.held(retry(1))
    order.written(retry(1))  # written before the claim: the database holds later rows back
    with order.claim():
        assert order.claiming
        order.claimed([3])
        assert order.hold_until(A, 3, T0) is None
    assert not order.claiming


def test_writes_seen_by_one_claim_are_forgotten_by_the_next():
    order = ChatOrder()
    order.held(retry(1))
    with order.claim():
        order.written(retry(1))
    with order.claim():
        order.claimed([3])
        assert order.hold_until(A, 3, T0) is None


def test_many_pauses_forget_the_ones_that_are_over():
    order = ChatOrder()
    for i in range(PAUSES_KEPT + 1):
        order.pause(("telegram", f"c{i}"), T0 + timedelta(seconds=1), T0)
    order.pause(A, T0 + timedelta(seconds=60), T0 + timedelta(seconds=2))
    assert order.paused(("telegram", "c0")) is None
    assert order.paused(A) == T0 + timedelta(seconds=60)
