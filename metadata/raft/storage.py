"""The log storage the Raft core reads, and an in-memory implementation of it.

Theory of operation
-------------------
The core never writes storage: it hands new entries, hard state and snapshots to the driver in
a `Ready`, and the driver persists them (`append`, `set_hard_state`, `apply_snapshot`) before
calling `advance`. The core only reads what is already durable through `LogStorage`.

The log is kept as a "dummy" entry at `offset` (the snapshot's index and term) followed by the
retained entries, as in etcd's MemoryStorage: `term(snapshot.index)` is answerable even after
compaction, which the AppendEntries consistency check needs right after a snapshot.

`compact(index)` drops entries up to `index` and records a `SnapshotMeta` for it, whose voters
are the snapshot's voters plus every CONF_CHANGE entry up to `index` (configurations take
effect when appended, see core.py). Only committed entries may be compacted.
"""

from __future__ import annotations

from typing import Protocol

from metadata.raft.messages import Entry, HardState, SnapshotMeta, entry_bytes, voters_after


class StorageError(Exception):
    """Root of the errors LogStorage raises for indexes it cannot serve."""


class CompactedError(StorageError):
    """The index is covered by the snapshot: its entry (or term) is gone."""


class UnavailableError(StorageError):
    """The index is beyond the last stored entry."""


class LogStorage(Protocol):
    """What the core reads from durable storage. Indexes are 1-based; 0 is "before the log"."""

    def initial_state(self) -> tuple[HardState, tuple[str, ...]]:
        """The persisted hard state and the voters of the snapshot (empty on a fresh node)."""
        ...

    def entries(self, lo: int, hi: int, max_bytes: int) -> list[Entry]:
        """Entries [lo, hi): at least one when lo < hi, then up to max_bytes in total.

        Raises CompactedError if lo <= snapshot index, UnavailableError if hi > last_index + 1.
        """
        ...

    def term(self, index: int) -> int:
        """Term of the entry at index, for snapshot_index <= index <= last_index (else raises)."""
        ...

    def first_index(self) -> int:
        """Index of the first retained entry (snapshot index + 1)."""
        ...

    def last_index(self) -> int:
        """Index of the last stored entry (the snapshot index if the log is empty)."""
        ...

    def snapshot_meta(self) -> SnapshotMeta:
        """The latest snapshot (index 0 when there is none)."""
        ...


class MemoryStorage:
    """LogStorage in memory, for tests and the simulator. Not thread-safe; no I/O."""

    def __init__(self) -> None:
        self.hard_state = HardState()
        self._snapshot = SnapshotMeta()
        # _entries[0] is the dummy entry for the snapshot (index, term).
        self._entries: list[Entry] = [Entry(0, 0)]

    # --- LogStorage -------------------------------------------------------------------------

    def initial_state(self) -> tuple[HardState, tuple[str, ...]]:
        return self.hard_state, self._snapshot.voters

    def entries(self, lo: int, hi: int, max_bytes: int) -> list[Entry]:
        offset = self._entries[0].index
        if lo <= offset:
            raise CompactedError(f"entries from {lo}: compacted up to {offset}")
        if hi > self.last_index() + 1:
            raise UnavailableError(f"entries up to {hi - 1}: last index is {self.last_index()}")
        return limit_size(self._entries[lo - offset:hi - offset], max_bytes)

    def term(self, index: int) -> int:
        offset = self._entries[0].index
        if index < offset:
            raise CompactedError(f"term of {index}: compacted up to {offset}")
        if index > self.last_index():
            raise UnavailableError(f"term of {index}: last index is {self.last_index()}")
        return self._entries[index - offset].term

    def first_index(self) -> int:
        return self._entries[0].index + 1

    def last_index(self) -> int:
        return self._entries[0].index + len(self._entries) - 1

    def snapshot_meta(self) -> SnapshotMeta:
        return self._snapshot

    # --- writes, done by the driver ---------------------------------------------------------

    def set_hard_state(self, hard_state: HardState) -> None:
        self.hard_state = hard_state

    def append(self, entries: list[Entry] | tuple[Entry, ...]) -> None:
        """Append entries, truncating any stored suffix they overwrite."""
        if not entries:
            return
        first = entries[0].index
        assert all(b.index == a.index + 1 for a, b in zip(entries, entries[1:], strict=False)), (
            "gap in entries")
        assert first <= self.last_index() + 1, f"gap: appending {first} after {self.last_index()}"
        offset = self._entries[0].index
        if first <= offset:  # a prefix is already covered by the snapshot
            entries = entries[offset + 1 - first:]
            if not entries:
                return
            first = entries[0].index
        del self._entries[first - offset:]
        self._entries.extend(entries)

    def apply_snapshot(self, meta: SnapshotMeta) -> None:
        """Replace the log by a snapshot received from the leader."""
        assert meta.index > self._snapshot.index, f"stale snapshot {meta.index} <= {self._snapshot.index}"
        self._snapshot = meta
        self._entries = [Entry(meta.term, meta.index)]
        if self.hard_state.commit < meta.index:
            self.hard_state = HardState(self.hard_state.term, self.hard_state.vote, meta.index)

    def compact(self, index: int) -> SnapshotMeta:
        """Drop entries up to index (which must be committed); returns the new snapshot meta."""
        offset = self._entries[0].index
        if index <= offset:
            return self._snapshot
        assert index <= self.hard_state.commit, f"compacting {index} beyond commit {self.hard_state.commit}"
        assert index <= self.last_index()
        covered = self._entries[1:index - offset + 1]
        self._snapshot = SnapshotMeta(index, self.term(index), voters_after(self._snapshot.voters, covered))
        self._entries = [Entry(self._snapshot.term, index), *self._entries[index - offset + 1:]]
        return self._snapshot


def limit_size(entries: list[Entry], max_bytes: int) -> list[Entry]:
    """The longest prefix within max_bytes, but never fewer than one entry.

    >>> [e.index for e in limit_size([Entry(1, 1, data=b"x" * 100), Entry(1, 2)], 10)]
    [1]
    """
    total = 0
    for count, entry in enumerate(entries):
        total += entry_bytes(entry)
        if total > max_bytes and count > 0:
            return entries[:count]
    return entries
