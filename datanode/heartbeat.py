"""Heartbeat loop: tell metadata every heartbeat_interval_s that this datanode is alive.

Theory of operation: metadata marks a node up/suspect/down from the time of its last
heartbeat, and places chunks by the capacity and usage reported here. Each beat is one
MetadataService.Heartbeat call with a timeout; a failure (metadata down, no leader, slow)
is logged and the loop simply beats again on the next tick, on the next metadata replica.
"""

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field

from grpc import aio

from datanode.metadata_client import MetadataClient
from datanode.periodic import FailureLog, next_delay_s, sleep_until_stopped
from datanode.store import ChunkStore
from proto import metadata_pb2

logger = logging.getLogger("tessera.datanode.heartbeat")


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    node_id: str
    zone: str
    address: str  # host:port of this node's ChunkService, as clients should dial it
    pid: int = field(default_factory=os.getpid)


async def heartbeat_once(client: MetadataClient, store: ChunkStore, identity: NodeIdentity,
                         timeout_s: float) -> None:
    """Send one heartbeat; raises grpc.aio.AioRpcError when metadata does not accept it."""
    capacity_bytes = await asyncio.to_thread(store.capacity_bytes)  # statvfs: off the loop
    node = metadata_pb2.Node(node_id=identity.node_id, zone=identity.zone, address=identity.address,
                             capacity_bytes=capacity_bytes, used_bytes=store.used_bytes(), pid=identity.pid)
    request = metadata_pb2.HeartbeatRequest(node=node)
    await client.call(lambda stub: stub.Heartbeat(request, timeout=timeout_s))


async def run_heartbeat(client: MetadataClient, store: ChunkStore, identity: NodeIdentity,
                        interval_s: float, timeout_s: float, stop: asyncio.Event) -> None:
    """Beat until stop is set. Never raises for metadata errors: it logs and keeps beating."""
    failures = FailureLog()
    while not stop.is_set():
        started = time.monotonic()
        address = client.address
        try:
            await heartbeat_once(client, store, identity, timeout_s)
        except aio.AioRpcError as error:
            _log_failure(failures, address, error.code().name, error.details() or "")
        except Exception as error:  # a bug must not silently end heartbeats: log it, beat again
            logger.exception("event=heartbeat_error metadata=%s", address)
            _log_failure(failures, address, type(error).__name__, str(error))
        else:
            if ended := failures.succeeded():
                logger.info("event=heartbeat_recovered metadata=%s failures=%d", address, ended)
        if await sleep_until_stopped(stop, next_delay_s(started, interval_s)):
            return


def _log_failure(failures: FailureLog, address: str, code: str, details: str) -> None:
    level = logging.WARNING if failures.failed() else logging.DEBUG
    logger.log(level, "event=heartbeat_failed metadata=%s code=%s failures=%d detail=%r",
               address, code, failures.failures, details)
