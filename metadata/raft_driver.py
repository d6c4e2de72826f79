"""The asyncio driver around the sans-I/O Raft core: disk, network, apply, clients.

Theory of operation: one task (`run`) owns the core. It wakes on a tick (every `tick_s`), on
a received message, or on a client request, and then drains `ready()` following the core's
ordering contract: (1) persist hard state, entries and snapshot meta in one synced RocksDB
batch, (2) hand messages to per-peer sender queues, (3) apply committed entries to the state
machine (which stores the applied index in the same batch as their effects) and release
ReadIndex reads whose index is applied, (4) `advance()`. Nothing else touches the core.

Clients wait on futures: a proposal resolves when its entry (same index AND term) is applied,
with the state machine's reply or error; it fails with NotLeader when another entry takes its
index or leadership moves, and the client retries (the request id makes that safe). A read
first gets a ReadIndex from the core, then waits until that index is applied locally.
Peers are reached through `Transport` (gRPC in production); a peer's queue is bounded and
drops when full, which Raft tolerates like any lost message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass, field
from typing import Final, Protocol

from metadata.errors import MetadataError
from metadata.raft.core import NotLeader as CoreNotLeader
from metadata.raft.core import RaftConfig, RaftCore, Ready, Role
from metadata.raft.messages import ConfChange, EntryKind, Message, MessageKind
from metadata.raft_storage import RocksLogStorage
from metadata.state_machine import Reply, StateMachine

log = logging.getLogger("tessera.metadata.raft")

peer_queue_messages_max: Final = 1024     # messages buffered per peer before dropping (Raft retries)
peer_batch_messages_max: Final = 64       # messages per Step RPC
proposal_timeout_s: Final = 10.0          # a proposal not applied by then fails (client retries)
compact_every_entries: Final = 10_000     # keep at most about this many applied entries in the log


class NotLeader(MetadataError):
    """This replica cannot serve the request; `leader_id` names the leader when known."""

    def __init__(self, leader_id: str, leader_address: str) -> None:
        super().__init__(f"leader_id={leader_id or '-'} leader_address={leader_address}")
        self.leader_id = leader_id
        self.leader_address = leader_address


class Transport(Protocol):
    async def send(self, peer_id: str, messages: list[Message]) -> None: ...

    async def send_snapshot(self, peer_id: str, message: Message) -> None: ...


@dataclass(slots=True)
class _Waiter:
    term: int
    future: asyncio.Future[Reply | None]


@dataclass(slots=True)
class _Peer:
    queue: asyncio.Queue[Message] = field(default_factory=lambda: asyncio.Queue(peer_queue_messages_max))
    task: asyncio.Task[None] | None = None


class RaftDriver:
    def __init__(self, node_id: str, peers: dict[str, str], storage: RocksLogStorage, machine: StateMachine,
                 transport: Transport, *, tick_s: float, config: RaftConfig | None = None,
                 compact_entries: int = compact_every_entries, rng: random.Random | None = None,
                 join: bool = False) -> None:
        """`peers` of a new cluster bootstrap it; with `join` this replica waits to be added instead."""
        self.node_id = node_id
        self.peers = dict(peers)  # node id -> address, this node included
        self.storage = storage
        self.machine = machine
        self.transport = transport
        self.tick_s = tick_s
        self.compact_entries = compact_entries
        self.core = RaftCore(node_id, () if join else tuple(peers), storage, rng or random.Random(), config,
                             logging.getLogger("tessera.metadata.raft.core"), applied=machine.applied_index)
        self._wake = asyncio.Event()
        self.apply_lock = asyncio.Lock()  # applies and snapshot installs never overlap
        self._proposals: dict[int, _Waiter] = {}
        self._reads: dict[bytes, asyncio.Future[int]] = {}
        self._ready_reads: list[tuple[int, asyncio.Future[int]]] = []
        self._barrier_waiters: list[asyncio.Future[int]] = []
        self._barrier_in_flight: asyncio.Future[int] | None = None
        self._peers: dict[str, _Peer] = {}
        self._task: asyncio.Task[None] | None = None
        self._snapshot_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.applied_index = machine.applied_index

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"raft-{self.node_id}")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        tasks = [t for t in [self._task, *self._snapshot_tasks, *(p.task for p in self._peers.values())]
                 if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._fail_all(NotLeader("", ""))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + self.tick_s
        while not self._stopping:
            timeout = max(0.0, next_tick - loop.time())
            with contextlib.suppress(TimeoutError):  # a timeout is simply the next tick
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            if loop.time() >= next_tick:
                self.core.tick()
                next_tick = loop.time() + self.tick_s
            while self.core.has_ready():
                await self._handle(self.core.ready())

    async def _handle(self, ready: Ready) -> None:
        if ready.hard_state is not None or ready.entries_to_persist or ready.snapshot is not None:
            await asyncio.to_thread(self.storage.persist, ready.hard_state, ready.entries_to_persist,
                                    ready.snapshot)
        for message in ready.messages:
            self._send(message)
        if ready.snapshot is not None:
            self.applied_index = max(self.applied_index, ready.snapshot.index)
        for entry in ready.committed_entries:
            await self._apply(entry.index, entry.term, entry.kind, entry.data)
        for read in ready.read_states:
            future = self._reads.pop(read.request_id, None)
            if future is not None and not future.done():
                self._ready_reads.append((read.index, future))
        self._release_reads()
        if ready.soft_state is not None:
            self._on_role_change(ready.soft_state.role, ready.soft_state.leader_id)
        self.core.advance(ready)
        await self._maybe_compact()

    # ---- apply ------------------------------------------------------------------------

    async def _apply(self, index: int, term: int, kind: EntryKind, data: bytes) -> None:
        reply: Reply | None = None
        error: BaseException | None = None
        if kind is EntryKind.NORMAL:
            async with self.apply_lock:
                try:
                    reply = await asyncio.to_thread(self.machine.apply, index, data)
                except MetadataError as failure:
                    error = failure
        self.applied_index = max(self.applied_index, index)
        waiter = self._proposals.pop(index, None)
        if waiter is None or waiter.future.done():
            return
        if waiter.term != term:  # another leader's entry took this index: ours was lost
            waiter.future.set_exception(NotLeader(*self.leader()))
        elif error is not None:
            waiter.future.set_exception(error)
        else:
            waiter.future.set_result(reply)

    def _release_reads(self) -> None:
        waiting = []
        for index, future in self._ready_reads:
            if future.done():
                continue
            if index <= self.applied_index:
                future.set_result(index)
            else:
                waiting.append((index, future))
        self._ready_reads = waiting

    def _on_role_change(self, role: Role, leader_id: str) -> None:
        log.info("role node=%s role=%s term=%d leader=%s", self.node_id, role.name.lower(), self.core.term,
                 leader_id or "-")
        if role is not Role.LEADER:  # entries we proposed may still commit; clients retry by request id
            self._fail_all(NotLeader(*self.leader()))

    def _fail_all(self, error: MetadataError) -> None:
        for waiter in self._proposals.values():
            if not waiter.future.done():
                waiter.future.set_exception(error)
        self._proposals.clear()
        for future in [*self._reads.values(), *(f for _, f in self._ready_reads), *self._barrier_waiters]:
            if not future.done():
                future.set_exception(error)
        self._reads.clear()
        self._ready_reads.clear()
        self._barrier_waiters.clear()

    async def _maybe_compact(self) -> None:
        snapshot = self.storage.snapshot_meta()
        if self.applied_index - snapshot.index >= 2 * self.compact_entries:
            target = self.applied_index - self.compact_entries
            await asyncio.to_thread(self.storage.compact, target)
            log.info("compacted node=%s through=%d", self.node_id, target)

    # ---- network ---------------------------------------------------------------------

    def _send(self, message: Message) -> None:
        if message.kind is MessageKind.SNAPSHOT:
            task = asyncio.create_task(self._send_snapshot(message))
            self._snapshot_tasks.add(task)
            task.add_done_callback(self._snapshot_tasks.discard)
            return
        peer = self._peers.get(message.to_id)
        if peer is None:
            peer = self._peers[message.to_id] = _Peer()
            peer.task = asyncio.create_task(self._sender(message.to_id, peer.queue))
        try:
            peer.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.debug("peer queue full peer=%s dropping kind=%s", message.to_id, message.kind.name)

    async def _sender(self, peer_id: str, queue: asyncio.Queue[Message]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < peer_batch_messages_max:
                batch.append(queue.get_nowait())
            try:
                await self.transport.send(peer_id, batch)
            except Exception as error:  # an unreachable peer is normal life for Raft
                log.debug("send failed peer=%s error=%s", peer_id, error)

    async def _send_snapshot(self, message: Message) -> None:
        try:
            await self.transport.send_snapshot(message.to_id, message)
            success = True
        except Exception as error:
            log.warning("snapshot send failed peer=%s error=%s", message.to_id, error)
            success = False
        self.core.report_snapshot(message.to_id, success)
        self._wake.set()

    def step(self, messages: list[Message]) -> None:
        """Messages received from peers."""
        for message in messages:
            self.core.step(message)
        self._wake.set()

    # ---- clients ---------------------------------------------------------------------

    def address_of(self, node_id: str) -> str:
        """A replica's address: from the startup peers, else from the replicated member table."""
        return self.peers.get(node_id) or self.machine.member_address(node_id) or ""

    def leader(self) -> tuple[str, str]:
        leader_id = self.core.lead
        return leader_id, self.address_of(leader_id) if leader_id else ""

    def is_leader(self) -> bool:
        return self.core.role is Role.LEADER

    async def propose(self, data: bytes) -> Reply:
        if not self.is_leader():
            raise NotLeader(*self.leader())
        try:
            index = self.core.propose(data)
        except CoreNotLeader:
            raise NotLeader(*self.leader()) from None
        reply = await self._wait_applied(index)
        assert reply is not None, f"entry {index} is fresh, so apply cannot skip it"
        return reply

    async def change_membership(self, change: ConfChange) -> None:
        """Add or remove one voter; returns once the change is committed and applied here."""
        if not self.is_leader():
            raise NotLeader(*self.leader())
        try:
            index = self.core.propose_conf_change(change)
        except CoreNotLeader:
            raise NotLeader(*self.leader()) from None
        await self._wait_applied(index)

    async def _wait_applied(self, index: int) -> Reply | None:
        future: asyncio.Future[Reply | None] = asyncio.get_running_loop().create_future()
        self._proposals[index] = _Waiter(self.core.term, future)
        self._wake.set()
        return await asyncio.wait_for(asyncio.shield(future), proposal_timeout_s)

    async def read_barrier(self) -> None:
        """Return once this replica has applied everything committed before the call (ReadIndex).

        Reads that arrive while a ReadIndex round is in flight wait for the next round, which
        starts after they arrived (so it covers every write acknowledged before them); one round
        then serves all of them: concurrent reads cost one heartbeat round, not one each.
        """
        if not self.is_leader():
            raise NotLeader(*self.leader())
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._barrier_waiters.append(future)
        if self._barrier_in_flight is None or self._barrier_in_flight.done():
            self._start_barrier_round()
        await asyncio.wait_for(asyncio.shield(future), proposal_timeout_s)

    def _start_barrier_round(self) -> None:
        waiters, self._barrier_waiters = self._barrier_waiters, []
        request_id = uuid.uuid4().bytes
        round_future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._reads[request_id] = round_future
        self._barrier_in_flight = round_future
        round_future.add_done_callback(lambda done: self._finish_barrier_round(done, waiters))
        try:
            self.core.read_index(request_id)
        except CoreNotLeader:
            self._reads.pop(request_id, None)
            round_future.set_exception(NotLeader(*self.leader()))
        self._wake.set()

    def _finish_barrier_round(self, done: asyncio.Future[int], waiters: list[asyncio.Future[int]]) -> None:
        for waiter in waiters:
            if waiter.done():
                continue
            if done.cancelled():
                waiter.set_exception(NotLeader(*self.leader()))
            elif done.exception() is not None:
                waiter.set_exception(done.exception())  # type: ignore[arg-type]
            else:
                waiter.set_result(done.result())
        if self._barrier_waiters:  # reads that arrived during the round get the next one
            self._start_barrier_round()

    async def transfer_leadership(self, target: str) -> None:
        self.core.transfer_leadership(target)
        self._wake.set()
