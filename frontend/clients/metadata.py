"""Async client of the MetadataService.

Every call has a deadline; calls that fail because metadata is unreachable are
retried a bounded number of times with jittered backoff (tenacity). Typed
service errors (NoSuchKey, ...) are never retried: they are answers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import grpc
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from frontend import limits
from frontend.clients.errors import METADATA_ERRORS, BackendError, MetadataUnavailable
from proto import metadata_pb2 as pb
from proto import metadata_pb2_grpc
from tessera.rpc import CHANNEL_OPTIONS, error_name

log = logging.getLogger("tessera.frontend.metadata")
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class _Retryable(Exception):
    pass


MUTATIONS = frozenset({"CreateBucket", "DeleteBucket", "PutObject", "DeleteObject", "CreateMultipartUpload",
                       "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload", "ReportChunk"})
REQUEST_ID_HEADER = "x-tessera-request-id"  # the metadata service applies a request id at most once


class MetadataClient:
    """Talks to whichever metadata replica leads, following NotLeader hints and failing over."""

    def __init__(self, addresses: str | Sequence[str]) -> None:
        self.addresses = [addresses] if isinstance(addresses, str) else list(addresses)
        assert self.addresses, "at least one metadata address"
        self._channels = {a: grpc.aio.insecure_channel(a, options=CHANNEL_OPTIONS) for a in self.addresses}
        self._stubs = {a: metadata_pb2_grpc.MetadataServiceStub(c) for a, c in self._channels.items()}
        self._leader = self.addresses[0]

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)

    def _stub_for(self, address: str) -> Any:
        if address not in self._stubs:  # a leader hint naming a replica we were not told about
            self._channels[address] = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
            self._stubs[address] = metadata_pb2_grpc.MetadataServiceStub(self._channels[address])
        return self._stubs[address]

    async def _call(self, method: str, request: Any) -> Any:
        # One id for every attempt: a mutation applied before its reply was lost is not applied twice.
        headers = ((REQUEST_ID_HEADER, uuid.uuid4().hex),) if method in MUTATIONS else ()
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(limits.metadata_retry_attempts_max)
                | stop_after_delay(limits.metadata_retry_s_max),
                wait=wait_random_exponential(multiplier=0.02, max=0.5),
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    address = self._leader
                    try:
                        return await getattr(self._stub_for(address), method)(
                            request, timeout=limits.metadata_call_timeout_s, metadata=headers)
                    except grpc.aio.AioRpcError as error:
                        raise self._translate(address, error) from error
        except _Retryable as error:
            raise MetadataUnavailable(str(error)) from error
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _translate(self, address: str, error: grpc.aio.AioRpcError) -> Exception:
        name = error_name(error.details())
        if name == "NotLeader":
            hint = leader_hint(error.details() or "")
            self._leader = hint if hint else self._next_after(address)
            return _Retryable(f"{address} is not the leader")
        typed = METADATA_ERRORS.get(name)
        if typed is not None:  # details are "Name: message"; the S3 message is the part after the name
            return typed((error.details() or "").split(":", 1)[-1].strip())
        if error.code() in RETRYABLE_CODES:
            log.warning("metadata unavailable address=%s code=%s details=%s", address, error.code().name,
                        error.details())
            self._leader = self._next_after(address)
            return _Retryable(f"{error.code().name}: {error.details()}")
        return BackendError(f"metadata {error.code().name}: {error.details()}")

    def _next_after(self, address: str) -> str:
        position = self.addresses.index(address) if address in self.addresses else -1
        return self.addresses[(position + 1) % len(self.addresses)]

    async def create_bucket(self, name: str, region: str, owner: str) -> None:
        request = pb.CreateBucketRequest(name=name, region=region, owner=owner)
        await self._call("CreateBucket", request)

    async def delete_bucket(self, name: str) -> None:
        request = pb.DeleteBucketRequest(name=name)
        await self._call("DeleteBucket", request)

    async def head_bucket(self, name: str) -> pb.Bucket:
        request = pb.BucketRequest(name=name)
        reply: pb.BucketReply = await self._call("HeadBucket", request)
        return reply.bucket

    async def list_buckets(self) -> list[pb.Bucket]:
        request = pb.ListBucketsRequest()
        reply: pb.ListBucketsReply = await self._call("ListBuckets", request)
        return list(reply.buckets)

    async def put_object(self, version: pb.ObjectVersion) -> str:
        request = pb.PutObjectRequest(version=version)
        reply: pb.PutObjectReply = await self._call("PutObject", request)
        return reply.version_id

    async def get_object(self, bucket: str, key: str) -> pb.ObjectVersion:
        request = pb.GetObjectRequest(bucket=bucket, key=key)
        reply: pb.GetObjectReply = await self._call("GetObject", request)
        return reply.version

    async def delete_object(self, bucket: str, key: str) -> bool:
        request = pb.DeleteObjectRequest(bucket=bucket, key=key)
        reply: pb.DeleteObjectReply = await self._call("DeleteObject", request)
        return reply.existed

    async def list_objects(self, bucket: str, prefix: str, delimiter: str, start_after: str,
                           max_keys: int) -> pb.ListObjectsReply:
        request = pb.ListObjectsRequest(bucket=bucket, prefix=prefix, delimiter=delimiter,
                                        start_after=start_after, max_keys=max_keys)
        reply: pb.ListObjectsReply = await self._call("ListObjects", request)
        return reply

    async def create_multipart_upload(self, upload: pb.MultipartUpload) -> None:
        await self._call("CreateMultipartUpload", pb.CreateMultipartUploadRequest(upload=upload))

    async def upload_part(self, upload_id: str, part: pb.Part) -> None:
        await self._call("UploadPart", pb.UploadPartRequest(upload_id=upload_id, part=part))

    async def complete_multipart_upload(self, request: pb.CompleteMultipartUploadRequest) -> pb.ObjectVersion:
        reply: pb.CompleteMultipartUploadReply = await self._call("CompleteMultipartUpload", request)
        return reply.version

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        request = pb.AbortMultipartUploadRequest(bucket=bucket, key=key, upload_id=upload_id)
        await self._call("AbortMultipartUpload", request)

    async def get_upload(self, bucket: str, key: str, upload_id: str) -> pb.MultipartUpload:
        request = pb.GetUploadRequest(bucket=bucket, key=key, upload_id=upload_id)
        reply: pb.GetUploadReply = await self._call("GetUpload", request)
        return reply.upload

    async def list_parts(self, request: pb.ListPartsRequest) -> pb.ListPartsReply:
        reply: pb.ListPartsReply = await self._call("ListParts", request)
        return reply

    async def list_multipart_uploads(self, request: pb.ListMultipartUploadsRequest) -> pb.ListMultipartUploadsReply:
        reply: pb.ListMultipartUploadsReply = await self._call("ListMultipartUploads", request)
        return reply

    async def report_chunk(self, node_id: str, chunk_id: str, reason: str) -> None:
        await self._call("ReportChunk", pb.ReportChunkRequest(node_id=node_id, chunk_id=chunk_id, reason=reason))

    async def placement(self, count: int) -> list[pb.Node]:
        request = pb.PlacementRequest(count=count)
        reply: pb.PlacementReply = await self._call("Placement", request)
        return list(reply.nodes)

    async def list_nodes(self) -> list[pb.Node]:
        request = pb.ListNodesRequest()
        reply: pb.ListNodesReply = await self._call("ListNodes", request)
        return list(reply.nodes)


def leader_hint(details: str) -> str:
    """The leader address a NotLeader error names, or "" when the replica knows none.

    >>> leader_hint("NotLeader: leader_id=meta-2 leader_address=127.0.0.1:9102")
    '127.0.0.1:9102'
    """
    for field in details.split():
        if field.startswith("leader_address="):
            return field.split("=", 1)[1]
    return ""
