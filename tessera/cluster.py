"""A local cluster of real processes: metadata, datanodes in zones, frontends.

Theory of operation: `LocalCluster` derives every address from one base port
(frontend = base, metadata replicas = base+1..., datanodes after them), starts each role
as `python -m <role>` with its own data directory and log file under one data
directory, waits until each is ready (a real RPC or HTTP answer, no sleeps),
and records what it started in `<data>/cluster.json` for `tessera status`.
Restarting with the same data directory keeps all data. Used by `tessera up`
and by the integration tests, which also kill, stop and restart nodes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final

import grpc

from proto import datanode_pb2, datanode_pb2_grpc, metadata_pb2, metadata_pb2_grpc
from tessera.credentials import Credentials

ready_timeout_s: Final = 30.0        # a role that is not ready by then failed to start
ready_poll_interval_s: Final = 0.05
stop_timeout_s: Final = 10.0         # SIGTERM grace before SIGKILL
DEFAULT_ZONES: Final = ("a", "b", "c")
CLUSTER_FILE: Final = "cluster.json"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    role: str        # metadata, datanode or frontend
    node_id: str
    address: str     # host:port
    zone: str = ""


@dataclass(slots=True)
class ClusterOptions:
    data_dir: Path
    base_port: int = 9000
    host: str = "127.0.0.1"
    zones: tuple[str, ...] = DEFAULT_ZONES
    datanodes_per_zone: int = 2
    metadata_replicas: int = 3
    raft_tick_ms: int = 100
    election_ticks: int = 10
    compact_entries: int = 10_000
    repair_grace_s: float = 60.0
    repair_interval_s: float = 5.0
    orphan_grace_s: float = 3600.0
    repair_full_scan_s: float = 30.0
    scrub_bytes_per_s: int = 20_000_000
    scrub_pause_s: float = 60.0
    region: str = "us-east-1"
    k: int = 4
    m: int = 2
    segment_size: int = 4 * 1024 * 1024
    suspect_after_s: float = 3.0
    down_after_s: float = 10.0
    heartbeat_interval_s: float = 1.0
    gc_grace_s: float = 30.0
    datanode_capacity_bytes: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)


class ClusterError(Exception):
    pass


class LocalCluster:
    def __init__(self, options: ClusterOptions, credentials: Credentials) -> None:
        self.options = options
        self.credentials = credentials
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.specs = self._layout()
        self._initial_metadata = {s.node_id for s in self.metadata_nodes()}

    @property
    def endpoint(self) -> str:
        return f"http://{self.frontend.address}"

    @property
    def frontend(self) -> NodeSpec:
        return next(spec for spec in self.specs.values() if spec.role == "frontend")

    @property
    def metadata_address(self) -> str:
        """Every replica's address, comma-separated, as the roles' --metadata flags take them."""
        return ",".join(spec.address for spec in self.metadata_nodes())

    def metadata_nodes(self) -> list[NodeSpec]:
        return [s for s in self.specs.values() if s.role == "metadata"]

    def datanodes(self, zone: str | None = None) -> list[NodeSpec]:
        return [s for s in self.specs.values() if s.role == "datanode" and zone in (None, s.zone)]

    def _layout(self) -> dict[str, NodeSpec]:
        o = self.options
        specs = [NodeSpec("metadata", f"meta-{n}", f"{o.host}:{o.base_port + n}")
                 for n in range(1, o.metadata_replicas + 1)]
        port = o.base_port + o.metadata_replicas + 1
        for zone in o.zones:
            for number in range(1, o.datanodes_per_zone + 1):
                specs.append(NodeSpec("datanode", f"dn-{zone}{number}", f"{o.host}:{port}", zone))
                port += 1
        specs.append(NodeSpec("frontend", "fe-1", f"{o.host}:{o.base_port}"))
        return {spec.node_id: spec for spec in specs}

    def command(self, spec: NodeSpec) -> list[str]:
        o = self.options
        data = str(o.data_dir / spec.node_id)
        if spec.role == "metadata":
            peers = ",".join(f"{s.node_id}={s.address}" for s in self.metadata_nodes())
            join = ["--join"] if spec.node_id not in self._initial_metadata else []
            return ["-m", "metadata", *join, "--node-id", spec.node_id, "--listen", spec.address, "--data", data,
                    "--suspect-after-s", str(o.suspect_after_s), "--down-after-s", str(o.down_after_s),
                    "--k", str(o.k), "--m", str(o.m), "--peers", peers, "--raft-tick-ms", str(o.raft_tick_ms),
                    "--election-ticks", str(o.election_ticks), "--compact-entries", str(o.compact_entries),
                    "--repair-grace-s", str(o.repair_grace_s), "--repair-interval-s", str(o.repair_interval_s),
                    "--orphan-grace-s", str(o.orphan_grace_s), "--repair-full-scan-s", str(o.repair_full_scan_s)]
        if spec.role == "datanode":
            return ["-m", "datanode", "--node-id", spec.node_id, "--zone", spec.zone, "--listen", spec.address,
                    "--data", data, "--metadata", self.metadata_address,
                    "--capacity-bytes", str(o.datanode_capacity_bytes),
                    "--heartbeat-interval-s", str(o.heartbeat_interval_s), "--gc-grace-s", str(o.gc_grace_s),
                    "--scrub-bytes-per-s", str(o.scrub_bytes_per_s), "--scrub-pause-s", str(o.scrub_pause_s)]
        return ["-m", "frontend", "--listen", spec.address, "--metadata", self.metadata_address,
                "--region", o.region, "--k", str(o.k), "--m", str(o.m), "--segment-size", str(o.segment_size)]

    def start(self) -> None:
        self.options.data_dir.mkdir(parents=True, exist_ok=True)
        (self.options.data_dir / "logs").mkdir(exist_ok=True)
        try:
            for role in ("metadata", "datanode", "frontend"):
                for spec in self.specs.values():
                    if spec.role == role:
                        self.start_node(spec.node_id, wait=False)
                for spec in self.specs.values():
                    if spec.role == role:
                        self.wait_ready(spec.node_id)
                if role == "metadata":
                    self.wait_for_leader()
            self.wait_datanodes_up()
        except BaseException:
            self.stop()
            raise
        self.write_cluster_file()

    def start_node(self, node_id: str, wait: bool = True) -> None:
        spec = self.specs[node_id]
        env = {**os.environ, **self.options.extra_env, "TESSERA_ACCESS_KEY": self.credentials.access_key,
               "TESSERA_SECRET_KEY": self.credentials.secret_key, "PYTHONUNBUFFERED": "1"}
        log = open(self.options.data_dir / "logs" / f"{node_id}.log", "ab")  # noqa: SIM115 - owned by the child
        try:
            self.processes[node_id] = subprocess.Popen([sys.executable, *self.command(spec)], env=env,
                                                       stdout=log, stderr=subprocess.STDOUT,
                                                       start_new_session=True)
        finally:
            log.close()
        if wait:
            self.wait_ready(node_id)
            self.write_cluster_file()

    def wait_ready(self, node_id: str) -> None:
        spec = self.specs[node_id]
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            process = self.processes.get(node_id)
            if process is not None and process.poll() is not None:
                raise ClusterError(f"{node_id} exited with {process.returncode}; see "
                                   f"{self.options.data_dir / 'logs' / (node_id + '.log')}")
            if probe(spec):
                return
            time.sleep(ready_poll_interval_s)
        raise ClusterError(f"{node_id} not ready after {ready_timeout_s} s")

    def add_metadata_replica(self, node_id: str, port: int) -> None:
        """Start a new replica with --join and add it to the Raft configuration."""
        from tessera.membership import change  # membership imports this module

        spec = NodeSpec("metadata", node_id, f"{self.options.host}:{port}")
        existing = self.metadata_address.split(",")
        self.specs[node_id] = spec
        self.start_node(node_id, wait=True)
        change(existing, "add", node_id, spec.address)
        self.write_cluster_file()

    def wait_for_leader(self, timeout_s: float = ready_timeout_s, excluding: str = "") -> str:
        """Until a metadata replica (other than `excluding`) reports itself leader; its node id."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for spec in self.metadata_nodes():
                if spec.node_id == excluding or not self.is_running(spec.node_id):
                    continue
                status = metadata_status(spec.address)
                if status is not None and status.raft_role == "leader":
                    return spec.node_id
            time.sleep(ready_poll_interval_s)
        raise ClusterError(f"no metadata leader after {timeout_s} s")

    def wait_datanodes_up(self, timeout_s: float = ready_timeout_s) -> None:
        """Until metadata reports every running datanode as up (its heartbeat arrived)."""
        wanted = {s.node_id for s in self.datanodes() if self.is_running(s.node_id)}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            states = node_states(self.metadata_address)
            # A drained or removed node is alive and heartbeating: that is all a start waits for.
            if all(states.get(node_id) in ("up", "draining", "removed") for node_id in wanted):
                return
            time.sleep(ready_poll_interval_s)
        raise ClusterError(f"datanodes not up after {timeout_s} s")

    def is_running(self, node_id: str) -> bool:
        process = self.processes.get(node_id)
        return process is not None and process.poll() is None

    def kill(self, node_id: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[node_id]
        process.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            process.wait(stop_timeout_s)

    def stop(self) -> None:
        """SIGTERM every child (frontends first), then SIGKILL what is left after the grace period."""
        order = sorted(self.processes, key=lambda n: ("frontend", "datanode", "metadata").index(
            self.specs[n].role))
        for node_id in order:
            process = self.processes[node_id]
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        deadline = time.monotonic() + stop_timeout_s
        for node_id in order:
            process = self.processes[node_id]
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def write_cluster_file(self) -> None:
        document = {
            "version": 1,
            "endpoint": self.endpoint,
            "region": self.options.region,
            "metadata": self.metadata_address,
            "nodes": [{**asdict(spec), "pid": self.processes[spec.node_id].pid
                       if self.is_running(spec.node_id) else None} for spec in self.specs.values()],
        }
        path = self.options.data_dir / CLUSTER_FILE
        path.write_text(json.dumps(document, indent=2))


def probe(spec: NodeSpec) -> bool:
    """True when the node answers its own protocol."""
    if spec.role == "frontend":
        try:
            with urllib.request.urlopen(f"http://{spec.address}/-/health", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False
    with grpc.insecure_channel(spec.address) as channel:
        try:
            if spec.role == "metadata":
                metadata_pb2_grpc.MetadataServiceStub(channel).Status(metadata_pb2.StatusRequest(), timeout=1)
            else:
                datanode_pb2_grpc.ChunkServiceStub(channel).NodeInfo(datanode_pb2.NodeInfoRequest(), timeout=1)
        except grpc.RpcError:
            return False
    return True


def metadata_status(address: str) -> metadata_pb2.StatusReply | None:
    with grpc.insecure_channel(address) as channel:
        try:
            reply: metadata_pb2.StatusReply = metadata_pb2_grpc.MetadataServiceStub(channel).Status(
                metadata_pb2.StatusRequest(), timeout=2)
        except grpc.RpcError:
            return None
    return reply


def node_states(metadata_addresses: str) -> dict[str, str]:
    """Datanode states as the metadata leader sees them ({} when no replica answers)."""
    for address in metadata_addresses.split(","):
        with grpc.insecure_channel(address) as channel:
            try:
                reply = metadata_pb2_grpc.MetadataServiceStub(channel).ListNodes(metadata_pb2.ListNodesRequest(),
                                                                                 timeout=2)
            except grpc.RpcError:
                continue  # a follower answers NotLeader; a dead replica does not answer
        return {node.node_id: node.state for node in reply.nodes}
    return {}
