"""MetadataService end to end: a real grpc.aio server on 127.0.0.1:0, a real client channel."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import grpc.aio
import pytest

from metadata.config import MetadataConfig
from metadata.log import SingleNodeLog
from metadata.server import MetadataServer
from metadata.state_machine import StateMachine
from proto import metadata_pb2 as pb
from proto import metadata_pb2_grpc

Scenario = Callable[[metadata_pb2_grpc.MetadataServiceStub, "FakeClock"], Awaitable[None]]


class FakeClock:
    def __init__(self) -> None:
        self.now_ns = 1_000_000_000_000

    def __call__(self) -> int:
        return self.now_ns


def run(tmp_path: Path, scenario: Scenario) -> None:
    """Start a server on a free port, run `scenario` against it, stop everything."""

    async def main() -> None:
        clock = FakeClock()
        config = MetadataConfig(node_id="meta-t", data_dir=tmp_path / "meta")
        server = await MetadataServer.start(config, clock_ns=clock, rng=random.Random(0))
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                await scenario(metadata_pb2_grpc.MetadataServiceStub(channel), clock)
        finally:
            await server.stop(0)

    asyncio.run(main())


async def expect_error(call: Awaitable[object], code: grpc.StatusCode, name: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code
    assert (caught.value.details() or "").startswith(f"{name}: ")


def test_buckets_and_objects_round_trip(tmp_path: Path) -> None:
    async def scenario(stub: metadata_pb2_grpc.MetadataServiceStub, clock: FakeClock) -> None:
        applied_before = (await stub.Status(pb.StatusRequest())).applied_index
        assert (await stub.CreateBucket(pb.CreateBucketRequest(name="photos"))).created
        await expect_error(
            stub.CreateBucket(pb.CreateBucketRequest(name="photos")),
            grpc.StatusCode.ALREADY_EXISTS,
            "BucketAlreadyOwnedByYou",
        )
        head = await stub.HeadBucket(pb.BucketRequest(name="photos"))
        assert head.bucket.created_ns == clock.now_ns
        version = pb.ObjectVersion(bucket="photos", key="a/b.jpg", version_id="v1", size_bytes=3, etag="e")
        assert (await stub.PutObject(pb.PutObjectRequest(version=version))).version_id == "v1"
        got = await stub.GetObject(pb.GetObjectRequest(bucket="photos", key="a/b.jpg"))
        assert (got.version.etag, got.version.last_modified_ns) == ("e", clock.now_ns)
        listing = await stub.ListObjects(pb.ListObjectsRequest(bucket="photos", delimiter="/"))
        assert [(e.key, e.is_prefix) for e in listing.entries] == [("a/", True)]
        await expect_error(
            stub.DeleteBucket(pb.DeleteBucketRequest(name="photos")),
            grpc.StatusCode.FAILED_PRECONDITION,
            "BucketNotEmpty",
        )
        assert (await stub.DeleteObject(pb.DeleteObjectRequest(bucket="photos", key="a/b.jpg"))).existed
        await expect_error(
            stub.GetObject(pb.GetObjectRequest(bucket="photos", key="a/b.jpg")), grpc.StatusCode.NOT_FOUND, "NoSuchKey"
        )
        await stub.DeleteBucket(pb.DeleteBucketRequest(name="photos"))
        await expect_error(stub.HeadBucket(pb.BucketRequest(name="photos")), grpc.StatusCode.NOT_FOUND, "NoSuchBucket")
        await expect_error(
            stub.CreateBucket(pb.CreateBucketRequest(name="No_Such")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "InvalidArgument",
        )
        status = await stub.Status(pb.StatusRequest())
        # Seven commands were applied (rejected ones consume their log index too).
        assert (status.node_id, status.pid, status.applied_index - applied_before) == ("meta-t", os.getpid(), 7)
        assert (status.raft_role, status.leader_id, list(status.voters)) == ("leader", "meta-t", ["meta-t"])
        assert (status.bucket_count, status.object_count) == (0, 0)

    run(tmp_path, scenario)


def test_heartbeats_node_states_and_placement(tmp_path: Path) -> None:
    async def scenario(stub: metadata_pb2_grpc.MetadataServiceStub, clock: FakeClock) -> None:
        for zone in "abc":
            for i in range(2):
                node = pb.Node(node_id=f"dn-{zone}{i}", zone=zone, address=f"127.0.0.1:{i}")
                await stub.Heartbeat(pb.HeartbeatRequest(node=node))
        clock.now_ns += 5 * 10**9  # past suspect_after (3 s), before down_after (10 s)
        await stub.Heartbeat(pb.HeartbeatRequest(node=pb.Node(node_id="dn-a0", zone="a")))
        states = {n.node_id: n.state for n in (await stub.ListNodes(pb.ListNodesRequest())).nodes}
        assert states == {"dn-a0": "up", "dn-a1": "suspect"} | {f"dn-{z}{i}": "suspect" for z in "bc" for i in (0, 1)}
        placed = (await stub.Placement(pb.PlacementRequest(count=6))).nodes
        assert sorted(n.zone for n in placed) == ["a", "a", "b", "b", "c", "c"]
        assert placed[0].node_id == "dn-a0"  # the only up node carries chunk 0
        await expect_error(
            stub.Placement(pb.PlacementRequest(count=7)), grpc.StatusCode.UNAVAILABLE, "InsufficientNodes"
        )
        assert len((await stub.Placement(pb.PlacementRequest())).nodes) == 6  # default k + m

    run(tmp_path, scenario)


def test_gc_queue_over_grpc(tmp_path: Path) -> None:
    async def scenario(stub: metadata_pb2_grpc.MetadataServiceStub, clock: FakeClock) -> None:
        await stub.CreateBucket(pb.CreateBucketRequest(name="bkt"))
        part = pb.Part(part_number=1, chunks=[pb.ChunkLocation(chunk_index=0, node_id="dn-1")])
        for version_id in ("v1", "v2"):
            version = pb.ObjectVersion(bucket="bkt", key="k", version_id=version_id, parts=[part])
            await stub.PutObject(pb.PutObjectRequest(version=version))
        clock.now_ns += 1
        entries = (await stub.GcList(pb.GcListRequest(node_id="dn-1", older_than_ns=clock.now_ns))).entries
        assert [e.chunk_id for e in entries] == ["v1.1.0"]
        assert (await stub.Status(pb.StatusRequest())).gc_queue_length == 1
        await stub.GcDone(pb.GcDoneRequest(entries=entries))
        assert (await stub.Status(pb.StatusRequest())).gc_queue_length == 0

    run(tmp_path, scenario)


def test_restart_keeps_state(tmp_path: Path) -> None:
    async def create(stub: metadata_pb2_grpc.MetadataServiceStub, clock: FakeClock) -> None:
        await stub.CreateBucket(pb.CreateBucketRequest(name="kept"))

    async def check(stub: metadata_pb2_grpc.MetadataServiceStub, clock: FakeClock) -> None:
        assert [b.name for b in (await stub.ListBuckets(pb.ListBucketsRequest())).buckets] == ["kept"]
        status = await stub.Status(pb.StatusRequest())
        # The log was replayed (the create is not applied twice) and a new term's NOOP committed.
        assert status.bucket_count == 1 and status.term >= 2
        assert status.applied_index == status.commit_index == status.last_index

    run(tmp_path, create)
    run(tmp_path, check)


def test_concurrent_proposals_get_dense_indices(tmp_path: Path) -> None:
    async def main() -> None:
        state_machine = StateMachine(tmp_path / "db", sync=False)
        log = SingleNodeLog(state_machine)
        try:
            commands = [pb.Command(now_ns=1, create_bucket=pb.CreateBucketRequest(name=f"bkt-{i}")) for i in range(20)]
            replies = await asyncio.gather(*(log.propose(c) for c in commands))
            assert all(isinstance(r, pb.CreateBucketReply) and r.created for r in replies)
            assert state_machine.applied_index == 20
            assert len(state_machine.list_buckets()) == 20
        finally:
            await log.close()
            state_machine.close()

    asyncio.run(main())


def test_command_line_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "metadata", "--node-id", "meta-cli", "--data", str(tmp_path / "d")]
    process = subprocess.Popen(command + ["--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("metadata node_id=meta-cli listening=127.0.0.1:")

        async def status() -> pb.StatusReply:
            async with grpc.aio.insecure_channel(line.strip().rpartition("=")[2]) as channel:
                stub = metadata_pb2_grpc.MetadataServiceStub(channel)
                reply: pb.StatusReply = await stub.Status(pb.StatusRequest(), timeout=10)
                return reply

        assert asyncio.run(status()).node_id == "meta-cli"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    bad = subprocess.run(command + ["--suspect-after-s", "20"], capture_output=True, text=True, timeout=20)
    assert bad.returncode == 2 and "suspect_after_s" in bad.stderr
