"""MetadataClient: the datanode's channels to the metadata replicas.

Theory of operation: calls go to one replica at a time; when a call fails the client moves
to the next address, so the next call (the loops retry on their own schedule) tries another
replica. That finds a live replica after a crash whether or not metadata forwards to its
leader. No retry here: heartbeat and GC are periodic, the next tick is the retry.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from grpc import aio

from datanode import limits
from proto import metadata_pb2_grpc

T = TypeVar("T")

# The generated stub is untyped; calls through it return grpc.aio call objects.
MetadataStub = Any


class MetadataClient:
    def __init__(self, addresses: Sequence[str]) -> None:
        assert addresses, "at least one metadata address"
        self._addresses = tuple(addresses)
        options = [("grpc.max_receive_message_length", limits.grpc_message_bytes_max)]
        self._channels = [aio.insecure_channel(address, options=options) for address in self._addresses]
        self._stubs = [metadata_pb2_grpc.MetadataServiceStub(channel) for channel in self._channels]
        self._current = 0

    @property
    def address(self) -> str:
        """The replica the next call goes to."""
        return self._addresses[self._current]

    async def call(self, invoke: Callable[[MetadataStub], Awaitable[T]]) -> T:
        """Run invoke(stub) on the current replica; on an RPC error rotate, then re-raise."""
        try:
            return await invoke(self._stubs[self._current])
        except aio.AioRpcError:
            self._current = (self._current + 1) % len(self._stubs)
            raise

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close(None)
