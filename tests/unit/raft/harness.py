"""A tiny in-memory cluster for paper-rule tests: RaftCores over MemoryStorage, messages
queued in one list, delivered in order; tests drop or hold messages through `cut`/`drop`.

Each node's Ready is handled exactly as the contract says (persist, send, apply, advance),
and applied entries are recorded per node so tests can assert on them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from metadata.raft.core import RaftConfig, RaftCore, ReadState, Role
from metadata.raft.messages import Entry, EntryKind, Message, MessageKind
from metadata.raft.storage import MemoryStorage

CONFIG = RaftConfig(election_ticks=10, heartbeat_ticks=1)
rounds_max = 1000  # stabilize() rounds before a test is declared livelocked


class Cluster:
    def __init__(self, ids: Iterable[str], config: RaftConfig = CONFIG, seed: int = 1,
                 core_class: type[RaftCore] = RaftCore) -> None:
        self.ids = list(ids)
        self.config = config
        self.core_class = core_class
        self.rng = random.Random(seed)
        self.storage: dict[str, MemoryStorage] = {}
        self.nodes: dict[str, RaftCore] = {}
        self.applied: dict[str, list[Entry]] = {}
        self.read_states: dict[str, list[ReadState]] = {}
        self.queue: list[Message] = []
        self.cut: set[tuple[str, str]] = set()  # (from, to) pairs whose messages are dropped
        self.drop: Callable[[Message], bool] = lambda m: False
        for node_id in self.ids:
            self.add(node_id, tuple(self.ids))

    def add(self, node_id: str, voters: tuple[str, ...]) -> RaftCore:
        self.storage[node_id] = MemoryStorage()
        self.applied[node_id] = []
        self.read_states[node_id] = []
        return self.restart(node_id, voters)

    def restart(self, node_id: str, voters: tuple[str, ...] = ()) -> RaftCore:
        applied = self.applied[node_id][-1].index if self.applied[node_id] else 0
        core = self.core_class(node_id, voters, self.storage[node_id], random.Random(self.rng.random()),
                               self.config, applied=applied)
        self.nodes[node_id] = core
        return core

    def preload(self, node_id: str, entries: list[Entry], term: int, commit: int) -> RaftCore:
        """Restart node_id over a log written by hand (a history that led to this state)."""
        from metadata.raft.messages import HardState

        self.storage[node_id] = MemoryStorage()
        self.storage[node_id].append(entries)
        self.storage[node_id].set_hard_state(HardState(term, "", commit))
        self.applied[node_id] = [e for e in entries if e.index <= commit]
        return self.restart(node_id)

    def isolate(self, node_id: str) -> None:
        for other in self.ids:
            if other != node_id:
                self.cut |= {(node_id, other), (other, node_id)}

    def heal(self) -> None:
        self.cut.clear()

    def handle_ready(self, node_id: str) -> None:
        core = self.nodes[node_id]
        if not core.has_ready():
            return
        ready = core.ready()
        storage = self.storage[node_id]
        if ready.snapshot is not None:
            storage.apply_snapshot(ready.snapshot)
        storage.append(ready.entries_to_persist)
        if ready.hard_state is not None:
            storage.set_hard_state(ready.hard_state)
        self.queue.extend(ready.messages)
        self.applied[node_id].extend(ready.committed_entries)
        self.read_states[node_id].extend(ready.read_states)
        core.advance(ready)

    def deliver_one(self) -> Message:
        m = self.queue.pop(0)
        if (m.from_id, m.to_id) not in self.cut and not self.drop(m) and m.to_id in self.nodes:
            self.nodes[m.to_id].step(m)
        return m

    def stabilize(self) -> None:
        """Handle readies and deliver messages until nothing moves."""
        for _ in range(rounds_max):
            for node_id in list(self.nodes):
                self.handle_ready(node_id)
            if not self.queue:
                return
            while self.queue:
                self.deliver_one()
        raise AssertionError("cluster did not stabilize")

    def tick(self, node_id: str, ticks: int = 1) -> None:
        for _ in range(ticks):
            self.nodes[node_id].tick()

    def campaign(self, node_id: str) -> None:
        """Tick node_id past its election timeout and let the election finish."""
        core = self.nodes[node_id]
        self.tick(node_id, core.randomized_election_ticks)
        self.stabilize()

    def leader(self) -> str:
        leaders = [n for n, core in self.nodes.items() if core.role is Role.LEADER]
        assert len(leaders) == 1, f"leaders: {leaders}"
        return leaders[0]

    def heartbeat(self, node_id: str) -> None:
        self.tick(node_id, self.config.heartbeat_ticks)
        self.stabilize()

    def applied_data(self, node_id: str) -> list[bytes]:
        return [e.data for e in self.applied[node_id] if e.kind is EntryKind.NORMAL]


def kinds(messages: Iterable[Message]) -> list[MessageKind]:
    return [m.kind for m in messages]


def bootstrap_entries(ids: Iterable[str]) -> list[Entry]:
    """The entries every initial node of a fresh cluster starts with (see RaftCore)."""
    from metadata.raft.messages import ConfChange, ConfChangeKind

    return [Entry(1, index, EntryKind.CONF_CHANGE, ConfChange(ConfChangeKind.ADD, node_id).encode())
            for index, node_id in enumerate(sorted(ids), start=1)]
