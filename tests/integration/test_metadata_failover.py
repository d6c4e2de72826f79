"""The metadata leader dies or hangs under load: nothing acknowledged is lost, service resumes."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tessera.cluster import LocalCluster, metadata_status
from tests.integration.cluster_fixtures import running_cluster, s3_client


@pytest.fixture(scope="module")
def raft_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    # Short ticks make elections quick; a small compaction threshold makes a lagging replica
    # catch up by snapshot rather than by log.
    with running_cluster(Path(tmp_path_factory.mktemp("raft")), raft_tick_ms=50, compact_entries=50) as cluster:
        yield cluster


class Writer:
    """Threads doing PUTs of unique keys; records which ones were acknowledged."""

    def __init__(self, cluster: LocalCluster, bucket: str, threads: int = 4) -> None:
        self.s3 = s3_client(cluster)
        self.bucket = bucket
        self.acknowledged: list[str] = []
        self.failures = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def _run(self, number: int) -> None:
        sequence = 0
        while not self.stop.is_set():
            key = f"w{number}-{sequence}"
            sequence += 1
            try:
                self.s3.put_object(Bucket=self.bucket, Key=key, Body=key.encode())
            except Exception:  # refused or unknown during the election: not acknowledged
                self.failures += 1
                continue
            self.acknowledged.append(key)

    def __enter__(self) -> Writer:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def wait_for_acks(self, count: int, timeout_s: float = 30) -> None:
        target = len(self.acknowledged) + count
        deadline = time.monotonic() + timeout_s
        while len(self.acknowledged) < target:
            assert time.monotonic() < deadline, f"writes did not resume: {len(self.acknowledged)} < {target}"
            time.sleep(0.02)


def leader_id(cluster: LocalCluster) -> str:
    return cluster.wait_for_leader()


def assert_all_present(s3: Any, bucket: str, keys: list[str]) -> None:
    listed: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        listed.update(item["Key"] for item in page.get("Contents", []))
    missing = set(keys) - listed
    assert not missing, f"{len(missing)} acknowledged PUTs lost, e.g. {sorted(missing)[:5]}"


def test_leader_killed_under_load_loses_nothing(raft_cluster: LocalCluster) -> None:
    s3 = s3_client(raft_cluster)
    s3.create_bucket(Bucket="failover")
    old_leader = leader_id(raft_cluster)
    with Writer(raft_cluster, "failover") as writer:
        writer.wait_for_acks(50)
        raft_cluster.kill(old_leader)
        new_leader = raft_cluster.wait_for_leader(excluding=old_leader)
        assert new_leader != old_leader
        writer.wait_for_acks(100)  # writes resume under the new leader
        # Restart the old leader while writes go on: it rejoins as a follower and catches up
        # (by snapshot: the log was compacted past what it has).
        raft_cluster.start_node(old_leader)
        writer.wait_for_acks(100)
    assert_all_present(s3, "failover", writer.acknowledged)
    deadline = time.monotonic() + 30
    while True:
        statuses = {spec.node_id: metadata_status(spec.address) for spec in raft_cluster.metadata_nodes()}
        leader = next(s for s in statuses.values() if s is not None and s.raft_role == "leader")
        rejoined = statuses[old_leader]
        if rejoined is not None and rejoined.applied_index >= leader.commit_index:
            break
        assert time.monotonic() < deadline, f"{old_leader} did not catch up: {rejoined} vs {leader.commit_index}"
        time.sleep(0.05)
    assert rejoined.raft_role == "follower"
    assert rejoined.snapshot_index > 0  # the catch-up went through a snapshot
    assert rejoined.object_count == leader.object_count


def test_hung_leader_is_replaced_and_rejoins(raft_cluster: LocalCluster) -> None:
    s3 = s3_client(raft_cluster)
    s3.create_bucket(Bucket="hung")
    old_leader = leader_id(raft_cluster)
    with Writer(raft_cluster, "hung") as writer:
        writer.wait_for_acks(20)
        raft_cluster.kill(old_leader, signal.SIGSTOP)
        try:
            new_leader = raft_cluster.wait_for_leader(excluding=old_leader)
            writer.wait_for_acks(50)
        finally:
            raft_cluster.kill(old_leader, signal.SIGCONT)
        writer.wait_for_acks(50)
    assert new_leader != old_leader
    deadline = time.monotonic() + 30
    while (status := metadata_status(raft_cluster.specs[old_leader].address)) is None or \
            status.raft_role != "follower" or status.leader_id != new_leader and status.leader_id == old_leader:
        assert time.monotonic() < deadline, f"{old_leader} did not rejoin as follower: {status}"
        time.sleep(0.05)
    assert_all_present(s3, "hung", writer.acknowledged)


@pytest.mark.parametrize("fault", ["kill", "pause"])
def test_history_with_leader_faults_is_linearizable(raft_cluster: LocalCluster, fault: str) -> None:
    from tessera.history import OpMix, record
    from tessera.lincheck import Outcome, check

    bucket = f"lin-{fault}"
    s3_client(raft_cluster).create_bucket(Bucket=bucket)
    faults_done: list[str] = []

    def chaos() -> None:
        for _ in range(2):
            time.sleep(0.7)  # let a stretch of the history run before each fault
            victim = raft_cluster.wait_for_leader()
            if fault == "kill":
                raft_cluster.kill(victim)
                raft_cluster.wait_for_leader(excluding=victim)
                raft_cluster.start_node(victim)
            else:
                raft_cluster.kill(victim, signal.SIGSTOP)
                try:
                    raft_cluster.wait_for_leader(excluding=victim)
                finally:
                    raft_cluster.kill(victim, signal.SIGCONT)
            faults_done.append(victim)

    history = record(raft_cluster.endpoint, raft_cluster.credentials, bucket, ("k/a", "k/b", "k/c"), clients=6,
                     operations_per_client=60, seed=11, op_mix=OpMix(put=0.4, get=0.35, delete=0.1, list=0.15),
                     chaos=chaos, region=raft_cluster.options.region)
    assert len(faults_done) == 2
    ok = [op for op in history.operations if op.outcome is Outcome.OK]
    assert len(ok) > len(history.operations) // 2, "most operations must succeed despite the faults"
    result = check(history)
    assert result.linearizable is True, "\n".join(result.counterexample or ["state bound reached"])


def test_membership_add_then_remove_a_replica(raft_cluster: LocalCluster) -> None:
    from tessera.membership import change
    from tests.integration.cluster_fixtures import free_port_block

    s3 = s3_client(raft_cluster)
    s3.create_bucket(Bucket="members")
    for number in range(30):
        s3.put_object(Bucket="members", Key=f"before-{number}", Body=b"x")
    raft_cluster.add_metadata_replica("meta-4", free_port_block(1))
    new = raft_cluster.specs["meta-4"]
    deadline = time.monotonic() + 30
    while (status := metadata_status(new.address)) is None or status.object_count < 30:
        assert time.monotonic() < deadline, f"meta-4 did not catch up: {status}"
        time.sleep(0.05)
    assert sorted(status.voters) == ["meta-1", "meta-2", "meta-3", "meta-4"]
    # Writes commit with four voters (quorum three).
    s3.put_object(Bucket="members", Key="after-add", Body=b"y")
    leader = raft_cluster.wait_for_leader()
    victim = next(n for n in ("meta-1", "meta-2", "meta-3") if n != leader)
    change(raft_cluster.metadata_address.split(","), "remove", victim, "")
    raft_cluster.kill(victim)  # no longer a voter: three of three remaining answer
    s3.put_object(Bucket="members", Key="after-remove", Body=b"z")
    leader_status = metadata_status(raft_cluster.specs[raft_cluster.wait_for_leader()].address)
    assert leader_status is not None and victim not in leader_status.voters and "meta-4" in leader_status.voters
    assert s3.get_object(Bucket="members", Key="after-remove")["Body"].read() == b"z"
    raft_cluster.start_node(victim)  # a removed replica that comes back stays out of the configuration
