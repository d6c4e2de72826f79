"""`tessera metadata add|remove|transfer`: change the metadata replica set, one replica at a time.

Adding a replica: start it with `python -m metadata --join --node-id ID --listen HOST:PORT
--peers <existing id=addr,...>,ID=HOST:PORT --data DIR`, then `tessera metadata add --node-id ID
--address HOST:PORT`. The leader replicates the address, then commits the configuration change;
the new replica catches up by snapshot or log. Removing the leader is refused: transfer first.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Final

import grpc

from proto import raft_pb2, raft_pb2_grpc
from tessera.cluster import CLUSTER_FILE, metadata_status

membership_call_timeout_s: Final = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["add", "remove", "transfer"])
    parser.add_argument("--data", default="data", help="data directory of a cluster started by `tessera up`")
    parser.add_argument("--node-id", required=True, help="the replica to add, remove, or make leader")
    parser.add_argument("--address", default="", help="host:port of the replica to add")


def find_leader(addresses: list[str]) -> str | None:
    for address in addresses:
        status = metadata_status(address)
        if status is not None and status.raft_role == "leader":
            return address
    return None


def change(addresses: list[str], action: str, node_id: str, address: str) -> str:
    """Run the change on the leader; returns the leader id afterwards. Raises grpc.RpcError."""
    leader = find_leader(addresses)
    if leader is None:
        raise RuntimeError("no metadata leader answers")
    with grpc.insecure_channel(leader) as channel:
        stub = raft_pb2_grpc.RaftServiceStub(channel)
        if action == "transfer":
            transfer: raft_pb2.TransferReply = stub.TransferLeadership(
                raft_pb2.TransferRequest(target_id=node_id), timeout=membership_call_timeout_s)
            return transfer.leader_id
        request = raft_pb2.MemberRequest(node_id=node_id, address=address)
        method = stub.AddMember if action == "add" else stub.RemoveMember
        reply: raft_pb2.MemberReply = method(request, timeout=membership_call_timeout_s)
        return reply.leader_id


def run(args: argparse.Namespace) -> int:
    cluster = json.loads((Path(args.data) / CLUSTER_FILE).read_text())
    addresses = [node["address"] for node in cluster["nodes"] if node["role"] == "metadata"]
    if args.action == "add" and not args.address:
        print("tessera metadata add needs --address HOST:PORT of the new replica")
        return 2
    try:
        leader = change(addresses + ([args.address] if args.address else []), args.action, args.node_id,
                        args.address)
    except (grpc.RpcError, RuntimeError) as error:
        details = error.details() if isinstance(error, grpc.RpcError) else str(error)
        print(f"tessera metadata {args.action}: {details}")
        return 1
    if args.action == "add":
        cluster["nodes"].append({"role": "metadata", "node_id": args.node_id, "address": args.address,
                                 "zone": "", "pid": None})
        cluster["metadata"] = ",".join([*cluster["metadata"].split(","), args.address])
    elif args.action == "remove":
        cluster["nodes"] = [n for n in cluster["nodes"] if n["node_id"] != args.node_id or n["role"] != "metadata"]
        cluster["metadata"] = ",".join(n["address"] for n in cluster["nodes"] if n["role"] == "metadata")
    (Path(args.data) / CLUSTER_FILE).write_text(json.dumps(cluster, indent=2))
    print(f"tessera metadata {args.action} {args.node_id}: done (leader {leader or '-'})")
    return 0
