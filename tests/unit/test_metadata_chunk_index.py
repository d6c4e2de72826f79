"""The per-datanode chunk index follows every version written, repaired or removed, and the
repair planner finds a dead node's chunks through it without a full scan."""

from __future__ import annotations

import itertools
from pathlib import Path

from metadata.repair import RepairConfig, Repairer
from metadata.state_machine import StateMachine
from proto import metadata_pb2 as pb

SECOND = 10**9


def version(key: str, version_id: str, nodes: list[str]) -> pb.ObjectVersion:
    chunks = [pb.ChunkLocation(chunk_index=i, node_id=n) for i, n in enumerate(nodes)]
    return pb.ObjectVersion(bucket="bkt", key=key, version_id=version_id, size_bytes=4 << 20,
                            policy=pb.ErasurePolicy(backend="isa_l_rs_cauchy", k=4, m=2, segment_size=4 << 20),
                            parts=[pb.Part(part_number=1, size_bytes=4 << 20, chunks=chunks)])


class Log:
    def __init__(self, machine: StateMachine) -> None:
        self.machine = machine
        self.index = itertools.count(1)

    def apply(self, now_ns: int, **op: object) -> object:
        command = pb.Command(now_ns=now_ns, **op)  # type: ignore[arg-type]
        return self.machine.apply(next(self.index), command.SerializeToString())


def index_matches_versions(machine: StateMachine, nodes: list[str]) -> None:
    from_versions: dict[str, set[str]] = {n: set() for n in nodes}
    for key in ("k1", "k2", "k3"):
        current = machine.version_of("bkt", key)
        if current is None:
            continue
        for part in current.parts:
            for loc in part.chunks:
                from_versions[loc.node_id].add(f"{current.version_id}.1.{loc.chunk_index}")
    for node in nodes:
        assert {chunk_id for chunk_id, _ in machine.chunks_on(node, 1000)} == from_versions[node], node


def test_index_follows_puts_overwrites_repairs_and_deletes(tmp_path: Path) -> None:
    machine = StateMachine(tmp_path / "db", sync=False)
    log = Log(machine)
    nodes = [f"dn{i}" for i in range(8)]
    log.apply(1, create_bucket=pb.CreateBucketRequest(name="bkt"))
    log.apply(2, put_object=pb.PutObjectRequest(version=version("k1", "v1", nodes[:6])))
    log.apply(3, put_object=pb.PutObjectRequest(version=version("k2", "v2", nodes[2:8])))
    index_matches_versions(machine, nodes)
    log.apply(4, put_object=pb.PutObjectRequest(version=version("k1", "v3", nodes[1:7])))  # overwrite
    index_matches_versions(machine, nodes)
    reply = log.apply(5, repair_chunk=pb.RepairChunkCommand(bucket="bkt", key="k2", version_id="v2", part_number=1,
                                                             chunk_index=0, old_node_id="dn2", new_node_id="dn0"))
    assert reply == pb.RepairChunkReply(applied=True)
    index_matches_versions(machine, nodes)
    assert machine.chunk_ref("dn0", "v2.1.0") == pb.ChunkRef(bucket="bkt", key="k2")
    log.apply(6, delete_object=pb.DeleteObjectRequest(bucket="bkt", key="k1"))
    index_matches_versions(machine, nodes)
    assert machine.chunks_on("dn1", 10) == []
    machine.close()


def test_planner_finds_a_dead_nodes_chunks_through_the_index(tmp_path: Path) -> None:
    machine = StateMachine(tmp_path / "db", sync=False)
    log = Log(machine)
    nodes = [f"dn{i}" for i in range(7)]
    now = 1_000 * SECOND
    log.apply(now, create_bucket=pb.CreateBucketRequest(name="bkt"))
    for node in nodes:  # every node heartbeats at `now`; dn6 never again
        log.apply(now, heartbeat=pb.HeartbeatRequest(node=pb.Node(node_id=node, zone=f"z{int(node[2:]) % 3}",
                                                                  address="127.0.0.1:1")))
    log.apply(now, put_object=pb.PutObjectRequest(version=version("k1", "v1", nodes[:6])))  # not on dn6
    log.apply(now, put_object=pb.PutObjectRequest(version=version("k2", "v2", nodes[1:7])))  # chunk 5 on dn6
    later = now + 120 * SECOND
    for node in nodes[:6]:
        log.apply(later, heartbeat=pb.HeartbeatRequest(node=pb.Node(node_id=node, zone=f"z{int(node[2:]) % 3}",
                                                                    address="127.0.0.1:1")))
    clock = [later]
    repairer = Repairer(machine, lambda data: None, lambda: True,
                        RepairConfig(grace_s=60, full_scan_s=3600), clock_ns=lambda: clock[0])
    first = repairer._scan()  # the first scan is a full one
    assert [(t.version.key, t.chunk_index, t.old_node_id) for t in first.tasks] == [("k2", 5, "dn6")]
    assert first.degraded_stripes == 1
    clock[0] += SECOND
    targeted = repairer._scan()  # within full_scan_s: only the index is consulted
    assert [(t.version.key, t.chunk_index, t.old_node_id) for t in targeted.tasks] == [("k2", 5, "dn6")]
    assert targeted.stripes_by_surviving == first.stripes_by_surviving  # figures of the last full scan
    machine.close()


def test_removing_a_node_drops_its_queued_deletions(tmp_path: Path) -> None:
    machine = StateMachine(tmp_path / "db", sync=False)
    log = Log(machine)
    nodes = [f"dn{i}" for i in range(6)]
    log.apply(1, create_bucket=pb.CreateBucketRequest(name="bkt"))
    for node in nodes:
        log.apply(1, heartbeat=pb.HeartbeatRequest(node=pb.Node(node_id=node, zone="z", address="127.0.0.1:1")))
    log.apply(2, put_object=pb.PutObjectRequest(version=version("k1", "v1", nodes)))
    log.apply(3, delete_object=pb.DeleteObjectRequest(bucket="bkt", key="k1"))  # six deletions queued
    assert machine.counts().gc_queue_length == 6
    log.apply(4, set_node_mode=pb.SetNodeModeRequest(node_id="dn0", mode="removed"))
    assert machine.counts().gc_queue_length == 5
    assert machine.gc_list("dn0", 10, 2**62) == [] and len(machine.gc_list("dn1", 10, 2**62)) == 1
    machine.close()
