"""Chunk file format v1: pure encode/decode of the header, piece frames and footer.

Theory of operation: a chunk file is a header, then pieces in fixed-size slots, then a
footer (layout in datanode/FORMAT.md). Slots are fixed (8 + piece_size_max bytes) so the
offset of piece i is arithmetic and a ranged read seeks straight to it; only the last slot
is cut short. The footer, written at commit, records the piece count and payload size, and
with them the exact file size, so a truncated or padded file is detected before any piece
is served. Everything here is bytes in, values out: no file I/O.

Example: piece_size_max=4, pieces b"abcd", b"ef" ->
  header 20 bytes | [4][crc][abcd] | [2][crc][ef] | footer 20 bytes  = 20 + 12 + 10 + 20 = 62 bytes.
"""

import re
import struct
import zlib
from dataclasses import dataclass

from datanode import limits
from datanode.errors import CorruptChunk, InvalidChunkId, UnsupportedFormat

header_magic = b"TSCH"
footer_magic = b"TSCF"
format_major = 1
format_minor = 0

# magic, major, minor, piece_size_max, header_bytes, reserved; then u32 crc32 of those 16 bytes.
_header_body = struct.Struct("<4sHHIHH")
_crc = struct.Struct("<I")
header_bytes = _header_body.size + _crc.size  # 20 in v1.0
# magic, piece_count, data_bytes; then u32 crc32 of those 16 bytes.
_footer_body = struct.Struct("<4sIQ")
footer_bytes = _footer_body.size + _crc.size  # 20
# length, crc32 before each piece's data.
piece_frame = struct.Struct("<II")
piece_frame_bytes = piece_frame.size  # 8
# bytes: how much to read at the head of a file to parse any v1.x header (room for minor growth).
header_bytes_max = 256

_chunk_id_pattern = re.compile(r"[A-Za-z0-9_-]+\.[0-9]+\.[0-9]+")


def validate_chunk_id(chunk_id: str) -> str:
    """Return chunk_id if it is "<version_id>.<part_number>.<chunk_index>", else raise.

    >>> validate_chunk_id("v1-abc.1.0")
    'v1-abc.1.0'
    """
    if len(chunk_id) > limits.chunk_id_bytes_max or not _chunk_id_pattern.fullmatch(chunk_id):
        raise InvalidChunkId(chunk_id)
    return chunk_id


@dataclass(frozen=True, slots=True)
class Layout:
    """Geometry of one committed chunk file, known once header and footer are read."""

    header_bytes: int
    piece_size_max: int
    piece_count: int
    data_bytes: int

    @property
    def slot_bytes(self) -> int:
        return piece_frame_bytes + self.piece_size_max

    def piece_offset(self, piece_index: int) -> int:
        return self.header_bytes + piece_index * self.slot_bytes

    def piece_length(self, piece_index: int) -> int:
        """Every piece is full except possibly the last."""
        if piece_index < self.piece_count - 1:
            return self.piece_size_max
        return self.data_bytes - (self.piece_count - 1) * self.piece_size_max

    @property
    def file_bytes(self) -> int:
        if self.piece_count == 0:
            return self.header_bytes + footer_bytes
        last_end = self.piece_offset(self.piece_count - 1) + piece_frame_bytes + self.piece_length(
            self.piece_count - 1
        )
        return last_end + footer_bytes


def encode_header(piece_size_max: int) -> bytes:
    body = _header_body.pack(header_magic, format_major, format_minor, piece_size_max, header_bytes, 0)
    return body + _crc.pack(zlib.crc32(body))


def decode_header(chunk_id: str, prefix: bytes) -> tuple[int, int]:
    """Parse the fixed 16-byte header body plus crc; return (piece_size_max, header_bytes).

    A future minor version may grow the header: header_bytes says where piece 0 starts and
    the crc sits in its last 4 bytes, so `prefix` must hold at least header_bytes bytes
    (callers read header_bytes_max and pass all of it).
    """
    if len(prefix) < header_bytes:
        raise CorruptChunk(chunk_id, f"file shorter than a header ({len(prefix)} bytes)")
    magic, major, _minor, piece_size_max, size, _ = _header_body.unpack_from(prefix)
    if magic != header_magic:
        raise CorruptChunk(chunk_id, f"bad header magic {magic!r}")
    if major != format_major:
        raise UnsupportedFormat(chunk_id, major)
    if size < header_bytes or size > len(prefix):
        raise CorruptChunk(chunk_id, f"bad header size {size}")
    (crc,) = _crc.unpack_from(prefix, size - _crc.size)
    if crc != zlib.crc32(prefix[: size - _crc.size]):
        raise CorruptChunk(chunk_id, "header crc32 mismatch")
    if not 0 < piece_size_max <= limits.piece_bytes_max:
        raise CorruptChunk(chunk_id, f"bad piece_size_max {piece_size_max}")
    return piece_size_max, size


def encode_footer(piece_count: int, data_bytes: int) -> bytes:
    body = _footer_body.pack(footer_magic, piece_count, data_bytes)
    return body + _crc.pack(zlib.crc32(body))


def decode_layout(chunk_id: str, header: bytes, footer: bytes, file_bytes: int) -> Layout:
    """Combine header and footer and check that they explain the file size exactly."""
    piece_size_max, size = decode_header(chunk_id, header)
    if len(footer) != footer_bytes:
        raise CorruptChunk(chunk_id, "file shorter than header + footer")
    magic, piece_count, data_bytes = _footer_body.unpack_from(footer)
    (crc,) = _crc.unpack_from(footer, _footer_body.size)
    if magic != footer_magic or crc != zlib.crc32(footer[: _footer_body.size]):
        raise CorruptChunk(chunk_id, "bad footer (truncated or damaged file)")
    full_pieces = max(piece_count - 1, 0)
    if piece_count == 0 and data_bytes != 0:
        raise CorruptChunk(chunk_id, "footer: data without pieces")
    if piece_count and not full_pieces * piece_size_max <= data_bytes <= piece_count * piece_size_max:
        raise CorruptChunk(chunk_id, f"footer: {data_bytes} bytes cannot fill {piece_count} pieces")
    layout = Layout(size, piece_size_max, piece_count, data_bytes)
    if layout.file_bytes != file_bytes:
        raise CorruptChunk(chunk_id, f"file has {file_bytes} bytes, footer implies {layout.file_bytes}")
    return layout
