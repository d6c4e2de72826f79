"""`tessera bench-metadata` and `tessera bench-failover`: the metadata service's own figures.

bench-metadata: PutObject commands (tiny inline records, no datanode involved) sent straight
to the Raft leader over gRPC at a chosen concurrency: commit throughput and p50/p99 latency.
Concurrent proposals share one synced write per Raft Ready, which is the group commit.

bench-failover: starts a throw-away local cluster, then repeatedly kills -9 the metadata leader
and times how long until a PUT through the frontend succeeds again (median and max).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Final

import boto3
import grpc
from botocore.config import Config

from proto import metadata_pb2, metadata_pb2_grpc
from tessera.bench import percentile
from tessera.cluster import CLUSTER_FILE, ClusterOptions, LocalCluster, metadata_status
from tessera.credentials import Credentials

concurrency_max: Final = 1024       # asyncio tasks sending commands
commands_max: Final = 1_000_000
failover_trials_max: Final = 100
put_retry_interval_s: Final = 0.01  # how finely failover time is measured


def add_metadata_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="data", help="data directory of a cluster started by `tessera up`")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--count", type=int, default=2000, help="commands per concurrency level")
    parser.add_argument("--json", action="store_true")


async def _commit_load(address: str, concurrency: int, count: int) -> dict[str, Any]:
    bucket = f"metabench-{uuid.uuid4().hex[:8]}"
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = metadata_pb2_grpc.MetadataServiceStub(channel)
        await stub.CreateBucket(metadata_pb2.CreateBucketRequest(name=bucket, region="us-east-1"))
        queue = iter(range(count))

        async def worker() -> None:
            for number in queue:
                version = metadata_pb2.ObjectVersion(bucket=bucket, key=f"k{number}", version_id=uuid.uuid4().hex,
                                                     is_inline=True, inline_data=b"x", size_bytes=1, etag="e")
                started = time.perf_counter()
                await stub.PutObject(metadata_pb2.PutObjectRequest(version=version), timeout=30)
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        for number in range(count):
            await stub.DeleteObject(metadata_pb2.DeleteObjectRequest(bucket=bucket, key=f"k{number}"))
        await stub.DeleteBucket(metadata_pb2.DeleteBucketRequest(name=bucket))
    return {"concurrency": concurrency, "commands": count, "commits_per_s": round(count / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2)}


def run_metadata(args: argparse.Namespace) -> int:
    cluster = json.loads((Path(args.data) / CLUSTER_FILE).read_text())
    addresses = [node["address"] for node in cluster["nodes"] if node["role"] == "metadata"]
    leader = next((a for a in addresses if (s := metadata_status(a)) is not None and s.raft_role == "leader"), None)
    if leader is None:
        print("no metadata leader answers")
        return 1
    results = []
    for concurrency in args.concurrency:
        assert 1 <= concurrency <= concurrency_max and 1 <= args.count <= commands_max
        results.append(asyncio.run(_commit_load(leader, concurrency, args.count)))
    if args.json:
        print(json.dumps({"leader": leader, "results": results}, indent=2))
    else:
        print(f"metadata commits through Raft leader {leader} ({len(addresses)} replicas)")
        for result in results:
            print(f"  concurrency {result['concurrency']:>4}: {result['commits_per_s']:>8} commits/s  "
                  f"p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms")
    return 0


def add_failover_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--port", type=int, default=19500, help="base port of the throw-away cluster")
    parser.add_argument("--raft-tick-ms", type=int, default=100)
    parser.add_argument("--json", action="store_true")


def run_failover(args: argparse.Namespace) -> int:
    assert 1 <= args.trials <= failover_trials_max
    credentials = Credentials("FAILOVERBENCH", "failover-bench-secret")
    with tempfile.TemporaryDirectory(prefix="tessera-failover-") as data:
        cluster = LocalCluster(ClusterOptions(data_dir=Path(data), base_port=args.port,
                                              raft_tick_ms=args.raft_tick_ms), credentials)
        cluster.start()
        try:
            s3 = boto3.client("s3", endpoint_url=cluster.endpoint, region_name="us-east-1",
                              aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                              config=Config(signature_version="s3v4",
                                            retries={"total_max_attempts": 1, "mode": "standard"},
                                            connect_timeout=2, read_timeout=20))
            s3.create_bucket(Bucket="failover")
            times = [_one_failover(cluster, s3, trial) for trial in range(args.trials)]
        finally:
            cluster.stop()
    summary = {"trials": len(times), "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
               "min_s": round(min(times), 3), "raft_tick_ms": args.raft_tick_ms,
               "all_s": [round(t, 3) for t in times]}
    print(json.dumps(summary, indent=2) if args.json else
          f"failover: kill -9 leader -> first successful PUT over {summary['trials']} trials: "
          f"median {summary['median_s']} s, max {summary['max_s']} s, min {summary['min_s']} s "
          f"(raft tick {args.raft_tick_ms} ms)")
    return 0


def _one_failover(cluster: LocalCluster, s3: Any, trial: int) -> float:
    leader = cluster.wait_for_leader()
    s3.put_object(Bucket="failover", Key=f"before-{trial}", Body=b"x")
    killed_at = time.monotonic()
    cluster.kill(leader)
    attempt = 0
    while True:
        attempt += 1
        try:
            s3.put_object(Bucket="failover", Key=f"after-{trial}-{attempt}", Body=b"x")
            break
        except Exception:
            time.sleep(put_retry_interval_s)
    elapsed = time.monotonic() - killed_at
    cluster.start_node(leader)
    return elapsed
