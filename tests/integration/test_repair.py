"""Self-healing: lost and corrupt chunks are rebuilt automatically, most at-risk first."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tessera.cluster import LocalCluster, metadata_status
from tests.integration.cluster_fixtures import running_cluster, s3_client

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def healing_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    # Short timeouts so a dead node is declared down and repaired within seconds. Three datanodes
    # per zone: a rebuilt chunk needs a node that holds no other chunk of its stripe.
    with running_cluster(Path(tmp_path_factory.mktemp("heal")), datanodes_per_zone=3, raft_tick_ms=50,
                         suspect_after_s=1.0, down_after_s=2.0, heartbeat_interval_s=0.3, repair_grace_s=3.0,
                         repair_interval_s=0.5, scrub_bytes_per_s=200_000_000, scrub_pause_s=0.5,
                         orphan_grace_s=4.0, gc_grace_s=1.0, repair_full_scan_s=1.0) as cluster:
        yield cluster


def leader_status(cluster: LocalCluster) -> Any:
    leader = cluster.wait_for_leader()
    status = metadata_status(cluster.specs[leader].address)
    assert status is not None
    return status


def status_json(cluster: LocalCluster) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", "from tessera.cli import main; main()", "status", "--data",
                             str(cluster.options.data_dir), "--json"], capture_output=True, text=True, check=True,
                            timeout=60)
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def wait_until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def scrub_found(cluster: LocalCluster) -> int:
    return sum(n["corrupt_pieces_found"] or 0 for n in status_json(cluster)["nodes"] if n["role"] == "datanode")


def fully_redundant(cluster: LocalCluster, scanned_after_ns: int) -> bool:
    status = leader_status(cluster)
    return status.last_scan_ns > scanned_after_ns and status.degraded_stripes == 0 and \
        status.repair_queue_length == 0 and status.chunk_problems == 0


def test_lost_node_is_rebuilt_then_two_more_can_fail(healing_cluster: LocalCluster) -> None:
    cluster = healing_cluster
    s3 = s3_client(cluster)
    s3.create_bucket(Bucket="heal")
    bodies = {f"o{n}": os.urandom(random.Random(n).randrange(100_000, 9 * MIB)) for n in range(12)}
    for key, body in bodies.items():
        s3.put_object(Bucket="heal", Key=key, Body=body)
    victim = "dn-b1"
    cluster.kill(victim)
    killed_ns = time.time_ns()
    for key, body in bodies.items():  # reads succeed throughout the outage
        assert s3.get_object(Bucket="heal", Key=key)["Body"].read() == body
    wait_until(lambda: leader_status(cluster).degraded_stripes > 0, 20, "the outage to be seen")
    report = status_json(cluster)
    assert report["degraded_stripes"] > 0
    wait_until(lambda: next(n for n in status_json(cluster)["nodes"] if n["id"] == victim)["state"] == "down",
               20, f"{victim} to be reported down")
    wait_until(lambda: fully_redundant(cluster, killed_ns), 90, "repair to restore k+m chunks everywhere")
    assert leader_status(cluster).repaired_chunks > 0
    report = status_json(cluster)
    assert report["degraded_stripes"] == 0 and report["stripes_by_surviving"].keys() == {"6"}
    for other in ("dn-a1", "dn-c2"):  # two more failures, anywhere: m = 2 still covers them
        cluster.kill(other)
    try:
        for key, body in bodies.items():
            assert s3.get_object(Bucket="heal", Key=key)["Body"].read() == body, key
    finally:
        for node in (victim, "dn-a1", "dn-c2"):
            cluster.start_node(node)
        cluster.wait_datanodes_up()


def test_flipped_bytes_are_found_by_scrub_and_repaired(healing_cluster: LocalCluster) -> None:
    cluster = healing_cluster
    s3 = s3_client(cluster)
    s3.create_bucket(Bucket="rot")
    before = {p for node in cluster.datanodes()
              for p in (cluster.options.data_dir / node.node_id / "chunks").rglob("*") if p.is_file()}
    bodies = {f"r{n}": os.urandom(5 * MIB + n) for n in range(4)}
    for key, body in bodies.items():
        s3.put_object(Bucket="rot", Key=key, Body=body)
    files = sorted({p for node in cluster.datanodes()
                    for p in (cluster.options.data_dir / node.node_id / "chunks").rglob("*") if p.is_file()} - before)
    rng = random.Random(5)
    flipped = rng.sample(files, 4)
    found_before = scrub_found(cluster)
    started_ns = time.time_ns()
    for path in flipped:
        with open(path, "r+b") as handle:
            offset = rng.randrange(64, path.stat().st_size - 64)
            handle.seek(offset)
            byte = handle.read(1)
            handle.seek(offset)
            handle.write(bytes([byte[0] ^ 0x5A]))
    wait_until(lambda: scrub_found(cluster) - found_before >= len(flipped), 60, "the scrubber to find every flip")
    wait_until(lambda: fully_redundant(cluster, started_ns), 90, "repair to fix every flip")
    from datanode.store import ChunkStore
    for path in flipped:  # the rebuilt chunks verify end to end
        store = ChunkStore(path.parent.parent.parent)
        assert sum(len(data) for _, data, _ in store.read_pieces(path.name)) > 0
    for key, body in bodies.items():
        assert s3.get_object(Bucket="rot", Key=key)["Body"].read() == body


def test_zone_outage_under_load_then_spread_restored(healing_cluster: LocalCluster) -> None:
    import threading

    cluster = healing_cluster
    s3 = s3_client(cluster)
    s3.create_bucket(Bucket="zone-load")
    committed: dict[str, bytes] = {}
    for n in range(8):
        committed[f"pre{n}"] = os.urandom(300_000 + n)
        s3.put_object(Bucket="zone-load", Key=f"pre{n}", Body=committed[f"pre{n}"])
    failed_reads: list[str] = []
    stop = threading.Event()

    def workload() -> None:
        client = s3_client(cluster)
        number = 0
        while not stop.is_set():
            number += 1
            key = f"during{number}"
            body = os.urandom(200_000 + number)
            try:
                client.put_object(Bucket="zone-load", Key=key, Body=body)
                committed[key] = body
            except Exception:  # a write may fail at the moment the zone dies
                pass
            for read_key, expected in list(committed.items())[-5:]:
                if client.get_object(Bucket="zone-load", Key=read_key)["Body"].read() != expected:
                    failed_reads.append(read_key)

    zone_b = [spec.node_id for spec in cluster.datanodes("b")]
    thread = threading.Thread(target=workload)
    thread.start()
    try:
        time.sleep(1.0)  # some load before the outage
        for node_id in zone_b:
            cluster.kill(node_id)
        before = len(committed)
        wait_until(lambda: len(committed) >= before + 10, 60, "writes to continue with zone b down")
        # New stripes went to the two live zones, more than m per zone: flagged, to be moved back.
        wait_until(lambda: leader_status(cluster).zone_unsafe_stripes > 0, 30, "zone-unsafe stripes to be flagged")
    finally:
        stop.set()
        thread.join(120)
        for node_id in zone_b:
            cluster.start_node(node_id)
    assert failed_reads == []
    cluster.wait_datanodes_up()
    back_ns = time.time_ns()
    wait_until(lambda: fully_redundant(cluster, back_ns) and leader_status(cluster).zone_unsafe_stripes == 0, 120,
               "redundancy and zone spread to be restored")
    for key, body in committed.items():
        assert s3.get_object(Bucket="zone-load", Key=key)["Body"].read() == body, key


def test_frontend_killed_mid_put_leaves_nothing_and_orphans_are_collected(healing_cluster: LocalCluster) -> None:
    import socket

    import grpc

    from proto import datanode_pb2, datanode_pb2_grpc
    from tests.integration.raw_requests import signed_headers

    cluster = healing_cluster
    s3 = s3_client(cluster)
    s3.create_bucket(Bucket="crash")
    body = os.urandom(20 * MIB)
    headers = signed_headers(cluster, "PUT", "/crash/big", body)
    host, port = cluster.frontend.address.split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = f"PUT /crash/big HTTP/1.1\r\nHost: {cluster.frontend.address}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items() if name.lower() != "host")
        sock.sendall(head.encode() + b"\r\n" + body[:12 * MIB])
        wait_until(lambda: any(any((cluster.options.data_dir / n.node_id / "tmp").glob("*"))
                               for n in cluster.datanodes()), 30, "the upload to reach the datanodes")
        cluster.kill("fe-1")
    cluster.start_node("fe-1")
    with pytest.raises(Exception) as excinfo:
        s3.head_object(Bucket="crash", Key="big")
    assert "404" in str(excinfo.value)
    # A writer that crashed after its chunk committed leaves an orphan: make one by hand.
    node = cluster.datanodes()[0]
    with grpc.insecure_channel(node.address) as channel:
        stub = datanode_pb2_grpc.ChunkServiceStub(channel)
        import zlib
        data = b"orphan" * 1000
        requests = iter([datanode_pb2.WriteChunkRequest(header=datanode_pb2.WriteChunkHeader(
            chunk_id="deadbeef.1.0", piece_size_max=len(data), format_version=1)),
            datanode_pb2.WriteChunkRequest(piece=datanode_pb2.Piece(piece_index=0, data=data,
                                                                     crc32=zlib.crc32(data))),
            datanode_pb2.WriteChunkRequest(commit=True)])
        stub.WriteChunk(requests, timeout=10)
        assert stub.StatChunk(datanode_pb2.ChunkIdRequest(chunk_id="deadbeef.1.0")).exists
        referenced_before = {p.name for n in cluster.datanodes()
                             for p in (cluster.options.data_dir / n.node_id / "chunks").rglob("*") if p.is_file()}
        wait_until(lambda: not stub.StatChunk(datanode_pb2.ChunkIdRequest(chunk_id="deadbeef.1.0")).exists, 60,
                   "the orphan sweep to delete the orphan")
    # Nothing that metadata references was touched by the sweep: every committed object still reads.
    for bucket in ("heal", "rot", "zone-load"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                assert len(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()) == item["Size"]
    assert referenced_before


def test_full_disk_sends_chunks_elsewhere(tmp_path: Path) -> None:
    # Datanodes of 12 MiB: after a few objects some fill up; new writes land on the others or
    # fail cleanly with 503, and nothing stored is damaged.
    with running_cluster(tmp_path / "full", datanodes_per_zone=3, datanode_capacity_bytes=12 * MIB,
                         heartbeat_interval_s=0.3) as cluster:
        s3 = s3_client(cluster)
        s3.create_bucket(Bucket="full")
        stored: dict[str, bytes] = {}
        refused = 0
        for n in range(40):
            body = os.urandom(2 * MIB + n)
            try:
                s3.put_object(Bucket="full", Key=f"f{n}", Body=body)
                stored[f"f{n}"] = body
            except Exception as error:
                assert "503" in str(error) or "SlowDown" in str(error) or "ServiceUnavailable" in str(error), error
                refused += 1
        assert stored and refused, (len(stored), refused)
        for key, body in stored.items():
            assert s3.get_object(Bucket="full", Key=key)["Body"].read() == body


def test_drain_moves_every_chunk_away(healing_cluster: LocalCluster) -> None:
    cluster = healing_cluster
    s3 = s3_client(cluster)
    s3.create_bucket(Bucket="drain")
    bodies = {f"d{n}": os.urandom(3 * MIB + n) for n in range(6)}
    for key, body in bodies.items():
        s3.put_object(Bucket="drain", Key=key, Body=body)
    result = subprocess.run([sys.executable, "-c", "from tessera.cli import main; main()", "node", "drain", "dn-c3",
                             "--wait", "--data", str(cluster.options.data_dir)], capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is drained" in result.stdout
    assert next(n for n in status_json(cluster)["nodes"] if n["id"] == "dn-c3")["state"] == "draining"
    cluster.kill("dn-c3")  # nothing depends on it any more: all data reads with two more failures
    try:
        for other in ("dn-a2", "dn-b2"):
            cluster.kill(other)
        for key, body in bodies.items():
            assert s3.get_object(Bucket="drain", Key=key)["Body"].read() == body
    finally:
        for node_id in ("dn-c3", "dn-a2", "dn-b2"):
            cluster.start_node(node_id)
        subprocess.run([sys.executable, "-c", "from tessera.cli import main; main()", "node", "undrain", "dn-c3",
                        "--data", str(cluster.options.data_dir)], check=True, capture_output=True, timeout=60)
        cluster.wait_datanodes_up()


def test_killing_the_repairing_node_mid_repair(healing_cluster: LocalCluster) -> None:
    cluster = healing_cluster
    s3 = s3_client(cluster)
    s3.create_bucket(Bucket="midrepair")
    bodies = {f"m{n}": os.urandom(24 * MIB + n) for n in range(4)}
    for key, body in bodies.items():
        s3.put_object(Bucket="midrepair", Key=key, Body=body)
    victim = "dn-a3"
    cluster.kill(victim)
    killed_ns = time.time_ns()

    def rebuilding_node() -> str | None:
        for node in cluster.datanodes():
            if node.node_id != victim and cluster.is_running(node.node_id) and \
                    any((cluster.options.data_dir / node.node_id / "tmp").glob("*")):
                return node.node_id
        return None

    wait_until(lambda: rebuilding_node() is not None, 60, "a rebuild to start")
    repairer = rebuilding_node()
    assert repairer is not None
    cluster.kill(repairer)  # dies with a half-written chunk
    half_written = set((cluster.options.data_dir / repairer / "tmp").glob("*"))
    try:
        wait_until(lambda: leader_status(cluster).degraded_stripes > 0, 20, "the second failure to be seen")
        wait_until(lambda: fully_redundant(cluster, killed_ns), 120, "repair to finish despite the crash")
    finally:
        cluster.start_node(victim)
        cluster.start_node(repairer)
        cluster.wait_datanodes_up()
    # No lost and no duplicate chunks: each chunk of each part is referenced on exactly one node.
    for key, body in bodies.items():
        assert s3.get_object(Bucket="midrepair", Key=key)["Body"].read() == body
    assert half_written and not any(path.exists() for path in half_written)  # discarded at restart


def test_added_datanode_receives_new_chunks(healing_cluster: LocalCluster) -> None:
    import grpc

    from proto import datanode_pb2, datanode_pb2_grpc
    from tessera.cluster import NodeSpec
    from tests.integration.cluster_fixtures import free_port_block

    cluster = healing_cluster
    spec = NodeSpec("datanode", "dn-d1", f"127.0.0.1:{free_port_block(1)}", "d")
    cluster.specs[spec.node_id] = spec
    cluster.start_node(spec.node_id)
    cluster.wait_datanodes_up()
    s3 = s3_client(cluster)
    s3.create_bucket(Bucket="grow")
    for n in range(12):
        s3.put_object(Bucket="grow", Key=f"g{n}", Body=os.urandom(1 * MIB))
    with grpc.insecure_channel(spec.address) as channel:
        info = datanode_pb2_grpc.ChunkServiceStub(channel).NodeInfo(datanode_pb2.NodeInfoRequest(), timeout=5)
    assert info.chunk_count > 0 and info.zone == "d"


def test_gc_never_deletes_referenced_chunks_under_overwrites_and_repairs(healing_cluster: LocalCluster) -> None:
    import threading

    cluster = healing_cluster
    s3 = s3_client(cluster)
    s3.create_bucket(Bucket="churn")
    latest: dict[str, bytes] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def overwrite(worker: int) -> None:
        client = s3_client(cluster)
        round_number = 0
        while not stop.is_set():
            round_number += 1
            key = f"k{(worker * 7 + round_number) % 6}"
            body = os.urandom(400_000 + round_number)
            with lock:  # one writer per key at a time, so "latest" is what the key holds
                client.put_object(Bucket="churn", Key=key, Body=body)
                latest[key] = body

    threads = [threading.Thread(target=overwrite, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    victim = "dn-c1"
    try:
        time.sleep(1.0)
        cluster.kill(victim)  # repairs move chunks while versions are replaced and collected
        killed_ns = time.time_ns()
        wait_until(lambda: leader_status(cluster).repaired_chunks > 0 and
                   leader_status(cluster).last_scan_ns > killed_ns + 5 * 10**9, 90, "repairs during the churn")
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
        cluster.start_node(victim)
        cluster.wait_datanodes_up()
    settled_ns = time.time_ns()
    wait_until(lambda: fully_redundant(cluster, settled_ns) and leader_status(cluster).gc_queue_length == 0, 120,
               "repairs and garbage collection to settle")
    for key, body in latest.items():  # every current version is whole: GC took only dead chunks
        assert s3.get_object(Bucket="churn", Key=key)["Body"].read() == body, key
