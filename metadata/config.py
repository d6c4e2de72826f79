"""Configuration of one metadata replica: one frozen dataclass, validated at startup."""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True, slots=True)
class MetadataConfig:
    """Every field has a documented unit and default.

    node_id: this replica's name, reported by Status (e.g. "meta-1"). Required.
    data_dir: directory holding the RocksDB state (`<data_dir>/db`). Required.
    listen: host:port of the gRPC MetadataService; port 0 picks a free port. Default 127.0.0.1:0.
    suspect_after_s: a datanode whose last heartbeat is at least this old is `suspect`. Default 3 s.
    down_after_s: ... and at least this old is `down`. Default 10 s; must exceed suspect_after_s.
    k, m: default erasure policy (data and parity chunks per stripe). Default 4 + 2. Placement
        allows at most m chunks of a stripe per zone, so losing one zone loses at most m chunks.
    peers: (node_id, host:port) of every replica of a new cluster, this one included. Empty: a
        cluster of this replica alone. Used to bootstrap and to reach peers. Default empty.
    raft_tick_s: seconds per Raft tick (heartbeat interval). Default 0.1 s.
    election_ticks: election timeout in ticks, randomized over [e, 2e). Default 10 (1-2 s).
    compact_entries: applied log entries kept before compaction. Default 10,000.
    repair_grace_s: a datanode silent this long has its chunks rebuilt elsewhere. Default 60 s.
    repair_interval_s: seconds between redundancy scans on the leader. Default 5 s.
    repair_concurrency: chunk rebuilds in flight. Default 2.
    repair_bytes_per_s_max: repair bandwidth cap in bytes/s; 0 = unlimited. Default 0.
    repair_full_scan_s: seconds between full redundancy scans (figures, zone spread); in between
        the chunk index finds what dead, removed or draining nodes held. Default 30 s.
    orphan_grace_s: an unreferenced chunk is deleted once older than this (uploads in flight are
        younger). Default 3600 s.
    join: start as a new replica of an existing cluster (do not bootstrap; wait to be added with
        `tessera metadata add`). Default False.
    """

    node_id: str
    data_dir: Path
    listen: str = "127.0.0.1:0"
    suspect_after_s: float = 3.0
    down_after_s: float = 10.0
    k: int = 4
    m: int = 2
    peers: tuple[tuple[str, str], ...] = ()
    raft_tick_s: float = 0.1
    election_ticks: int = 10
    compact_entries: int = 10_000
    repair_grace_s: float = 60.0
    repair_interval_s: float = 5.0
    repair_concurrency: int = 2
    repair_bytes_per_s_max: int = 0
    join: bool = False
    orphan_grace_s: float = 3600.0
    repair_full_scan_s: float = 30.0

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        if not self.node_id or "\x00" in self.node_id:
            raise ValueError("node_id must be a non-empty string without NUL")
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"listen must be host:port, got {self.listen!r}")
        if not 0 < self.suspect_after_s < self.down_after_s:
            raise ValueError("need 0 < suspect_after_s < down_after_s")
        if self.peers and self.node_id not in dict(self.peers):
            raise ValueError(f"peers must include this replica {self.node_id!r}")
        if not 0 < self.raft_tick_s <= 1 or self.election_ticks < 3 or self.compact_entries < 1:
            raise ValueError("need 0 < raft_tick_s <= 1, election_ticks >= 3, compact_entries >= 1")
        if self.repair_grace_s < 0 or self.repair_interval_s <= 0 or self.repair_concurrency < 1 \
                or self.repair_bytes_per_s_max < 0:
            raise ValueError("need repair_grace_s >= 0, repair_interval_s > 0, repair_concurrency >= 1, "
                             "repair_bytes_per_s_max >= 0")
        if self.k < 1 or self.m < 1:
            raise ValueError("need k >= 1 and m >= 1 (m = 0 leaves no zone able to hold a chunk)")

    @property
    def peer_map(self) -> dict[str, str]:
        return dict(self.peers) if self.peers else {self.node_id: self.listen}

    @property
    def raft_path(self) -> Path:
        return self.data_dir / "raft"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "db"

    @property
    def suspect_after_ns(self) -> int:
        return int(self.suspect_after_s * 1e9)

    @property
    def down_after_ns(self) -> int:
        return int(self.down_after_s * 1e9)
