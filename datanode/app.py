"""The datanode process: ChunkService server plus the heartbeat and GC loops.

Theory of operation: `serve()` opens the store (which removes stale temp files and sums
used bytes), binds and starts the gRPC server, then runs heartbeat and GC as tasks until
`stop` is set. Shutdown order: stop the loops, stop the server with a grace period (in-flight
RPCs finish or are cancelled, which aborts their uncommitted writes), close metadata channels.
"""

import asyncio
import logging
import socket
from collections.abc import Callable

from datanode.config import DatanodeConfig, join_host_port, split_host_port
from datanode.gc import run_gc
from datanode.heartbeat import NodeIdentity, run_heartbeat
from datanode.metadata_client import MetadataClient
from datanode.scrub import ScrubStats, run_scrub
from datanode.server import create_server
from datanode.store import ChunkStore

logger = logging.getLogger("tessera.datanode")

_wildcard_hosts = ("", "0.0.0.0", "::")


def advertised_address(config: DatanodeConfig, bound_port: int) -> str:
    """The host:port clients should dial: explicit advertise_address, else listen host + bound port.

    >>> from pathlib import Path
    >>> c = DatanodeConfig("dn", "a", "127.0.0.1:0", Path("/tmp"), ("m:1",))
    >>> advertised_address(c, 7001)
    '127.0.0.1:7001'
    """
    if config.advertise_address:
        return config.advertise_address
    host, _ = split_host_port(config.listen)
    if host in _wildcard_hosts:
        host = socket.gethostname()  # a wildcard cannot be dialled; the hostname usually can
    return join_host_port(host, bound_port)


async def serve(config: DatanodeConfig, stop: asyncio.Event,
                on_serving: Callable[[str], None] | None = None) -> None:
    """Run the datanode until stop is set; on_serving(address) is called once it accepts RPCs."""
    config.validate()
    store = await asyncio.to_thread(ChunkStore, config.data_dir, config.capacity_bytes)
    scrub_stats = ScrubStats()
    server = create_server(store, config.node_id, config.zone, scrub_stats)
    bound_port = server.add_insecure_port(config.listen)  # raises RuntimeError when it cannot bind
    await server.start()
    address = advertised_address(config, bound_port)
    logger.info("event=serving listen=%s address=%s zone=%s data_dir=%s", config.listen, address,
                config.zone, config.data_dir)
    if on_serving is not None:
        on_serving(address)
    client = MetadataClient(config.metadata_addresses)
    identity = NodeIdentity(config.node_id, config.zone, address)
    loops = [
        asyncio.create_task(run_heartbeat(client, store, identity, config.heartbeat_interval_s,
                                          config.metadata_timeout_s, stop), name="heartbeat"),
        asyncio.create_task(run_gc(client, store, config.node_id, config.gc_interval_s, config.gc_grace_s,
                                   config.metadata_timeout_s, stop), name="gc"),
    ]
    if config.scrub_bytes_per_s > 0:
        loops.append(asyncio.create_task(run_scrub(client, store, config.node_id, config.scrub_bytes_per_s,
                                                   config.scrub_pause_s, config.metadata_timeout_s, scrub_stats,
                                                   stop), name="scrub"))
    try:
        await stop.wait()
    finally:
        logger.info("event=stopping grace_s=%s", config.shutdown_grace_s)
        stop.set()
        await asyncio.gather(*loops, return_exceptions=True)
        await server.stop(config.shutdown_grace_s)
        await client.close()
        logger.info("event=stopped used_bytes=%d chunks=%d", store.used_bytes(), store.chunk_count())
