"""Garbage-collection loop: delete the chunks metadata no longer references.

Theory of operation: metadata keeps a GC queue of (node_id, chunk_id) entries for deleted or
overwritten versions and for orphans of failed uploads. Every gc_interval_s this loop asks
for this node's entries older than gc_grace_s (the grace lets in-flight writes and reads of
a just-replaced version finish), deletes those chunk files, then acknowledges with GcDone.
Deleting is idempotent (an absent chunk counts as deleted), so a crash between delete and
GcDone only repeats work. A full batch is followed at once by another, up to
gc_rounds_per_tick_max rounds, so a backlog drains without one tick running forever.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from grpc import aio

from datanode import limits
from datanode.errors import DatanodeError, InvalidChunkId
from datanode.metadata_client import MetadataClient
from datanode.periodic import FailureLog, next_delay_s, sleep_until_stopped
from datanode.store import ChunkStat, ChunkStore
from proto import metadata_pb2

logger = logging.getLogger("tessera.datanode.gc")


def _stat_or_none(store: ChunkStore, chunk_id: str) -> ChunkStat | None:
    try:
        return store.stat(chunk_id)
    except InvalidChunkId:
        raise
    except DatanodeError:  # absent or unreadable: nothing newer to protect
        return None


def delete_entries(store: ChunkStore, node_id: str,
                   entries: Sequence[metadata_pb2.GcEntry]) -> list[metadata_pb2.GcEntry]:
    """Delete each entry's chunk (blocking file I/O); return the entries that are done."""
    done = []
    for entry in entries:
        if entry.node_id != node_id:
            logger.warning("event=gc_foreign_entry node_id=%s chunk_id=%s", entry.node_id, entry.chunk_id)
            continue
        try:
            stat = _stat_or_none(store, entry.chunk_id)
            if stat is not None and stat.mtime_ns > entry.enqueued_ns:
                # Written after it was queued for deletion (a repair put the chunk back here):
                # the entry is about an older copy, so it is done without touching this one.
                logger.info("event=gc_skip_newer chunk_id=%s", entry.chunk_id)
                done.append(entry)
                continue
            existed = store.delete(entry.chunk_id)
        except InvalidChunkId:
            logger.warning("event=gc_invalid_chunk_id chunk_id=%r", entry.chunk_id)  # can never exist here
        except OSError:
            logger.exception("event=gc_delete_failed chunk_id=%s", entry.chunk_id)
            continue  # not acknowledged: metadata hands it out again
        else:
            logger.debug("event=gc_deleted chunk_id=%s existed=%s", entry.chunk_id, existed)
        done.append(entry)
    return done


async def _gc_list(client: MetadataClient, request: metadata_pb2.GcListRequest,
                   timeout_s: float) -> metadata_pb2.GcListReply:
    reply: metadata_pb2.GcListReply = await client.call(lambda stub: stub.GcList(request, timeout=timeout_s))
    return reply


async def _gc_done(client: MetadataClient, request: metadata_pb2.GcDoneRequest, timeout_s: float) -> None:
    await client.call(lambda stub: stub.GcDone(request, timeout=timeout_s))


async def gc_once(client: MetadataClient, store: ChunkStore, node_id: str, grace_s: float,
                  timeout_s: float, now_ns: Callable[[], int] = time.time_ns) -> int:
    """Run one GC tick; returns how many entries were acknowledged. Raises AioRpcError."""
    acknowledged = 0
    for _ in range(limits.gc_rounds_per_tick_max):
        request = metadata_pb2.GcListRequest(node_id=node_id, limit=limits.gc_batch_entries_max,
                                             older_than_ns=now_ns() - int(grace_s * 1e9))
        reply = await _gc_list(client, request, timeout_s)
        entries = list(reply.entries)
        if not entries:
            break
        done = await asyncio.to_thread(delete_entries, store, node_id, entries)
        if done:
            done_request = metadata_pb2.GcDoneRequest(entries=done)
            await _gc_done(client, done_request, timeout_s)
            acknowledged += len(done)
        if len(entries) < limits.gc_batch_entries_max or len(done) < len(entries):
            break  # caught up, or stuck on entries we cannot finish: wait for the next tick
    if acknowledged:
        logger.info("event=gc_round acknowledged=%d", acknowledged)
    return acknowledged


async def run_gc(client: MetadataClient, store: ChunkStore, node_id: str, interval_s: float,
                 grace_s: float, timeout_s: float, stop: asyncio.Event) -> None:
    """GC until stop is set; metadata errors are logged and retried on the next tick."""
    failures = FailureLog()
    while not stop.is_set():
        started = time.monotonic()
        address = client.address
        try:
            await gc_once(client, store, node_id, grace_s, timeout_s)
        except aio.AioRpcError as error:
            level = logging.WARNING if failures.failed() else logging.DEBUG
            logger.log(level, "event=gc_failed metadata=%s code=%s failures=%d detail=%r", address,
                       error.code().name, failures.failures, error.details())
        except Exception:  # a bug must not silently end GC: log it, try again next tick
            failures.failed()
            logger.exception("event=gc_error metadata=%s", address)
        else:
            failures.succeeded()
        if await sleep_until_stopped(stop, next_delay_s(started, interval_s)):
            return
