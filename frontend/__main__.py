"""`python -m frontend`: serve the S3 API."""

from __future__ import annotations

import argparse
import logging
import os

from aiohttp import web

from frontend.config import FrontendConfig
from frontend.s3.app import build_app
from tessera.codec import ErasurePolicy
from tessera.logs import setup_logging


def parse_config(argv: list[str] | None = None) -> FrontendConfig:
    parser = argparse.ArgumentParser(prog="python -m frontend", description="Tessera S3 frontend")
    parser.add_argument("--listen", default="127.0.0.1:9000", help="host:port for S3 HTTP")
    parser.add_argument("--metadata", default="127.0.0.1:9001",
                        help="host:port of each metadata replica, comma-separated")
    parser.add_argument("--region", default=os.environ.get("TESSERA_REGION", "us-east-1"))
    parser.add_argument("--k", type=int, default=4, help="data chunks per stripe for new objects")
    parser.add_argument("--m", type=int, default=2, help="parity chunks per stripe for new objects")
    parser.add_argument("--segment-size", type=int, default=4 * 1024 * 1024, help="bytes per stripe")
    parser.add_argument("--write-quorum", type=int, default=0, help="durable chunks before commit (0 = k+1)")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    return FrontendConfig(
        host=host, port=int(port), region=args.region,
        metadata_addresses=tuple(address for address in args.metadata.split(",") if address),
        access_key=os.environ.get("TESSERA_ACCESS_KEY", ""), secret_key=os.environ.get("TESSERA_SECRET_KEY", ""),
        policy=ErasurePolicy(k=args.k, m=args.m, segment_size=args.segment_size),
        write_quorum=args.write_quorum)


def main() -> None:
    setup_logging("frontend")
    config = parse_config()
    logging.getLogger("tessera.frontend").info("listening host=%s port=%d metadata=%s", config.host, config.port,
                                               ",".join(config.metadata_addresses))
    # run_app stops on SIGINT/SIGTERM and gives in-flight requests shutdown_timeout to finish.
    web.run_app(build_app(config), host=config.host, port=config.port, print=None, shutdown_timeout=10,
                access_log=None)


if __name__ == "__main__":
    main()
