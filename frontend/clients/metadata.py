"""Async client of the MetadataService.

Every call has a deadline; calls that fail because metadata is unreachable are
retried a bounded number of times with jittered backoff (tenacity). Typed
service errors (NoSuchKey, ...) are never retried: they are answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from frontend import limits
from frontend.clients.errors import METADATA_ERRORS, BackendError, MetadataUnavailable
from proto import metadata_pb2 as pb
from proto import metadata_pb2_grpc
from tessera.rpc import CHANNEL_OPTIONS, error_name

log = logging.getLogger("tessera.frontend.metadata")
T = TypeVar("T")
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class _Retryable(Exception):
    pass


class MetadataClient:
    def __init__(self, address: str) -> None:
        self.address = address
        self._channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        self._stub = metadata_pb2_grpc.MetadataServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close(None)

    async def _call(self, method: Callable[..., Awaitable[T]], request: object) -> T:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(limits.metadata_retry_attempts_max),
                wait=wait_random_exponential(multiplier=0.05, max=1.0),
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    try:
                        return await method(request, timeout=limits.metadata_call_timeout_s)
                    except grpc.aio.AioRpcError as error:
                        raise _translate(error) from error
        except _Retryable as error:
            raise MetadataUnavailable(str(error)) from error
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def create_bucket(self, name: str, region: str, owner: str) -> None:
        request = pb.CreateBucketRequest(name=name, region=region, owner=owner)
        await self._call(self._stub.CreateBucket, request)

    async def delete_bucket(self, name: str) -> None:
        request = pb.DeleteBucketRequest(name=name)
        await self._call(self._stub.DeleteBucket, request)

    async def head_bucket(self, name: str) -> pb.Bucket:
        request = pb.BucketRequest(name=name)
        reply: pb.BucketReply = await self._call(self._stub.HeadBucket, request)
        return reply.bucket

    async def list_buckets(self) -> list[pb.Bucket]:
        request = pb.ListBucketsRequest()
        reply: pb.ListBucketsReply = await self._call(self._stub.ListBuckets, request)
        return list(reply.buckets)

    async def put_object(self, version: pb.ObjectVersion) -> str:
        request = pb.PutObjectRequest(version=version)
        reply: pb.PutObjectReply = await self._call(self._stub.PutObject, request)
        return reply.version_id

    async def get_object(self, bucket: str, key: str) -> pb.ObjectVersion:
        request = pb.GetObjectRequest(bucket=bucket, key=key)
        reply: pb.GetObjectReply = await self._call(self._stub.GetObject, request)
        return reply.version

    async def delete_object(self, bucket: str, key: str) -> bool:
        request = pb.DeleteObjectRequest(bucket=bucket, key=key)
        reply: pb.DeleteObjectReply = await self._call(self._stub.DeleteObject, request)
        return reply.existed

    async def list_objects(self, bucket: str, prefix: str, delimiter: str, start_after: str,
                           max_keys: int) -> pb.ListObjectsReply:
        request = pb.ListObjectsRequest(bucket=bucket, prefix=prefix, delimiter=delimiter,
                                        start_after=start_after, max_keys=max_keys)
        return await self._call(self._stub.ListObjects, request)

    async def create_multipart_upload(self, upload: pb.MultipartUpload) -> None:
        await self._call(self._stub.CreateMultipartUpload, pb.CreateMultipartUploadRequest(upload=upload))

    async def upload_part(self, upload_id: str, part: pb.Part) -> None:
        await self._call(self._stub.UploadPart, pb.UploadPartRequest(upload_id=upload_id, part=part))

    async def complete_multipart_upload(self, request: pb.CompleteMultipartUploadRequest) -> pb.ObjectVersion:
        reply: pb.CompleteMultipartUploadReply = await self._call(self._stub.CompleteMultipartUpload, request)
        return reply.version

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        request = pb.AbortMultipartUploadRequest(bucket=bucket, key=key, upload_id=upload_id)
        await self._call(self._stub.AbortMultipartUpload, request)

    async def get_upload(self, bucket: str, key: str, upload_id: str) -> pb.MultipartUpload:
        request = pb.GetUploadRequest(bucket=bucket, key=key, upload_id=upload_id)
        reply: pb.GetUploadReply = await self._call(self._stub.GetUpload, request)
        return reply.upload

    async def list_parts(self, request: pb.ListPartsRequest) -> pb.ListPartsReply:
        reply: pb.ListPartsReply = await self._call(self._stub.ListParts, request)
        return reply

    async def list_multipart_uploads(self, request: pb.ListMultipartUploadsRequest) -> pb.ListMultipartUploadsReply:
        reply: pb.ListMultipartUploadsReply = await self._call(self._stub.ListMultipartUploads, request)
        return reply

    async def placement(self, count: int) -> list[pb.Node]:
        request = pb.PlacementRequest(count=count)
        reply: pb.PlacementReply = await self._call(self._stub.Placement, request)
        return list(reply.nodes)

    async def list_nodes(self) -> list[pb.Node]:
        request = pb.ListNodesRequest()
        reply: pb.ListNodesReply = await self._call(self._stub.ListNodes, request)
        return list(reply.nodes)


def _translate(error: grpc.aio.AioRpcError) -> Exception:
    typed = METADATA_ERRORS.get(error_name(error.details()))
    if typed is not None:  # details are "Name: message"; the S3 message is the part after the name
        return typed((error.details() or "").split(":", 1)[-1].strip())
    if error.code() in RETRYABLE_CODES:
        log.warning("metadata unavailable code=%s details=%s", error.code().name, error.details())
        return _Retryable(f"{error.code().name}: {error.details()}")
    return BackendError(f"metadata {error.code().name}: {error.details()}")
