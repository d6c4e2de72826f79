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
                         repair_interval_s=0.5, scrub_bytes_per_s=200_000_000, scrub_pause_s=0.5) as cluster:
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
