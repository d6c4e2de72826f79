"""Multipart uploads: the pure rules of CompleteMultipartUpload and the two upload listings.

Theory of operation
-------------------
An upload lives in three kinds of records (metadata/FORMAT.md): `u/<upload_id>` holds the
`MultipartUpload`, `U/<bucket>\\0<key>\\0<u64be initiated_ns><upload_id>` is a copy of it
ordered for ListMultipartUploads, and `p/<upload_id>\\0<u32be part_number>` holds each
uploaded `Part`. Every part names its chunks `<data_id>.<part_number>.<chunk_index>` with a
data_id fresh per UploadPart attempt, so replacing a part never touches the chunks of the
part it replaces, and completing an upload adopts the listed parts' chunks as they are.

The state machine applies the commands; this module holds what does not need its write
batch: the checks on a Complete request (`select_parts`), the multipart ETag and the read
side (`list_parts`, `list_uploads`), each a bounded range scan.

Worked example of the ETag: two parts whose MD5s are 16 bytes each give
md5(md5_1 + md5_2).hex() + "-2" (see `multipart_etag`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import cast

from rocksdict import Rdict

from metadata import limits, records
from metadata.errors import EntityTooSmall, InvalidArgument, InvalidPart, InvalidPartOrder
from proto import metadata_pb2

_md5_hex_pattern = re.compile(r"[0-9a-f]{32}")


def is_md5_hex(etag: str) -> bool:
    return _md5_hex_pattern.fullmatch(etag) is not None


def multipart_etag(part_etags: Sequence[str]) -> str:
    """S3's ETag of a completed upload: MD5 of the concatenated binary part MD5s, "-", count.

    >>> multipart_etag(["d41d8cd98f00b204e9800998ecf8427e"])
    '59adb24ef3cdbe0297f05b395827453f-1'
    """
    digest = hashlib.md5(b"".join(bytes.fromhex(etag) for etag in part_etags))
    return f"{digest.hexdigest()}-{len(part_etags)}"


def part_chunk_ids(part: metadata_pb2.Part, version_id: str = "") -> set[tuple[str, str]]:
    """(node_id, chunk_id) of the part's stored chunks; chunk_id = "<data_id>.<part>.<chunk_index>".

    `version_id` names the chunks of a part without a data_id (a single PUT).
    """
    data_id = part.data_id or version_id
    return {
        (chunk.node_id, f"{data_id}.{part.part_number}.{chunk.chunk_index}") for chunk in part.chunks if chunk.node_id
    }


def select_parts(
    listed: Sequence[metadata_pb2.CompletedPart], stored: dict[int, metadata_pb2.Part], part_bytes_min: int
) -> list[metadata_pb2.Part]:
    """The stored parts a Complete request names, in its order, or the S3 error it deserves.

    Checked in S3's order: a non-empty list, strictly ascending numbers, each part uploaded
    with the same ETag (quotes around the listed one ignored), all but the last big enough.
    """
    if not listed:
        raise InvalidArgument("CompleteMultipartUpload must list at least one part")
    if len(listed) > limits.part_number_max:
        raise InvalidArgument(f"CompleteMultipartUpload lists more than {limits.part_number_max} parts")
    previous = 0
    for item in listed:
        if not 1 <= item.part_number <= limits.part_number_max:
            raise InvalidPart(item.part_number, f"is outside 1..{limits.part_number_max}")
        if item.part_number <= previous:
            raise InvalidPartOrder(item.part_number, previous)
        previous = item.part_number
    chosen: list[metadata_pb2.Part] = []
    for item in listed:
        part = stored.get(item.part_number)
        if part is None:
            raise InvalidPart(item.part_number, "was never uploaded")
        if item.etag.strip('"') != part.etag:
            raise InvalidPart(item.part_number, f"etag {item.etag!r} does not match the uploaded {part.etag!r}")
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size_bytes < part_bytes_min:
            raise EntityTooSmall(part.part_number, part.size_bytes, part_bytes_min)
    return chosen


def scan(db: Rdict, start: bytes, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) from the first key >= start, while keys start with `prefix`."""
    iterator = db.iter()
    iterator.seek(start)
    while iterator.valid():
        key = cast(bytes, iterator.key())
        if not key.startswith(prefix):
            return
        yield key, cast(bytes, iterator.value())
        iterator.next()


def stored_parts(db: Rdict, upload_id: str) -> Iterator[metadata_pb2.Part]:
    """Every part record of the upload by part number (at most limits.part_number_max)."""
    prefix = records.part_prefix(upload_id)
    for key, raw in scan(db, prefix, prefix):
        yield records.decode(raw, metadata_pb2.Part, key)


def list_parts(
    db: Rdict, upload: metadata_pb2.MultipartUpload, part_number_marker: int, max_parts: int
) -> metadata_pb2.ListPartsReply:
    """Parts numbered above `part_number_marker`, at most `max_parts` (0: none, not truncated)."""
    reply = metadata_pb2.ListPartsReply(upload=upload)
    if max_parts == 0:
        return reply
    prefix = records.part_prefix(upload.upload_id)
    # Clamped: a marker past the last possible part (up to 2**32 - 1 on the wire) lists nothing.
    start = records.part_key(upload.upload_id, min(part_number_marker, limits.part_number_max) + 1)
    for key, raw in scan(db, start, prefix):
        if len(reply.parts) == max_parts:
            reply.is_truncated = True
            break
        reply.parts.append(records.decode(raw, metadata_pb2.Part, key))
    return reply


def list_uploads(
    db: Rdict, bucket: str, prefix: str, start: bytes, max_uploads: int
) -> metadata_pb2.ListMultipartUploadsReply:
    """Uploads of `bucket` under `prefix` from index key `start` on, at most `max_uploads`."""
    reply = metadata_pb2.ListMultipartUploadsReply()
    if max_uploads == 0:
        return reply
    scan_prefix = records.upload_index_prefix(bucket) + prefix.encode()
    for key, raw in scan(db, max(start, scan_prefix), scan_prefix):
        if len(reply.uploads) == max_uploads:
            reply.is_truncated = True
            break
        reply.uploads.append(records.decode(raw, metadata_pb2.MultipartUpload, key))
    return reply


def uploads_start(bucket: str, key_marker: str, marker_upload: metadata_pb2.MultipartUpload | None) -> bytes:
    """Where a ListMultipartUploads page starts: just after the marker upload when it still
    exists under `key_marker`, else after every upload of `key_marker` (S3: an upload-id-marker
    only counts together with a key-marker; without either the listing starts at the bucket).
    """
    if not key_marker:
        return records.upload_index_prefix(bucket)
    if marker_upload is not None and (marker_upload.bucket, marker_upload.key) == (bucket, key_marker):
        return records.upload_index_key(marker_upload) + b"\x00"
    # Index keys of key_marker continue with NUL; key_marker + "\x01" sorts after all of them.
    return records.upload_index_prefix(bucket) + key_marker.encode() + b"\x01"
