"""The Raft log as the core sees it: durable storage followed by not-yet-persisted entries.

Theory of operation
-------------------
`RaftLog` joins the read-only `LogStorage` (what the driver has synced) with `unstable`
entries and possibly an unstable snapshot (what the core has accepted but the driver has not
yet persisted), as etcd's raftLog/unstable do. New entries always go to `unstable`; an
overwrite that starts inside storage moves the unstable offset back, hiding the stored suffix
until the driver's `append` truncates it. `stable_to` drops unstable entries once persisted.

`committed` and `applied` are the paper's commitIndex and lastApplied. Invariant:
applied <= committed <= last_index().
"""

from __future__ import annotations

from metadata.raft.messages import Entry, SnapshotMeta
from metadata.raft.storage import CompactedError, LogStorage, UnavailableError, limit_size


class RaftLog:
    def __init__(self, storage: LogStorage, committed: int, applied: int) -> None:
        self.storage = storage
        self.unstable: list[Entry] = []
        self.unstable_offset = storage.last_index() + 1  # index of unstable[0]
        self.unstable_snapshot: SnapshotMeta | None = None
        first = storage.first_index()
        self.committed = max(committed, first - 1)
        self.applied = min(max(applied, first - 1), self.committed)
        assert self.committed <= self.last_index(), f"commit {self.committed} beyond log {self.last_index()}"

    # --- reads ------------------------------------------------------------------------------

    def first_index(self) -> int:
        if self.unstable_snapshot is not None:
            return self.unstable_snapshot.index + 1
        return self.storage.first_index()

    def last_index(self) -> int:
        if self.unstable:
            return self.unstable_offset + len(self.unstable) - 1
        if self.unstable_snapshot is not None:
            return self.unstable_snapshot.index
        return self.storage.last_index()

    def snapshot_meta(self) -> SnapshotMeta:
        if self.unstable_snapshot is not None:
            return self.unstable_snapshot
        return self.storage.snapshot_meta()

    def term(self, index: int) -> int | None:
        """Term at index, or None when it is compacted away or beyond the log."""
        if self.unstable_snapshot is not None and index == self.unstable_snapshot.index:
            return self.unstable_snapshot.term
        if index >= self.unstable_offset:
            position = index - self.unstable_offset
            return self.unstable[position].term if position < len(self.unstable) else None
        if index < self.first_index() - 1 or index > self.last_index():
            return None
        try:
            return self.storage.term(index)
        except (CompactedError, UnavailableError):
            return None

    def last_term(self) -> int:
        term = self.term(self.last_index())
        assert term is not None, "the last entry's term is always known"
        return term

    def match_term(self, index: int, term: int) -> bool:
        return self.term(index) == term

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """The election restriction (§5.4.1): is a candidate's log at least as up to date?"""
        own_term = self.last_term()
        return last_term > own_term or (last_term == own_term and last_index >= self.last_index())

    def entries(self, lo: int, hi: int, max_bytes: int) -> list[Entry]:
        """Entries [lo, hi), at least one if lo < hi. Raises CompactedError below first_index."""
        if lo >= hi:
            return []
        if lo < self.first_index():
            raise CompactedError(f"entries from {lo}: first index is {self.first_index()}")
        assert hi <= self.last_index() + 1, f"entries up to {hi - 1} beyond {self.last_index()}"
        result: list[Entry] = []
        if lo < self.unstable_offset:
            result = self.storage.entries(lo, min(hi, self.unstable_offset), max_bytes)
            if len(result) < min(hi, self.unstable_offset) - lo:
                return result  # the byte limit cut it short
        if hi > self.unstable_offset:
            start = max(lo, self.unstable_offset) - self.unstable_offset
            result = result + self.unstable[start:hi - self.unstable_offset]
        return limit_size(result, max_bytes)

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest (i, term(i)) with i <= index and term(i) <= term, for fast backtracking.

        Stops at the first unknown term (compacted) and returns (i, 0) there.
        """
        while index > 0:
            found = self.term(index)
            if found is None:
                return index, 0
            if found <= term:
                return index, found
            index -= 1
        return 0, 0

    # --- writes -----------------------------------------------------------------------------

    def append(self, entries: list[Entry] | tuple[Entry, ...]) -> None:
        """Append after index entries[0].index - 1, truncating anything after it."""
        if not entries:
            return
        after = entries[0].index
        assert after > self.committed, f"overwriting committed entry {after} (commit {self.committed})"
        if after == self.unstable_offset + len(self.unstable):
            self.unstable.extend(entries)
        elif after <= self.unstable_offset:
            self.unstable = list(entries)
            self.unstable_offset = after
        else:
            del self.unstable[after - self.unstable_offset:]
            self.unstable.extend(entries)

    def find_conflict(self, entries: tuple[Entry, ...]) -> int:
        """Index of the first entry that is new or conflicts; 0 if all are already present."""
        for entry in entries:
            if not self.match_term(entry.index, entry.term):
                return entry.index
        return 0

    def maybe_append(self, index: int, log_term: int, commit: int, entries: tuple[Entry, ...]) -> int | None:
        """AppendEntries receiver steps 2-5; returns the last new index, or None on mismatch."""
        if not self.match_term(index, log_term):
            return None
        last_new = index + len(entries)
        conflict = self.find_conflict(entries)
        if conflict:
            assert conflict > self.committed, f"conflict at {conflict} <= commit {self.committed}"
            self.append(entries[conflict - index - 1:])
        self.commit_to(min(commit, last_new))
        return last_new

    def commit_to(self, commit: int) -> None:
        if commit > self.committed:
            assert commit <= self.last_index(), f"commit {commit} beyond last index {self.last_index()}"
            self.committed = commit

    def maybe_commit(self, index: int, term: int) -> bool:
        """Advance commit to index only if its entry is of `term` (§5.4.2)."""
        if index > self.committed and self.term(index) == term:
            self.commit_to(index)
            return True
        return False

    def restore(self, snapshot: SnapshotMeta) -> None:
        self.committed = snapshot.index
        self.unstable = []
        self.unstable_offset = snapshot.index + 1
        self.unstable_snapshot = snapshot

    # --- driver feedback --------------------------------------------------------------------

    def next_committed(self, max_bytes: int) -> list[Entry]:
        lo = max(self.applied + 1, self.first_index())
        return self.entries(lo, self.committed + 1, max_bytes) if lo <= self.committed else []

    def has_next_committed(self) -> bool:
        return max(self.applied + 1, self.first_index()) <= self.committed

    def stable_to(self, index: int, term: int) -> None:
        """Entries up to index (of term) are persisted; ignore if since overwritten."""
        if index < self.unstable_offset or self.term(index) != term:
            return
        del self.unstable[:index + 1 - self.unstable_offset]
        self.unstable_offset = index + 1

    def stable_snapshot_to(self, index: int) -> None:
        if self.unstable_snapshot is not None and self.unstable_snapshot.index == index:
            self.unstable_snapshot = None

    def applied_to(self, index: int) -> None:
        assert self.applied <= index <= self.committed, (
            f"applied {index} outside [{self.applied}, {self.committed}]")
        self.applied = index
