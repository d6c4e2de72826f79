"""The metadata state machine: one deterministic `apply` over a RocksDB (rocksdict) store.

Theory of operation
-------------------
Every mutation arrives as a serialized `Command` with a log index. `apply(index, bytes)`
decodes it, validates it, computes all of its changes into one `WriteBatch`, adds the new
`applied_index` to the same batch and writes it with `sync=True`. So the state on disk is
always "the effect of log entries 1..applied_index", and replaying an entry whose index is
not above `applied_index` is a no-op: a restarted replica (or Raft re-delivering committed
entries) can apply from any earlier point without double effects.

`apply` is a pure function of (stored state, index, command bytes): it reads no clock (time
comes from `Command.now_ns`, stamped by the proposer), draws no random numbers and does no
I/O besides this database. That is what lets Raft replicas apply the same log and end up
byte-identical. A command that fails validation still consumes its index (only the applied
index is written) and raises its `MetadataError`: the failure is the command's outcome.

Reads (`get_object`, `list_objects`, ...) go straight to the database; they see the state
after some prefix of the log, never a partial command, because each command is one batch.
See metadata/FORMAT.md for the key layout.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias, cast

from google.protobuf.message import DecodeError
from rocksdict import Options, Rdict, WriteBatch, WriteOptions

from metadata import limits, records
from metadata.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidArgument,
    MetadataError,
    NoSuchBucket,
    NoSuchKey,
    TooManyBuckets,
)
from metadata.listing import list_objects
from proto import metadata_pb2

log = logging.getLogger("tessera.metadata.state_machine")

Reply: TypeAlias = (
    metadata_pb2.CreateBucketReply
    | metadata_pb2.DeleteBucketReply
    | metadata_pb2.PutObjectReply
    | metadata_pb2.DeleteObjectReply
    | metadata_pb2.HeartbeatReply
    | metadata_pb2.GcDoneReply
)

# S3 bucket naming (the structural part): 3..63 of [a-z0-9.-], alphanumeric at both ends.
# It also guarantees no NUL, which the object key layout relies on.
_bucket_name_pattern = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclasses.dataclass(frozen=True, slots=True)
class Counts:
    bucket_count: int
    object_count: int
    gc_queue_length: int
    applied_index: int


@dataclasses.dataclass(slots=True)
class _Changes:
    """Everything one command writes; committed as one batch together with the index."""

    batch: WriteBatch = dataclasses.field(default_factory=lambda: WriteBatch(raw_mode=True))
    bucket_delta: int = 0
    object_delta: int = 0
    gc_delta: int = 0
    gc_keys_touched: set[bytes] = dataclasses.field(default_factory=set)


class StateMachine:
    def __init__(self, path: Path | str, *, sync: bool = True) -> None:
        """Open (or create) the database at `path`. `sync=False` is for tests only."""
        self._db = Rdict(str(path), Options(raw_mode=True))
        self._write_options = WriteOptions()
        self._write_options.sync = sync
        self._applied_index = self._read_u64(records.applied_index_key)
        log.info("opened path=%s applied_index=%d", path, self._applied_index)

    def close(self) -> None:
        self._db.close()

    @property
    def applied_index(self) -> int:
        return self._applied_index

    # ---- mutations -------------------------------------------------------------------

    def apply(self, index: int, command_bytes: bytes) -> Reply | None:
        """Apply log entry `index`; None when it was already applied (restart replay)."""
        if index <= self._applied_index:
            log.debug("skip index=%d applied_index=%d", index, self._applied_index)
            return None
        changes = _Changes()
        try:
            command = metadata_pb2.Command.FromString(command_bytes)
            reply = self._dispatch(command, changes)
        except DecodeError as error:
            self._commit(index, _Changes())
            raise InvalidArgument(f"command at index {index} does not decode: {error}") from error
        except MetadataError:
            # A rejected command is still a deterministic outcome: consume its index, change nothing.
            # Any other exception (corrupt store, bug) propagates without advancing the index.
            self._commit(index, _Changes())
            raise
        self._commit(index, changes)
        return reply

    def _dispatch(self, command: metadata_pb2.Command, changes: _Changes) -> Reply:
        now_ns = command.now_ns
        if now_ns < 0:
            raise InvalidArgument("command now_ns must not be negative")
        match command.WhichOneof("op"):
            case "create_bucket":
                return self._create_bucket(command.create_bucket, now_ns, changes)
            case "delete_bucket":
                return self._delete_bucket(command.delete_bucket, changes)
            case "put_object":
                return self._put_object(command.put_object, now_ns, changes)
            case "delete_object":
                return self._delete_object(command.delete_object, now_ns, changes)
            case "heartbeat":
                return self._heartbeat(command.heartbeat, now_ns, changes)
            case "gc_done":
                return self._gc_done(command.gc_done, changes)
            case _:
                raise InvalidArgument("command carries no known operation")

    def _commit(self, index: int, changes: _Changes) -> None:
        for key, delta in (
            (records.bucket_count_key, changes.bucket_delta),
            (records.object_count_key, changes.object_delta),
            (records.gc_queue_length_key, changes.gc_delta),
        ):
            if delta:
                value = self._read_u64(key) + delta
                assert value >= 0, f"{key!r} would become negative"
                changes.batch.put(key, records.encode_u64(value))
        changes.batch.put(records.applied_index_key, records.encode_u64(index))
        self._db.write(changes.batch, self._write_options)
        self._applied_index = index

    def _create_bucket(
        self, request: metadata_pb2.CreateBucketRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.CreateBucketReply:
        _check_bucket_name(request.name)
        key = records.bucket_key(request.name)
        if self._get(key) is not None:
            raise BucketAlreadyOwnedByYou(request.name)
        if self._read_u64(records.bucket_count_key) >= limits.buckets_max:
            raise TooManyBuckets(limits.buckets_max)
        bucket = metadata_pb2.Bucket(name=request.name, region=request.region, owner=request.owner, created_ns=now_ns)
        changes.batch.put(key, records.encode(bucket))
        changes.bucket_delta += 1
        return metadata_pb2.CreateBucketReply(created=True)

    def _delete_bucket(
        self, request: metadata_pb2.DeleteBucketRequest, changes: _Changes
    ) -> metadata_pb2.DeleteBucketReply:
        self.head_bucket(request.name)
        for _ in self._scan(records.object_prefix(request.name)):
            raise BucketNotEmpty(request.name)
        changes.batch.delete(records.bucket_key(request.name))
        changes.bucket_delta -= 1
        return metadata_pb2.DeleteBucketReply()

    def _put_object(
        self, request: metadata_pb2.PutObjectRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.PutObjectReply:
        version = metadata_pb2.ObjectVersion()
        version.CopyFrom(request.version)
        self.head_bucket(version.bucket)
        _check_key(version.key)
        if not version.version_id:
            raise InvalidArgument("version_id must not be empty")
        if version.last_modified_ns == 0:
            version.last_modified_ns = now_ns
        key = records.object_key(version.bucket, version.key)
        current = self._get_version(key)
        if current is None:
            changes.object_delta += 1
        else:
            # A retried PutObject may carry the same version: never collect chunks still in use.
            self._enqueue_gc(_chunk_ids(current) - _chunk_ids(version), now_ns, changes)
        changes.batch.put(key, records.encode(version))
        return metadata_pb2.PutObjectReply(version_id=version.version_id)

    def _delete_object(
        self, request: metadata_pb2.DeleteObjectRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.DeleteObjectReply:
        self.head_bucket(request.bucket)
        _check_key(request.key)
        key = records.object_key(request.bucket, request.key)
        current = self._get_version(key)
        if current is None:
            return metadata_pb2.DeleteObjectReply(existed=False)
        self._enqueue_gc(_chunk_ids(current), now_ns, changes)
        changes.batch.delete(key)
        changes.object_delta -= 1
        return metadata_pb2.DeleteObjectReply(existed=True)

    def _heartbeat(
        self, request: metadata_pb2.HeartbeatRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.HeartbeatReply:
        node = metadata_pb2.Node()
        node.CopyFrom(request.node)
        _check_node_id(node.node_id)
        if len(node.zone.encode()) > limits.zone_bytes_max:
            raise InvalidArgument(f"zone is longer than {limits.zone_bytes_max} bytes")
        node.last_heartbeat_ns = now_ns
        node.state = ""  # computed on read against the reader's clock
        changes.batch.put(records.node_key(node.node_id), records.encode(node))
        return metadata_pb2.HeartbeatReply()

    def _gc_done(self, request: metadata_pb2.GcDoneRequest, changes: _Changes) -> metadata_pb2.GcDoneReply:
        if len(request.entries) > limits.gc_done_entries_max:
            raise InvalidArgument(f"GcDone carries more than {limits.gc_done_entries_max} entries")
        for entry in request.entries:
            _check_node_id(entry.node_id)
            key = records.gc_key(entry)
            if key in changes.gc_keys_touched or self._get(key) is None:
                continue  # idempotent: already removed (or listed twice)
            changes.gc_keys_touched.add(key)
            changes.batch.delete(key)
            changes.gc_delta -= 1
        return metadata_pb2.GcDoneReply()

    def _enqueue_gc(self, chunks: set[tuple[str, str]], now_ns: int, changes: _Changes) -> None:
        for node_id, chunk_id in sorted(chunks):  # sorted: identical batches on every replica
            entry = metadata_pb2.GcEntry(node_id=node_id, chunk_id=chunk_id, enqueued_ns=now_ns)
            key = records.gc_key(entry)
            if key in changes.gc_keys_touched or self._get(key) is not None:
                continue
            changes.gc_keys_touched.add(key)
            changes.batch.put(key, records.encode(entry))
            changes.gc_delta += 1

    # ---- reads -----------------------------------------------------------------------

    def head_bucket(self, name: str) -> metadata_pb2.Bucket:
        key = records.bucket_key(name)
        raw = self._get(key) if _bucket_name_pattern.fullmatch(name) else None
        if raw is None:
            raise NoSuchBucket(name)
        return records.decode(raw, metadata_pb2.Bucket, key)

    def list_buckets(self) -> list[metadata_pb2.Bucket]:
        """All buckets sorted by name (bounded by limits.buckets_max)."""
        scan = self._scan(records.bucket_prefix)
        return [records.decode(raw, metadata_pb2.Bucket, key) for key, raw in scan]

    def get_object(self, bucket: str, key: str) -> metadata_pb2.ObjectVersion:
        self.head_bucket(bucket)
        version = self._get_version(records.object_key(bucket, key))
        if version is None:
            raise NoSuchKey(bucket, key)
        return version

    def list_objects(
        self, bucket: str, prefix: str = "", delimiter: str = "", start_after: str = "", max_keys: int = 1000
    ) -> metadata_pb2.ListObjectsReply:
        """S3 ListObjects; see metadata.listing for the algorithm."""
        self.head_bucket(bucket)
        if not 0 <= max_keys <= limits.list_entries_max:
            raise InvalidArgument(f"max_keys must be within 0..{limits.list_entries_max}")
        return list_objects(self._db, bucket, prefix, delimiter, start_after, max_keys)

    def list_nodes(self) -> list[metadata_pb2.Node]:
        """Registered datanodes sorted by node_id, `state` left empty (the reader computes it)."""
        return [records.decode(raw, metadata_pb2.Node, key) for key, raw in self._scan(records.node_prefix)]

    def gc_list(self, node_id: str, limit: int, older_than_ns: int) -> list[metadata_pb2.GcEntry]:
        """Up to `limit` GC entries of `node_id` enqueued strictly before `older_than_ns`, oldest first."""
        _check_node_id(node_id)
        if not 0 <= limit <= limits.gc_list_entries_max:
            raise InvalidArgument(f"limit must be within 0..{limits.gc_list_entries_max}")
        entries: list[metadata_pb2.GcEntry] = []
        end = records.gc_prefix(node_id) + max(older_than_ns, 0).to_bytes(8, "big")
        for key, raw in self._scan(records.gc_prefix(node_id)):
            if len(entries) >= limit or key >= end:
                break
            entries.append(records.decode(raw, metadata_pb2.GcEntry, key))
        return entries

    def counts(self) -> Counts:
        return Counts(
            bucket_count=self._read_u64(records.bucket_count_key),
            object_count=self._read_u64(records.object_count_key),
            gc_queue_length=self._read_u64(records.gc_queue_length_key),
            applied_index=self._applied_index,
        )

    # ---- helpers ---------------------------------------------------------------------

    def _get(self, key: bytes) -> bytes | None:
        return cast("bytes | None", self._db.get(key))

    def _read_u64(self, key: bytes) -> int:
        return records.decode_u64(self._get(key), key)

    def _get_version(self, key: bytes) -> metadata_pb2.ObjectVersion | None:
        raw = self._get(key)
        return None if raw is None else records.decode(raw, metadata_pb2.ObjectVersion, key)

    def _scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        iterator = self._db.iter()
        iterator.seek(prefix)
        while iterator.valid():
            key = cast(bytes, iterator.key())
            if not key.startswith(prefix):
                return
            yield key, cast(bytes, iterator.value())
            iterator.next()


def _chunk_ids(version: metadata_pb2.ObjectVersion) -> set[tuple[str, str]]:
    """(node_id, chunk_id) of every stored chunk; chunk_id = "<version_id>.<part>.<chunk_index>"."""
    return {
        (chunk.node_id, f"{version.version_id}.{part.part_number}.{chunk.chunk_index}")
        for part in version.parts
        for chunk in part.chunks
        if chunk.node_id
    }


def _check_bucket_name(name: str) -> None:
    if not _bucket_name_pattern.fullmatch(name) or ".." in name:
        raise InvalidArgument(f"invalid bucket name {name!r}")


def _check_key(key: str) -> None:
    if not key:
        raise InvalidArgument("object key must not be empty")
    if len(key.encode()) > limits.key_bytes_max:
        raise InvalidArgument(f"object key is longer than {limits.key_bytes_max} bytes")


def _check_node_id(node_id: str) -> None:
    if not node_id or "\x00" in node_id or len(node_id.encode()) > limits.node_id_bytes_max:
        raise InvalidArgument(f"node_id must be 1..{limits.node_id_bytes_max} bytes without NUL")
