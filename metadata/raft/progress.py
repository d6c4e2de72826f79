"""The leader's view of one follower's log (etcd's tracker.Progress).

Theory of operation
-------------------
PROBE: the leader does not know where the follower's log matches; it sends one APPEND at a
time (`probe_sent`) and backs `next` off on rejection. REPLICATE: the follower is caught up;
the leader sends optimistically, advancing `next` at send time (pipelining), with at most
`inflight_max` un-acked APPENDs. SNAPSHOT: the follower needs a snapshot; nothing is sent until
the driver reports the snapshot's fate (`RaftCore.report_snapshot`) or the follower acks.
"""

from __future__ import annotations

import collections
import enum


class ProgressState(enum.Enum):
    PROBE = "probe"
    REPLICATE = "replicate"
    SNAPSHOT = "snapshot"


class Progress:
    def __init__(self, next_index: int, inflight_max: int) -> None:
        self.match = 0
        self.next = next_index
        self.state = ProgressState.PROBE
        self.probe_sent = False
        self.pending_snapshot = 0
        self.recent_active = False  # heard from since the last CheckQuorum round
        self.inflight: collections.deque[int] = collections.deque()  # last index of each APPEND
        self.inflight_max = inflight_max

    def __repr__(self) -> str:
        return f"Progress({self.state.value} match={self.match} next={self.next})"

    def is_paused(self) -> bool:
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        if self.state is ProgressState.REPLICATE:
            return len(self.inflight) >= self.inflight_max
        return True

    def become_probe(self) -> None:
        if self.state is ProgressState.SNAPSHOT:
            self.next = max(self.match + 1, self.pending_snapshot + 1)
        else:
            self.next = self.match + 1
        self._reset(ProgressState.PROBE)

    def become_replicate(self) -> None:
        self.next = self.match + 1
        self._reset(ProgressState.REPLICATE)

    def become_snapshot(self, index: int) -> None:
        self._reset(ProgressState.SNAPSHOT)
        self.pending_snapshot = index

    def _reset(self, state: ProgressState) -> None:
        self.state = state
        self.probe_sent = False
        self.pending_snapshot = 0
        self.inflight.clear()

    def maybe_update(self, index: int) -> bool:
        """An ack up to index; returns True if match advanced."""
        updated = index > self.match
        if updated:
            self.match = index
            self.probe_sent = False
        self.next = max(self.next, index + 1)
        return updated

    def maybe_decrease_to(self, rejected: int, match_hint: int) -> bool:
        """A rejection of the APPEND after `rejected`; False if it is stale (out of order)."""
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.probe_sent = False
        return True

    def sent_entries(self, last_index: int, count: int) -> None:
        if self.state is ProgressState.REPLICATE and count:
            self.next = last_index + 1
            self.inflight.append(last_index)
        elif self.state is ProgressState.PROBE:
            self.probe_sent = True

    def free_through(self, index: int) -> None:
        while self.inflight and self.inflight[0] <= index:
            self.inflight.popleft()
