"""`tessera node drain|undrain|remove ID`: take a datanode out of service, with progress.

drain: no new chunks go to the node and repair moves every chunk it holds elsewhere (reads
keep using it meanwhile); `--wait` shows progress until it holds nothing metadata needs.
undrain: back to normal service. remove: forget the node (its chunks count as lost and are
rebuilt from the others): for a node that is gone for good.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Final

import grpc

from proto import metadata_pb2, metadata_pb2_grpc
from tessera.cluster import CLUSTER_FILE
from tessera.membership import find_leader

drain_poll_interval_s: Final = 1.0
drain_wait_s_max: Final = 24 * 3600.0
MODES: Final = {"drain": "draining", "undrain": "", "remove": "removed"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=sorted(MODES))
    parser.add_argument("node_id")
    parser.add_argument("--data", default="data", help="data directory of a cluster started by `tessera up`")
    parser.add_argument("--wait", action="store_true", help="for drain: show progress until the node is empty")


def run(args: argparse.Namespace) -> int:
    cluster = json.loads((Path(args.data) / CLUSTER_FILE).read_text())
    leader = find_leader([n["address"] for n in cluster["nodes"] if n["role"] == "metadata"])
    if leader is None:
        print("no metadata leader answers")
        return 1
    with grpc.insecure_channel(leader) as channel:
        stub = metadata_pb2_grpc.MetadataServiceStub(channel)
        try:
            stub.SetNodeMode(metadata_pb2.SetNodeModeRequest(node_id=args.node_id, mode=MODES[args.action]),
                             timeout=30)
        except grpc.RpcError as error:
            print(f"tessera node {args.action}: {error.details()}")
            return 1
        print(f"{args.node_id}: {args.action} requested")
        if args.action == "drain" and args.wait:
            return _wait_drained(stub, args.node_id)
    return 0


def _wait_drained(stub: metadata_pb2_grpc.MetadataServiceStub, node_id: str) -> int:
    deadline = time.monotonic() + drain_wait_s_max
    initial: int | None = None
    while time.monotonic() < deadline:
        status = stub.DrainStatus(metadata_pb2.DrainStatusRequest(node_id=node_id), timeout=30)
        initial = status.chunks_remaining if initial is None else max(initial, status.chunks_remaining)
        moved = initial - status.chunks_remaining
        filled = round(30 * moved / initial) if initial else 30
        sys.stdout.write(f"\rdraining {node_id}: [{'#' * filled}{'.' * (30 - filled)}] "
                         f"{moved}/{initial} chunks moved ")
        sys.stdout.flush()
        if status.chunks_remaining == 0:
            print(f"\n{node_id} is drained: it holds no chunk metadata needs; stop it or `tessera node remove` it")
            return 0
        time.sleep(drain_poll_interval_s)
    print("\ngave up waiting")
    return 1
