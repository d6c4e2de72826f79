"""The scrubber: re-read every chunk file at a bounded rate, verify every piece, report rot.

Theory of operation: a pass walks the store's chunk ids and reads each chunk piece by piece
through the same verifying reader as ReadChunk (so a flipped bit anywhere in a piece fails
its CRC). Reading is paced to `bytes_per_s`, so scrubbing never starves client traffic. A
corrupt chunk is reported to metadata (ReportChunk "corrupt"), which queues its repair; the
report is idempotent, so a chunk found again before repair costs nothing. Figures (bytes
scrubbed, passes, corrupt pieces found) are kept for NodeInfo / `tessera status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from datanode.errors import ChunkNotFound, CorruptChunk, CorruptPiece, DatanodeError
from datanode.metadata_client import MetadataClient
from datanode.store import ChunkStore
from proto import metadata_pb2

log = logging.getLogger("tessera.datanode.scrub")


@dataclass(slots=True)
class ScrubStats:
    scrubbed_bytes: int = 0
    passes: int = 0
    corrupt_pieces_found: int = 0


def verify_chunk(store: ChunkStore, chunk_id: str) -> int:
    """Read every piece of a chunk (verifying each); returns the bytes read."""
    total = 0
    for _index, data, _crc in store.read_pieces(chunk_id):
        total += len(data)
    return total


async def run_scrub(client: MetadataClient, store: ChunkStore, node_id: str, bytes_per_s: int,
                    pause_between_passes_s: float, timeout_s: float, stats: ScrubStats,
                    stop: asyncio.Event) -> None:
    while not stop.is_set():
        chunk_ids = await asyncio.to_thread(lambda: list(store.list()))
        for chunk_id in chunk_ids:
            if stop.is_set():
                return
            started = time.monotonic()
            try:
                size = await asyncio.to_thread(verify_chunk, store, chunk_id)
            except ChunkNotFound:
                continue  # deleted or replaced meanwhile
            except (CorruptPiece, CorruptChunk) as error:
                stats.corrupt_pieces_found += 1
                log.warning("event=corrupt chunk_id=%s error=%s", chunk_id, error)
                await _report(client, node_id, chunk_id, timeout_s)
                continue
            except DatanodeError as error:
                log.warning("event=scrub_error chunk_id=%s error=%s", chunk_id, error)
                continue
            stats.scrubbed_bytes += size
            if bytes_per_s > 0:  # pace: this chunk may take at most its share of the budget
                delay = size / bytes_per_s - (time.monotonic() - started)
                if delay > 0:
                    await _sleep_or_stop(stop, delay)
        stats.passes += 1
        await _sleep_or_stop(stop, pause_between_passes_s)


async def _report(client: MetadataClient, node_id: str, chunk_id: str, timeout_s: float) -> None:
    request = metadata_pb2.ReportChunkRequest(node_id=node_id, chunk_id=chunk_id, reason="corrupt")
    try:
        await client.call(lambda stub: stub.ReportChunk(request, timeout=timeout_s))
    except Exception as error:  # the next pass reports it again
        log.warning("event=report_failed chunk_id=%s error=%s", chunk_id, error)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):  # the timeout is the normal way out
        await asyncio.wait_for(stop.wait(), seconds)
