"""`tessera up` and `tessera status` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.config import Config

from tests.integration.cluster_fixtures import free_port_block

TESSERA = [sys.executable, "-c", "from tessera.cli import main; main()"]
READY_LINE = "Press Ctrl-C to stop."


@contextmanager
def tessera_up(data: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}  # credentials get generated
    process = subprocess.Popen([*TESSERA, "up", "--data", str(data), "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # readiness: tessera up prints this line once every node answers
            seen.append(line)
            if READY_LINE in line:
                break
        else:
            raise AssertionError(f"tessera up exited early: {''.join(seen)}")
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def status(data: Path) -> dict[str, object]:
    result = subprocess.run([*TESSERA, "status", "--data", str(data), "--json"], capture_output=True, text=True,
                            timeout=60, check=True)
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_status_stop_restart_keeps_data(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port_block()
    with tessera_up(data, port) as process:
        credentials = json.loads((data / "credentials.json").read_text())
        report = status(data)
        nodes = report["nodes"]
        assert isinstance(nodes, list)
        roles = sorted(node["role"] for node in nodes)
        assert roles == ["datanode"] * 6 + ["frontend"] + ["metadata"] * 3
        raft_roles = sorted(node["raft_role"] for node in nodes if node["role"] == "metadata")
        assert raft_roles == ["follower", "follower", "leader"]
        assert report["leader"] in {node["id"] for node in nodes if node.get("raft_role") == "leader"}
        assert sorted(node["zone"] for node in nodes if node["role"] == "datanode") == ["a", "a", "b", "b", "c", "c"]
        assert all(node["state"] == "up" for node in nodes), nodes
        assert all(isinstance(node["pid"], int) and pid_alive(node["pid"]) for node in nodes)
        assert all({"id", "address", "bytes_used"} <= set(node) for node in nodes)
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id=credentials["access_key"],
                          aws_secret_access_key=credentials["secret_key"], config=Config(signature_version="s3v4"))
        s3.create_bucket(Bucket="keep")
        s3.put_object(Bucket="keep", Key="k", Body=b"persisted" * 100_000)
        report = status(data)
        assert report["bucket_count"] == 1 and report["object_count"] == 1
        assert sum(node["bytes_used"] or 0 for node in report["nodes"]) > 900_000  # type: ignore[union-attr]
        pids = [node["pid"] for node in nodes]
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        assert not any(pid_alive(pid) for pid in pids)
    with tessera_up(data, port):
        assert s3.get_object(Bucket="keep", Key="k")["Body"].read() == b"persisted" * 100_000
        assert json.loads((data / "credentials.json").read_text()) == credentials
