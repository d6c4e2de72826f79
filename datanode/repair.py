"""Rebuild one chunk here from any k surviving chunks of its part.

Theory of operation: the metadata leader names the chunk to build and, in preference order,
where its siblings live. We stream the pieces of k siblings stripe by stripe (a sibling that
errors or returns a bad piece is replaced by the next source, from that stripe on), decode
each stripe and re-encode it, which yields the missing piece and at the same time checks the
sources agree; the piece goes into an ordinary two-phase chunk write (checksummed, fsynced,
renamed on commit). Metadata swaps the chunk's location only after this returns.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any, Final

import grpc

from datanode.store import ChunkStore
from proto import datanode_pb2 as pb
from proto import datanode_pb2_grpc as pb_grpc
from tessera.codec import Codec, CodecError, ErasurePolicy
from tessera.rpc import CHANNEL_OPTIONS

log = logging.getLogger("tessera.datanode.repair")

source_piece_timeout_s: Final = 10.0  # a sibling slower than this is replaced by the next one


class RepairFailed(Exception):
    """Fewer than k siblings could be read for some stripe."""


class _Source:
    def __init__(self, stub: Any, source: pb.RepairSource, start: int, count: int) -> None:
        self.chunk_index = source.chunk_index
        self.source = source
        self._next = start
        self._call = stub.ReadChunk(pb.ReadChunkRequest(chunk_id=source.chunk_id, piece_start=start,
                                                        piece_count=count))

    async def next_piece(self) -> bytes:
        reply = await asyncio.wait_for(self._call.read(), source_piece_timeout_s)
        if reply is grpc.aio.EOF:  # type: ignore[attr-defined]  # missing from grpc-stubs
            raise RepairFailed(f"{self.source.chunk_id} ended early")
        piece = reply.piece
        if piece.piece_index != self._next or zlib.crc32(piece.data) != piece.crc32:
            raise RepairFailed(f"{self.source.chunk_id}: bad piece {piece.piece_index}")
        self._next += 1
        return bytes(piece.data)

    def cancel(self) -> None:
        self._call.cancel()


async def repair_chunk(store: ChunkStore, request: pb.RepairChunkRequest) -> pb.RepairChunkReply:
    policy = ErasurePolicy(backend=request.backend, k=request.k, m=request.m,
                           segment_size=max(request.k, 1))  # segment size is irrelevant to decoding
    codec = Codec(policy)
    candidates = [s for s in request.sources if s.chunk_index != request.chunk_index]
    channels: dict[str, grpc.aio.Channel] = {}

    def open_source(stripe: int) -> _Source | None:
        while candidates:
            source = candidates.pop(0)
            channel = channels.get(source.address)
            if channel is None:
                channel = channels[source.address] = grpc.aio.insecure_channel(source.address, options=CHANNEL_OPTIONS)
            return _Source(pb_grpc.ChunkServiceStub(channel), source, stripe, request.piece_count - stripe)
        return None

    writer = await asyncio.to_thread(store.begin, request.chunk_id, request.piece_size_max)
    active: list[_Source] = []
    try:
        for _ in range(request.k):
            opened = open_source(0)
            if opened is None:
                raise RepairFailed(f"only {len(active)} sources for {request.chunk_id}, need {request.k}")
            active.append(opened)
        for stripe in range(request.piece_count):
            pieces = await _stripe_pieces(active, stripe, open_source)
            try:
                segment = codec.decode(pieces)
            except CodecError as error:
                raise RepairFailed(f"stripe {stripe}: {error}") from error
            piece = codec.encode(segment)[request.chunk_index]
            await asyncio.to_thread(writer.append, stripe, piece, zlib.crc32(piece))
        await asyncio.to_thread(writer.commit)
        log.info("event=repaired chunk_id=%s pieces=%d bytes=%d", request.chunk_id, writer.piece_count,
                 writer.data_bytes)
        return pb.RepairChunkReply(size_bytes=writer.data_bytes, piece_count=writer.piece_count)
    finally:
        for source in active:
            source.cancel()
        await asyncio.to_thread(writer.abort)  # a no-op after commit
        for channel in channels.values():
            await channel.close(None)


async def _stripe_pieces(active: list[_Source], stripe: int, open_source: Any) -> dict[int, bytes]:
    pieces: dict[int, bytes] = {}
    pending = list(active)
    while pending:
        results = await asyncio.gather(*(s.next_piece() for s in pending), return_exceptions=True)
        retry: list[_Source] = []
        for source, result in zip(pending, results, strict=True):
            if isinstance(result, bytes):
                pieces[source.chunk_index] = result
                continue
            if not isinstance(result, (RepairFailed, grpc.aio.AioRpcError, TimeoutError)):
                raise result
            log.warning("event=repair_source_failed chunk_id=%s error=%s", source.source.chunk_id, result)
            source.cancel()
            active.remove(source)
            replacement = open_source(stripe)
            if replacement is None:
                raise RepairFailed(f"stripe {stripe}: ran out of sources")
            active.append(replacement)
            retry.append(replacement)
        pending = retry
    return pieces
