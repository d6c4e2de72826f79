"""ChunkServicer: the ChunkService gRPC contract (proto/datanode.proto) over a ChunkStore.

Theory of operation: every handler runs on the asyncio event loop and pushes the blocking
file I/O of the store to worker threads (asyncio.to_thread), one piece at a time, so a slow
disk never stalls other streams. WriteChunk is the two-phase write of the store spoken over
a client stream: the header opens a writer, pieces are appended in order, and only a request
with commit=true makes the chunk visible; any other ending (stream closed early, client gone,
error) aborts the writer and leaves nothing behind. Errors of the datanode tree map to one
status code each (STATUS_BY_ERROR), with details "<ErrorClassName>: message".
"""

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import NoReturn

import grpc
from grpc import aio

from datanode import limits
from datanode.errors import (
    ChecksumMismatch,
    ChunkNotFound,
    CorruptChunk,
    DatanodeError,
    InvalidChunkId,
    OutOfSpace,
    PieceRangeError,
    ProtocolError,
    UnsupportedFormat,
)
from datanode.repair import RepairFailed, repair_chunk
from datanode.scrub import ScrubStats
from datanode.store import ChunkStore, ChunkWriter
from proto import datanode_pb2 as pb
from proto import datanode_pb2_grpc as pb_grpc

logger = logging.getLogger("tessera.datanode.server")

# The one map from datanode errors to gRPC codes; subclasses inherit their parent's code.
STATUS_BY_ERROR: dict[type[DatanodeError], grpc.StatusCode] = {
    ChunkNotFound: grpc.StatusCode.NOT_FOUND,
    CorruptChunk: grpc.StatusCode.DATA_LOSS,  # and CorruptPiece
    ChecksumMismatch: grpc.StatusCode.DATA_LOSS,
    OutOfSpace: grpc.StatusCode.RESOURCE_EXHAUSTED,
    InvalidChunkId: grpc.StatusCode.INVALID_ARGUMENT,
    ProtocolError: grpc.StatusCode.INVALID_ARGUMENT,
    PieceRangeError: grpc.StatusCode.OUT_OF_RANGE,
    UnsupportedFormat: grpc.StatusCode.FAILED_PRECONDITION,
}

# grpc channel/server options that let an 8 MiB piece (plus framing) through.
GRPC_OPTIONS: list[tuple[str, int]] = [
    ("grpc.max_send_message_length", limits.grpc_message_bytes_max),
    ("grpc.max_receive_message_length", limits.grpc_message_bytes_max),
]


def status_for(error: DatanodeError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return grpc.StatusCode.INTERNAL


def details_for(error: DatanodeError) -> str:
    return f"{type(error).__name__}: {error}"


Context = aio.ServicerContext[object, object]


async def _abort(context: Context, error: DatanodeError) -> NoReturn:
    code = status_for(error)
    logger.info("event=rpc_error code=%s error=%s detail=%r", code.name, type(error).__name__, str(error))
    await context.abort(code, details_for(error))


class ChunkServicer(pb_grpc.ChunkServiceServicer):  # type: ignore[misc]
    def __init__(self, store: ChunkStore, node_id: str, zone: str, scrub: ScrubStats | None = None) -> None:
        self._scrub = scrub or ScrubStats()
        self._store = store
        self._node_id = node_id
        self._zone = zone

    async def WriteChunk(self, request_iterator: AsyncIterator[pb.WriteChunkRequest],
                         context: Context) -> pb.WriteChunkReply:
        writer: ChunkWriter | None = None
        try:
            first = await anext(request_iterator, None)
            if first is None or not first.HasField("header"):
                raise ProtocolError("first WriteChunkRequest must carry a header")
            writer = await self._begin(first.header)
            if await self._apply(writer, first):
                return self._written(writer)
            async for request in request_iterator:
                if request.HasField("header"):
                    raise ProtocolError("header repeated after the first request")
                if await self._apply(writer, request):
                    return self._written(writer)
            raise ProtocolError("stream ended without commit")
        except DatanodeError as error:
            if writer is not None:  # context.abort sends the status at once: clean up first
                await _in_thread_even_if_cancelled(writer.abort)
            await _abort(context, error)
        finally:
            if writer is not None:  # stream broken or handler cancelled; a no-op after commit/abort
                await _in_thread_even_if_cancelled(writer.abort)

    async def _begin(self, header: pb.WriteChunkHeader) -> ChunkWriter:
        if header.format_version not in (0, 1):  # 0: unset in proto3, means the current version
            raise ProtocolError(f"format_version {header.format_version} not supported (1)")
        return await asyncio.to_thread(self._store.begin, header.chunk_id, header.piece_size_max)

    @staticmethod
    async def _apply(writer: ChunkWriter, request: pb.WriteChunkRequest) -> bool:
        """Append the request's piece, commit if asked; returns whether the chunk is committed."""
        if request.HasField("piece"):
            piece = request.piece
            await asyncio.to_thread(writer.append, piece.piece_index, piece.data, piece.crc32)
        if request.commit:
            await asyncio.to_thread(writer.commit)
            return True
        return False

    def _written(self, writer: ChunkWriter) -> pb.WriteChunkReply:
        logger.debug("event=chunk_written chunk_id=%s pieces=%d bytes=%d", writer.chunk_id,
                     writer.piece_count, writer.data_bytes)
        return pb.WriteChunkReply(size_bytes=writer.data_bytes, piece_count=writer.piece_count)

    async def ReadChunk(self, request: pb.ReadChunkRequest,
                        context: Context) -> AsyncIterator[pb.ReadChunkReply]:
        try:
            reader = await asyncio.to_thread(self._store.open_reader, request.chunk_id)
        except DatanodeError as error:
            await _abort(context, error)
        try:
            for index in reader.piece_range(request.piece_start, request.piece_count):
                data, crc = await asyncio.to_thread(reader.read_piece, index)
                yield pb.ReadChunkReply(piece=pb.Piece(piece_index=index, data=data, crc32=crc))
        except DatanodeError as error:
            await _in_thread_even_if_cancelled(reader.close)
            await _abort(context, error)
        finally:
            await _in_thread_even_if_cancelled(reader.close)  # idempotent

    async def DeleteChunk(self, request: pb.ChunkIdRequest, context: Context) -> pb.DeleteChunkReply:
        try:
            existed = await asyncio.to_thread(self._store.delete, request.chunk_id)
        except DatanodeError as error:
            await _abort(context, error)
        return pb.DeleteChunkReply(existed=existed)

    async def StatChunk(self, request: pb.ChunkIdRequest, context: Context) -> pb.StatChunkReply:
        try:
            stat = await asyncio.to_thread(self._store.stat, request.chunk_id)
        except ChunkNotFound:
            return pb.StatChunkReply(exists=False)
        except DatanodeError as error:
            await _abort(context, error)
        return pb.StatChunkReply(exists=True, size_bytes=stat.data_bytes, piece_count=stat.piece_count,
                                 piece_size_max=stat.piece_size_max, mtime_ns=stat.mtime_ns)

    async def ListChunks(self, request: pb.ListChunksRequest,
                         context: Context) -> AsyncIterator[pb.ListChunksReply]:
        chunk_ids = self._store.list(request.prefix)
        while batch := await asyncio.to_thread(_take, chunk_ids, limits.list_batch_ids_max):
            yield pb.ListChunksReply(chunk_ids=batch)

    async def RepairChunk(self, request: pb.RepairChunkRequest, context: Context) -> pb.RepairChunkReply:
        try:
            return await repair_chunk(self._store, request)
        except DatanodeError as error:
            await _abort(context, error)
        except RepairFailed as error:
            logger.warning("event=repair_failed chunk_id=%s error=%s", request.chunk_id, error)
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"RepairFailed: {error}")

    async def NodeInfo(self, request: pb.NodeInfoRequest, context: Context) -> pb.NodeInfoReply:
        capacity_bytes = await asyncio.to_thread(self._store.capacity_bytes)
        return pb.NodeInfoReply(node_id=self._node_id, zone=self._zone, capacity_bytes=capacity_bytes,
                                used_bytes=self._store.used_bytes(), chunk_count=self._store.chunk_count(),
                                scrubbed_bytes=self._scrub.scrubbed_bytes, scrub_passes=self._scrub.passes,
                                corrupt_pieces_found=self._scrub.corrupt_pieces_found)


async def _in_thread_even_if_cancelled(cleanup: Callable[[], None]) -> None:
    """Run a cleanup in a worker thread; shielded so a second cancellation cannot skip it.

    Cleanups take the writer's/reader's lock and so wait for a worker thread that is still
    inside append/read_piece for an RPC that was cancelled meanwhile.
    """
    await asyncio.shield(asyncio.to_thread(cleanup))


def _take(iterator: Iterator[str], count: int) -> list[str]:
    return list(itertools.islice(iterator, count))


def create_server(store: ChunkStore, node_id: str, zone: str, scrub: ScrubStats | None = None) -> aio.Server:
    """A grpc.aio server with ChunkService registered; the caller adds ports and starts it."""
    # so_reuseport off: a second datanode started on a taken port must fail, not share it.
    options = [*GRPC_OPTIONS, ("grpc.so_reuseport", 0)]
    server = aio.server(options=options, maximum_concurrent_rpcs=limits.concurrent_rpcs_max)
    pb_grpc.add_ChunkServiceServicer_to_server(ChunkServicer(store, node_id, zone, scrub), server)
    return server
