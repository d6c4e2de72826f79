"""Async client of datanodes' ChunkService: one channel per datanode address.

A chunk write is one client-streaming call fed from a bounded queue, so the PUT
path can hand pieces to all k+m datanodes concurrently while memory stays at a
few pieces per datanode. A chunk read is one server-streaming call read piece by
piece under a deadline, so a slow datanode can be swapped for parity mid-object.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator

import grpc

from frontend import limits
from frontend.clients.errors import ChunkUnavailable
from proto import datanode_pb2 as pb
from proto import datanode_pb2_grpc
from tessera.rpc import CHANNEL_OPTIONS

FORMAT_VERSION = 1
_END = None  # queue sentinel: no more pieces, commit


class DatanodePool:
    """Channels to datanodes, opened on first use and kept for the process lifetime."""

    def __init__(self) -> None:
        self._stubs: dict[str, datanode_pb2_grpc.ChunkServiceStub] = {}
        self._channels: list[grpc.aio.Channel] = []
        self._by_address: dict[str, grpc.aio.Channel] = {}

    def stub(self, address: str) -> datanode_pb2_grpc.ChunkServiceStub:
        stub = self._stubs.get(address)
        if stub is None:
            channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
            self._channels.append(channel)
            self._by_address[address] = channel
            stub = self._stubs[address] = datanode_pb2_grpc.ChunkServiceStub(channel)
        return stub

    async def connect(self, address: str, timeout_s: float = limits.connect_timeout_s) -> None:
        """Reconnect now to a node metadata says is up. A channel that failed while the node was
        down waits out its reconnect backoff, and an RPC started meanwhile fails at once."""
        self.stub(address)
        channel = self._by_address[address]
        if channel.get_state(try_to_connect=True) is grpc.ChannelConnectivity.READY:
            return
        with contextlib.suppress(TimeoutError):  # still down: the write to it fails and is counted
            await asyncio.wait_for(channel.channel_ready(), timeout_s)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close(None)
        self._channels.clear()
        self._stubs.clear()
        self._by_address.clear()


class ChunkWriter:
    """Streams the pieces of one chunk to one datanode.

    `send` enqueues a piece (bounded queue: backpressure), `finish(commit)` ends
    the stream; only a stream ended with commit=True leaves a chunk behind.
    """

    def __init__(self, pool: DatanodePool, node_id: str, address: str, chunk_id: str,
                 piece_size_max: int) -> None:
        self.node_id = node_id
        self.chunk_id = chunk_id
        self._queue: asyncio.Queue[pb.WriteChunkRequest | None] = asyncio.Queue(limits.piece_queue_max)
        self._header = pb.WriteChunkHeader(chunk_id=chunk_id, piece_size_max=piece_size_max,
                                           format_version=FORMAT_VERSION)
        self._piece_count = 0
        self._task = asyncio.create_task(self._run(pool.stub(address)))
        self.error: ChunkUnavailable | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or self._task.done()

    async def _requests(self) -> AsyncIterator[pb.WriteChunkRequest]:
        yield pb.WriteChunkRequest(header=self._header)
        while True:
            request = await self._queue.get()
            if request is _END:
                yield pb.WriteChunkRequest(commit=True)
                return
            yield request

    async def _run(self, stub: datanode_pb2_grpc.ChunkServiceStub) -> pb.WriteChunkReply:
        try:
            reply: pb.WriteChunkReply = await stub.WriteChunk(self._requests())
            return reply
        except grpc.aio.AioRpcError as error:
            self.error = ChunkUnavailable(self.node_id, self.chunk_id,
                                          f"{error.code().name}: {error.details()}")
            raise self.error from error

    async def send(self, data: bytes) -> None:
        if self.failed:
            return
        piece = pb.Piece(piece_index=self._piece_count, data=data, crc32=zlib.crc32(data))
        self._piece_count += 1
        try:
            await asyncio.wait_for(self._queue.put(pb.WriteChunkRequest(piece=piece)),
                                   limits.piece_write_timeout_s)
        except TimeoutError:
            self.error = ChunkUnavailable(self.node_id, self.chunk_id, "write stalled")
            self._task.cancel()

    async def finish(self, commit: bool) -> bool:
        """End the stream; True when the datanode reports the chunk durable.

        Without commit the call is cancelled, and the datanode discards the chunk.
        """
        if not commit:
            self._task.cancel()
        elif not self.failed:
            try:
                await asyncio.wait_for(self._queue.put(_END), limits.piece_write_timeout_s)
            except TimeoutError:
                self._task.cancel()
        try:
            reply = await asyncio.wait_for(self._task, limits.piece_write_timeout_s)
        except (ChunkUnavailable, asyncio.CancelledError, TimeoutError):
            return False
        return commit and reply.piece_count == self._piece_count


class ChunkReader:
    """Reads pieces [piece_start, piece_start + piece_count) of one chunk in order."""

    def __init__(self, pool: DatanodePool, node_id: str, address: str, chunk_id: str,
                 piece_start: int, piece_count: int) -> None:
        self.node_id = node_id
        self.chunk_id = chunk_id
        self._next_index = piece_start
        request = pb.ReadChunkRequest(chunk_id=chunk_id, piece_start=piece_start, piece_count=piece_count)
        self._call = pool.stub(address).ReadChunk(request)

    async def next_piece(self) -> bytes:
        """The next piece, verified; ChunkUnavailable on error, corruption or timeout."""
        try:
            reply = await asyncio.wait_for(self._call.read(), limits.piece_read_timeout_s)
        except TimeoutError:
            self.cancel()
            raise ChunkUnavailable(self.node_id, self.chunk_id, "read timed out") from None
        except grpc.aio.AioRpcError as error:
            raise ChunkUnavailable(self.node_id, self.chunk_id,
                                   f"{error.code().name}: {error.details()}") from error
        if reply is grpc.aio.EOF:  # type: ignore[attr-defined]  # missing from grpc-stubs
            raise ChunkUnavailable(self.node_id, self.chunk_id, "chunk ended early")
        piece = reply.piece
        if piece.piece_index != self._next_index or zlib.crc32(piece.data) != piece.crc32:
            self.cancel()
            raise ChunkUnavailable(self.node_id, self.chunk_id, f"bad piece {piece.piece_index}")
        self._next_index += 1
        return bytes(piece.data)

    def cancel(self) -> None:
        self._call.cancel()
