"""`tessera bench-repair`: how fast a dead datanode's data is rebuilt, against the limit.

Starts a throw-away cluster of 9 datanodes (3 zones x 3), writes objects until one datanode
holds `--node-gb` of chunks, then measures (1) the raw read throughput of the surviving nodes
for the sibling chunks a rebuild must read (plain ReadChunk streams, same concurrency as
repair: the limit), (2) kill -9 of that node -> full redundancy again (grace period excluded
from the repair rate), and (3) the scrubber's unpaced verify rate on one datanode's files.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import boto3
import grpc
from botocore.config import Config

from proto import datanode_pb2, datanode_pb2_grpc
from tessera.bench import PatternStream
from tessera.cluster import ClusterOptions, LocalCluster, metadata_status
from tessera.credentials import Credentials
from tessera.rpc import CHANNEL_OPTIONS

object_bytes: Final = 64 * 1024 * 1024
repair_wait_s_max: Final = 3600.0
grace_s: Final = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node-gb", type=float, default=2.0, help="data on the node that dies, GB")
    parser.add_argument("--port", type=int, default=19700)
    parser.add_argument("--concurrency", type=int, default=2, help="repair concurrency (chunks in flight)")
    parser.add_argument("--json", action="store_true")


def _used(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        reply = datanode_pb2_grpc.ChunkServiceStub(channel).NodeInfo(datanode_pb2.NodeInfoRequest(), timeout=5)
    return int(reply.used_bytes)


async def _read_chunks(addresses_and_ids: list[tuple[str, str]], concurrency: int) -> int:
    total = 0
    channels: dict[str, grpc.aio.Channel] = {}
    queue = iter(addresses_and_ids)

    async def worker() -> None:
        nonlocal total
        for address, chunk_id in queue:
            channel = channels.setdefault(address, grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS))
            stub = datanode_pb2_grpc.ChunkServiceStub(channel)
            async for reply in stub.ReadChunk(datanode_pb2.ReadChunkRequest(chunk_id=chunk_id)):
                total += len(reply.piece.data)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    for channel in channels.values():
        await channel.close(None)
    return total


def _sibling_reads(cluster: LocalCluster, victim: str, k: int) -> list[tuple[str, str]]:
    """For every chunk on the victim, k sibling chunks on surviving nodes (what a rebuild reads)."""
    location: dict[str, str] = {}
    for node in cluster.datanodes():
        for path in (cluster.options.data_dir / node.node_id / "chunks").rglob("*"):
            if path.is_file():
                location[path.name] = node.address
    reads = []
    victim_dir = cluster.options.data_dir / victim / "chunks"
    for path in victim_dir.rglob("*"):
        if not path.is_file():
            continue
        stem, _, index = path.name.rpartition(".")
        siblings = [f"{stem}.{i}" for i in range(k + 2) if str(i) != index]
        reads += [(location[s], s) for s in siblings if s in location and location[s] != location.get(path.name)][:k]
    return reads


def run(args: argparse.Namespace) -> int:
    credentials = Credentials("REPAIRBENCH", "repair-bench-secret")
    with tempfile.TemporaryDirectory(prefix="tessera-repair-") as data:
        cluster = LocalCluster(ClusterOptions(
            data_dir=Path(data), base_port=args.port, datanodes_per_zone=3, repair_grace_s=grace_s,
            repair_interval_s=1.0, suspect_after_s=1.0, down_after_s=2.0, scrub_bytes_per_s=0), credentials)
        cluster.start()
        try:
            result = _measure(cluster, credentials, args)
        finally:
            cluster.stop()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"node {result['victim']} held {result['victim_bytes'] / 1e9:.2f} GB of chunks "
              f"({result['objects']} objects of 64 MiB written at {result['write_mb_s']} MB/s)")
        print(f"raw sibling read throughput (the limit): {result['raw_read_mb_s']} MB/s of reconstructed data")
        print(f"repair: {result['repair_mb_s']} MB/s of reconstructed data; death -> full redundancy "
              f"{result['death_to_redundant_s']} s (of which {grace_s} s grace)")
        print(f"scrub (unpaced verify of one node's files): {result['scrub_mb_s']} MB/s")
    return 0


def _measure(cluster: LocalCluster, credentials: Credentials, args: argparse.Namespace) -> dict[str, Any]:
    s3 = boto3.client("s3", endpoint_url=cluster.endpoint, region_name="us-east-1",
                      aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                      config=Config(signature_version="s3v4", read_timeout=300))
    s3.create_bucket(Bucket="repair")
    victim = cluster.datanodes()[0]
    objects = 0
    started = time.monotonic()
    while _used(victim.address) < args.node_gb * 1e9:
        s3.put_object(Bucket="repair", Key=f"o{objects}", Body=PatternStream(objects, object_bytes))  # type: ignore[arg-type]
        objects += 1
    write_mb_s = objects * object_bytes / (time.monotonic() - started) / 1e6
    victim_bytes = _used(victim.address)
    reads = _sibling_reads(cluster, victim.node_id, 4)
    began = time.monotonic()
    read_bytes = asyncio.run(_read_chunks(reads, args.concurrency))
    raw_mb_s = read_bytes / 4 / (time.monotonic() - began) / 1e6
    leader = cluster.specs[cluster.wait_for_leader()].address
    cluster.kill(victim.node_id)
    died = time.monotonic()
    degraded_seen = False
    while time.monotonic() - died < repair_wait_s_max:
        status = metadata_status(leader)
        if status is not None and status.degraded_stripes > 0:
            degraded_seen = True
        if degraded_seen and status is not None and status.degraded_stripes == 0 and status.repair_queue_length == 0:
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - died
    assert status is not None
    # The scrubber's verifying reader, unpaced, over one surviving node's files (a separate
    # process: the CLI never imports a role).
    store_dir = cluster.options.data_dir / cluster.datanodes()[1].node_id
    verify = subprocess.run([sys.executable, "-m", "datanode.verify", str(store_dir)], capture_output=True,
                            text=True, timeout=repair_wait_s_max)
    verified = json.loads(verify.stdout)
    scrub_mb_s = verified["bytes"] / max(verified["seconds"], 0.001) / 1e6
    return {"victim": victim.node_id, "victim_bytes": victim_bytes, "objects": objects,
            "write_mb_s": round(write_mb_s, 1), "raw_read_mb_s": round(raw_mb_s, 1),
            "repaired_bytes": status.repaired_bytes,
            "repair_mb_s": round(status.repaired_bytes / max(elapsed - grace_s, 0.001) / 1e6, 1),
            "death_to_redundant_s": round(elapsed, 1), "scrub_mb_s": round(scrub_mb_s, 1)}
