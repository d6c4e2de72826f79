"""S3 ListObjects over the ordered object keys of one bucket.

Theory of operation
-------------------
Keys of a bucket are stored as `o/<bucket>\\0<key utf-8>`, so iterating from a seek position
yields keys in S3 order. Each key under `prefix` becomes an entry: the key itself, or, when
`delimiter` occurs after the prefix, the common prefix up to and including that delimiter.
A common prefix is emitted once and the iterator then SEEKS past every key that starts with
it, so a "directory" of a million keys costs one seek, not a million steps.

`start_after` is exclusive. The scan starts at the smallest key above it; if that key rolls
up into a common prefix that is not above `start_after` (start_after lies inside it, so the
prefix was already returned on an earlier page), the whole prefix is skipped. Net effect:
the result is "all entries greater than start_after, in order", the same rule the naive
reference in the tests uses, and `next_marker` (the last entry returned) is always a valid
`start_after` for the next page.

Worked example: keys a/1, a/2, b, c/1 with delimiter "/" give a/, b, c/; with
start_after="a/1" they give b, c/.
"""

from __future__ import annotations

from typing import cast

from rocksdict import Rdict, RdictIter

from metadata import records
from proto import metadata_pb2


def list_objects(
    db: Rdict, bucket: str, prefix: str, delimiter: str, start_after: str, max_keys: int
) -> metadata_pb2.ListObjectsReply:
    """Entries > start_after under prefix, at most max_keys (0 returns nothing, not truncated)."""
    reply = metadata_pb2.ListObjectsReply()
    if max_keys == 0:
        return reply  # AWS: empty page, IsTruncated=false
    base = records.object_prefix(bucket)
    scan_prefix = base + prefix.encode()
    after = base + start_after.encode()
    iterator = db.iter()
    iterator.seek(max(scan_prefix, after + b"\x00") if start_after else scan_prefix)
    while iterator.valid():
        db_key = cast(bytes, iterator.key())
        if not db_key.startswith(scan_prefix):
            break
        key = db_key[len(base) :].decode()
        common_prefix = _common_prefix(key, prefix, delimiter)
        if common_prefix is not None and start_after and base + common_prefix.encode() <= after:
            if not _seek_past(iterator, base + common_prefix.encode()):
                break
            continue
        if len(reply.entries) == max_keys:
            reply.is_truncated = True
            break
        if common_prefix is None:
            reply.entries.add(key=key, version=_summary(db_key, cast(bytes, iterator.value())))
            iterator.next()
        else:
            reply.entries.add(key=common_prefix, is_prefix=True)
            if not _seek_past(iterator, base + common_prefix.encode()):
                break
    if reply.entries:
        reply.next_marker = reply.entries[-1].key
    return reply


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    """The roll-up of `key`, e.g. ("a/b/c", "a/", "/") -> "a/b/"; None when it stays a key."""
    if not delimiter:
        return None
    position = key.find(delimiter, len(prefix))
    return None if position < 0 else key[: position + len(delimiter)]


def _seek_past(iterator: RdictIter, prefix: bytes) -> bool:
    """Move to the first key not starting with `prefix`; False when none can exist."""
    end = records.prefix_end(prefix)
    if end is None:
        return False
    iterator.seek(end)
    return True


def _summary(db_key: bytes, raw: bytes) -> metadata_pb2.ObjectVersion:
    """The stored version without parts and inline data (listings never need them)."""
    version = records.decode(raw, metadata_pb2.ObjectVersion, db_key)
    version.ClearField("parts")
    version.ClearField("inline_data")
    return version
