"""Write path: stream a body into erasure-coded chunks, then commit the version.

Theory of operation: the body is cut into segments; each segment is hashed (in a
worker thread, hashlib releases the GIL) while it is encoded into k+m pieces, and
piece i is handed to the writer streaming chunk i to its datanode. Writers have
bounded queues, so a slow datanode slows the upload instead of growing memory.
After the last segment the caller's `before_commit` validates the body (MD5,
checksums, signatures); only then do writers send commit, and only when a write
quorum of chunks is durable is the version committed to metadata. Anything that
fails earlier cancels every stream, and datanodes discard uncommitted chunks, so
nothing becomes visible.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from frontend import limits
from frontend.clients.datanode import ChunkWriter, DatanodePool
from frontend.clients.metadata import MetadataClient
from frontend.objects.errors import EntityTooLarge
from frontend.objects.quorum import reduce_write_quorum, write_quorum
from frontend.objects.segments import segments
from proto import metadata_pb2 as pb
from tessera.codec import Codec, ErasurePolicy


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


@dataclass(frozen=True, slots=True)
class PutRequest:
    bucket: str
    key: str
    content_type: str
    user_metadata: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    size_bytes_max: int = limits.put_object_bytes_max


@dataclass(frozen=True, slots=True)
class BodyDigest:
    md5_hex: str
    size_bytes: int


def chunk_id(version_id: str, part_number: int, chunk_index: int) -> str:
    return f"{version_id}.{part_number}.{chunk_index}"


def policy_message(policy: ErasurePolicy) -> pb.ErasurePolicy:
    return pb.ErasurePolicy(backend=policy.backend, k=policy.k, m=policy.m, segment_size=policy.segment_size)


class ObjectWriter:
    def __init__(self, metadata: MetadataClient, pool: DatanodePool, policy: ErasurePolicy,
                 write_quorum_configured: int = 0) -> None:
        self._metadata = metadata
        self._pool = pool
        self._policy = policy
        self._codec = Codec(policy)
        self._quorum = write_quorum(policy.k, policy.m, write_quorum_configured)

    async def put(self, request: PutRequest, body: AsyncIterator[bytes], hashers: Sequence[Hasher],
                  before_commit: Callable[[BodyDigest], Mapping[str, str]]) -> pb.ObjectVersion:
        """Store the body and commit it; `before_commit` validates it and returns checksums to keep."""
        md5 = hashlib.md5()
        all_hashers: list[Hasher] = [md5, *hashers]
        stream = segments(body, self._policy.segment_size)
        first = await anext(stream, b"")
        version = pb.ObjectVersion(
            bucket=request.bucket, key=request.key, version_id=uuid.uuid4().hex,
            content_type=request.content_type, user_metadata=dict(request.user_metadata),
            headers=dict(request.headers), policy=policy_message(self._policy))
        writers: list[ChunkWriter] = []
        if len(first) < min(limits.inline_bytes_max, self._policy.segment_size):
            _update_all(all_hashers, first)
            version.is_inline = True
            version.inline_data = first
            version.size_bytes = len(first)
        else:
            nodes = await self._metadata.placement(self._policy.width)
            piece_size_max = self._codec.piece_size(self._policy.segment_size)
            writers = [ChunkWriter(self._pool, node.node_id, node.address,
                                   chunk_id(version.version_id, 1, index), piece_size_max)
                       for index, node in enumerate(nodes)]
        try:
            if writers:
                part = await self._write_part(writers, first, stream, all_hashers, request)
                version.parts.append(part)
                version.size_bytes = part.size_bytes
            digest = BodyDigest(md5.hexdigest(), version.size_bytes)
            version.checksums.update(before_commit(digest))
            version.etag = digest.md5_hex
            if writers:
                await self._commit_chunks(writers, version.parts[0])
        except BaseException:
            await _abort(writers)
            raise
        version.last_modified_ns = time.time_ns()
        await self._metadata.put_object(version)
        return version

    async def _write_part(self, writers: Sequence[ChunkWriter], first: bytes, stream: AsyncIterator[bytes],
                          hashers: Sequence[Hasher], request: PutRequest) -> pb.Part:
        size = 0
        segment = first
        while segment:
            size += len(segment)
            if size > request.size_bytes_max:
                raise EntityTooLarge(f"body exceeds {request.size_bytes_max} bytes")
            hashing = asyncio.get_running_loop().run_in_executor(None, _update_all, hashers, segment)
            pieces = self._codec.encode(segment)
            await hashing
            await asyncio.gather(*(w.send(p) for w, p in zip(writers, pieces, strict=True)))
            reduce_write_quorum([not w.failed for w in writers], self._quorum)
            segment = await anext(stream, b"")
        return pb.Part(part_number=1, size_bytes=size, piece_size_max=self._codec.piece_size(
                           self._policy.segment_size),
                       chunks=[pb.ChunkLocation(chunk_index=i, node_id=w.node_id)
                               for i, w in enumerate(writers)])

    async def _commit_chunks(self, writers: Sequence[ChunkWriter], part: pb.Part) -> None:
        durable = await asyncio.gather(*(w.finish(commit=True) for w in writers))
        reduce_write_quorum(durable, self._quorum)
        for location, ok in zip(part.chunks, durable, strict=True):
            location.missing = not ok


async def _abort(writers: Sequence[ChunkWriter]) -> None:
    await asyncio.gather(*(w.finish(commit=False) for w in writers), return_exceptions=True)


def _update_all(hashers: Sequence[Hasher], data: bytes) -> None:
    for hasher in hashers:
        hasher.update(data)
