"""Safety properties of Raft (Figure 3 of the paper), checked incrementally by the simulator.

Theory of operation: the checker sees every entry a node persists, every entry a node
applies and, after every step, each node's role. Each property is checked where it can first
break, so a violation is reported at the step that caused it:

* Election Safety: at most one leader per term (`on_step`).
* Log Matching: two entries with the same index and term hold the same command and follow
  the same term, so by induction the logs are identical up to there (`on_persist`).
* Leader Completeness: a node that becomes leader holds every entry known committed
  (`on_step`, when a new (term, leader) pair appears).
* State Machine Safety: no two nodes apply different entries at one index (`on_apply`).
"""

from __future__ import annotations

from collections.abc import Iterable

from metadata.raft.core import RaftCore, Role
from metadata.raft.messages import Entry, EntryKind


class SafetyViolation(AssertionError):
    """A Raft safety property does not hold."""


class Checker:
    def __init__(self) -> None:
        self.leaders: dict[int, str] = {}  # term -> the one leader seen in it
        self.logged: dict[tuple[int, int], tuple[EntryKind, bytes, int | None]] = {}  # (index, term) -> entry
        self.committed: dict[int, Entry] = {}  # index -> the entry applied there (by anyone)

    def on_step(self, cores: Iterable[RaftCore]) -> None:
        for core in cores:
            if core.role is not Role.LEADER:
                continue
            known = self.leaders.get(core.term)
            if known is None:
                self.leaders[core.term] = core.id
                self._check_completeness(core)
            elif known != core.id:
                raise SafetyViolation(f"election safety: {known} and {core.id} both lead term {core.term}")

    def _check_completeness(self, core: RaftCore) -> None:
        snapshot_index = core.log.first_index() - 1
        for index, entry in self.committed.items():
            if index <= snapshot_index:
                continue
            term = core.log_term(index)
            if term != entry.term:
                raise SafetyViolation(
                    f"leader completeness: leader {core.id} of term {core.term} has term {term} at "
                    f"{index}, committed entry has term {entry.term}")

    def on_persist(self, node_id: str, entries: tuple[Entry, ...], prev_term: int | None) -> None:
        for entry in entries:
            key = (entry.index, entry.term)
            seen = self.logged.setdefault(key, (entry.kind, entry.data, prev_term))
            if seen[:2] != (entry.kind, entry.data) or (
                    prev_term is not None and seen[2] is not None and seen[2] != prev_term):
                raise SafetyViolation(
                    f"log matching: {node_id} persisted {entry} after term {prev_term}; another log has "
                    f"{seen[:2]} after term {seen[2]} at the same index and term")
            prev_term = entry.term

    def on_apply(self, node_id: str, entry: Entry) -> None:
        seen = self.committed.setdefault(entry.index, entry)
        if seen != entry:
            raise SafetyViolation(
                f"state machine safety: {node_id} applied {entry}, another node applied {seen}")
