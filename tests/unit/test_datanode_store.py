"""ChunkStore against real files in tmp_path: format, ranged reads, corruption, crashes, space."""

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from datanode import chunkfile, limits
from datanode.errors import (
    ChecksumMismatch,
    ChunkNotFound,
    CorruptChunk,
    CorruptPiece,
    DatanodeError,
    InvalidChunkId,
    OutOfSpace,
    PieceRangeError,
    ProtocolError,
    UnsupportedFormat,
)
from datanode.store import ChunkStore


def pieces_of(data: bytes, piece_size_max: int) -> list[bytes]:
    return [data[i:i + piece_size_max] for i in range(0, len(data), piece_size_max)]


def write_chunk(store: ChunkStore, chunk_id: str, pieces: list[bytes], piece_size_max: int) -> None:
    with store.begin(chunk_id, piece_size_max) as writer:
        for index, piece in enumerate(pieces):
            writer.append(index, piece, zlib.crc32(piece))
        writer.commit()


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


@pytest.fixture
def store(tmp_path: Path) -> ChunkStore:
    return ChunkStore(tmp_path / "data")


def test_format_v1_golden_bytes(store: ChunkStore) -> None:
    # The docstring example of chunkfile: this pins the on-disk bytes to FORMAT.md.
    write_chunk(store, "ver1.1.0", [b"abcd", b"ef"], piece_size_max=4)
    raw = store.path_of("ver1.1.0").read_bytes()
    header_body = b"TSCH" + struct.pack("<HHIHH", 1, 0, 4, 20, 0)
    footer_body = b"TSCF" + struct.pack("<IQ", 2, 6)
    expected = (
        header_body + struct.pack("<I", zlib.crc32(header_body))
        + struct.pack("<II", 4, zlib.crc32(b"abcd")) + b"abcd"
        + struct.pack("<II", 2, zlib.crc32(b"ef")) + b"ef"
        + footer_body + struct.pack("<I", zlib.crc32(footer_body))
    )
    assert raw == expected
    assert len(raw) == 62


def test_round_trip_and_stat(store: ChunkStore) -> None:
    data = os.urandom(10_000)
    pieces = pieces_of(data, 1024)
    write_chunk(store, "v-a_b.3.5", pieces, 1024)
    got = list(store.read_pieces("v-a_b.3.5"))
    assert [index for index, _, _ in got] == list(range(10))
    assert b"".join(piece for _, piece, _ in got) == data
    assert all(crc == zlib.crc32(piece) for _, piece, crc in got)
    stat = store.stat("v-a_b.3.5")
    assert (stat.data_bytes, stat.piece_count, stat.piece_size_max) == (10_000, 10, 1024)
    assert stat.file_bytes == store.path_of("v-a_b.3.5").stat().st_size == store.used_bytes()
    assert store.chunk_count() == 1


def test_piece_i_sits_at_fixed_offset(store: ChunkStore) -> None:
    pieces = [bytes([i]) * 100 for i in range(5)] + [b"tail"]
    write_chunk(store, "v.1.0", pieces, 100)
    raw = store.path_of("v.1.0").read_bytes()
    for index, piece in enumerate(pieces):
        offset = chunkfile.header_bytes + index * (chunkfile.piece_frame_bytes + 100)
        length, crc = struct.unpack_from("<II", raw, offset)
        assert (length, crc) == (len(piece), zlib.crc32(piece))
        assert raw[offset + 8:offset + 8 + length] == piece


def test_ranged_reads(store: ChunkStore) -> None:
    pieces = [os.urandom(64) for _ in range(8)] + [b"short"]
    write_chunk(store, "v.1.1", pieces, 64)
    assert [p for _, p, _ in store.read_pieces("v.1.1", 2, 3)] == pieces[2:5]
    assert [i for i, _, _ in store.read_pieces("v.1.1", 6)] == [6, 7, 8]
    assert [p for _, p, _ in store.read_pieces("v.1.1", 8, 1)] == [b"short"]
    assert list(store.read_pieces("v.1.1", 9, 0)) == []
    with pytest.raises(PieceRangeError):
        list(store.read_pieces("v.1.1", 8, 2))
    with pytest.raises(PieceRangeError):
        list(store.read_pieces("v.1.1", 10))


def test_empty_chunk(store: ChunkStore) -> None:
    write_chunk(store, "v.1.2", [], 64)
    assert list(store.read_pieces("v.1.2")) == []
    assert store.stat("v.1.2").piece_count == 0


def test_flipped_data_byte_is_corrupt_piece_and_earlier_pieces_still_read(store: ChunkStore) -> None:
    pieces = [os.urandom(256) for _ in range(4)]
    write_chunk(store, "v.1.0", pieces, 256)
    flip_byte(store.path_of("v.1.0"), chunkfile.header_bytes + 2 * (8 + 256) + 8 + 100)
    reader = store.read_pieces("v.1.0")
    assert next(reader)[1] == pieces[0]
    assert next(reader)[1] == pieces[1]
    with pytest.raises(CorruptPiece) as caught:
        next(reader)
    assert (caught.value.chunk_id, caught.value.piece_index) == ("v.1.0", 2)
    # A ranged read that skips the bad piece is still served.
    assert [p for _, p, _ in store.read_pieces("v.1.0", 3)] == [pieces[3]]


@pytest.mark.parametrize("offset_in_frame", [0, 4])  # length field, crc field
def test_flipped_frame_byte_is_corrupt_piece(store: ChunkStore, offset_in_frame: int) -> None:
    write_chunk(store, "v.1.0", [b"x" * 32, b"y" * 32], 32)
    flip_byte(store.path_of("v.1.0"), chunkfile.header_bytes + 40 + offset_in_frame)
    with pytest.raises(CorruptPiece) as caught:
        list(store.read_pieces("v.1.0"))
    assert caught.value.piece_index == 1


@pytest.mark.parametrize("damage", ["header", "footer", "truncate", "append"])
def test_damaged_header_footer_or_size_is_corrupt_chunk(store: ChunkStore, damage: str) -> None:
    write_chunk(store, "v.1.0", [b"x" * 32, b"y" * 32], 32)
    path = store.path_of("v.1.0")
    size = path.stat().st_size
    if damage == "header":
        flip_byte(path, 9)
    elif damage == "footer":
        flip_byte(path, size - 10)
    else:
        with open(path, "r+b") as f:
            f.truncate(size - 40 if damage == "truncate" else size + 40)
    with pytest.raises(CorruptChunk):
        store.stat("v.1.0")
    with pytest.raises(CorruptChunk):
        list(store.read_pieces("v.1.0"))


def test_newer_major_version_is_refused(store: ChunkStore) -> None:
    write_chunk(store, "v.1.0", [b"abc"], 4)
    path = store.path_of("v.1.0")
    raw = bytearray(path.read_bytes())
    raw[4:6] = struct.pack("<H", 2)
    raw[16:20] = struct.pack("<I", zlib.crc32(bytes(raw[:16])))
    path.write_bytes(bytes(raw))
    with pytest.raises(UnsupportedFormat):
        store.stat("v.1.0")


def test_append_checks(store: ChunkStore) -> None:
    with store.begin("v.1.0", 8) as writer:
        with pytest.raises(ChecksumMismatch) as caught:
            writer.append(0, b"abc", zlib.crc32(b"abd"))
        assert caught.value.piece_index == 0
        with pytest.raises(ProtocolError):
            writer.append(1, b"abc", zlib.crc32(b"abc"))  # out of order
        with pytest.raises(ProtocolError):
            writer.append(0, b"x" * 9, zlib.crc32(b"x" * 9))  # longer than piece_size_max
        writer.append(0, b"abc", zlib.crc32(b"abc"))  # nothing was written by the failures
        with pytest.raises(ProtocolError):
            writer.append(1, b"d", zlib.crc32(b"d"))  # after a short piece
        writer.commit()
    assert [p for _, p, _ in store.read_pieces("v.1.0")] == [b"abc"]
    with pytest.raises(ProtocolError):
        store.begin("v.1.1", 0)
    with pytest.raises(ProtocolError):
        store.begin("v.1.1", limits.piece_bytes_max + 1)


def test_abort_and_exception_leave_nothing(store: ChunkStore) -> None:
    writer = store.begin("v.1.0", 8)
    writer.append(0, b"12345678", zlib.crc32(b"12345678"))
    writer.abort()
    with pytest.raises(ValueError), store.begin("v.1.1", 8) as other:
        other.append(0, b"1", zlib.crc32(b"1"))
        raise ValueError("caller failed mid-write")
    assert list(store.list()) == []
    assert list((store.root / "tmp").iterdir()) == []
    with pytest.raises(ChunkNotFound):
        store.stat("v.1.0")
    assert store.used_bytes() == 0


def test_crash_mid_write_leaves_no_chunk(tmp_path: Path) -> None:
    root = tmp_path / "data"
    script = (
        "import os, sys, zlib\n"
        "from pathlib import Path\n"
        "from datanode.store import ChunkStore\n"
        "w = ChunkStore(Path(sys.argv[1])).begin('v.1.0', 4)\n"
        "w.append(0, b'abcd', zlib.crc32(b'abcd'))\n"
        "w._file.flush()\n"
        "os._exit(9)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(root)], cwd=Path(__file__).parents[2],
                            capture_output=True, timeout=30)
    assert result.returncode == 9, result.stderr
    assert len(list((root / "tmp").iterdir())) == 1  # the crash left its temp file
    store = ChunkStore(root)
    assert list((root / "tmp").iterdir()) == []
    with pytest.raises(ChunkNotFound):
        list(store.read_pieces("v.1.0"))
    assert store.used_bytes() == 0 and store.chunk_count() == 0


def test_overwrite_replaces_and_accounting_survives_restart(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path)
    write_chunk(store, "v.1.0", [b"a" * 100], 100)
    write_chunk(store, "v.1.1", [b"b" * 10], 100)
    write_chunk(store, "v.1.0", [b"c" * 50], 100)
    assert [p for _, p, _ in store.read_pieces("v.1.0")] == [b"c" * 50]
    expected = store.stat("v.1.0").file_bytes + store.stat("v.1.1").file_bytes
    assert store.used_bytes() == expected and store.chunk_count() == 2
    reopened = ChunkStore(tmp_path)
    assert reopened.used_bytes() == expected and reopened.chunk_count() == 2


def test_delete_is_idempotent_and_frees_space(store: ChunkStore) -> None:
    write_chunk(store, "v.1.0", [b"a" * 100], 100)
    assert store.delete("v.1.0") is True
    assert store.delete("v.1.0") is False
    assert store.used_bytes() == 0 and store.chunk_count() == 0
    with pytest.raises(ChunkNotFound):
        store.stat("v.1.0")


def test_list_prefix(store: ChunkStore) -> None:
    for chunk_id in ["aa.1.0", "aa.1.1", "aa.2.0", "ab.1.0"]:
        write_chunk(store, chunk_id, [b"x"], 4)
    assert sorted(store.list("aa.1.")) == ["aa.1.0", "aa.1.1"]
    assert sorted(store.list()) == ["aa.1.0", "aa.1.1", "aa.2.0", "ab.1.0"]
    assert list(store.list("zz")) == []


def test_capacity_limit(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path, capacity_bytes=1000)
    write_chunk(store, "v.1.0", [b"a" * 400], 400)  # 20 + 408 + 20 = 448 bytes on disk
    with store.begin("v.1.1", 400) as writer, store.begin("v.1.2", 400) as other:
        writer.append(0, b"b" * 400, zlib.crc32(b"b" * 400))  # 428 reserved, not yet committed
        # 448 used + 428 + 20 (other's header) reserved = 896: 108 more bytes would pass 1000.
        with pytest.raises(OutOfSpace):
            other.append(0, b"c" * 100, zlib.crc32(b"c" * 100))
        other.append(0, b"c" * 50, zlib.crc32(b"c" * 50))  # 58 bytes still fit: 954
        assert writer.commit().file_bytes == 448
    assert store.used_bytes() == 896 and store.chunk_count() == 2
    with pytest.raises(OutOfSpace):
        write_chunk(store, "v.1.3", [b"d" * 100], 400)
    assert list((tmp_path / "tmp").iterdir()) == []  # refused writes left no temp file
    store.delete("v.1.0")
    write_chunk(store, "v.1.3", [b"d" * 100], 400)  # after the delete it fits
    assert store.capacity_bytes() == 1000


def test_capacity_unlimited_reports_disk(store: ChunkStore) -> None:
    assert store.capacity_bytes() > store.used_bytes()


@pytest.mark.parametrize("chunk_id", [
    "", "v", "v.1", "v.1.2.3", "v.a.1", "../v.1.2", "v/x.1.2", "v x.1.2", "v.1.2\n", ".1.2", "v.-1.2",
    "é.1.2", "x" * 250 + ".1.2",
])
def test_bad_chunk_ids_are_rejected(store: ChunkStore, chunk_id: str) -> None:
    with pytest.raises(InvalidChunkId):
        store.begin(chunk_id, 4)
    with pytest.raises(InvalidChunkId):
        store.stat(chunk_id)
    with pytest.raises(InvalidChunkId):
        store.delete(chunk_id)
    with pytest.raises(InvalidChunkId):
        list(store.read_pieces(chunk_id))
    assert issubclass(InvalidChunkId, DatanodeError)
