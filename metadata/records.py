"""Key layout and value format of the metadata RocksDB (see metadata/FORMAT.md).

Keys are byte strings whose order makes every listing a range scan: objects of one bucket
sort by the UTF-8 bytes of their key, which is S3's order. Every value is one format
version byte followed by a protobuf message (or, for counters, an 8-byte big-endian u64).

Worked example:
    >>> object_key("photos", "2024/a.jpg")
    b'o/photos\\x002024/a.jpg'
    >>> prefix_end(b"o/photos\\x002024/")
    b'o/photos\\x0020240'
    >>> part_key("u1", 2)
    b'p/u1\\x00\\x00\\x00\\x00\\x02'
"""

from __future__ import annotations

from typing import Final, TypeVar

from google.protobuf.message import Message

from metadata.errors import StoredFormatError
from proto import metadata_pb2

format_version: Final = 1  # readers refuse values with a newer version byte

bucket_prefix: Final = b"b/"
object_prefix_root: Final = b"o/"
node_prefix: Final = b"n/"
gc_prefix_root: Final = b"g/"
upload_prefix: Final = b"u/"
upload_index_prefix_root: Final = b"U/"
part_prefix_root: Final = b"p/"
chunk_index_prefix_root: Final = b"x/"  # x/<node_id>\0<chunk_id> -> ChunkRef (the per-datanode chunk index)
member_prefix: Final = b"r/"         # r/<node_id> -> Member (metadata replica addresses)
problem_prefix: Final = b"k/"        # k/<node_id>\0<chunk_id> -> ChunkProblem (corrupt or missing)
session_prefix: Final = b"c/"        # c/<request_id> -> SessionRecord
session_expiry_prefix: Final = b"C/"  # C/<u64 recorded_ns><request_id> -> b"", oldest first
applied_index_key: Final = b"s/applied_index"
object_count_key: Final = b"s/object_count"
bucket_count_key: Final = b"s/bucket_count"
gc_queue_length_key: Final = b"s/gc_queue_length"

M = TypeVar("M", bound=Message)


def bucket_key(name: str) -> bytes:
    return bucket_prefix + name.encode()


def object_prefix(bucket: str) -> bytes:
    """All keys of one bucket start with this; bucket names never contain NUL."""
    return object_prefix_root + bucket.encode() + b"\x00"


def object_key(bucket: str, key: str) -> bytes:
    return object_prefix(bucket) + key.encode()


def node_key(node_id: str) -> bytes:
    return node_prefix + node_id.encode()


def gc_prefix(node_id: str) -> bytes:
    return gc_prefix_root + node_id.encode() + b"\x00"


def gc_key(entry: metadata_pb2.GcEntry) -> bytes:
    """Entries of one node sort by enqueue time, so "older than" is a prefix of the scan."""
    return gc_prefix(entry.node_id) + entry.enqueued_ns.to_bytes(8, "big") + entry.chunk_id.encode()


def upload_key(upload_id: str) -> bytes:
    return upload_prefix + upload_id.encode()


def upload_index_prefix(bucket: str, key: str | None = None) -> bytes:
    """Index entries of one bucket (and, given `key`, of that key only: keys never contain NUL)."""
    prefix = upload_index_prefix_root + bucket.encode() + b"\x00"
    return prefix if key is None else prefix + key.encode() + b"\x00"


def upload_index_key(upload: metadata_pb2.MultipartUpload) -> bytes:
    """Uploads of a bucket sort by (key, initiated_ns, upload_id): S3's ListMultipartUploads order."""
    return (
        upload_index_prefix(upload.bucket, upload.key)
        + upload.initiated_ns.to_bytes(8, "big")
        + upload.upload_id.encode()
    )


def part_prefix(upload_id: str) -> bytes:
    """All parts of one upload; upload ids never contain NUL."""
    return part_prefix_root + upload_id.encode() + b"\x00"


def part_key(upload_id: str, part_number: int) -> bytes:
    """Parts sort by number: 4 bytes big-endian (part numbers are 1..10,000)."""
    return part_prefix(upload_id) + part_number.to_bytes(4, "big")


def chunk_index_prefix(node_id: str) -> bytes:
    return chunk_index_prefix_root + node_id.encode() + b"\x00"


def chunk_index_key(node_id: str, chunk_id: str) -> bytes:
    return chunk_index_prefix(node_id) + chunk_id.encode()


def member_key(node_id: str) -> bytes:
    return member_prefix + node_id.encode()


def problem_key(node_id: str, chunk_id: str) -> bytes:
    return problem_prefix + node_id.encode() + b"\x00" + chunk_id.encode()


def session_key(request_id: str) -> bytes:
    return session_prefix + request_id.encode()


def session_expiry_key(recorded_ns: int, request_id: str) -> bytes:
    return session_expiry_prefix + recorded_ns.to_bytes(8, "big") + request_id.encode()


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with `prefix` (None: no such key)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def encode(message: Message) -> bytes:
    return bytes([format_version]) + message.SerializeToString(deterministic=True)


def decode(raw: bytes, message_type: type[M], key: bytes) -> M:
    _check_version(raw, key)
    return message_type.FromString(raw[1:])


def encode_u64(value: int) -> bytes:
    return bytes([format_version]) + value.to_bytes(8, "big")


def decode_u64(raw: bytes | None, key: bytes) -> int:
    if raw is None:
        return 0
    _check_version(raw, key)
    if len(raw) != 9:
        raise StoredFormatError(f"value of {key!r} should be 9 bytes (version + u64), found {len(raw)}")
    return int.from_bytes(raw[1:], "big")


def _check_version(raw: bytes, key: bytes) -> None:
    if not raw:
        raise StoredFormatError(f"value of {key!r} is empty; expected a format version byte")
    if raw[0] != format_version:
        raise StoredFormatError(
            f"value of {key!r} has format version {raw[0]}; this build reads version {format_version}"
            " only (was the data directory written by a newer Tessera?)"
        )
