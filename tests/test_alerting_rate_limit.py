"""Our own rate limits count a rolling minute, not a calendar one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting.rate_limit import RateWindow

MINUTE = datetime(2026, 12, 3, 8, 15, tzinfo=UTC)


def window(sent: int, previous: int, elapsed_s: float) -> RateWindow:
    return RateWindow(sent, previous, MINUTE, MINUTE + timedelta(seconds=elapsed_s))


def test_the_previous_minute_still_counts_just_after_the_boundary() -> None:
    # Three pages at 08:14:59.9; the next at 08:15:00.1 would be the fourth in 0.2 s.
    assert not window(sent=1, previous=3, elapsed_s=0.1).allows(2)
    # Late in the minute almost all of the previous minute has slid out.
    assert window(sent=1, previous=3, elapsed_s=50).allows(2)


def test_within_the_limit_is_allowed_and_one_over_is_not() -> None:
    assert window(sent=20, previous=0, elapsed_s=30).allows(20)
    assert not window(sent=21, previous=0, elapsed_s=30).allows(20)


def test_a_held_send_retries_when_the_previous_minute_has_slid_out_enough() -> None:
    held = window(sent=1, previous=3, elapsed_s=0.1)
    retry = held.retry_at(2)
    # 1 + 3 * (1 - t/60) <= 2 from t = 40 s.
    assert MINUTE + timedelta(seconds=40) <= retry <= MINUTE + timedelta(seconds=41)
    assert RateWindow(1, 3, MINUTE, retry).allows(2)


def test_a_full_minute_holds_into_the_next_one() -> None:
    held = window(sent=3, previous=0, elapsed_s=10)  # two already sent, limit 2
    retry = held.retry_at(2)
    # In the next minute this one's two count as previous: 1 + 2 * (1 - t/60) <= 2 from 30 s.
    assert MINUTE + timedelta(seconds=90) <= retry <= MINUTE + timedelta(seconds=91)
    nxt = MINUTE + timedelta(minutes=1)
    assert RateWindow(1, 2, nxt, retry).allows(2)


def test_retry_is_never_in_the_past() -> None:
    held = window(sent=2, previous=1, elapsed_s=55)  # limit 1: the minute itself is full
    assert held.retry_at(1) > held.now
