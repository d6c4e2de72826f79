"""gRPC MetadataService: a thin adapter between the wire and the log / state machine.

Theory of operation
-------------------
Mutations become one `Command` stamped with the server clock and go through `Log.propose`
(today a single-node log, later Raft); queries read the state machine directly. Every
`MetadataError` is answered with the gRPC status below and `details = "<ClassName>: message"`;
the frontend maps on the class name. Anything else is a bug or a broken store and surfaces
as UNKNOWN with the traceback in this process's log.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from typing import Any, Final, NoReturn, TypeVar

import grpc
import grpc.aio

from metadata import errors, limits, placement
from metadata.config import MetadataConfig
from metadata.log import Log, SingleNodeLog
from metadata.state_machine import StateMachine
from proto import metadata_pb2, metadata_pb2_grpc

log = logging.getLogger("tessera.metadata.server")

R = TypeVar("R")
Context = grpc.aio.ServicerContext[Any, Any]

status_codes: Final[dict[type[errors.MetadataError], grpc.StatusCode]] = {
    errors.NoSuchBucket: grpc.StatusCode.NOT_FOUND,
    errors.NoSuchKey: grpc.StatusCode.NOT_FOUND,
    errors.BucketAlreadyOwnedByYou: grpc.StatusCode.ALREADY_EXISTS,
    errors.BucketNotEmpty: grpc.StatusCode.FAILED_PRECONDITION,
    errors.TooManyBuckets: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.InsufficientNodes: grpc.StatusCode.UNAVAILABLE,
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NoSuchUpload: grpc.StatusCode.NOT_FOUND,
    errors.InvalidPart: grpc.StatusCode.FAILED_PRECONDITION,
    errors.InvalidPartOrder: grpc.StatusCode.FAILED_PRECONDITION,
    errors.EntityTooSmall: grpc.StatusCode.FAILED_PRECONDITION,
}


def status_code(error: errors.MetadataError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in status_codes:
            return status_codes[cls]
    return grpc.StatusCode.UNKNOWN


# The generated servicer module is untyped, hence the ignore on subclassing it.
class MetadataServicer(metadata_pb2_grpc.MetadataServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        config: MetadataConfig,
        state_machine: StateMachine,
        command_log: Log,
        clock_ns: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._state_machine = state_machine
        self._log = command_log
        self._clock_ns = clock_ns
        self._rng = rng or random.Random()

    # ---- mutations -------------------------------------------------------------------

    async def CreateBucket(
        self, request: metadata_pb2.CreateBucketRequest, context: Context
    ) -> metadata_pb2.CreateBucketReply:
        command = metadata_pb2.Command(create_bucket=request)
        return await self._propose(context, command, metadata_pb2.CreateBucketReply)

    async def DeleteBucket(
        self, request: metadata_pb2.DeleteBucketRequest, context: Context
    ) -> metadata_pb2.DeleteBucketReply:
        command = metadata_pb2.Command(delete_bucket=request)
        return await self._propose(context, command, metadata_pb2.DeleteBucketReply)

    async def PutObject(self, request: metadata_pb2.PutObjectRequest, context: Context) -> metadata_pb2.PutObjectReply:
        command = metadata_pb2.Command(put_object=request)
        return await self._propose(context, command, metadata_pb2.PutObjectReply)

    async def DeleteObject(
        self, request: metadata_pb2.DeleteObjectRequest, context: Context
    ) -> metadata_pb2.DeleteObjectReply:
        command = metadata_pb2.Command(delete_object=request)
        return await self._propose(context, command, metadata_pb2.DeleteObjectReply)

    async def Heartbeat(self, request: metadata_pb2.HeartbeatRequest, context: Context) -> metadata_pb2.HeartbeatReply:
        command = metadata_pb2.Command(heartbeat=request)
        return await self._propose(context, command, metadata_pb2.HeartbeatReply)

    async def GcDone(self, request: metadata_pb2.GcDoneRequest, context: Context) -> metadata_pb2.GcDoneReply:
        command = metadata_pb2.Command(gc_done=request)
        return await self._propose(context, command, metadata_pb2.GcDoneReply)

    async def CreateMultipartUpload(
        self, request: metadata_pb2.CreateMultipartUploadRequest, context: Context
    ) -> metadata_pb2.CreateMultipartUploadReply:
        command = metadata_pb2.Command(create_multipart_upload=request)
        return await self._propose(context, command, metadata_pb2.CreateMultipartUploadReply)

    async def UploadPart(
        self, request: metadata_pb2.UploadPartRequest, context: Context
    ) -> metadata_pb2.UploadPartReply:
        command = metadata_pb2.Command(upload_part=request)
        return await self._propose(context, command, metadata_pb2.UploadPartReply)

    async def CompleteMultipartUpload(
        self, request: metadata_pb2.CompleteMultipartUploadRequest, context: Context
    ) -> metadata_pb2.CompleteMultipartUploadReply:
        command = metadata_pb2.Command(complete_multipart_upload=request)
        return await self._propose(context, command, metadata_pb2.CompleteMultipartUploadReply)

    async def AbortMultipartUpload(
        self, request: metadata_pb2.AbortMultipartUploadRequest, context: Context
    ) -> metadata_pb2.AbortMultipartUploadReply:
        command = metadata_pb2.Command(abort_multipart_upload=request)
        return await self._propose(context, command, metadata_pb2.AbortMultipartUploadReply)

    # ---- queries ---------------------------------------------------------------------

    async def HeadBucket(self, request: metadata_pb2.BucketRequest, context: Context) -> metadata_pb2.BucketReply:
        return await self._read(
            context, lambda: metadata_pb2.BucketReply(bucket=self._state_machine.head_bucket(request.name))
        )

    async def ListBuckets(
        self, request: metadata_pb2.ListBucketsRequest, context: Context
    ) -> metadata_pb2.ListBucketsReply:
        return await self._read(
            context, lambda: metadata_pb2.ListBucketsReply(buckets=self._state_machine.list_buckets())
        )

    async def GetObject(self, request: metadata_pb2.GetObjectRequest, context: Context) -> metadata_pb2.GetObjectReply:
        def read() -> metadata_pb2.GetObjectReply:
            return metadata_pb2.GetObjectReply(version=self._state_machine.get_object(request.bucket, request.key))

        return await self._read(context, read)

    async def ListObjects(
        self, request: metadata_pb2.ListObjectsRequest, context: Context
    ) -> metadata_pb2.ListObjectsReply:
        # proto3 cannot tell max_keys=0 from unset: 0 means the default page size, so a
        # client wanting S3's max-keys=0 answers it itself (empty page, not truncated).
        max_keys = min(request.max_keys or limits.list_entries_default, limits.list_entries_max)

        def read() -> metadata_pb2.ListObjectsReply:
            return self._state_machine.list_objects(
                request.bucket, request.prefix, request.delimiter, request.start_after, max_keys
            )

        return await self._read(context, read)

    async def GetUpload(self, request: metadata_pb2.GetUploadRequest, context: Context) -> metadata_pb2.GetUploadReply:
        def read() -> metadata_pb2.GetUploadReply:
            upload = self._state_machine.get_upload(request.bucket, request.key, request.upload_id)
            return metadata_pb2.GetUploadReply(upload=upload)

        return await self._read(context, read)

    async def ListParts(self, request: metadata_pb2.ListPartsRequest, context: Context) -> metadata_pb2.ListPartsReply:
        # As for ListObjects, max_parts 0 (proto3 "unset") means the default page.
        max_parts = min(request.max_parts or limits.list_parts_default, limits.list_parts_max)

        def read() -> metadata_pb2.ListPartsReply:
            return self._state_machine.list_parts(
                request.bucket, request.key, request.upload_id, request.part_number_marker, max_parts
            )

        return await self._read(context, read)

    async def ListMultipartUploads(
        self, request: metadata_pb2.ListMultipartUploadsRequest, context: Context
    ) -> metadata_pb2.ListMultipartUploadsReply:
        max_uploads = min(request.max_uploads or limits.list_uploads_default, limits.list_uploads_max)

        def read() -> metadata_pb2.ListMultipartUploadsReply:
            return self._state_machine.list_multipart_uploads(
                request.bucket, request.prefix, request.key_marker, request.upload_id_marker, max_uploads
            )

        return await self._read(context, read)

    async def Placement(self, request: metadata_pb2.PlacementRequest, context: Context) -> metadata_pb2.PlacementReply:
        count = request.count or self._config.k + self._config.m  # 0: the default policy's width

        def read() -> metadata_pb2.PlacementReply:
            chosen = placement.choose_placement(self._nodes(), count, self._config.m, self._rng)
            return metadata_pb2.PlacementReply(nodes=chosen)

        return await self._read(context, read)

    async def ListNodes(self, request: metadata_pb2.ListNodesRequest, context: Context) -> metadata_pb2.ListNodesReply:
        return await self._read(context, lambda: metadata_pb2.ListNodesReply(nodes=self._nodes()))

    async def GcList(self, request: metadata_pb2.GcListRequest, context: Context) -> metadata_pb2.GcListReply:
        limit = min(request.limit or limits.gc_list_entries_default, limits.gc_list_entries_max)

        def read() -> metadata_pb2.GcListReply:
            entries = self._state_machine.gc_list(request.node_id, limit, request.older_than_ns)
            return metadata_pb2.GcListReply(entries=entries)

        return await self._read(context, read)

    async def Status(self, request: metadata_pb2.StatusRequest, context: Context) -> metadata_pb2.StatusReply:
        counts = self._state_machine.counts()
        return metadata_pb2.StatusReply(
            bucket_count=counts.bucket_count,
            object_count=counts.object_count,
            applied_index=counts.applied_index,
            node_id=self._config.node_id,
            pid=os.getpid(),
            gc_queue_length=counts.gc_queue_length,
        )

    # ---- helpers ---------------------------------------------------------------------

    def _nodes(self) -> list[metadata_pb2.Node]:
        return placement.with_states(
            self._state_machine.list_nodes(),
            self._clock_ns(),
            self._config.suspect_after_ns,
            self._config.down_after_ns,
        )

    async def _propose(self, context: Context, command: metadata_pb2.Command, reply_type: type[R]) -> R:
        command.now_ns = self._clock_ns()
        command.request_id = request_id(context)
        try:
            reply = await self._log.propose(command)
        except errors.MetadataError as error:
            await _abort(context, error)
        assert isinstance(reply, reply_type), f"{type(reply).__name__} is not {reply_type.__name__}"
        return reply

    async def _read(self, context: Context, read: Callable[[], R]) -> R:
        try:
            return read()
        except errors.MetadataError as error:
            await _abort(context, error)


REQUEST_ID_HEADER = "x-tessera-request-id"  # gRPC metadata: the same value on every retry of a request


def request_id(context: Context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str):
            return value[:limits.request_id_bytes_max]
    return ""


async def _abort(context: Context, error: errors.MetadataError) -> NoReturn:
    log.debug("rejected error=%s message=%s", type(error).__name__, error)
    await context.abort(status_code(error), f"{type(error).__name__}: {error}")


class MetadataServer:
    """One running replica: store, log and gRPC server. Create with `await MetadataServer.start()`."""

    def __init__(
        self,
        config: MetadataConfig,
        state_machine: StateMachine,
        command_log: SingleNodeLog,
        server: grpc.aio.Server,
        port: int,
    ) -> None:
        self.config = config
        self.state_machine = state_machine
        self.port = port
        self._log = command_log
        self._server = server

    @classmethod
    async def start(
        cls, config: MetadataConfig, clock_ns: Callable[[], int] = time.time_ns, rng: random.Random | None = None
    ) -> MetadataServer:
        config.validate()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        state_machine = StateMachine(config.db_path)
        try:
            command_log = SingleNodeLog(state_machine)
            server = grpc.aio.server(
                options=[
                    ("grpc.max_receive_message_length", limits.grpc_message_bytes_max),
                    ("grpc.max_send_message_length", limits.grpc_message_bytes_max),
                    ("grpc.so_reuseport", 0),  # a second replica on the same port must fail, not share it
                ]
            )
            servicer = MetadataServicer(config, state_machine, command_log, clock_ns, rng)
            metadata_pb2_grpc.add_MetadataServiceServicer_to_server(servicer, server)
            port = server.add_insecure_port(config.listen)
            if port == 0:
                raise OSError(f"cannot listen on {config.listen}")
            await server.start()
        except BaseException:
            state_machine.close()
            raise
        log.info("listening node_id=%s address=%s port=%d", config.node_id, config.listen, port)
        return cls(config, state_machine, command_log, server, port)

    async def stop(self, grace_s: float = limits.shutdown_grace_s) -> None:
        """Stop accepting RPCs, let in-flight ones finish for `grace_s`, then close the store."""
        await self._server.stop(grace_s)
        await self._log.close()
        self.state_machine.close()
        log.info("stopped node_id=%s", self.config.node_id)
