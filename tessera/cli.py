"""The `tessera` command: up (local cluster), status, bench."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from tessera import bench, durability, membership, metabench, node_admin, repairbench, status
from tessera.cluster import ClusterError, ClusterOptions, LocalCluster
from tessera.credentials import load_or_create


def cmd_up(args: argparse.Namespace) -> int:
    data_dir = Path(args.data).resolve()
    credentials = load_or_create(data_dir)
    options = ClusterOptions(data_dir=data_dir, base_port=args.port, region=args.region,
                             datanode_capacity_bytes=args.datanode_capacity_bytes,
                             repair_grace_s=args.repair_grace_s)
    cluster = LocalCluster(options, credentials)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.start()
    except ClusterError as error:
        print(f"tessera up: {error}", file=sys.stderr)
        return 1
    zones = ",".join(options.zones)
    print(f"""Tessera is up: {len(cluster.metadata_nodes())} metadata replicas (Raft), \
{len(cluster.datanodes())} datanodes in zones {zones}, 1 frontend (erasure code {options.k}+{options.m}).
  endpoint:   {cluster.endpoint}
  region:     {options.region}
  access key: {credentials.access_key}
  secret key: {credentials.secret_key}
  data:       {data_dir}   (logs in {data_dir / "logs"})
Try:
  export AWS_ACCESS_KEY_ID={credentials.access_key} AWS_SECRET_ACCESS_KEY={credentials.secret_key} \
AWS_DEFAULT_REGION={options.region}
  aws --endpoint-url {cluster.endpoint} s3 mb s3://demo
Press Ctrl-C to stop.""", flush=True)
    stopping.wait()
    print("stopping...", flush=True)
    cluster.stop()
    return 0


Subcommand = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

# Every subcommand but `up` lives in its own module as add_arguments(parser) + run(args).
SUBCOMMANDS: list[Subcommand] = [
    ("status", "show nodes, their state and the object counts", status.add_arguments, status.run),
    ("bench", "benchmark any S3 endpoint", bench.add_arguments, bench.run),
    ("bench-metadata", "Raft commit throughput and latency", metabench.add_metadata_arguments,
     metabench.run_metadata),
    ("bench-failover", "time from killing the leader to the next PUT", metabench.add_failover_arguments,
     metabench.run_failover),
    ("bench-repair", "rebuild speed of a dead datanode vs the limit", repairbench.add_arguments, repairbench.run),
    ("metadata", "add, remove or transfer to a metadata replica", membership.add_arguments, membership.run),
    ("node", "drain, undrain or remove a datanode", node_admin.add_arguments, node_admin.run),
    ("durability", "mean time to data loss of the layout", durability.add_arguments, durability.run),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tessera", description="Tessera: erasure-coded S3 object store")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a local cluster in the foreground")
    up.add_argument("--data", default="data", help="data directory (default ./data)")
    up.add_argument("--port", type=int, default=9000,
                    help="S3 port; metadata replicas and datanodes use the next 9 ports")
    up.add_argument("--region", default="us-east-1")
    up.add_argument("--datanode-capacity-bytes", type=int, default=0, help="0 = the disk's free space")
    up.add_argument("--repair-grace-s", type=float, default=60.0,
                    help="rebuild a silent datanode's chunks elsewhere after this long")
    up.set_defaults(run=cmd_up)
    for name, help_text, add_arguments, run in SUBCOMMANDS:
        subparser = commands.add_parser(name, help=help_text)
        add_arguments(subparser)
        subparser.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.run(args))
