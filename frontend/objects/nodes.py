"""A short-lived cache of the datanode directory (id -> address, state)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from frontend.clients.metadata import MetadataClient
from proto import metadata_pb2 as pb

node_cache_ttl_s: Final = 2.0  # states change within seconds; stale entries only cost a retry
reports_in_flight_max: Final = 64  # chunk problem reports sent concurrently

log = logging.getLogger("tessera.frontend.nodes")


class NodeDirectory:
    def __init__(self, metadata: MetadataClient) -> None:
        self._metadata = metadata
        self._reports: set[asyncio.Task[None]] = set()
        self._nodes: dict[str, pb.Node] = {}
        self._fetched_at = float("-inf")

    async def nodes(self) -> dict[str, pb.Node]:
        if time.monotonic() - self._fetched_at > node_cache_ttl_s:
            self._nodes = {node.node_id: node for node in await self._metadata.list_nodes()}
            self._fetched_at = time.monotonic()
        return self._nodes

    def report_problem(self, node_id: str, chunk_id: str, reason: str) -> None:
        """Tell metadata (in the background) that a read found a chunk corrupt, so repair rebuilds it."""
        if len(self._reports) >= reports_in_flight_max:
            return  # a flood of reports would only repeat itself; the scrubber finds it too
        task = asyncio.create_task(self._metadata.report_chunk(node_id, chunk_id, reason))
        self._reports.add(task)
        task.add_done_callback(self._reported)

    def _reported(self, task: asyncio.Task[None]) -> None:
        self._reports.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("chunk report failed: %s", task.exception())
