"""ChunkService over a real grpc.aio server on 127.0.0.1 (port 0) and a real client channel."""

import asyncio
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path

import grpc
import pytest
from grpc import aio

from datanode import chunkfile, limits
from datanode.server import GRPC_OPTIONS, create_server
from datanode.store import ChunkStore, ChunkWriter
from proto import datanode_pb2 as pb
from proto import datanode_pb2_grpc as pb_grpc


class ObservedStore(ChunkStore):
    """A real store that signals when a writer has been aborted (server-side cleanup done)."""

    def __init__(self, root: Path, capacity_bytes: int = 0) -> None:
        super().__init__(root, capacity_bytes)
        self.aborted = threading.Event()
        self.piece_appended = threading.Event()

    def begin(self, chunk_id: str, piece_size_max: int) -> ChunkWriter:
        writer = super().begin(chunk_id, piece_size_max)
        original_abort, original_append = writer.abort, writer.append

        def abort() -> None:
            original_abort()
            self.aborted.set()

        def append(piece_index: int, data: bytes, crc32: int) -> None:
            original_append(piece_index, data, crc32)
            self.piece_appended.set()

        writer.abort = abort  # type: ignore[method-assign]
        writer.append = append  # type: ignore[method-assign]
        return writer


Test = Callable[[pb_grpc.ChunkServiceStub, ObservedStore], Awaitable[None]]


def run_with_server(store: ObservedStore, test: Test) -> None:
    async def main() -> None:
        server = create_server(store, "dn-t1", "z1")
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        channel = aio.insecure_channel(f"127.0.0.1:{port}", options=GRPC_OPTIONS)
        try:
            await test(pb_grpc.ChunkServiceStub(channel), store)
        finally:
            await channel.close(None)
            await server.stop(None)

    asyncio.run(main())


def requests_for(chunk_id: str, pieces: Iterable[bytes], piece_size_max: int,
                 commit: bool = True) -> list[pb.WriteChunkRequest]:
    header = pb.WriteChunkHeader(chunk_id=chunk_id, piece_size_max=piece_size_max, format_version=1)
    requests = [pb.WriteChunkRequest(header=header)]
    for index, data in enumerate(pieces):
        requests.append(pb.WriteChunkRequest(piece=pb.Piece(piece_index=index, data=data,
                                                            crc32=zlib.crc32(data))))
    if commit:
        requests.append(pb.WriteChunkRequest(commit=True))
    return requests


async def stream(requests: list[pb.WriteChunkRequest]) -> AsyncIterator[pb.WriteChunkRequest]:
    for request in requests:
        yield request


async def expect_error(call: Awaitable[object], code: grpc.StatusCode, error_name: str) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code
    assert (caught.value.details() or "").startswith(f"{error_name}: ")


async def read_all(stub: pb_grpc.ChunkServiceStub, chunk_id: str, start: int = 0,
                   count: int = 0) -> list[pb.Piece]:
    call = stub.ReadChunk(pb.ReadChunkRequest(chunk_id=chunk_id, piece_start=start, piece_count=count))
    return [reply.piece async for reply in call]


@pytest.fixture
def store(tmp_path: Path) -> ObservedStore:
    return ObservedStore(tmp_path / "data")


PIECES = [bytes([i]) * 1000 for i in range(7)] + [b"last"]


def test_write_read_range_stat_list_delete(store: ObservedStore) -> None:
    async def test(stub: pb_grpc.ChunkServiceStub, store: ObservedStore) -> None:
        reply = await stub.WriteChunk(stream(requests_for("ver.1.2", PIECES, 1000)))
        assert (reply.size_bytes, reply.piece_count) == (7004, 8)
        pieces = await read_all(stub, "ver.1.2", start=2, count=3)
        assert [p.piece_index for p in pieces] == [2, 3, 4]
        assert [p.data for p in pieces] == PIECES[2:5]
        assert all(p.crc32 == zlib.crc32(p.data) for p in pieces)
        assert [p.data for p in await read_all(stub, "ver.1.2", start=6)] == PIECES[6:]
        stat = await stub.StatChunk(pb.ChunkIdRequest(chunk_id="ver.1.2"))
        assert (stat.exists, stat.size_bytes, stat.piece_count, stat.piece_size_max) == (True, 7004, 8, 1000)
        listed = [cid async for reply in stub.ListChunks(pb.ListChunksRequest(prefix="ver.")) for cid in
                  reply.chunk_ids]
        assert listed == ["ver.1.2"]
        info = await stub.NodeInfo(pb.NodeInfoRequest())
        assert (info.node_id, info.zone, info.chunk_count) == ("dn-t1", "z1", 1)
        assert info.used_bytes == store.used_bytes() > 7004
        assert (await stub.DeleteChunk(pb.ChunkIdRequest(chunk_id="ver.1.2"))).existed is True
        assert (await stub.DeleteChunk(pb.ChunkIdRequest(chunk_id="ver.1.2"))).existed is False
        assert (await stub.StatChunk(pb.ChunkIdRequest(chunk_id="ver.1.2"))).exists is False

    run_with_server(store, test)


def test_header_piece_and_commit_in_one_request_and_max_piece(store: ObservedStore) -> None:
    big = bytes(range(256)) * (limits.piece_bytes_max // 256)

    async def test(stub: pb_grpc.ChunkServiceStub, store: ObservedStore) -> None:
        header = pb.WriteChunkHeader(chunk_id="v.1.0", piece_size_max=len(big))
        request = pb.WriteChunkRequest(header=header, piece=pb.Piece(piece_index=0, data=big,
                                                                     crc32=zlib.crc32(big)), commit=True)
        assert (await stub.WriteChunk(stream([request]))).piece_count == 1
        assert [p.data for p in await read_all(stub, "v.1.0")] == [big]

    run_with_server(store, test)


def test_broken_stream_leaves_nothing(store: ObservedStore) -> None:
    async def test(stub: pb_grpc.ChunkServiceStub, store: ObservedStore) -> None:
        call = stub.WriteChunk()
        for request in requests_for("v.1.0", PIECES[:3], 1000, commit=False):
            await call.write(request)
        assert await asyncio.to_thread(store.piece_appended.wait, 10)  # the server is mid-write
        assert len(list((store.root / "tmp").iterdir())) == 1
        call.cancel()
        assert await asyncio.to_thread(store.aborted.wait, 10)
        assert list((store.root / "tmp").iterdir()) == []
        assert (await stub.StatChunk(pb.ChunkIdRequest(chunk_id="v.1.0"))).exists is False
        assert store.used_bytes() == 0

    run_with_server(store, test)


def test_stream_ending_without_commit_is_invalid_and_leaves_nothing(store: ObservedStore) -> None:
    async def test(stub: pb_grpc.ChunkServiceStub, store: ObservedStore) -> None:
        requests = requests_for("v.1.0", PIECES[:2], 1000, commit=False)
        await expect_error(stub.WriteChunk(stream(requests)), grpc.StatusCode.INVALID_ARGUMENT, "ProtocolError")
        assert store.aborted.is_set()
        assert (await stub.StatChunk(pb.ChunkIdRequest(chunk_id="v.1.0"))).exists is False
        assert list((store.root / "tmp").iterdir()) == []

    run_with_server(store, test)


def test_write_errors_map_to_codes(tmp_path: Path) -> None:
    async def test(stub: pb_grpc.ChunkServiceStub, store: ObservedStore) -> None:
        bad_crc = requests_for("v.1.0", [b"abc"], 8)
        bad_crc[1].piece.crc32 ^= 1
        await expect_error(stub.WriteChunk(stream(bad_crc)), grpc.StatusCode.DATA_LOSS, "ChecksumMismatch")
        await expect_error(stub.WriteChunk(stream(requests_for("../x.1.0", [b"a"], 8))),
                           grpc.StatusCode.INVALID_ARGUMENT, "InvalidChunkId")
        no_header = requests_for("v.1.0", [b"a"], 8)[1:]
        await expect_error(stub.WriteChunk(stream(no_header)), grpc.StatusCode.INVALID_ARGUMENT, "ProtocolError")
        await expect_error(stub.WriteChunk(stream(requests_for("v.1.0", [b"a" * 600], 600))),
                           grpc.StatusCode.RESOURCE_EXHAUSTED, "OutOfSpace")
        assert list(store.list()) == [] and list((store.root / "tmp").iterdir()) == []

    run_with_server(ObservedStore(tmp_path, capacity_bytes=500), test)


def test_read_errors_map_to_codes(store: ObservedStore) -> None:
    async def test(stub: pb_grpc.ChunkServiceStub, store: ObservedStore) -> None:
        await expect_error(read_all(stub, "absent.1.0"), grpc.StatusCode.NOT_FOUND, "ChunkNotFound")
        await expect_error(read_all(stub, "a/b.1.0"), grpc.StatusCode.INVALID_ARGUMENT, "InvalidChunkId")
        await expect_error(stub.StatChunk(pb.ChunkIdRequest(chunk_id="a..1")), grpc.StatusCode.INVALID_ARGUMENT,
                           "InvalidChunkId")
        await stub.WriteChunk(stream(requests_for("v.1.0", PIECES, 1000)))
        await expect_error(read_all(stub, "v.1.0", start=7, count=2), grpc.StatusCode.OUT_OF_RANGE,
                           "PieceRangeError")

    run_with_server(store, test)


def test_flipped_byte_is_data_loss_after_good_pieces(store: ObservedStore) -> None:
    async def test(stub: pb_grpc.ChunkServiceStub, store: ObservedStore) -> None:
        await stub.WriteChunk(stream(requests_for("v.1.0", PIECES, 1000)))
        path = store.path_of("v.1.0")
        raw = bytearray(path.read_bytes())
        raw[chunkfile.header_bytes + 3 * (8 + 1000) + 8 + 500] ^= 0x40
        path.write_bytes(bytes(raw))
        received: list[pb.Piece] = []
        call = stub.ReadChunk(pb.ReadChunkRequest(chunk_id="v.1.0"))
        with pytest.raises(aio.AioRpcError) as caught:
            async for reply in call:
                received.append(reply.piece)
        assert caught.value.code() == grpc.StatusCode.DATA_LOSS
        assert (caught.value.details() or "").startswith("CorruptPiece: ")
        assert [p.data for p in received] == PIECES[:3]  # good pieces came, the corrupt one never did
        await expect_error(read_all(stub, "v.1.0", start=3, count=1), grpc.StatusCode.DATA_LOSS, "CorruptPiece")
        assert [p.data for p in await read_all(stub, "v.1.0", start=4)] == PIECES[4:]

    run_with_server(store, test)


def test_many_concurrent_writers(store: ObservedStore) -> None:
    async def test(stub: pb_grpc.ChunkServiceStub, store: ObservedStore) -> None:
        writes = [stub.WriteChunk(stream(requests_for(f"v.1.{i}", PIECES, 1000))) for i in range(12)]
        replies = await asyncio.gather(*writes)
        assert all(reply.piece_count == len(PIECES) for reply in replies)
        assert sorted(store.list()) == sorted(f"v.1.{i}" for i in range(12))

    run_with_server(store, test)


def test_port_in_use_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        first = create_server(ChunkStore(tmp_path / "a"), "dn-1", "z")
        second = create_server(ChunkStore(tmp_path / "b"), "dn-2", "z")
        port = first.add_insecure_port("127.0.0.1:0")
        try:
            with pytest.raises(RuntimeError):
                second.add_insecure_port(f"127.0.0.1:{port}")
        finally:
            await first.stop(None)
            await second.stop(None)

    asyncio.run(main())
