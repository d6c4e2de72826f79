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


class Md5(Hasher, Protocol):
    def hexdigest(self) -> str: ...


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


def chunk_id(data_id: str, part_number: int, chunk_index: int) -> str:
    """Chunk names: data_id is the part's own id, or the version id for a single PUT."""
    return f"{data_id}.{part_number}.{chunk_index}"


def policy_message(policy: ErasurePolicy) -> pb.ErasurePolicy:
    return pb.ErasurePolicy(backend=policy.backend, k=policy.k, m=policy.m, segment_size=policy.segment_size)


class ObjectWriter:
    def __init__(self, metadata: MetadataClient, pool: DatanodePool, policy: ErasurePolicy,
                 write_quorum_configured: int = 0) -> None:
        self._metadata = metadata
        self._pool = pool
        self.policy = policy
        self._quorum_configured = write_quorum_configured
        self._codecs: dict[ErasurePolicy, Codec] = {}

    def _codec(self, policy: ErasurePolicy) -> Codec:
        codec = self._codecs.get(policy)
        if codec is None:
            codec = self._codecs[policy] = Codec(policy)
        return codec

    async def put(self, request: PutRequest, body: AsyncIterator[bytes], hashers: Sequence[Hasher],
                  before_commit: Callable[[BodyDigest], Mapping[str, str]]) -> pb.ObjectVersion:
        """Store the body and commit it; `before_commit` validates it and returns checksums to keep."""
        md5 = hashlib.md5()
        all_hashers: list[Hasher] = [md5, *hashers]
        stream = segments(body, self.policy.segment_size)
        first = await anext(stream, b"")
        version = pb.ObjectVersion(
            bucket=request.bucket, key=request.key, version_id=uuid.uuid4().hex,
            content_type=request.content_type, user_metadata=dict(request.user_metadata),
            headers=dict(request.headers), policy=policy_message(self.policy))
        if len(first) < min(limits.inline_bytes_max, self.policy.segment_size):
            _update_all(all_hashers, first)
            version.is_inline = True
            version.inline_data = first
            version.size_bytes = len(first)
            version.checksums.update(before_commit(BodyDigest(md5.hexdigest(), len(first))))
            version.etag = md5.hexdigest()
        else:
            part, checksums = await self._store(self.policy, version.version_id, 1, first, stream, all_hashers,
                                                md5, request.size_bytes_max, before_commit)
            version.parts.append(part)
            version.size_bytes = part.size_bytes
            version.etag = part.etag
            version.checksums.update(checksums)
        version.last_modified_ns = time.time_ns()
        await self._metadata.put_object(version)
        return version

    async def put_part(self, upload: pb.MultipartUpload, part_number: int, body: AsyncIterator[bytes],
                       hashers: Sequence[Hasher], before_commit: Callable[[BodyDigest], Mapping[str, str]],
                       size_bytes_max: int) -> pb.Part:
        """Store one part of a multipart upload under a fresh data_id and record it in metadata."""
        policy = ErasurePolicy(backend=upload.policy.backend, k=upload.policy.k, m=upload.policy.m,
                               segment_size=upload.policy.segment_size)
        md5 = hashlib.md5()
        all_hashers: list[Hasher] = [md5, *hashers]
        stream = segments(body, policy.segment_size)
        first = await anext(stream, b"")
        data_id = uuid.uuid4().hex
        if first:
            part, checksums = await self._store(policy, data_id, part_number, first, stream, all_hashers, md5,
                                                size_bytes_max, before_commit)
        else:  # an empty part has no stripes and so no chunks
            part = pb.Part(part_number=part_number, size_bytes=0, etag=md5.hexdigest())
            checksums = before_commit(BodyDigest(md5.hexdigest(), 0))
        part.data_id = data_id
        part.checksums.update(checksums)
        part.last_modified_ns = time.time_ns()
        await self._metadata.upload_part(upload.upload_id, part)
        return part

    async def _store(self, policy: ErasurePolicy, data_id: str, part_number: int, first: bytes,
                     stream: AsyncIterator[bytes], hashers: Sequence[Hasher], md5: Md5, size_bytes_max: int,
                     before_commit: Callable[[BodyDigest], Mapping[str, str]]) -> tuple[pb.Part, Mapping[str, str]]:
        """Stripe a body onto k+m datanodes; chunks are committed only once `before_commit` accepted it."""
        codec = self._codec(policy)
        nodes = await self._metadata.placement(policy.width)
        await asyncio.gather(*(self._pool.connect(node.address) for node in nodes if node.state == "up"))
        piece_size_max = codec.piece_size(policy.segment_size)
        writers = [ChunkWriter(self._pool, node.node_id, node.address, chunk_id(data_id, part_number, index),
                               piece_size_max)
                   for index, node in enumerate(nodes)]
        quorum = write_quorum(policy.k, policy.m, self._quorum_configured)
        try:
            size = await self._write_segments(codec, writers, quorum, first, stream, hashers, size_bytes_max)
            digest = BodyDigest(md5.hexdigest(), size)
            checksums = before_commit(digest)
            durable = await asyncio.gather(*(w.finish(commit=True) for w in writers))
            reduce_write_quorum(durable, quorum)
        except BaseException:
            await _abort(writers)
            raise
        part = pb.Part(part_number=part_number, size_bytes=size, etag=digest.md5_hex, piece_size_max=piece_size_max,
                       chunks=[pb.ChunkLocation(chunk_index=i, node_id=w.node_id, missing=not ok)
                               for i, (w, ok) in enumerate(zip(writers, durable, strict=True))])
        return part, checksums

    async def _write_segments(self, codec: Codec, writers: Sequence[ChunkWriter], quorum: int, first: bytes,
                              stream: AsyncIterator[bytes], hashers: Sequence[Hasher], size_bytes_max: int) -> int:
        size = 0
        segment = first
        while segment:
            size += len(segment)
            if size > size_bytes_max:
                raise EntityTooLarge(f"body exceeds {size_bytes_max} bytes")
            hashing = asyncio.get_running_loop().run_in_executor(None, _update_all, hashers, segment)
            pieces = codec.encode(segment)
            await hashing
            await asyncio.gather(*(w.send(p) for w, p in zip(writers, pieces, strict=True)))
            reduce_write_quorum([not w.failed for w in writers], quorum)
            segment = await anext(stream, b"")
        return size


async def _abort(writers: Sequence[ChunkWriter]) -> None:
    await asyncio.gather(*(w.finish(commit=False) for w in writers), return_exceptions=True)


def _update_all(hashers: Sequence[Hasher], data: bytes) -> None:
    for hasher in hashers:
        hasher.update(data)
