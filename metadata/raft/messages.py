"""Values the Raft core exchanges with its driver: log entries, hard state, messages, configs.

Theory of operation
-------------------
Everything here is an immutable value (frozen, slotted dataclass), so a `Ready` handed to the
driver cannot change under it while it persists and sends. Names follow the Raft paper and
etcd-io/raft: `term`, `index`, `commit`, `AppendEntries` is `MessageKind.APPEND`.

Node ids are strings. "" means "no node" (no vote cast, no leader known).

ConfChange entry data, version 1 (`ConfChange.encode`):

    byte 0      format version, 1 (decoders refuse any other)
    byte 1      kind: 1 = ADD, 2 = REMOVE
    bytes 2..   node id, UTF-8

For example `ConfChange(ConfChangeKind.ADD, "m2").encode() == b"\\x01\\x01m2"`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from metadata.raft.limits import entry_overhead_bytes

NO_NODE = ""

CONF_CHANGE_VERSION = 1


class EntryKind(enum.IntEnum):
    NORMAL = 1  # an application command
    CONF_CHANGE = 2  # data is an encoded ConfChange
    NOOP = 3  # appended by a new leader so it commits an entry of its own term


@dataclass(frozen=True, slots=True)
class Entry:
    term: int
    index: int
    kind: EntryKind = EntryKind.NORMAL
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class HardState:
    """The state Raft must persist before answering any message (Figure 2, plus commit)."""

    term: int = 0
    vote: str = NO_NODE
    commit: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    """Describes a snapshot: the last entry it covers and the voters as of that entry."""

    index: int = 0
    term: int = 0
    voters: tuple[str, ...] = ()


class MessageKind(enum.IntEnum):
    VOTE = 1
    VOTE_RESP = 2
    PRE_VOTE = 3
    PRE_VOTE_RESP = 4
    APPEND = 5
    APPEND_RESP = 6
    HEARTBEAT = 7
    HEARTBEAT_RESP = 8
    SNAPSHOT = 9
    TIMEOUT_NOW = 10
    READ_INDEX = 11  # follower -> leader; term 0 (it bypasses term checks, as in etcd)
    READ_INDEX_RESP = 12


# context of a VOTE sent because of TIMEOUT_NOW: it may disrupt a live leader's lease.
CAMPAIGN_TRANSFER = b"transfer"


@dataclass(frozen=True, slots=True)
class Message:
    """One Raft RPC. Field meaning by kind (as in etcd's raftpb.Message):

    * APPEND: `index`/`log_term` are the entry preceding `entries`; `commit` the leader's.
    * APPEND_RESP: `index` is the last index now matching, or on `reject` the rejected
      `index`, with `reject_hint`/`log_term` the follower's guess for fast backtracking.
    * VOTE / PRE_VOTE: `index`/`log_term` describe the candidate's last entry.
    * HEARTBEAT: `commit` is min(follower's match, leader commit); `context` a ReadIndex id.
    * READ_INDEX_RESP: `index` is the read index for request `context`.
    * SNAPSHOT: `snapshot` set; the driver streams the data alongside.
    """

    kind: MessageKind
    from_id: str
    to_id: str
    term: int
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    context: bytes = b""
    snapshot: SnapshotMeta | None = None


class ConfChangeKind(enum.IntEnum):
    ADD = 1
    REMOVE = 2


@dataclass(frozen=True, slots=True)
class ConfChange:
    """A single-server membership change (Raft thesis §4.1)."""

    kind: ConfChangeKind
    node_id: str

    def encode(self) -> bytes:
        return bytes((CONF_CHANGE_VERSION, int(self.kind))) + self.node_id.encode()

    @staticmethod
    def decode(data: bytes) -> ConfChange:
        """Inverse of `encode`; a committed entry that does not decode is corrupt state."""
        if len(data) < 3 or data[0] != CONF_CHANGE_VERSION:
            raise ValueError(
                f"ConfChange: expected version {CONF_CHANGE_VERSION} and a node id, got {data!r}")
        return ConfChange(ConfChangeKind(data[1]), data[2:].decode())

    def applied_to(self, voters: Iterable[str]) -> tuple[str, ...]:
        """The voter set after this change, sorted: ADD of a voter or REMOVE of a stranger is a no-op."""
        result = set(voters)
        if self.kind is ConfChangeKind.ADD:
            result.add(self.node_id)
        else:
            result.discard(self.node_id)
        return tuple(sorted(result))


def voters_after(voters: Iterable[str], entries: Iterable[Entry]) -> tuple[str, ...]:
    """Apply every CONF_CHANGE among `entries` (in order) to `voters`.

    >>> add_c = ConfChange(ConfChangeKind.ADD, "c").encode()
    >>> voters_after(("a", "b"), [Entry(1, 5, EntryKind.CONF_CHANGE, add_c)])
    ('a', 'b', 'c')
    """
    result = tuple(sorted(voters))
    for entry in entries:
        if entry.kind is EntryKind.CONF_CHANGE:
            result = ConfChange.decode(entry.data).applied_to(result)
    return result


def entry_bytes(entry: Entry) -> int:
    """Bytes an entry counts for in the append/apply byte limits."""
    return len(entry.data) + entry_overhead_bytes
