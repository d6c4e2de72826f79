"""`python -m metadata`: run one metadata replica until SIGTERM or SIGINT.

    python -m metadata --node-id meta-1 --listen 127.0.0.1:7100 --data DIR \\
        [--suspect-after-s 3] [--down-after-s 10] [--k 4 --m 2]

Prints one line `metadata node_id=<id> listening=<host>:<port>` on stdout once serving
(useful with port 0), stops gracefully on SIGTERM/SIGINT and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from metadata.config import MetadataConfig
from metadata.server import MetadataServer

log = logging.getLogger("tessera.metadata")


def parse_config(argv: list[str] | None = None) -> MetadataConfig:
    defaults = MetadataConfig(node_id="-", data_dir=Path("."))
    parser = argparse.ArgumentParser(prog="python -m metadata", description="Tessera metadata replica")
    parser.add_argument("--node-id", required=True, help="replica name reported by Status, e.g. meta-1")
    parser.add_argument("--listen", default=defaults.listen, help="gRPC host:port (port 0: pick a free one)")
    parser.add_argument("--data", required=True, type=Path, help="data directory (RocksDB under DIR/db)")
    parser.add_argument("--suspect-after-s", type=float, default=defaults.suspect_after_s)
    parser.add_argument("--down-after-s", type=float, default=defaults.down_after_s)
    parser.add_argument("--k", type=int, default=defaults.k, help="default data chunks per stripe")
    parser.add_argument("--m", type=int, default=defaults.m, help="default parity chunks (and chunks per zone max)")
    parser.add_argument("--peers", default="", help="id=host:port of every replica, comma-separated")
    parser.add_argument("--raft-tick-ms", type=int, default=int(defaults.raft_tick_s * 1000))
    parser.add_argument("--election-ticks", type=int, default=defaults.election_ticks)
    parser.add_argument("--compact-entries", type=int, default=defaults.compact_entries)
    parser.add_argument("--repair-grace-s", type=float, default=defaults.repair_grace_s)
    parser.add_argument("--repair-interval-s", type=float, default=defaults.repair_interval_s)
    parser.add_argument("--repair-concurrency", type=int, default=defaults.repair_concurrency)
    parser.add_argument("--repair-bytes-per-s-max", type=int, default=defaults.repair_bytes_per_s_max)
    parser.add_argument("--orphan-grace-s", type=float, default=defaults.orphan_grace_s)
    parser.add_argument("--repair-full-scan-s", type=float, default=defaults.repair_full_scan_s)
    parser.add_argument("--join", action="store_true",
                        help="join an existing cluster (added with `tessera metadata add`) instead of bootstrapping")
    args = parser.parse_args(argv)
    peers = tuple(tuple(item.split("=", 1)) for item in args.peers.split(",") if item)
    config = MetadataConfig(
        node_id=args.node_id,
        data_dir=args.data,
        listen=args.listen,
        suspect_after_s=args.suspect_after_s,
        down_after_s=args.down_after_s,
        k=args.k,
        m=args.m,
        peers=peers,
        raft_tick_s=args.raft_tick_ms / 1000,
        election_ticks=args.election_ticks,
        compact_entries=args.compact_entries,
        repair_grace_s=args.repair_grace_s,
        repair_interval_s=args.repair_interval_s,
        repair_concurrency=args.repair_concurrency,
        repair_bytes_per_s_max=args.repair_bytes_per_s_max,
        join=args.join,
        orphan_grace_s=args.orphan_grace_s,
        repair_full_scan_s=args.repair_full_scan_s,
    )
    try:
        config.validate()
    except ValueError as error:
        parser.error(str(error))
    return config


async def run(config: MetadataConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await MetadataServer.start(config)
    host = config.listen.rpartition(":")[0]
    print(f"metadata node_id={config.node_id} listening={host}:{server.port}", flush=True)
    try:
        await stop.wait()
        log.info("stopping on signal node_id=%s", config.node_id)
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("TESSERA_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(parse_config(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
