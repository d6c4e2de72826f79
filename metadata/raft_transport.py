"""Raft over gRPC: the peer transport (client side) and the RaftService (server side).

Messages are sent in batches with one unary Step call per batch; a snapshot is one
client-streaming InstallSnapshot call: the SNAPSHOT message first, then the leader's whole
state machine in batches of (key, value) pairs read from one RocksDB snapshot. The receiver
builds the new store beside its own and swaps it in only when the stream completed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, Final

import grpc

from metadata import limits
from metadata.raft.core import ConfChangeRejected
from metadata.raft.messages import ConfChange, ConfChangeKind, Entry, EntryKind, Message, MessageKind, SnapshotMeta
from metadata.raft_driver import NotLeader, RaftDriver
from metadata.state_machine import StateMachine
from proto import metadata_pb2, raft_pb2, raft_pb2_grpc
from tessera.rpc import CHANNEL_OPTIONS

log = logging.getLogger("tessera.metadata.raft.transport")

step_timeout_s: Final = 2.0             # a peer slower than this is as good as partitioned
snapshot_timeout_s: Final = 300.0       # bound on streaming a whole state machine
snapshot_pairs_per_chunk_max: Final = 2048  # (key, value) pairs per streamed chunk


def to_proto(message: Message) -> raft_pb2.RaftMessage:
    proto = raft_pb2.RaftMessage(
        kind=int(message.kind), from_id=message.from_id, to_id=message.to_id, term=message.term,
        log_term=message.log_term, index=message.index, commit=message.commit, reject=message.reject,
        reject_hint=message.reject_hint, context=message.context,
        entries=[raft_pb2.RaftEntry(term=e.term, index=e.index, kind=int(e.kind), data=e.data)
                 for e in message.entries])
    if message.snapshot is not None:
        proto.has_snapshot = True
        proto.snapshot.CopyFrom(raft_pb2.RaftSnapshotMeta(index=message.snapshot.index, term=message.snapshot.term,
                                                          voters=list(message.snapshot.voters)))
    return proto


def from_proto(proto: raft_pb2.RaftMessage) -> Message:
    snapshot = SnapshotMeta(proto.snapshot.index, proto.snapshot.term, tuple(proto.snapshot.voters)) \
        if proto.has_snapshot else None
    return Message(
        kind=MessageKind(proto.kind), from_id=proto.from_id, to_id=proto.to_id, term=proto.term,
        log_term=proto.log_term, index=proto.index, commit=proto.commit, reject=proto.reject,
        reject_hint=proto.reject_hint, context=bytes(proto.context), snapshot=snapshot,
        entries=tuple(Entry(e.term, e.index, EntryKind(e.kind), bytes(e.data)) for e in proto.entries))


class GrpcTransport:
    def __init__(self, peers: dict[str, str], machine: StateMachine) -> None:
        self._peers = peers
        self._machine = machine
        self._stubs: dict[str, Any] = {}
        self._channels: list[grpc.aio.Channel] = []

    def _stub(self, peer_id: str) -> Any:
        stub = self._stubs.get(peer_id)
        if stub is None:
            address = self._peers.get(peer_id) or self._machine.member_address(peer_id)
            if not address:
                raise ConnectionError(f"no address known for replica {peer_id!r}")
            channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
            self._channels.append(channel)
            stub = self._stubs[peer_id] = raft_pb2_grpc.RaftServiceStub(channel)
        return stub

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close(None)

    async def send(self, peer_id: str, messages: list[Message]) -> None:
        request = raft_pb2.StepRequest(messages=[to_proto(m) for m in messages])
        await self._stub(peer_id).Step(request, timeout=step_timeout_s)

    async def send_snapshot(self, peer_id: str, message: Message) -> None:
        await self._stub(peer_id).InstallSnapshot(self._chunks(message), timeout=snapshot_timeout_s)

    async def _chunks(self, message: Message) -> AsyncIterator[raft_pb2.SnapshotChunk]:
        yield raft_pb2.SnapshotChunk(message=to_proto(message))
        batches: Iterator[tuple[list[bytes], list[bytes]]] = self._machine.snapshot_batches(
            snapshot_pairs_per_chunk_max)
        while True:
            batch = await asyncio.to_thread(next, batches, None)
            if batch is None:
                break
            yield raft_pb2.SnapshotChunk(keys=batch[0], values=batch[1])
        yield raft_pb2.SnapshotChunk(last=True)


class RaftServicer(raft_pb2_grpc.RaftServiceServicer):  # type: ignore[misc]
    def __init__(self, driver: RaftDriver) -> None:
        self._driver = driver

    async def Step(self, request: raft_pb2.StepRequest, context: Any) -> raft_pb2.StepReply:
        self._driver.step([from_proto(m) for m in request.messages])
        return raft_pb2.StepReply()

    async def InstallSnapshot(self, requests: AsyncIterator[raft_pb2.SnapshotChunk],
                              context: Any) -> raft_pb2.InstallSnapshotReply:
        iterator = requests.__aiter__()
        first = await iterator.__anext__()
        message = from_proto(first.message)
        async with self._driver.apply_lock:
            install = self._driver.machine.begin_install()
            complete = False
            try:
                async for chunk in iterator:
                    if chunk.keys:
                        await asyncio.to_thread(install.add, list(chunk.keys), list(chunk.values))
                    if chunk.last:
                        complete = True
                if not complete:
                    raise ValueError("snapshot stream ended without its last chunk")
                applied = await asyncio.to_thread(install.finish)
            except BaseException:
                install.abort()
                raise
            self._driver.applied_index = max(self._driver.applied_index, applied)
        log.info("snapshot installed from=%s meta_index=%d applied=%d", message.from_id,
                 message.snapshot.index if message.snapshot else 0, applied)
        self._driver.step([message])
        return raft_pb2.InstallSnapshotReply()

    async def AddMember(self, request: raft_pb2.MemberRequest, context: Any) -> raft_pb2.MemberReply:
        """Record the new replica's address (replicated), then add it as a voter."""
        member = metadata_pb2.SetMemberRequest(node_id=request.node_id, address=request.address)
        command = metadata_pb2.Command(now_ns=time.time_ns(), request_id=uuid.uuid4().hex, set_member=member)
        await self._membership(context, self._driver.propose(command.SerializeToString(deterministic=True)))
        await self._membership(context, self._driver.change_membership(
            ConfChange(ConfChangeKind.ADD, request.node_id)))
        return raft_pb2.MemberReply(leader_id=self._driver.core.lead)

    async def RemoveMember(self, request: raft_pb2.MemberRequest, context: Any) -> raft_pb2.MemberReply:
        await self._membership(context, self._driver.change_membership(
            ConfChange(ConfChangeKind.REMOVE, request.node_id)))
        return raft_pb2.MemberReply(leader_id=self._driver.core.lead)

    async def _membership(self, context: Any, work: Awaitable[object]) -> None:
        try:
            await work
        except NotLeader as error:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"NotLeader: {error}")
        except ConfChangeRejected as error:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"ConfChangeRejected: {error}")
        except TimeoutError:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "Timeout: the change did not commit in time")

    async def TransferLeadership(self, request: raft_pb2.TransferRequest, context: Any) -> raft_pb2.TransferReply:
        await self._driver.transfer_leadership(request.target_id)
        return raft_pb2.TransferReply(leader_id=self._driver.core.lead)


def grpc_server_options() -> list[tuple[str, int]]:
    return [("grpc.max_receive_message_length", limits.grpc_message_bytes_max),
            ("grpc.max_send_message_length", limits.grpc_message_bytes_max)]
