"""Heartbeat and GC loops against a fake MetadataService on a real grpc.aio server."""

import asyncio
import logging
import os
import socket
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from grpc import aio

from datanode.gc import gc_once, run_gc
from datanode.heartbeat import NodeIdentity, heartbeat_once, run_heartbeat
from datanode.metadata_client import MetadataClient
from datanode.store import ChunkStore
from proto import metadata_pb2 as mpb
from proto import metadata_pb2_grpc as mpb_grpc


class FakeMetadata(mpb_grpc.MetadataServiceServicer):
    def __init__(self, heartbeats_wanted: int = 1) -> None:
        self.heartbeats: list[mpb.Node] = []
        self.enough_heartbeats = asyncio.Event()
        self._heartbeats_wanted = heartbeats_wanted
        self.queue: list[mpb.GcEntry] = []
        self.gc_lists: list[mpb.GcListRequest] = []
        self.gc_done: list[mpb.GcEntry] = []
        self.gc_done_event = asyncio.Event()

    async def Heartbeat(self, request: mpb.HeartbeatRequest, context: object) -> mpb.HeartbeatReply:
        self.heartbeats.append(request.node)
        if len(self.heartbeats) >= self._heartbeats_wanted:
            self.enough_heartbeats.set()
        return mpb.HeartbeatReply()

    async def GcList(self, request: mpb.GcListRequest, context: object) -> mpb.GcListReply:
        self.gc_lists.append(request)
        due = [e for e in self.queue if e.node_id == request.node_id and e.enqueued_ns < request.older_than_ns]
        return mpb.GcListReply(entries=due[:request.limit])

    async def GcDone(self, request: mpb.GcDoneRequest, context: object) -> mpb.GcDoneReply:
        done = {(e.node_id, e.chunk_id) for e in request.entries}
        self.gc_done.extend(request.entries)
        self.queue = [e for e in self.queue if (e.node_id, e.chunk_id) not in done]
        self.gc_done_event.set()
        return mpb.GcDoneReply()


def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_with_metadata(fake_factory: Callable[[], FakeMetadata],
                      test: Callable[[FakeMetadata, str], Awaitable[None]]) -> None:
    async def main() -> None:
        fake = fake_factory()  # inside the loop: its asyncio.Events belong to it
        server = aio.server()
        mpb_grpc.add_MetadataServiceServicer_to_server(fake, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            await test(fake, f"127.0.0.1:{port}")
        finally:
            await server.stop(None)

    asyncio.run(main())


def commit(store: ChunkStore, chunk_id: str, data: bytes = b"payload") -> None:
    with store.begin(chunk_id, 64) as writer:
        writer.append(0, data, zlib.crc32(data))
        writer.commit()


IDENTITY = NodeIdentity("dn-a1", "a", "127.0.0.1:7001")


def test_heartbeat_reports_identity_and_space(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path, capacity_bytes=10_000)
    commit(store, "v.1.0")

    async def test(fake: FakeMetadata, address: str) -> None:
        client = MetadataClient([address])
        try:
            await heartbeat_once(client, store, IDENTITY, timeout_s=5)
        finally:
            await client.close()
        [node] = fake.heartbeats
        assert (node.node_id, node.zone, node.address, node.pid) == ("dn-a1", "a", "127.0.0.1:7001", os.getpid())
        assert (node.capacity_bytes, node.used_bytes) == (10_000, store.used_bytes())
        assert node.used_bytes > 0

    run_with_metadata(FakeMetadata, test)


def test_heartbeat_loop_beats_repeatedly_and_stops(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path)

    async def test(fake: FakeMetadata, address: str) -> None:
        client = MetadataClient([address])
        stop = asyncio.Event()
        task = asyncio.create_task(run_heartbeat(client, store, IDENTITY, 0.01, 5, stop))
        try:
            await asyncio.wait_for(fake.enough_heartbeats.wait(), timeout=10)
        finally:
            stop.set()
            await task
            await client.close()
        assert len(fake.heartbeats) >= 3

    run_with_metadata(lambda: FakeMetadata(heartbeats_wanted=3), test)


class _SetOnRecord(logging.Handler):
    def __init__(self, event: asyncio.Event, marker: str) -> None:
        super().__init__()
        self.event, self.marker, self.messages = event, marker, list[str]()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if self.marker in record.getMessage():
            self.event.set()


def test_unreachable_metadata_is_logged_not_raised(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path)

    async def main() -> None:
        client = MetadataClient([f"127.0.0.1:{free_port()}"])
        with pytest.raises(aio.AioRpcError) as caught:
            await heartbeat_once(client, store, IDENTITY, timeout_s=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        logged = asyncio.Event()
        handler = _SetOnRecord(logged, "event=heartbeat_failed")
        logger = logging.getLogger("tessera.datanode.heartbeat")
        logger.addHandler(handler)
        stop = asyncio.Event()
        task = asyncio.create_task(run_heartbeat(client, store, IDENTITY, 0.01, 1, stop))
        try:
            await asyncio.wait_for(logged.wait(), timeout=10)
            assert not task.done()  # still beating after the failure
        finally:
            stop.set()
            await task  # ends cleanly: no exception escaped the loop
            logger.removeHandler(handler)
            await client.close()
        assert any("code=UNAVAILABLE" in message for message in handler.messages)

    asyncio.run(main())


def test_metadata_client_rotates_to_a_live_replica(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path)

    async def test(fake: FakeMetadata, address: str) -> None:
        dead = f"127.0.0.1:{free_port()}"
        client = MetadataClient([dead, address])
        try:
            with pytest.raises(aio.AioRpcError):
                await heartbeat_once(client, store, IDENTITY, timeout_s=5)
            assert client.address == address
            await heartbeat_once(client, store, IDENTITY, timeout_s=5)
        finally:
            await client.close()
        assert len(fake.heartbeats) == 1

    run_with_metadata(FakeMetadata, test)


def test_gc_deletes_due_chunks_and_acknowledges(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path)
    for chunk_id in ["old.1.0", "old.1.1", "young.1.0", "other.1.0", "rewritten.1.0"]:
        commit(store, chunk_id)
    # Entries are queued after the chunks were written (an hour from now), as in life: GC keeps
    # a chunk whose file is newer than its entry (see the next test).
    now_ns, grace_s = time.time_ns() + 3600 * 10**9, 30.0
    old_ns, young_ns = now_ns - 60 * 10**9, now_ns - 1 * 10**9

    def fake_factory() -> FakeMetadata:
        fake = FakeMetadata()
        fake.queue = [
            mpb.GcEntry(node_id="dn-a1", chunk_id="rewritten.1.0", enqueued_ns=time.time_ns() - 10**9),
            mpb.GcEntry(node_id="dn-a1", chunk_id="old.1.0", enqueued_ns=old_ns),
            mpb.GcEntry(node_id="dn-a1", chunk_id="old.1.1", enqueued_ns=old_ns),
            mpb.GcEntry(node_id="dn-a1", chunk_id="gone.1.0", enqueued_ns=old_ns),  # already absent
            mpb.GcEntry(node_id="dn-a1", chunk_id="bad/id", enqueued_ns=old_ns),  # can never exist
            mpb.GcEntry(node_id="dn-a1", chunk_id="young.1.0", enqueued_ns=young_ns),  # within grace
            mpb.GcEntry(node_id="dn-b1", chunk_id="other.1.0", enqueued_ns=old_ns),  # another node's
        ]
        return fake

    async def test(fake: FakeMetadata, address: str) -> None:
        client = MetadataClient([address])
        try:
            acknowledged = await gc_once(client, store, "dn-a1", grace_s, 5, now_ns=lambda: now_ns)
            again = await gc_once(client, store, "dn-a1", grace_s, 5, now_ns=lambda: now_ns)
        finally:
            await client.close()
        assert acknowledged == 5 and again == 0  # idempotent: nothing left that is due
        assert fake.gc_lists[0].node_id == "dn-a1"
        assert fake.gc_lists[0].older_than_ns == now_ns - 30 * 10**9
        assert sorted(e.chunk_id for e in fake.gc_done) == ["bad/id", "gone.1.0", "old.1.0", "old.1.1",
                                                              "rewritten.1.0"]
        # "rewritten" was written after its entry was queued (a repair put it back): it stays.
        assert sorted(store.list()) == ["other.1.0", "rewritten.1.0", "young.1.0"]
        assert [e.chunk_id for e in fake.queue] == ["young.1.0", "other.1.0"]

    run_with_metadata(fake_factory, test)


def test_gc_loop_runs_and_stops(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path)
    commit(store, "old.1.0")

    def fake_factory() -> FakeMetadata:
        fake = FakeMetadata()
        # Queued after the chunk was written, as metadata does when the chunk's version is replaced.
        fake.queue = [mpb.GcEntry(node_id="dn-a1", chunk_id="old.1.0", enqueued_ns=time.time_ns())]
        return fake

    async def test(fake: FakeMetadata, address: str) -> None:
        client = MetadataClient([address])
        stop = asyncio.Event()
        task = asyncio.create_task(run_gc(client, store, "dn-a1", 0.01, 0.0, 5, stop))
        try:
            await asyncio.wait_for(fake.gc_done_event.wait(), timeout=10)
        finally:
            stop.set()
            await task
            await client.close()
        assert list(store.list()) == [] and fake.queue == []

    run_with_metadata(fake_factory, test)
