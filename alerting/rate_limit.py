"""Our own per-destination rate limits over a rolling minute.

Providers such as a WeCom group bot (20 a minute) count the last sixty seconds, not a
calendar minute: a counter reset at each minute lets twice the limit through across the
boundary, and the provider refuses the excess. Keeping every send's time would cost a row
per page, so the rolling minute is estimated from two fixed ones, the current minute's count
plus the previous minute's weighted by how much of it still lies within the last sixty
seconds (the usual sliding-window counter). Fire pages are counted but never held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MINUTE_S = 60.0
# A held message is retried a little after its computed time, so rounding does not hold it
# (and record another held attempt) a second time.
RETRY_SLACK_S = 0.5


@dataclass(frozen=True)
class RateWindow:
    """One destination's counters as seen when a send was counted."""

    sent: int  # sends in the current calendar minute, the one being decided included
    previous: int  # sends in the minute before
    window_start: datetime
    now: datetime

    @property
    def elapsed_s(self) -> float:
        return (self.now - self.window_start).total_seconds()

    def estimate(self) -> float:
        """Sends in the last sixty seconds, the one being decided included."""
        still_inside = max(0.0, 1.0 - self.elapsed_s / MINUTE_S)
        return self.sent + self.previous * still_inside

    def allows(self, limit: int) -> bool:
        return self.estimate() <= limit

    def retry_at(self, limit: int) -> datetime:
        """The earliest time one more send fits, when this one is held (and not counted)."""
        before = self.sent - 1  # what counted in this minute before the held send
        if before + 1 <= limit and self.previous > 0:
            # Fits in this minute once enough of the previous one has slid out of the window.
            at = MINUTE_S * (1.0 - (limit - before - 1) / self.previous)
            if at < MINUTE_S:
                return self._at(max(at, self.elapsed_s))
        # This minute is full: wait into the next, where this minute becomes the previous one.
        at = MINUTE_S * (1.0 - (limit - 1) / before) if before > 0 else 0.0
        return self._at(MINUTE_S + min(max(at, 0.0), MINUTE_S))

    def _at(self, seconds_after_start: float) -> datetime:
        return self.window_start + timedelta(seconds=seconds_after_start + RETRY_SLACK_S)
