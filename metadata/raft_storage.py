"""The Raft log on disk: entries, hard state and snapshot meta in their own RocksDB.

Theory of operation: the driver calls `persist()` once per Ready, with the hard state, the new
entries (which may overwrite a conflicting suffix) and a snapshot meta, and they are written
as one WriteBatch with sync=True before any message of that Ready is sent. The core reads the
log back through the LogStorage methods. `compact()` drops entries the state machine has
applied, keeping their (index, term) as the snapshot meta. Key layout and value encodings
(all integers big-endian, every value led by a 1-byte format version) are in proto/FORMATS.md:

    b"e" + u64 index -> v1 entry: u8 version, u64 term, u8 kind, data
    b"h"             -> v1 hard state: u8 version, u64 term, u64 commit, vote (UTF-8)
    b"s"             -> v1 snapshot meta: u8 version, u64 index, u64 term, voters joined by NUL
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from rocksdict import Options, Rdict, WriteBatch, WriteOptions

from metadata.raft.messages import Entry, EntryKind, HardState, SnapshotMeta, voters_after
from metadata.raft.storage import CompactedError, UnavailableError, limit_size

FORMAT_VERSION: Final = 1
_ENTRY_HEADER = struct.Struct(">BQB")
_HARD_STATE = struct.Struct(">BQQ")
_SNAPSHOT = struct.Struct(">BQQ")
HARD_STATE_KEY: Final = b"h"
SNAPSHOT_KEY: Final = b"s"


class StoredFormatError(RuntimeError):
    """A value on disk has a format this build cannot read: stop rather than guess."""


def _entry_key(index: int) -> bytes:
    return b"e" + index.to_bytes(8, "big")


def encode_entry(entry: Entry) -> bytes:
    return _ENTRY_HEADER.pack(FORMAT_VERSION, entry.term, int(entry.kind)) + entry.data


def decode_entry(index: int, value: bytes) -> Entry:
    version, term, kind = _ENTRY_HEADER.unpack_from(value)
    if version != FORMAT_VERSION:
        raise StoredFormatError(f"raft entry {index}: format {version}, this build reads {FORMAT_VERSION}")
    return Entry(term, index, EntryKind(kind), bytes(value[_ENTRY_HEADER.size:]))


def encode_snapshot(meta: SnapshotMeta) -> bytes:
    return _SNAPSHOT.pack(FORMAT_VERSION, meta.index, meta.term) + "\0".join(meta.voters).encode()


def decode_snapshot(value: bytes) -> SnapshotMeta:
    version, index, term = _SNAPSHOT.unpack_from(value)
    if version != FORMAT_VERSION:
        raise StoredFormatError(f"raft snapshot meta: format {version}, this build reads {FORMAT_VERSION}")
    voters = bytes(value[_SNAPSHOT.size:]).decode()
    return SnapshotMeta(index, term, tuple(voters.split("\0")) if voters else ())


class RocksLogStorage:
    """LogStorage over RocksDB; single-threaded use from the driver."""

    def __init__(self, path: Path, *, sync: bool = True) -> None:
        self._db = Rdict(str(path), Options(raw_mode=True))
        self._write_options = WriteOptions()
        self._write_options.sync = sync
        self.hard_state = self._read_hard_state()
        raw_snapshot = self._db.get(SNAPSHOT_KEY)
        self._snapshot = decode_snapshot(raw_snapshot) if raw_snapshot is not None else SnapshotMeta()
        self._last_index = self._scan_last_index()

    def close(self) -> None:
        self._db.close()

    def _read_hard_state(self) -> HardState:
        raw = self._db.get(HARD_STATE_KEY)
        if raw is None:
            return HardState()
        version, term, commit = _HARD_STATE.unpack_from(raw)
        if version != FORMAT_VERSION:
            raise StoredFormatError(f"raft hard state: format {version}, this build reads {FORMAT_VERSION}")
        return HardState(term, bytes(raw[_HARD_STATE.size:]).decode(), commit)

    def _scan_last_index(self) -> int:
        iterator = self._db.iter()
        iterator.seek_for_prev(_entry_key(2**64 - 1))
        if iterator.valid() and bytes(iterator.key()).startswith(b"e"):
            return int.from_bytes(bytes(iterator.key())[1:], "big")
        return self._snapshot.index

    # ---- LogStorage ------------------------------------------------------------------

    def initial_state(self) -> tuple[HardState, tuple[str, ...]]:
        return self.hard_state, self._snapshot.voters

    def entries(self, lo: int, hi: int, max_bytes: int) -> list[Entry]:
        if lo <= self._snapshot.index:
            raise CompactedError(f"entries from {lo}: compacted up to {self._snapshot.index}")
        if hi > self._last_index + 1:
            raise UnavailableError(f"entries up to {hi - 1}: last index is {self._last_index}")
        found = []
        for index in range(lo, hi):
            raw = self._db.get(_entry_key(index))
            if raw is None:
                raise StoredFormatError(f"raft entry {index} missing inside the log")
            found.append(decode_entry(index, raw))
            if len(found) > 1 and sum(len(e.data) for e in found) > max_bytes:
                break
        return limit_size(found, max_bytes)

    def term(self, index: int) -> int:
        if index == self._snapshot.index:
            return self._snapshot.term
        if index < self._snapshot.index:
            raise CompactedError(f"term of {index}: compacted up to {self._snapshot.index}")
        if index > self._last_index:
            raise UnavailableError(f"term of {index}: last index is {self._last_index}")
        raw = self._db.get(_entry_key(index))
        if raw is None:
            raise StoredFormatError(f"raft entry {index} missing inside the log")
        return int(_ENTRY_HEADER.unpack_from(raw)[1])

    def first_index(self) -> int:
        return self._snapshot.index + 1

    def last_index(self) -> int:
        return self._last_index

    def snapshot_meta(self) -> SnapshotMeta:
        return self._snapshot

    # ---- writes by the driver ---------------------------------------------------------

    def persist(self, hard_state: HardState | None, entries: Sequence[Entry], snapshot: SnapshotMeta | None) -> None:
        """One synced batch: snapshot (replacing the log), then entries (truncating conflicts), hard state."""
        batch = WriteBatch(raw_mode=True)
        last_index = self._last_index
        if snapshot is not None and snapshot.index > self._snapshot.index:
            batch.delete_range(_entry_key(0), _entry_key(snapshot.index + 1))
            batch.put(SNAPSHOT_KEY, encode_snapshot(snapshot))
            last_index = max(last_index, snapshot.index)
            if hard_state is None and self.hard_state.commit < snapshot.index:
                hard_state = HardState(self.hard_state.term, self.hard_state.vote, snapshot.index)
        if entries:
            first = entries[0].index
            if first <= last_index:  # the new entries replace a conflicting suffix
                batch.delete_range(_entry_key(first), _entry_key(last_index + 1))
            for entry in entries:
                batch.put(_entry_key(entry.index), encode_entry(entry))
            last_index = entries[-1].index
        if hard_state is not None:
            batch.put(HARD_STATE_KEY, _HARD_STATE.pack(FORMAT_VERSION, hard_state.term, hard_state.commit)
                      + hard_state.vote.encode())
        self._db.write(batch, self._write_options)
        if snapshot is not None and snapshot.index > self._snapshot.index:
            self._snapshot = snapshot
        if hard_state is not None:
            self.hard_state = hard_state
        self._last_index = last_index

    def compact(self, index: int) -> SnapshotMeta:
        """Drop entries up to `index` (applied), keeping the configuration as of `index`."""
        if index <= self._snapshot.index:
            return self._snapshot
        covered = self.entries(self._snapshot.index + 1, index + 1, 1 << 62)
        meta = SnapshotMeta(index, self.term(index), voters_after(self._snapshot.voters, covered))
        batch = WriteBatch(raw_mode=True)
        batch.delete_range(_entry_key(0), _entry_key(index + 1))
        batch.put(SNAPSHOT_KEY, encode_snapshot(meta))
        self._db.write(batch, self._write_options)
        self._snapshot = meta
        return meta
