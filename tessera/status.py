"""`tessera status`: every node with role, id, zone, address, state, pid and bytes used."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import grpc

from proto import datanode_pb2, datanode_pb2_grpc, metadata_pb2, metadata_pb2_grpc
from tessera.cluster import CLUSTER_FILE, metadata_status

status_call_timeout_s = 3.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="data", help="data directory of a cluster started by `tessera up`")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def collect(data_dir: Path) -> dict[str, Any]:
    cluster = json.loads((data_dir / CLUSTER_FILE).read_text())
    pids = {node["node_id"]: node.get("pid") for node in cluster["nodes"]}
    nodes: list[dict[str, Any]] = []
    report: dict[str, Any] = {"endpoint": cluster["endpoint"], "region": cluster["region"], "nodes": nodes}
    statuses = {spec["node_id"]: metadata_status(spec["address"]) for spec in cluster["nodes"]
                if spec["role"] == "metadata"}
    leader = next((s for s in statuses.values() if s is not None and s.raft_role == "leader"), None)
    leader_commit = leader.commit_index if leader else None
    for spec in cluster["nodes"]:
        if spec["role"] == "metadata":
            status = statuses[spec["node_id"]]
            nodes.append({"role": "metadata", "id": spec["node_id"], "zone": "", "address": spec["address"],
                          "state": "up" if status else "down", "pid": pids.get(spec["node_id"]), "bytes_used": None,
                          "raft_role": status.raft_role if status else None,
                          "term": status.term if status else None,
                          "commit_index": status.commit_index if status else None,
                          "applied_index": status.applied_index if status else None,
                          "lag": (leader_commit - status.applied_index) if status and leader_commit is not None
                          else None})
        elif spec["role"] == "frontend":
            nodes.append({"role": "frontend", "id": spec["node_id"], "zone": "", "address": spec["address"],
                          "state": "up" if _frontend_healthy(spec["address"]) else "down",
                          "pid": pids.get(spec["node_id"]), "bytes_used": None})
    listed = _list_nodes(cluster["metadata"])
    for node in listed:
        live = _node_info(node.address) if node.state != "down" else None
        nodes.append({"role": "datanode", "id": node.node_id, "zone": node.zone, "address": node.address,
                      "state": node.state, "pid": pids.get(node.node_id),
                      "bytes_used": live.used_bytes if live else node.used_bytes,
                      "capacity_bytes": live.capacity_bytes if live else node.capacity_bytes,
                      "chunk_count": live.chunk_count if live else None,
                      "scrubbed_bytes": live.scrubbed_bytes if live else None,
                      "scrub_passes": live.scrub_passes if live else None,
                      "corrupt_pieces_found": live.corrupt_pieces_found if live else None})
    report["leader"] = leader.node_id if leader else None
    report.update(_redundancy(leader))
    report["bucket_count"] = leader.bucket_count if leader else None
    report["object_count"] = leader.object_count if leader else None
    report["gc_queue_length"] = leader.gc_queue_length if leader else None
    return report


def _redundancy(leader: metadata_pb2.StatusReply | None) -> dict[str, Any]:
    if leader is None:
        return {"degraded_stripes": None}
    return {
        "degraded_stripes": leader.degraded_stripes,
        "zone_unsafe_stripes": leader.zone_unsafe_stripes,
        "stripes_by_surviving": {str(k): v for k, v in sorted(leader.stripes_by_surviving.items())},
        "repair": {"queue_length": leader.repair_queue_length, "repaired_chunks": leader.repaired_chunks,
                   "repaired_bytes": leader.repaired_bytes, "mb_s": round(leader.repair_mb_s, 2),
                   "eta_s": round(leader.repair_eta_s, 1), "chunk_problems": leader.chunk_problems,
                   "last_scan_ns": leader.last_scan_ns, "orphans_deleted": leader.orphans_deleted},
    }


def _list_nodes(metadata_addresses: str) -> list[metadata_pb2.Node]:
    """The datanode registry, from whichever replica leads (followers answer NotLeader)."""
    for address in metadata_addresses.split(","):
        with grpc.insecure_channel(address) as channel:
            try:
                reply = metadata_pb2_grpc.MetadataServiceStub(channel).ListNodes(
                    metadata_pb2.ListNodesRequest(), timeout=status_call_timeout_s)
            except grpc.RpcError:
                continue
        return list(reply.nodes)
    return []


def _node_info(address: str) -> datanode_pb2.NodeInfoReply | None:
    """Fresh figures straight from the datanode; heartbeats may be a second old."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply: datanode_pb2.NodeInfoReply = datanode_pb2_grpc.ChunkServiceStub(channel).NodeInfo(
                datanode_pb2.NodeInfoRequest(), timeout=status_call_timeout_s)
        except grpc.RpcError:
            return None
    return reply


def _frontend_healthy(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/-/health", timeout=status_call_timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data)
    if not (data_dir / CLUSTER_FILE).exists():
        print(f"no cluster recorded in {data_dir} (start one with `tessera up --data {data_dir}`)")
        return 1
    report = collect(data_dir)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"endpoint {report['endpoint']}  region {report['region']}  buckets {report['bucket_count']}  "
          f"objects {report['object_count']}  gc queue {report['gc_queue_length']}")
    print(f"{'ROLE':<9} {'ID':<8} {'ZONE':<5} {'ADDRESS':<21} {'STATE':<8} {'PID':>7} {'USED':>12}  RAFT")
    for node in report["nodes"]:
        used = "" if node["bytes_used"] is None else f"{node['bytes_used']:,}"
        pid = "" if node["pid"] is None else str(node["pid"])
        raft = ""
        if node.get("raft_role"):
            raft = (f"{node['raft_role']} term={node['term']} commit={node['commit_index']} "
                    f"applied={node['applied_index']} lag={node['lag']}")
        print(f"{node['role']:<9} {node['id']:<8} {node['zone']:<5} {node['address']:<21} {node['state']:<8} "
              f"{pid:>7} {used:>12}  {raft}")
    _print_redundancy(report)
    return 0


def _bar(part: int, whole: int, width: int = 30) -> str:
    filled = round(width * part / whole) if whole else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _print_redundancy(report: dict[str, Any]) -> None:
    if report.get("degraded_stripes") is None:
        print("redundancy: unknown (no metadata leader)")
        return
    by_surviving = report["stripes_by_surviving"]
    total = sum(by_surviving.values())
    print(f"redundancy: {total - report['degraded_stripes']}/{total} stripes fully redundant "
          f"{_bar(total - report['degraded_stripes'], total)}  zone-unsafe {report['zone_unsafe_stripes']}")
    for surviving, count in sorted(by_surviving.items(), key=lambda item: int(item[0])):
        print(f"  {surviving} chunks surviving: {count:>8} stripes {_bar(count, total)}")
    repair = report["repair"]
    print(f"repair: queue {repair['queue_length']}  repaired {repair['repaired_chunks']} chunks "
          f"({repair['repaired_bytes']:,} bytes)  {repair['mb_s']} MB/s  ETA {repair['eta_s']} s  "
          f"reported problems {repair['chunk_problems']}")
    datanodes = [n for n in report["nodes"] if n["role"] == "datanode" and n.get("scrub_passes") is not None]
    if datanodes:
        scrubbed = sum(n["scrubbed_bytes"] for n in datanodes)
        corrupt = sum(n["corrupt_pieces_found"] for n in datanodes)
        passes = min(n["scrub_passes"] for n in datanodes)
        print(f"scrub: {scrubbed:,} bytes verified, complete passes {passes}, corrupt chunks found {corrupt}")
