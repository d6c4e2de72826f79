"""`python -m datanode --node-id dn-a1 --zone a --listen 127.0.0.1:PORT --data DIR --metadata HOST:PORT`.

Exit status: 0 after SIGTERM/SIGINT (graceful stop), 2 for a bad command line or config,
1 when the node cannot start (port taken, data directory unusable).
"""

import argparse
import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from datanode import limits
from datanode.app import serve
from datanode.config import DatanodeConfig
from datanode.errors import InvalidConfig
from datanode.logs import configure_logging

logger = logging.getLogger("tessera.datanode")


def parse_args(argv: list[str]) -> DatanodeConfig:
    defaults = DatanodeConfig("", "", "", Path(), ())
    parser = argparse.ArgumentParser(prog="python -m datanode", description="Tessera datanode (ChunkService)")
    parser.add_argument("--node-id", required=True, help="unique datanode name, e.g. dn-a1")
    parser.add_argument("--zone", required=True, help="failure-domain label, e.g. a")
    parser.add_argument("--listen", required=True, help="host:port to bind (port 0 = any free port)")
    parser.add_argument("--data", required=True, type=Path, help="data directory (created if missing)")
    parser.add_argument("--metadata", required=True,
                        help="metadata replica host:port, or several separated by commas")
    parser.add_argument("--advertise", default="", help="host:port metadata gives clients (default: listen)")
    parser.add_argument("--capacity-bytes", type=int, default=defaults.capacity_bytes,
                        help="bytes of chunks this node may hold (0 = bounded by free disk space)")
    parser.add_argument("--heartbeat-interval-s", type=float, default=defaults.heartbeat_interval_s)
    parser.add_argument("--gc-interval-s", type=float, default=defaults.gc_interval_s)
    parser.add_argument("--gc-grace-s", type=float, default=defaults.gc_grace_s)
    parser.add_argument("--scrub-bytes-per-s", type=int, default=defaults.scrub_bytes_per_s,
                        help="scrub read rate; 0 disables scrubbing")
    parser.add_argument("--scrub-pause-s", type=float, default=defaults.scrub_pause_s)
    parser.add_argument("--metadata-timeout-s", type=float, default=defaults.metadata_timeout_s)
    parser.add_argument("--log-level", default=defaults.log_level)
    args = parser.parse_args(argv)
    return DatanodeConfig(
        node_id=args.node_id, zone=args.zone, listen=args.listen, data_dir=args.data,
        metadata_addresses=tuple(a.strip() for a in args.metadata.split(",") if a.strip()),
        advertise_address=args.advertise, capacity_bytes=args.capacity_bytes,
        heartbeat_interval_s=args.heartbeat_interval_s, gc_interval_s=args.gc_interval_s,
        gc_grace_s=args.gc_grace_s, metadata_timeout_s=args.metadata_timeout_s,
        scrub_bytes_per_s=args.scrub_bytes_per_s, scrub_pause_s=args.scrub_pause_s,
        shutdown_grace_s=limits.shutdown_grace_s, log_level=args.log_level,
    )


async def _run(config: DatanodeConfig) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(limits.io_threads_max, thread_name_prefix="datanode-io"))
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(config, stop)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config.validate()
    except InvalidConfig as error:
        print(f"python -m datanode: {error}", file=sys.stderr)
        return 2
    configure_logging(config.node_id, config.log_level)
    try:
        asyncio.run(_run(config))
    except (OSError, RuntimeError) as error:
        logger.error("event=start_failed error=%s detail=%r", type(error).__name__, str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
