"""Helpers shared by the datanode's periodic loops (heartbeat, GC)."""

import asyncio
import contextlib
import time


async def sleep_until_stopped(stop: asyncio.Event, delay_s: float) -> bool:
    """Sleep up to delay_s; return True as soon as stop is set (the loop should end)."""
    if delay_s > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay_s)
    return stop.is_set()


def next_delay_s(started_monotonic_s: float, interval_s: float) -> float:
    """Delay until the next tick so ticks stay interval_s apart however long a call took.

    >>> next_delay_s(time.monotonic(), 0.0)
    0.0
    """
    return max(0.0, started_monotonic_s + interval_s - time.monotonic())


class FailureLog:
    """Log the first failure of a run at WARNING, repeats at DEBUG, the recovery at INFO, so a
    metadata outage does not flood stderr with one line per second."""

    def __init__(self) -> None:
        self.failures = 0

    def failed(self) -> bool:
        """Record a failure; returns whether it is the first of a run (log it loudly)."""
        self.failures += 1
        return self.failures == 1

    def succeeded(self) -> int:
        """Record a success; returns how many failures it ends (0 = none)."""
        ended, self.failures = self.failures, 0
        return ended
