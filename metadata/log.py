"""The command log in front of the state machine: today a single node, tomorrow Raft.

Theory of operation
-------------------
The server never applies a mutation itself: it hands a `Command` (with `now_ns` stamped) to
`Log.propose` and awaits the reply of the state machine. `SingleNodeLog` "commits" by
assigning the next index (applied_index + 1) and applying at once; a Raft log will replace
it behind the same `propose` without any change to the server or the state machine.

Proposals are serialized by one lock, so indices are dense and applies never overlap. The
synced write runs in a worker thread so a slow fsync does not stall reads on the event loop.
Each proposal runs in a shielded task: a client that disconnects (cancelling its RPC) cannot
release the lock while its apply is still writing, which would let two commands race for an
index. `close()` waits for proposals still in flight before the database is closed.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from metadata.state_machine import Reply, StateMachine
from proto import metadata_pb2


class Log(Protocol):
    async def propose(self, command: metadata_pb2.Command) -> Reply:
        """Commit and apply `command`; return its reply or raise its MetadataError."""
        ...


class SingleNodeLog:
    def __init__(self, state_machine: StateMachine) -> None:
        self._state_machine = state_machine
        self._lock = asyncio.Lock()
        self._in_flight: set[asyncio.Task[Reply]] = set()

    async def propose(self, command: metadata_pb2.Command) -> Reply:
        data = command.SerializeToString(deterministic=True)
        task = asyncio.ensure_future(self._commit(data))
        self._in_flight.add(task)
        task.add_done_callback(self._forget)
        return await asyncio.shield(task)

    async def _commit(self, data: bytes) -> Reply:
        async with self._lock:
            index = self._state_machine.applied_index + 1
            reply = await asyncio.to_thread(self._state_machine.apply, index, data)
        assert reply is not None, f"index {index} was fresh, so apply cannot skip it"
        return reply

    def _forget(self, task: asyncio.Task[Reply]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here when the proposer was cancelled and never will

    async def close(self) -> None:
        """Wait for in-flight proposals (their applies cannot be interrupted)."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
