"""`python -m datanode` as a real process: starts fast, heartbeats, serves, exits 0 on SIGTERM."""

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from grpc import aio

from datanode.server import GRPC_OPTIONS
from proto import datanode_pb2 as pb
from proto import datanode_pb2_grpc as pb_grpc
from tests.unit.test_datanode_loops import FakeMetadata, run_with_metadata

REPO = Path(__file__).parents[2]


async def wait_for_line(stream: asyncio.StreamReader, pattern: str, seen: list[str]) -> re.Match[str]:
    while line := (await stream.readline()).decode():
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"process ended without {pattern!r}:\n{''.join(seen)}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_heartbeats_and_stops_on_signal(tmp_path: Path, signum: int) -> None:
    async def test(fake: FakeMetadata, metadata_address: str) -> None:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "datanode", "--node-id", "dn-z1", "--zone", "z", "--listen", "127.0.0.1:0",
            "--data", str(tmp_path / "data"), "--metadata", metadata_address, "--heartbeat-interval-s", "0.05",
            cwd=REPO, stderr=asyncio.subprocess.PIPE)
        assert process.stderr is not None
        seen: list[str] = []
        try:
            match = await asyncio.wait_for(wait_for_line(process.stderr, r"event=serving .*address=(\S+)", seen), 20)
            startup_s = time.monotonic() - started
            address = match.group(1)
            await asyncio.wait_for(fake.enough_heartbeats.wait(), 20)
            channel = aio.insecure_channel(address, options=GRPC_OPTIONS)
            try:
                stub = pb_grpc.ChunkServiceStub(channel)
                header = pb.WriteChunkHeader(chunk_id="v.1.0", piece_size_max=8)
                piece = pb.Piece(piece_index=0, data=b"hello", crc32=zlib.crc32(b"hello"))
                await stub.WriteChunk(iter([pb.WriteChunkRequest(header=header, piece=piece, commit=True)]))
                info = await stub.NodeInfo(pb.NodeInfoRequest())
            finally:
                await channel.close(None)
            process.send_signal(signum)
            _, stderr = await asyncio.wait_for(process.communicate(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        log = "".join(seen) + stderr.decode()
        assert process.returncode == 0, log
        assert "event=stopped" in log and "node_id=dn-z1" in log
        assert (info.node_id, info.zone, info.chunk_count) == ("dn-z1", "z", 1)
        node = fake.heartbeats[0]
        assert (node.node_id, node.zone, node.address, node.pid) == ("dn-z1", "z", address, process.pid)
        assert startup_s < 5, f"startup took {startup_s:.2f} s"  # < 1 s on an idle machine

    run_with_metadata(FakeMetadata, test)


def test_bad_config_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "datanode", "--node-id", "bad id", "--zone", "z", "--listen", "127.0.0.1:0",
         "--data", str(tmp_path), "--metadata", "127.0.0.1:1"],
        cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "node_id" in result.stderr


def test_port_taken_exits_1(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "datanode", "--node-id", "dn-x", "--zone", "z", "--listen", f"127.0.0.1:{port}",
             "--data", str(tmp_path), "--metadata", "127.0.0.1:1"],
            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "event=start_failed" in result.stderr
