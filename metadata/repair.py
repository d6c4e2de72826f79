"""Automatic repair, run by the metadata leader: find chunks at risk, rebuild them, most at-risk first.

Theory of operation: every `interval_s` the leader scans the committed object versions (in
bounded batches, off the event loop) and classifies each chunk: healthy; unavailable (its
node is suspect or down but still within the grace period: a reboot should not trigger a
rebuild); or lost (node down longer than `grace_s`, unknown node, recorded missing at write
time, or reported corrupt). Every part with a lost chunk becomes a task whose priority is its
number of healthy chunks, fewest first. A task picks a new home (an up node holding no chunk
of the part, keeping at most m chunks per zone when it can; the same node when the chunk was
corrupt on a healthy node), asks that datanode to rebuild the chunk from k siblings, and then
proposes a compare-and-set through Raft, so an object overwritten or deleted meanwhile is
never resurrected. Concurrency and bytes per second are bounded. The scan also yields the
operator's view: stripes by surviving chunks, zone-unsafe stripes, queue, throughput, ETA.
Tasks are recomputed from metadata on every scan, so a crash of anyone only delays repair.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import grpc

from metadata import placement
from metadata.state_machine import StateMachine
from proto import datanode_pb2, datanode_pb2_grpc, metadata_pb2
from tessera.rpc import CHANNEL_OPTIONS

log = logging.getLogger("tessera.metadata.repair")

scan_batch_versions_max: Final = 512     # versions read per batch of a scan
tasks_per_scan_max: Final = 10_000       # repair tasks kept from one scan (the most at risk)
repair_call_timeout_s: Final = 600.0     # one chunk rebuild
throughput_window_s: Final = 60.0        # repair MB/s is averaged over this window
orphan_candidates_per_node_max: Final = 10_000  # unreferenced chunks examined per node per sweep


@dataclass(frozen=True, slots=True)
class RepairConfig:
    grace_s: float = 60.0          # a down node's chunks are rebuilt after this long
    interval_s: float = 5.0        # seconds between scans
    concurrency: int = 2           # chunk rebuilds in flight
    bytes_per_s_max: int = 0       # repair bandwidth cap; 0 = unlimited
    suspect_after_ns: int = 3 * 10**9
    down_after_ns: int = 10 * 10**9
    orphan_grace_s: float = 3600.0  # an unreferenced chunk younger than this may be an upload in flight
    full_scan_s: float = 30.0       # between full scans; in between, only versions the chunk index ties
                                    # to dead, removed or draining nodes (and reported chunks) are read


@dataclass(frozen=True, slots=True)
class RepairTask:
    healthy: int                   # chunks of the part still healthy: the priority, fewest first
    version: metadata_pb2.ObjectVersion
    part: metadata_pb2.Part
    chunk_index: int
    old_node_id: str
    same_node: bool                # corrupt or missing on a healthy node: rebuild in place
    size_bytes: int
    move: bool = False             # healthy chunk in an over-full zone (or on a draining node): relocate


@dataclass(slots=True)
class RedundancyReport:
    stripes_by_surviving: dict[int, int] = field(default_factory=dict)
    degraded_stripes: int = 0
    zone_unsafe_stripes: int = 0
    chunk_problems: int = 0
    tasks: list[RepairTask] = field(default_factory=list)
    scanned_ns: int = 0


def chunk_id_of(version: metadata_pb2.ObjectVersion, part: metadata_pb2.Part, chunk_index: int) -> str:
    return f"{part.data_id or version.version_id}.{part.part_number}.{chunk_index}"


def classify(versions: list[metadata_pb2.ObjectVersion], nodes: dict[str, metadata_pb2.Node],
             problems: set[tuple[str, str]], now_ns: int, grace_ns: int, report: RedundancyReport) -> None:
    """Add the redundancy of `versions` to `report` and queue a task per lost chunk."""
    for version in versions:
        width = version.policy.k + version.policy.m
        segment = max(version.policy.segment_size, 1)
        for part in version.parts:
            if not part.chunks:
                continue
            stripes = -(-part.size_bytes // segment)
            lost: list[tuple[int, str, bool]] = []
            draining: list[metadata_pb2.ChunkLocation] = []
            healthy = 0
            zones: collections.Counter[str] = collections.Counter()
            for location in part.chunks:
                node = nodes.get(location.node_id)
                corrupt = (location.node_id, chunk_id_of(version, part, location.chunk_index)) in problems
                if node is not None:
                    zones[node.zone] += 1
                if node is not None and node.state in ("up", "draining") and not location.missing and not corrupt:
                    healthy += 1
                    if node.state == "draining":
                        draining.append(location)
                    continue
                gone = node is None or node.state == "removed" or location.missing or corrupt or (
                    node.state == "down" and now_ns - node.last_heartbeat_ns >= grace_ns)
                if gone:
                    in_place = node is not None and node.state == "up"
                    lost.append((location.chunk_index, location.node_id, in_place))
            report.stripes_by_surviving[healthy] = report.stripes_by_surviving.get(healthy, 0) + stripes
            if healthy < width:
                report.degraded_stripes += stripes
            if zones and max(zones.values()) > version.policy.m:
                report.zone_unsafe_stripes += stripes
            chunk_bytes = part.size_bytes // max(version.policy.k, 1)
            for chunk_index, node_id, in_place in lost:
                report.tasks.append(RepairTask(healthy, version, part, chunk_index, node_id, in_place, chunk_bytes))
            for location in draining:  # the operator is emptying this node: move its chunks away
                report.tasks.append(RepairTask(healthy, version, part, location.chunk_index, location.node_id,
                                               False, chunk_bytes, move=True))
            per_node = collections.Counter(loc.node_id for loc in part.chunks)
            if not lost and not draining and zones and (max(zones.values()) > version.policy.m
                                                        or max(per_node.values()) > 1):
                # Fully redundant but a zone holds more than m chunks (placed or repaired while a
                # zone was down), or a node holds two: move one chunk away, lowest priority.
                crowded = max(zones, key=lambda zone: zones[zone])
                location = max(part.chunks, key=lambda loc: (per_node[loc.node_id],
                                                             nodes[loc.node_id].zone == crowded))
                report.tasks.append(RepairTask(width, version, part, location.chunk_index, location.node_id,
                                               False, chunk_bytes, move=True))


def choose_home(task: RepairTask, nodes: dict[str, metadata_pb2.Node],
                claimed: collections.Counter[str] | None = None) -> str | None:
    """The node to rebuild on: same node for in-place repair, else an up node off this part,
    in a zone below m chunks of the part when possible, with the most free space. `claimed`
    counts homes already given to other chunks of the part in this round."""
    if task.same_node:
        return task.old_node_id
    others = [loc.node_id for loc in task.part.chunks if loc.chunk_index != task.chunk_index]
    others += list((claimed or collections.Counter()).elements())
    holders = set(others)
    zone_counts = collections.Counter(nodes[n].zone for n in others if n in nodes)
    if task.move:
        holders.add(task.old_node_id)
    candidates = [n for n in nodes.values() if n.state == "up" and n.node_id not in holders
                  and n.node_id != task.old_node_id]
    if not candidates:
        return None

    def zone_full(node: metadata_pb2.Node) -> bool:
        return zone_counts[node.zone] >= task.version.policy.m

    if task.move:  # a move is only worth it into a zone with room
        candidates = [node for node in candidates if not zone_full(node)]
        if not candidates:
            return None

    def preference(node: metadata_pb2.Node) -> tuple[int, int, str]:
        free = (node.capacity_bytes - node.used_bytes) if node.capacity_bytes else 0
        return (1 if zone_full(node) else 0, -free, node.node_id)

    return min(candidates, key=preference).node_id


class Repairer:
    def __init__(self, machine: StateMachine, propose: Callable[[bytes], Any], is_leader: Callable[[], bool],
                 config: RepairConfig, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._machine = machine
        self._propose = propose
        self._is_leader = is_leader
        self.config = config
        self._clock_ns = clock_ns
        self.report = RedundancyReport()
        self.repaired_chunks = 0
        self.repaired_bytes = 0
        self._recent: collections.deque[tuple[float, int]] = collections.deque()
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._task: asyncio.Task[None] | None = None
        self._queue_length = 0
        self.homeless = 0
        self._last_sweep = time.monotonic()
        self.orphans_deleted = 0
        self._last_full_scan_ns: int | None = None  # the first scan is always a full one
        self._full_report = RedundancyReport()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="repair")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for channel in self._channels.values():
            await channel.close(None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.interval_s)
            if not self._is_leader():
                continue
            try:
                await self.scan_and_repair()
            except Exception:  # a failed round is retried at the next scan
                log.exception("repair round failed")

    async def scan_and_repair(self) -> None:
        # Sweep for orphans every half grace period: often enough, and a chunk is examined at most
        # a few times before it is old enough to go.
        if time.monotonic() - self._last_sweep >= max(self.config.interval_s, self.config.orphan_grace_s / 2):
            self._last_sweep = time.monotonic()
            await self.sweep_orphans()
        report = await asyncio.to_thread(self._scan)
        self.report = report
        tasks = sorted(report.tasks, key=lambda t: (t.healthy, t.version.key))[:tasks_per_scan_max]
        self._queue_length = len(tasks)
        self.homeless = 0
        if tasks:
            log.info("repair scan tasks=%d degraded_stripes=%d most_at_risk_healthy=%d", len(tasks),
                     report.degraded_stripes, tasks[0].healthy)
        nodes = self._nodes()
        limiter = asyncio.Semaphore(self.config.concurrency)
        groups: dict[tuple[str, str, str, int], list[RepairTask]] = {}
        for task in tasks:  # chunks of one part are rebuilt one after another, never onto one node
            key = (task.version.bucket, task.version.key, task.version.version_id, task.part.part_number)
            groups.setdefault(key, []).append(task)

        async def part_tasks(group: list[RepairTask]) -> None:
            claimed: collections.Counter[str] = collections.Counter()
            for task in group:
                async with limiter:
                    if self._is_leader():
                        home = await self._repair(task, nodes, claimed)
                        if home is not None:
                            claimed[home] += 1
                    self._queue_length -= 1

        await asyncio.gather(*(part_tasks(group) for group in groups.values()))
        if self.homeless:
            log.warning("repair: %d chunks have no eligible home (every up node holds a chunk of their stripe)",
                        self.homeless)

    def _nodes(self) -> dict[str, metadata_pb2.Node]:
        states = placement.with_states(self._machine.list_nodes(), self._clock_ns(), self.config.suspect_after_ns,
                                       self.config.down_after_ns)
        return {node.node_id: node for node in states}

    def _scan(self) -> RedundancyReport:
        """A full scan every `full_scan_s` (all versions: redundancy figures, zone spread, chunks
        missing since their write); in between, a targeted scan through the chunk index."""
        now_ns = self._clock_ns()
        report = RedundancyReport(scanned_ns=now_ns)
        nodes = self._nodes()
        problems = {(p.node_id, p.chunk_id) for p in self._machine.chunk_problems(tasks_per_scan_max)}
        report.chunk_problems = len(problems)
        grace_ns = int(self.config.grace_s * 1e9)
        last_full = self._last_full_scan_ns
        if last_full is None or now_ns - last_full >= self.config.full_scan_s * 1e9:
            self._last_full_scan_ns = now_ns
            cursor = b""
            while True:
                versions, cursor = self._machine.scan_versions(cursor, scan_batch_versions_max)
                classify(versions, nodes, problems, now_ns, grace_ns, report)
                if not cursor:
                    self._full_report = report
                    return report
        classify(self._versions_at_risk(nodes, problems, now_ns, grace_ns), nodes, problems, now_ns, grace_ns,
                 report)
        full = self._full_report  # the figures stay those of the last full scan
        full.tasks = report.tasks
        full.chunk_problems = report.chunk_problems
        return full

    def _versions_at_risk(self, nodes: dict[str, metadata_pb2.Node], problems: set[tuple[str, str]],
                          now_ns: int, grace_ns: int) -> list[metadata_pb2.ObjectVersion]:
        """Versions with a chunk on a node that is gone (beyond grace), removed or draining, or
        with a reported chunk: found through the per-datanode chunk index, not a scan."""
        at_risk = [n.node_id for n in nodes.values() if n.state in ("removed", "draining")
                   or (n.state == "down" and now_ns - n.last_heartbeat_ns >= grace_ns)]
        refs: dict[tuple[str, str], None] = {}
        for node_id in at_risk:
            for _chunk_id, ref in self._machine.chunks_on(node_id, tasks_per_scan_max):
                refs[(ref.bucket, ref.key)] = None
        for node_id, chunk_id in problems:
            problem_ref = self._machine.chunk_ref(node_id, chunk_id)
            if problem_ref is not None:
                refs[(problem_ref.bucket, problem_ref.key)] = None
        versions = [self._machine.version_of(bucket, key) for bucket, key in refs]
        return [v for v in versions if v is not None]

    async def _repair(self, task: RepairTask, nodes: dict[str, metadata_pb2.Node],
                      claimed: collections.Counter[str]) -> str | None:
        """Rebuild one chunk; returns its new home once the swap is committed."""
        home = choose_home(task, nodes, claimed)
        if home is None:  # every up node already holds a chunk of this stripe: wait for a node to return
            self.homeless += 1
            log.debug("no home for chunk %s", chunk_id_of(task.version, task.part, task.chunk_index))
            return None
        await self._throttle(task.size_bytes)
        sources = [datanode_pb2.RepairSource(chunk_index=loc.chunk_index, address=nodes[loc.node_id].address,
                                             chunk_id=chunk_id_of(task.version, task.part, loc.chunk_index))
                   for loc in task.part.chunks
                   if loc.chunk_index != task.chunk_index and loc.node_id in nodes
                   and nodes[loc.node_id].state in ("up", "draining") and not loc.missing]
        chunk_id = chunk_id_of(task.version, task.part, task.chunk_index)
        policy = task.version.policy
        request = datanode_pb2.RepairChunkRequest(
            chunk_id=chunk_id, chunk_index=task.chunk_index, backend=policy.backend, k=policy.k, m=policy.m,
            piece_count=-(-task.part.size_bytes // max(policy.segment_size, 1)),
            piece_size_max=task.part.piece_size_max, sources=sources)
        try:
            reply = await self._stub(nodes[home].address).RepairChunk(request, timeout=repair_call_timeout_s)
        except grpc.aio.AioRpcError as error:
            log.warning("rebuild failed chunk=%s home=%s error=%s", chunk_id, home, error.details())
            return None
        command = metadata_pb2.Command(now_ns=self._clock_ns(), request_id=uuid.uuid4().hex,
                                       repair_chunk=metadata_pb2.RepairChunkCommand(
                                           bucket=task.version.bucket, key=task.version.key,
                                           version_id=task.version.version_id, part_number=task.part.part_number,
                                           chunk_index=task.chunk_index, old_node_id=task.old_node_id,
                                           new_node_id=home, new_chunk_id=chunk_id))
        result = await self._propose(command.SerializeToString(deterministic=True))
        if getattr(result, "applied", False):
            self.repaired_chunks += 1
            self.repaired_bytes += reply.size_bytes
            self._recent.append((time.monotonic(), reply.size_bytes))
            log.info("repaired chunk=%s from=%s to=%s healthy_before=%d move=%s", chunk_id, task.old_node_id, home,
                     task.healthy, task.move)
            return home
        return None

    async def sweep_orphans(self) -> None:
        """Delete chunks no metadata record points at (failed uploads, crashed writers, rebuilt
        copies whose swap lost its race), once they are older than the orphan grace period."""
        referenced = await asyncio.to_thread(self._machine.referenced_chunks)
        now_ns = self._clock_ns()
        for node in self._nodes().values():
            if node.state != "up" or not self._is_leader():
                continue
            try:
                await self._sweep_node(node, referenced.get(node.node_id, set()), now_ns)
            except grpc.aio.AioRpcError as error:
                log.warning("orphan sweep failed node=%s error=%s", node.node_id, error.details())

    async def _sweep_node(self, node: metadata_pb2.Node, referenced: set[str], now_ns: int) -> None:
        stub = self._stub(node.address)
        candidates: list[str] = []
        async for reply in stub.ListChunks(datanode_pb2.ListChunksRequest(), timeout=repair_call_timeout_s):
            candidates.extend(c for c in reply.chunk_ids if c not in referenced)
            if len(candidates) >= orphan_candidates_per_node_max:
                break
        grace_ns = int(self.config.orphan_grace_s * 1e9)
        old: list[str] = []
        for chunk_id in candidates:
            stat = await stub.StatChunk(datanode_pb2.ChunkIdRequest(chunk_id=chunk_id), timeout=10)
            if stat.exists and now_ns - stat.mtime_ns >= grace_ns:
                old.append(chunk_id)
        if not old:
            return
        # Re-check against the latest state: a commit may have landed since the sweep began.
        fresh = await asyncio.to_thread(self._machine.referenced_chunks)
        for chunk_id in old:
            if chunk_id in fresh.get(node.node_id, set()):
                continue
            await stub.DeleteChunk(datanode_pb2.ChunkIdRequest(chunk_id=chunk_id), timeout=10)
            self.orphans_deleted += 1
            log.info("orphan deleted node=%s chunk=%s", node.node_id, chunk_id)

    async def _throttle(self, size_bytes: int) -> None:
        if self.config.bytes_per_s_max > 0:
            await asyncio.sleep(size_bytes / self.config.bytes_per_s_max)

    def _stub(self, address: str) -> Any:
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        return datanode_pb2_grpc.ChunkServiceStub(channel)

    def status_fields(self) -> dict[str, Any]:
        now = time.monotonic()
        while self._recent and now - self._recent[0][0] > throughput_window_s:
            self._recent.popleft()
        window_bytes = sum(size for _, size in self._recent)
        rate = window_bytes / throughput_window_s if self._recent else 0.0
        remaining = sum(t.size_bytes for t in self.report.tasks)
        return {
            "repair_queue_length": max(self._queue_length, 0), "repaired_chunks": self.repaired_chunks,
            "repaired_bytes": self.repaired_bytes, "repair_mb_s": rate / 1e6,
            "repair_eta_s": remaining / rate if rate and self._queue_length else 0.0,
            "stripes_by_surviving": self.report.stripes_by_surviving,
            "degraded_stripes": self.report.degraded_stripes,
            "zone_unsafe_stripes": self.report.zone_unsafe_stripes,
            "chunk_problems": self.report.chunk_problems, "last_scan_ns": self.report.scanned_ns,
            "orphans_deleted": self.orphans_deleted,
        }
