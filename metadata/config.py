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
    """

    node_id: str
    data_dir: Path
    listen: str = "127.0.0.1:0"
    suspect_after_s: float = 3.0
    down_after_s: float = 10.0
    k: int = 4
    m: int = 2

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        if not self.node_id or "\x00" in self.node_id:
            raise ValueError("node_id must be a non-empty string without NUL")
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"listen must be host:port, got {self.listen!r}")
        if not 0 < self.suspect_after_s < self.down_after_s:
            raise ValueError("need 0 < suspect_after_s < down_after_s")
        if self.k < 1 or self.m < 1:
            raise ValueError("need k >= 1 and m >= 1 (m = 0 leaves no zone able to hold a chunk)")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "db"

    @property
    def suspect_after_ns(self) -> int:
        return int(self.suspect_after_s * 1e9)

    @property
    def down_after_ns(self) -> int:
        return int(self.down_after_s * 1e9)
