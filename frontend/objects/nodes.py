"""A short-lived cache of the datanode directory (id -> address, state)."""

from __future__ import annotations

import time
from typing import Final

from frontend.clients.metadata import MetadataClient
from proto import metadata_pb2 as pb

node_cache_ttl_s: Final = 2.0  # states change within seconds; stale entries only cost a retry


class NodeDirectory:
    def __init__(self, metadata: MetadataClient) -> None:
        self._metadata = metadata
        self._nodes: dict[str, pb.Node] = {}
        self._fetched_at = float("-inf")

    async def nodes(self) -> dict[str, pb.Node]:
        if time.monotonic() - self._fetched_at > node_cache_ttl_s:
            self._nodes = {node.node_id: node for node in await self._metadata.list_nodes()}
            self._fetched_at = time.monotonic()
        return self._nodes
