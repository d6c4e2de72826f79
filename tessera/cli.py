"""The `tessera` command: up (local cluster), status, bench."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
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
    status_parser = commands.add_parser("status", help="show nodes, their state and the object counts")
    status.add_arguments(status_parser)
    status_parser.set_defaults(run=status.run)
    bench_parser = commands.add_parser("bench", help="benchmark any S3 endpoint")
    bench.add_arguments(bench_parser)
    bench_parser.set_defaults(run=bench.run)
    metadata_bench = commands.add_parser("bench-metadata", help="Raft commit throughput and latency")
    metabench.add_metadata_arguments(metadata_bench)
    metadata_bench.set_defaults(run=metabench.run_metadata)
    failover_bench = commands.add_parser("bench-failover", help="time from killing the leader to the next PUT")
    metabench.add_failover_arguments(failover_bench)
    failover_bench.set_defaults(run=metabench.run_failover)
    membership_parser = commands.add_parser("metadata", help="add, remove or transfer to a metadata replica")
    membership.add_arguments(membership_parser)
    membership_parser.set_defaults(run=membership.run)
    node_parser = commands.add_parser("node", help="drain, undrain or remove a datanode")
    node_admin.add_arguments(node_parser)
    node_parser.set_defaults(run=node_admin.run)
    repair_bench = commands.add_parser("bench-repair", help="rebuild speed of a dead datanode vs the limit")
    repairbench.add_arguments(repair_bench)
    repair_bench.set_defaults(run=repairbench.run)
    durability_parser = commands.add_parser("durability", help="mean time to data loss of the layout")
    durability.add_arguments(durability_parser)
    durability_parser.set_defaults(run=durability.run)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.run(args))
