"""RocksLogStorage behaves like the core's MemoryStorage, and survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from metadata.raft.messages import ConfChange, ConfChangeKind, Entry, EntryKind, HardState, SnapshotMeta
from metadata.raft.storage import CompactedError, MemoryStorage, UnavailableError
from metadata.raft_storage import RocksLogStorage


def entries(first: int, last: int, term: int) -> list[Entry]:
    return [Entry(term, i, EntryKind.NORMAL, f"e{i}t{term}".encode()) for i in range(first, last + 1)]


def test_append_truncate_and_restart_match_memory_storage(tmp_path: Path) -> None:
    rocks, memory = RocksLogStorage(tmp_path / "raft", sync=False), MemoryStorage()
    steps: list[tuple[HardState, list[Entry]]] = [
        (HardState(1, "m1", 0), entries(1, 5, 1)),
        (HardState(2, "m2", 3), entries(4, 6, 2)),  # conflicting suffix 4..5 is replaced
        (HardState(2, "m2", 6), entries(7, 8, 2)),
    ]
    for hard_state, new in steps:
        rocks.persist(hard_state, new, None)
        memory.set_hard_state(hard_state)
        memory.append(new)
    for storage in (rocks, memory):
        assert storage.last_index() == 8
        assert [e.term for e in storage.entries(1, 9, 1 << 20)] == [1, 1, 1, 2, 2, 2, 2, 2]
    assert rocks.entries(1, 9, 1 << 20) == memory.entries(1, 9, 1 << 20)
    rocks.close()
    reopened = RocksLogStorage(tmp_path / "raft", sync=False)
    assert reopened.initial_state() == (HardState(2, "m2", 6), ())
    assert reopened.last_index() == 8 and reopened.term(5) == 2
    assert reopened.entries(2, 4, 1 << 20) == memory.entries(2, 4, 1 << 20)
    reopened.close()


def test_compaction_and_snapshot_install(tmp_path: Path) -> None:
    storage = RocksLogStorage(tmp_path / "raft", sync=False)
    add = Entry(1, 1, EntryKind.CONF_CHANGE, ConfChange(ConfChangeKind.ADD, "m1").encode())
    storage.persist(HardState(1, "m1", 10), [add, *entries(2, 10, 1)], None)
    meta = storage.compact(6)
    assert meta == SnapshotMeta(6, 1, ("m1",))  # the configuration as of index 6 is kept
    assert storage.first_index() == 7 and storage.term(6) == 1
    with pytest.raises(CompactedError):
        storage.entries(5, 8, 1 << 20)
    with pytest.raises(UnavailableError):
        storage.term(11)
    storage.persist(None, [], SnapshotMeta(20, 3, ("m1", "m2")))  # a leader's snapshot replaces the log
    assert storage.last_index() == 20 and storage.first_index() == 21
    assert storage.initial_state() == (HardState(1, "m1", 20), ("m1", "m2"))
    storage.close()
    reopened = RocksLogStorage(tmp_path / "raft", sync=False)
    assert reopened.last_index() == 20 and reopened.snapshot_meta() == SnapshotMeta(20, 3, ("m1", "m2"))
    reopened.close()
