"""The bounds on claimed rows on their own: how much a claim may take, and when lanes that free room
wake the claim loop again (``bot.delivery.inflight.InFlight``)."""

from __future__ import annotations

from bot.delivery.inflight import InFlight


def test_a_full_claim_starves_and_wakes_again_at_half_the_room():
    flight = InFlight(max_rows=4, max_bulk=4)
    room = flight.new_round()
    assert room == 4
    for _ in range(4):
        flight.start()
    flight.claimed(room, 4)
    assert flight.starved and not flight.wants_claim()
    flight.finish(1)
    assert not flight.wants_claim()
    flight.finish(2)
    assert flight.wants_claim()


def test_no_room_is_starved_and_a_short_claim_is_not():
    flight = InFlight(max_rows=1, max_bulk=1)
    flight.start()
    room = flight.new_round()
    flight.claimed(room, 0)
    assert room == 0 and flight.starved
    flight.finish(1)
    room = flight.new_round()
    flight.claimed(room, 0)
    assert not flight.starved


def test_bulk_is_bounded_apart_from_replies():
    flight = InFlight(max_rows=10, max_bulk=3)
    flight.new_round()
    assert flight.bulk_room(8) == 3
    flight.bulk_claimed(3, 3)
    flight.add_bulk([1, 2, 3])
    flight.start()  # "2" and "3" reach their lanes; "1" is held back
    flight.start()
    assert flight.starved_bulk
    assert flight.bulk_room(5) == 0
    flight.new_round()
    flight.bulk_claimed(0, 0)  # asked for none: still starved while the bulk is full
    assert flight.starved_bulk and not flight.wants_claim()
    flight.give_back(1)  # held back before its lane: frees bulk room
    flight.finish(2)
    assert flight.bulk == {3} and flight.count == 1 and flight.wants_claim()
