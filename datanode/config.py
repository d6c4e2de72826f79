"""DatanodeConfig: every knob of one datanode process, validated once at startup."""

import re
from dataclasses import dataclass
from pathlib import Path

from datanode.errors import InvalidConfig

_node_id_pattern = re.compile(r"[A-Za-z0-9_-]{1,64}")


def split_host_port(address: str) -> tuple[str, int]:
    """Split "host:port" (IPv6 as "[::1]:port"); raises InvalidConfig.

    >>> split_host_port("127.0.0.1:7001")
    ('127.0.0.1', 7001)
    >>> split_host_port("[::1]:7001")
    ('::1', 7001)
    """
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise InvalidConfig(f"address {address!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class DatanodeConfig:
    # Unique name of this datanode in the cluster, e.g. "dn-a1"; [A-Za-z0-9_-]{1,64}. Required.
    node_id: str
    # Failure-domain label; placement spreads a stripe's chunks over zones. Required.
    zone: str
    # host:port the ChunkService binds; port 0 picks a free port (logged at startup). Required.
    listen: str
    # Directory holding chunks/ and tmp/; created if missing. Required.
    data_dir: Path
    # host:port of each metadata replica; heartbeats and GC rotate through them on failure. Required.
    metadata_addresses: tuple[str, ...]
    # host:port metadata hands to clients; default "" = the listen host and the bound port.
    advertise_address: str = ""
    # bytes this node may fill with chunk files; default 0 = unlimited (bounded by free disk space).
    capacity_bytes: int = 0
    # seconds between heartbeats to metadata; default 1.0.
    heartbeat_interval_s: float = 1.0
    # seconds between garbage-collection rounds; default 5.0.
    gc_interval_s: float = 5.0
    # seconds a GC queue entry must age before its chunk is deleted here; default 30.0.
    gc_grace_s: float = 30.0
    # seconds allowed for one metadata RPC (heartbeat, GcList, GcDone); default 2.0.
    metadata_timeout_s: float = 2.0
    # scrub read rate in bytes/s (0 = no scrubbing); default 20 MB/s, a background trickle.
    scrub_bytes_per_s: int = 20_000_000
    # pause between two complete scrub passes, seconds; default 60.
    scrub_pause_s: float = 60.0
    # seconds in-flight RPCs get to finish on SIGTERM/SIGINT; default 2.0.
    shutdown_grace_s: float = 2.0
    # logging level name for stderr; default "INFO".
    log_level: str = "INFO"

    def validate(self) -> "DatanodeConfig":
        """Raise InvalidConfig naming the first bad field; returns self for chaining."""
        if not _node_id_pattern.fullmatch(self.node_id):
            raise InvalidConfig(f"node_id {self.node_id!r} must match [A-Za-z0-9_-]{{1,64}}")
        if not _node_id_pattern.fullmatch(self.zone):
            raise InvalidConfig(f"zone {self.zone!r} must match [A-Za-z0-9_-]{{1,64}}")
        split_host_port(self.listen)
        if self.advertise_address:
            split_host_port(self.advertise_address)
        if not self.metadata_addresses:
            raise InvalidConfig("metadata_addresses is empty")
        for address in self.metadata_addresses:
            split_host_port(address)
        if self.capacity_bytes < 0:
            raise InvalidConfig(f"capacity_bytes {self.capacity_bytes} < 0")
        positive = {"heartbeat_interval_s": self.heartbeat_interval_s, "gc_interval_s": self.gc_interval_s,
                    "metadata_timeout_s": self.metadata_timeout_s}
        for name, value in positive.items():
            if not value > 0:
                raise InvalidConfig(f"{name} {value} must be > 0")
        if not self.gc_grace_s >= 0 or not self.shutdown_grace_s >= 0:
            raise InvalidConfig("gc_grace_s and shutdown_grace_s must be >= 0")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise InvalidConfig(f"log_level {self.log_level!r} unknown")
        return self
