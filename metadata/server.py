"""gRPC MetadataService: a thin adapter between the wire and the Raft log / state machine.

Theory of operation
-------------------
Mutations become one `Command` stamped with the server clock and the client's request id and
go through Raft (`RaftDriver.propose`); queries first pass a ReadIndex barrier on the leader
(so they see every write acknowledged before they started: linearizable), then read the
state machine. A follower answers both with NotLeader naming the leader. Every
`MetadataError` is answered with the gRPC status below and `details = "<ClassName>: message"`;
the frontend maps on the class name. Anything else is a bug or a broken store and surfaces
as UNKNOWN with the traceback in this process's log.
"""

from __future__ import annotations

import asyncio
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
from metadata.log import Log
from metadata.raft.core import RaftConfig
from metadata.raft_driver import NotLeader, RaftDriver
from metadata.raft_storage import RocksLogStorage
from metadata.raft_transport import GrpcTransport, RaftServicer
from metadata.repair import RepairConfig, Repairer
from metadata.state_machine import Reply, StateMachine
from proto import metadata_pb2, metadata_pb2_grpc, raft_pb2_grpc

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
    NotLeader: grpc.StatusCode.FAILED_PRECONDITION,
}
leader_wait_s: Final = 15.0  # a replica that has no leader by then still serves (answering NotLeader)


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
        driver: RaftDriver | None = None,
        repairer: Repairer | None = None,
    ) -> None:
        self._config = config
        self._state_machine = state_machine
        self._log = command_log
        self._driver = driver
        self._repairer = repairer
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
            applied_index=self._driver.applied_index if self._driver is not None else counts.applied_index,
            node_id=self._config.node_id,
            pid=os.getpid(),
            gc_queue_length=counts.gc_queue_length,
            **self._raft_status(),
        )

    async def SetNodeMode(
        self, request: metadata_pb2.SetNodeModeRequest, context: Context
    ) -> metadata_pb2.SetNodeModeReply:
        log.info("node mode node_id=%s mode=%s", request.node_id, request.mode or "active")
        return await self._propose(context, metadata_pb2.Command(set_node_mode=request), metadata_pb2.SetNodeModeReply)

    async def DrainStatus(
        self, request: metadata_pb2.DrainStatusRequest, context: Context
    ) -> metadata_pb2.DrainStatusReply:
        def read() -> metadata_pb2.DrainStatusReply:
            remaining = self._state_machine.chunks_on(request.node_id, limits.drain_count_max)
            state = next((n.state for n in self._nodes() if n.node_id == request.node_id), "unknown")
            return metadata_pb2.DrainStatusReply(state=state, chunks_remaining=len(remaining))

        return await self._read(context, read)

    async def ReportChunk(
        self, request: metadata_pb2.ReportChunkRequest, context: Context
    ) -> metadata_pb2.ReportChunkReply:
        log.warning("chunk problem reported node_id=%s chunk_id=%s reason=%s", request.node_id, request.chunk_id,
                    request.reason)
        return await self._propose(context, metadata_pb2.Command(report_chunk=request),
                                   metadata_pb2.ReportChunkReply)

    def _raft_status(self) -> dict[str, Any]:
        if self._driver is None:
            return {}
        repair = self._repairer.status_fields() if self._repairer is not None and self._driver.is_leader() else {}
        status = self._driver.core.status()
        role = status.role.name.lower()
        return {"raft_role": "candidate" if role == "pre_candidate" else role, "term": status.term,
                "commit_index": status.commit_index, "leader_id": status.leader_id, "voters": list(status.voters),
                "last_index": status.last_index,
                "snapshot_index": self._driver.storage.snapshot_meta().index, **repair}

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
        except TimeoutError:  # no quorum answered in time: the client retries (its request id makes it safe)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "Timeout: the command was not committed in time")
        assert isinstance(reply, reply_type), f"{type(reply).__name__} is not {reply_type.__name__}"
        return reply

    async def _read(self, context: Context, read: Callable[[], R]) -> R:
        try:
            if self._driver is not None:
                await self._driver.read_barrier()
            return read()
        except errors.MetadataError as error:
            await _abort(context, error)
        except TimeoutError:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "Timeout: leadership could not be confirmed in time")


REQUEST_ID_HEADER = "x-tessera-request-id"  # gRPC metadata: the same value on every retry of a request


def request_id(context: Context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str):
            return value[:limits.request_id_bytes_max]
    return ""


async def _abort(context: Context, error: errors.MetadataError) -> NoReturn:
    log.debug("rejected error=%s message=%s", type(error).__name__, error)
    await context.abort(status_code(error), f"{type(error).__name__}: {error}")


class RaftCommandLog:
    """The Log the servicer proposes to: commands go through Raft, replies come from apply."""

    def __init__(self, driver: RaftDriver) -> None:
        self._driver = driver

    async def propose(self, command: metadata_pb2.Command) -> Reply:
        return await self._driver.propose(command.SerializeToString(deterministic=True))


class MetadataServer:
    """One running replica: store, log and gRPC server. Create with `await MetadataServer.start()`."""

    def __init__(self, config: MetadataConfig, state_machine: StateMachine, storage: RocksLogStorage,
                 driver: RaftDriver, transport: GrpcTransport, server: grpc.aio.Server, port: int,
                 repairer: Repairer) -> None:
        self.config = config
        self.repairer = repairer
        self.state_machine = state_machine
        self.storage = storage
        self.driver = driver
        self.port = port
        self._transport = transport
        self._server = server

    @classmethod
    async def start(
        cls, config: MetadataConfig, clock_ns: Callable[[], int] = time.time_ns, rng: random.Random | None = None
    ) -> MetadataServer:
        config.validate()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        state_machine = StateMachine(config.db_path)
        storage = RocksLogStorage(config.raft_path)
        peers = config.peer_map
        transport = GrpcTransport(peers, state_machine)
        driver = RaftDriver(config.node_id, peers, storage, state_machine, transport, tick_s=config.raft_tick_s,
                            config=RaftConfig(election_ticks=config.election_ticks),
                            compact_entries=config.compact_entries, join=config.join)
        try:
            server = grpc.aio.server(
                options=[
                    ("grpc.max_receive_message_length", limits.grpc_message_bytes_max),
                    ("grpc.max_send_message_length", limits.grpc_message_bytes_max),
                    ("grpc.so_reuseport", 0),  # a second replica on the same port must fail, not share it
                ]
            )
            repairer = Repairer(state_machine, driver.propose, driver.is_leader, RepairConfig(
                grace_s=config.repair_grace_s, interval_s=config.repair_interval_s,
                concurrency=config.repair_concurrency, bytes_per_s_max=config.repair_bytes_per_s_max,
                suspect_after_ns=config.suspect_after_ns, down_after_ns=config.down_after_ns,
                orphan_grace_s=config.orphan_grace_s, full_scan_s=config.repair_full_scan_s), clock_ns)
            servicer = MetadataServicer(config, state_machine, RaftCommandLog(driver), clock_ns, rng, driver, repairer)
            metadata_pb2_grpc.add_MetadataServiceServicer_to_server(servicer, server)
            raft_pb2_grpc.add_RaftServiceServicer_to_server(RaftServicer(driver), server)
            port = server.add_insecure_port(config.listen)
            if port == 0:
                raise OSError(f"cannot listen on {config.listen}")
            await server.start()
            driver.start()
            repairer.start()
        except BaseException:
            storage.close()
            state_machine.close()
            raise
        log.info("listening node_id=%s address=%s port=%d peers=%s", config.node_id, config.listen, port,
                 ",".join(peers))
        started = cls(config, state_machine, storage, driver, transport, server, port, repairer)
        if not config.join:  # a joining replica hears of a leader only once it has been added
            await started.wait_for_leader(leader_wait_s)
        return started

    async def wait_for_leader(self, timeout_s: float) -> bool:
        """Until some replica leads (its first election after a start takes an election timeout)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.driver.core.lead and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(self.config.raft_tick_s)
        return bool(self.driver.core.lead)

    async def stop(self, grace_s: float = limits.shutdown_grace_s) -> None:
        """Hand leadership over, stop accepting RPCs, let in-flight ones finish, close the stores."""
        await self.repairer.stop()
        await self._hand_over_leadership()
        await self._server.stop(grace_s)
        await self.driver.stop()
        await self._transport.close()
        self.storage.close()
        self.state_machine.close()
        log.info("stopped node_id=%s", self.config.node_id)

    async def _hand_over_leadership(self) -> None:
        status = self.driver.core.status()
        others = [peer for peer in status.voters if peer != self.config.node_id]
        if not self.driver.is_leader() or not others:
            return
        target = max(others, key=lambda peer: status.match_index.get(peer, 0))
        await self.driver.transfer_leadership(target)
        deadline = asyncio.get_running_loop().time() + self.config.raft_tick_s * self.config.election_ticks
        while self.driver.is_leader() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(self.config.raft_tick_s)
        log.info("leadership handed over node_id=%s to=%s done=%s", self.config.node_id, target,
                 not self.driver.is_leader())
