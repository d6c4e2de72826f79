"""Read path: stream a byte range of an object version, decoding around failures.

Theory of operation: for each part the range touches, a StripeReader opens k
chunk streams (data chunks first, so a healthy read only concatenates) over just
the stripes the range needs. Stripes are read in lockstep. When a stream errors,
times out or returns a corrupt piece, it is dropped and the next unused chunk
(parity, or a data chunk on a node believed down) is opened from the current
stripe on; with k pieces in hand the segment is decoded. Fewer than k usable
chunks raises ReadQuorumError. The first stripe is fetched before the caller
commits to a response status, so an unreadable object yields an error, not a
truncated 200.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from frontend.clients.datanode import ChunkReader, DatanodePool
from frontend.clients.errors import ChunkUnavailable
from frontend.objects.errors import ReadQuorumError
from frontend.objects.nodes import NodeDirectory
from frontend.objects.put import chunk_id
from proto import metadata_pb2 as pb
from tessera.codec import Codec, CodecError, ErasurePolicy

log = logging.getLogger("tessera.frontend.read")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Inclusive byte range [first, last] inside an object."""

    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def policy_of(version: pb.ObjectVersion) -> ErasurePolicy:
    p = version.policy
    return ErasurePolicy(backend=p.backend, k=p.k, m=p.m, segment_size=p.segment_size)


class StripeReader:
    """Reads stripes [first, last] of one part, keeping k healthy chunk streams open."""

    def __init__(self, pool: DatanodePool, nodes: dict[str, pb.Node], codec: Codec, version_id: str,
                 part: pb.Part, first: int, last: int, on_corrupt: Callable[[str, str, str], None]) -> None:
        self._pool = pool
        self._on_corrupt = on_corrupt
        self._nodes = nodes
        self._codec = codec
        self._version_id = version_id
        self._part = part
        self._last = last
        self._active: dict[int, ChunkReader] = {}
        self._candidates = self._ordered_candidates()
        for _ in range(codec.policy.k):
            self._open_next(first)

    def _ordered_candidates(self) -> list[pb.ChunkLocation]:
        """Data before parity; chunks on nodes not known to be up, or missing, last."""
        k = self._codec.policy.k

        def rank(location: pb.ChunkLocation) -> tuple[int, int]:
            node = self._nodes.get(location.node_id)
            healthy = node is not None and node.state == "up" and not location.missing
            return (0 if healthy else 1, 0 if location.chunk_index < k else 1)

        return sorted(self._part.chunks, key=rank)

    def _open_next(self, stripe: int) -> int | None:
        """Open the next candidate chunk from `stripe` on; its chunk index, or None when none is left."""
        while self._candidates:
            location = self._candidates.pop(0)
            node = self._nodes.get(location.node_id)
            if node is None or location.missing:
                continue
            self._active[location.chunk_index] = ChunkReader(
                self._pool, location.node_id, node.address,
                chunk_id(self._part.data_id or self._version_id, self._part.part_number, location.chunk_index),
                stripe, self._last - stripe + 1)
            return location.chunk_index
        return None

    async def read_stripe(self, stripe: int) -> bytes:
        pieces: dict[int, bytes] = {}
        pending = dict(self._active)
        while pending:
            indexes = list(pending)
            results = await asyncio.gather(*(pending[i].next_piece() for i in indexes),
                                           return_exceptions=True)
            pending = {}
            for index, result in zip(indexes, results, strict=True):
                if isinstance(result, bytes):
                    pieces[index] = result
                    continue
                if not isinstance(result, ChunkUnavailable):
                    raise result
                log.warning("degraded read chunk=%s node=%s reason=%s",
                            result.chunk_id, result.node_id, result.reason)
                if result.reason.startswith("DATA_LOSS") or result.reason.startswith("bad piece"):
                    self._on_corrupt(result.node_id, result.chunk_id, "corrupt")
                self._active.pop(index).cancel()
                replacement = self._open_next(stripe)
                if replacement is None:
                    raise ReadQuorumError(f"stripe {stripe}: fewer than k chunks readable")
                pending[replacement] = self._active[replacement]
        try:
            return self._codec.decode(pieces)
        except CodecError as error:
            raise ReadQuorumError(f"stripe {stripe}: {error}") from error

    def close(self) -> None:
        for reader in self._active.values():
            reader.cancel()
        self._active.clear()


async def read_range(pool: DatanodePool, directory: NodeDirectory, version: pb.ObjectVersion,
                     byte_range: ByteRange) -> AsyncGenerator[bytes, None]:
    """Yield the bytes of `byte_range`; the first yield happens only once data is in hand."""
    if version.is_inline:
        yield version.inline_data[byte_range.first:byte_range.last + 1]
        return
    codec = Codec(policy_of(version))
    segment_size = codec.policy.segment_size
    nodes = await directory.nodes()
    part_offset = 0
    for part in version.parts:
        part_first, part_last = part_offset, part_offset + part.size_bytes - 1
        part_offset += part.size_bytes
        if part.size_bytes == 0 or part_last < byte_range.first or part_first > byte_range.last:
            continue
        local_first = max(byte_range.first, part_first) - part_first
        local_last = min(byte_range.last, part_last) - part_first
        first_stripe, last_stripe = local_first // segment_size, local_last // segment_size
        reader = StripeReader(pool, nodes, codec, version.version_id, part, first_stripe, last_stripe,
                              directory.report_problem)
        try:
            for stripe in range(first_stripe, last_stripe + 1):
                segment = await reader.read_stripe(stripe)
                stripe_start = stripe * segment_size
                yield segment[max(local_first - stripe_start, 0):local_last - stripe_start + 1]
        finally:
            reader.close()
