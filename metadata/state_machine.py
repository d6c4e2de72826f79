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

Multipart uploads (`u/`, `U/`, `p/` records; rules in metadata.multipart) follow the same
discipline: ids (upload_id, a part's data_id, the completed version_id) are chosen by the
proposer, never here, and every chunk a command orphans is enqueued for GC in its batch.

Reads (`get_object`, `list_objects`, ...) go straight to the database; they see the state
after some prefix of the log, never a partial command, because each command is one batch.
See metadata/FORMAT.md for the key layout.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeAlias, cast

from google.protobuf.message import DecodeError
from rocksdict import Options, Rdict, WriteBatch, WriteOptions

from metadata import errors as errors_module
from metadata import limits, multipart, records
from metadata.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidArgument,
    MetadataError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    TooManyBuckets,
)
from metadata.listing import list_objects
from proto import metadata_pb2

ERROR_TYPES: dict[str, type[MetadataError]] = {cls.__name__: cls for cls in vars(errors_module).values()
                                               if isinstance(cls, type) and issubclass(cls, MetadataError)}

log = logging.getLogger("tessera.metadata.state_machine")

Reply: TypeAlias = (
    metadata_pb2.CreateBucketReply
    | metadata_pb2.DeleteBucketReply
    | metadata_pb2.PutObjectReply
    | metadata_pb2.DeleteObjectReply
    | metadata_pb2.HeartbeatReply
    | metadata_pb2.GcDoneReply
    | metadata_pb2.CreateMultipartUploadReply
    | metadata_pb2.UploadPartReply
    | metadata_pb2.CompleteMultipartUploadReply
    | metadata_pb2.AbortMultipartUploadReply
    | metadata_pb2.RepairChunkReply
    | metadata_pb2.ReportChunkReply
    | metadata_pb2.SetMemberReply
    | metadata_pb2.SetNodeModeReply
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


def _swap_in(path: Path, incoming: Path) -> None:
    retired = path.with_name(path.name + ".retired")
    shutil.rmtree(retired, ignore_errors=True)
    path.rename(retired)
    incoming.rename(path)  # the commit point: from here the new store is the store
    shutil.rmtree(retired)


def _finish_interrupted_install(path: Path) -> None:
    """Complete a snapshot swap that a crash interrupted between its two renames."""
    incoming = path.with_name(path.name + ".incoming")
    retired = path.with_name(path.name + ".retired")
    if not path.exists() and retired.exists() and incoming.exists():
        incoming.rename(path)
    if path.exists():
        shutil.rmtree(retired, ignore_errors=True)
        shutil.rmtree(incoming, ignore_errors=True)


REPLY_TYPES: dict[str, type[Reply]] = {
    "create_bucket": metadata_pb2.CreateBucketReply,
    "delete_bucket": metadata_pb2.DeleteBucketReply,
    "put_object": metadata_pb2.PutObjectReply,
    "delete_object": metadata_pb2.DeleteObjectReply,
    "heartbeat": metadata_pb2.HeartbeatReply,
    "gc_done": metadata_pb2.GcDoneReply,
    "create_multipart_upload": metadata_pb2.CreateMultipartUploadReply,
    "upload_part": metadata_pb2.UploadPartReply,
    "complete_multipart_upload": metadata_pb2.CompleteMultipartUploadReply,
    "abort_multipart_upload": metadata_pb2.AbortMultipartUploadReply,
    "repair_chunk": metadata_pb2.RepairChunkReply,
    "report_chunk": metadata_pb2.ReportChunkReply,
    "set_member": metadata_pb2.SetMemberReply,
    "set_node_mode": metadata_pb2.SetNodeModeReply,
}


def _replay(command: metadata_pb2.Command, record: metadata_pb2.SessionRecord) -> Reply:
    """The recorded outcome again: the same reply, or the same error raised."""
    if record.error_name:
        error_type = ERROR_TYPES.get(record.error_name, MetadataError)
        error = error_type.__new__(error_type)
        Exception.__init__(error, record.error_message)
        raise error
    op = command.WhichOneof("op")
    assert op is not None, "a recorded command had an op"
    return REPLY_TYPES[op].FromString(record.reply)


def _find_location(version: metadata_pb2.ObjectVersion,
                   request: metadata_pb2.RepairChunkCommand) -> metadata_pb2.ChunkLocation | None:
    for part in version.parts:
        if part.part_number == request.part_number:
            for location in part.chunks:
                if location.chunk_index == request.chunk_index:
                    return location
    return None


class SnapshotInstall:
    """A new store built beside the old one, swapped in by renames on `finish`, so a crash
    leaves either the old or the new store (finished at the next open), never a mix."""

    def __init__(self, machine: StateMachine) -> None:
        self._machine = machine
        self._incoming = machine._path.with_name(machine._path.name + ".incoming")
        shutil.rmtree(self._incoming, ignore_errors=True)
        self._fresh = Rdict(str(self._incoming), Options(raw_mode=True))

    def add(self, keys: list[bytes], values: list[bytes]) -> None:
        batch = WriteBatch(raw_mode=True)
        for key, value in zip(keys, values, strict=True):
            batch.put(key, value)
        self._fresh.write(batch)

    def finish(self) -> int:
        self._fresh.flush(True)
        self._fresh.close()
        return self._machine._swap(self._incoming)

    def abort(self) -> None:
        self._fresh.close()
        shutil.rmtree(self._incoming, ignore_errors=True)


class StateMachine:
    def __init__(self, path: Path | str, *, sync: bool = True) -> None:
        """Open (or create) the database at `path`. `sync=False` is for tests only."""
        self._path = Path(path)
        _finish_interrupted_install(self._path)
        self._db = Rdict(str(path), Options(raw_mode=True))
        self._write_options = WriteOptions()
        self._write_options.sync = sync
        self._applied_index = self._read_u64(records.applied_index_key)
        log.info("opened path=%s applied_index=%d", path, self._applied_index)

    def close(self) -> None:
        self._db.close()

    # ---- snapshots (Raft InstallSnapshot) ----------------------------------------------

    def snapshot_batches(self, pairs_max: int) -> Iterator[tuple[list[bytes], list[bytes]]]:
        """The whole store as of one instant, in batches of at most `pairs_max` (keys, values).

        Includes the applied index, so the receiver knows which log prefix the data reflects.
        """
        view = self._db.snapshot()
        iterator = view.iter()
        iterator.seek_to_first()
        keys: list[bytes] = []
        values: list[bytes] = []
        while iterator.valid():
            keys.append(bytes(iterator.key()))
            values.append(bytes(iterator.value()))
            if len(keys) >= pairs_max:
                yield keys, values
                keys, values = [], []
            iterator.next()
        yield keys, values

    def install_snapshot(self, batches: Iterable[tuple[list[bytes], list[bytes]]]) -> int:
        """Replace the whole store by a leader's snapshot; returns the new applied index."""
        install = self.begin_install()
        try:
            for keys, values in batches:
                install.add(keys, values)
        except BaseException:
            install.abort()
            raise
        return install.finish()

    def begin_install(self) -> SnapshotInstall:
        """Start receiving a snapshot batch by batch (as it streams in)."""
        return SnapshotInstall(self)

    def _swap(self, incoming: Path) -> int:
        self._db.close()
        _swap_in(self._path, incoming)
        self._db = Rdict(str(self._path), Options(raw_mode=True))
        self._applied_index = self._read_u64(records.applied_index_key)
        log.info("installed snapshot applied_index=%d", self._applied_index)
        return self._applied_index

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
        except DecodeError as error:
            self._commit(index, _Changes())
            raise InvalidArgument(f"command at index {index} does not decode: {error}") from error
        recorded = self._recorded_outcome(command)
        if recorded is not None:  # a retry of a command already applied: answer as the first time
            self._commit(index, _Changes())
            return _replay(command, recorded)
        try:
            reply = self._dispatch(command, changes)
        except MetadataError as error:
            # A rejected command is still a deterministic outcome: consume its index, change nothing
            # but the session record. Any other exception (corrupt store, bug) propagates without
            # advancing the index.
            failed = _Changes()
            self._record_outcome(command, failed, metadata_pb2.SessionRecord(
                error_name=type(error).__name__, error_message=str(error)))
            self._commit(index, failed)
            raise
        self._record_outcome(command, changes, metadata_pb2.SessionRecord(
            reply=reply.SerializeToString(deterministic=True)))
        self._commit(index, changes)
        return reply

    def _recorded_outcome(self, command: metadata_pb2.Command) -> metadata_pb2.SessionRecord | None:
        if not command.request_id:
            return None
        key = records.session_key(command.request_id)
        raw = self._db.get(key)
        return records.decode(raw, metadata_pb2.SessionRecord, key) if raw is not None else None

    def _record_outcome(self, command: metadata_pb2.Command, changes: _Changes,
                        record: metadata_pb2.SessionRecord) -> None:
        """Remember the outcome under the request id, and expire a few of the oldest records."""
        if command.request_id and len(command.request_id) <= limits.request_id_bytes_max:
            record.recorded_ns = command.now_ns
            changes.batch.put(records.session_key(command.request_id), records.encode(record))
            changes.batch.put(records.session_expiry_key(command.now_ns, command.request_id), b"")
        iterator = self._db.iter()
        iterator.seek(records.session_expiry_prefix)
        for _ in range(limits.sessions_expired_per_apply_max):
            if not iterator.valid():
                break
            key = bytes(iterator.key())
            if not key.startswith(records.session_expiry_prefix):
                break
            recorded_ns = int.from_bytes(key[2:10], "big")
            if recorded_ns > command.now_ns - limits.session_ttl_ns:
                break
            changes.batch.delete(key)
            changes.batch.delete(records.session_key(key[10:].decode()))
            iterator.next()

    def _dispatch(self, command: metadata_pb2.Command, changes: _Changes) -> Reply:
        now_ns = command.now_ns
        if now_ns < 0:
            raise InvalidArgument("command now_ns must not be negative")
        match command.WhichOneof("op"):
            case "create_bucket":
                return self._create_bucket(command.create_bucket, now_ns, changes)
            case "delete_bucket":
                return self._delete_bucket(command.delete_bucket, now_ns, changes)
            case "put_object":
                return self._put_object(command.put_object, now_ns, changes)
            case "delete_object":
                return self._delete_object(command.delete_object, now_ns, changes)
            case "heartbeat":
                return self._heartbeat(command.heartbeat, now_ns, changes)
            case "gc_done":
                return self._gc_done(command.gc_done, changes)
            case "create_multipart_upload":
                return self._create_multipart_upload(command.create_multipart_upload, now_ns, changes)
            case "upload_part":
                return self._upload_part(command.upload_part, now_ns, changes)
            case "complete_multipart_upload":
                return self._complete_multipart_upload(command.complete_multipart_upload, now_ns, changes)
            case "abort_multipart_upload":
                return self._abort_multipart_upload(command.abort_multipart_upload, now_ns, changes)
            case "repair_chunk":
                return self._repair_chunk(command.repair_chunk, now_ns, changes)
            case "report_chunk":
                return self._report_chunk(command.report_chunk, now_ns, changes)
            case "set_member":
                return self._set_member(command.set_member, changes)
            case "set_node_mode":
                return self._set_node_mode(command.set_node_mode, changes)
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
        self, request: metadata_pb2.DeleteBucketRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.DeleteBucketReply:
        """S3 deletes a bucket that holds no objects; its in-progress uploads are aborted with it."""
        self.head_bucket(request.name)
        for _ in self._scan(records.object_prefix(request.name)):
            raise BucketNotEmpty(request.name)
        uploads = self._bucket_uploads(request.name)
        for upload, parts in uploads:
            self._discard_upload(upload, parts, set(), now_ns, changes)
        changes.batch.delete(records.bucket_key(request.name))
        changes.bucket_delta -= 1
        return metadata_pb2.DeleteBucketReply()

    def _bucket_uploads(self, bucket: str) -> list[tuple[metadata_pb2.MultipartUpload, list[metadata_pb2.Part]]]:
        """Every upload of `bucket` with its parts, or BucketNotEmpty beyond the batch bound."""
        found: list[tuple[metadata_pb2.MultipartUpload, list[metadata_pb2.Part]]] = []
        record_count = 0
        for key, raw in self._scan(records.upload_index_prefix(bucket)):
            upload = records.decode(raw, metadata_pb2.MultipartUpload, key)
            found.append((upload, []))
            record_count += 1
            for part in multipart.stored_parts(self._db, upload.upload_id):
                found[-1][1].append(part)
                record_count += 1
                if record_count > limits.delete_bucket_upload_records_max:
                    break
            if record_count > limits.delete_bucket_upload_records_max:
                bound = limits.delete_bucket_upload_records_max
                raise BucketNotEmpty(bucket, f"over {bound} multipart upload records; abort its uploads first")
        return found

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
        self._replace_version(version, now_ns, changes)
        return metadata_pb2.PutObjectReply(version_id=version.version_id)

    def _replace_version(self, version: metadata_pb2.ObjectVersion, now_ns: int, changes: _Changes) -> None:
        """Make `version` the current one of its key; the replaced version's chunks go to GC."""
        key = records.object_key(version.bucket, version.key)
        current = self._get_version(key)
        if current is None:
            changes.object_delta += 1
        else:
            # A retried PutObject may carry the same version: never collect chunks still in use.
            self._enqueue_gc(_chunk_ids(current) - _chunk_ids(version), now_ns, changes)
        _reindex(current, version, changes)
        changes.batch.put(key, records.encode(version))

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
        _reindex(current, None, changes)
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
        previous = self._get(records.node_key(node.node_id))
        if previous is not None:  # the operator's mode survives heartbeats
            node.mode = records.decode(previous, metadata_pb2.Node, records.node_key(node.node_id)).mode
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

    def _create_multipart_upload(
        self, request: metadata_pb2.CreateMultipartUploadRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.CreateMultipartUploadReply:
        upload = metadata_pb2.MultipartUpload()
        upload.CopyFrom(request.upload)
        self.head_bucket(upload.bucket)
        _check_key(upload.key)
        if "\x00" in upload.key:
            raise InvalidArgument("a multipart upload key must not contain NUL")  # the U/ index relies on it
        _check_id("upload_id", upload.upload_id, limits.upload_id_bytes_max)
        existing = self._get_upload(upload.upload_id)
        if existing is not None:
            # The proposer picks fresh ids, so a known id is a retried command: answer it again.
            if (existing.bucket, existing.key) != (upload.bucket, upload.key):
                raise InvalidArgument(f"upload_id {upload.upload_id!r} is already in use")
            return metadata_pb2.CreateMultipartUploadReply(upload_id=upload.upload_id)
        if upload.initiated_ns == 0:
            upload.initiated_ns = now_ns
        changes.batch.put(records.upload_key(upload.upload_id), records.encode(upload))
        changes.batch.put(records.upload_index_key(upload), records.encode(upload))
        return metadata_pb2.CreateMultipartUploadReply(upload_id=upload.upload_id)

    def _upload_part(
        self, request: metadata_pb2.UploadPartRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.UploadPartReply:
        part = metadata_pb2.Part()
        part.CopyFrom(request.part)
        if self._get_upload(request.upload_id) is None:
            raise NoSuchUpload(request.upload_id)
        if not 1 <= part.part_number <= limits.part_number_max:
            raise InvalidArgument(f"part_number must be within 1..{limits.part_number_max}")
        # A part's chunks are written before the version id exists, so they need their own name.
        _check_id("data_id", part.data_id, limits.data_id_bytes_max)
        if not multipart.is_md5_hex(part.etag):
            raise InvalidArgument("a part's etag must be 32 lowercase hex digits (its MD5)")
        if part.last_modified_ns == 0:
            part.last_modified_ns = now_ns
        key = records.part_key(request.upload_id, part.part_number)
        raw = self._get(key)
        if raw is not None:
            # Same data_id means a retried command: the difference is empty and nothing is collected.
            replaced = records.decode(raw, metadata_pb2.Part, key)
            self._enqueue_gc(multipart.part_chunk_ids(replaced) - multipart.part_chunk_ids(part), now_ns, changes)
        changes.batch.put(key, records.encode(part))
        return metadata_pb2.UploadPartReply()

    def _complete_multipart_upload(
        self, request: metadata_pb2.CompleteMultipartUploadRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.CompleteMultipartUploadReply:
        upload = self.get_upload(request.bucket, request.key, request.upload_id)
        if not request.version_id:
            raise InvalidArgument("version_id must not be empty")
        stored = list(multipart.stored_parts(self._db, upload.upload_id))
        chosen = multipart.select_parts(
            request.parts, {part.part_number: part for part in stored}, request.part_bytes_min
        )
        version = metadata_pb2.ObjectVersion(
            bucket=upload.bucket,
            key=upload.key,
            version_id=request.version_id,
            size_bytes=sum(part.size_bytes for part in chosen),
            etag=multipart.multipart_etag([part.etag for part in chosen]),
            last_modified_ns=now_ns,
            content_type=upload.content_type,
            user_metadata=upload.user_metadata,
            headers=upload.headers,
            policy=upload.policy,
            parts=chosen,
        )
        self._replace_version(version, now_ns, changes)
        self._discard_upload(upload, stored, {part.part_number for part in chosen}, now_ns, changes)
        return metadata_pb2.CompleteMultipartUploadReply(version=version)

    def _abort_multipart_upload(
        self, request: metadata_pb2.AbortMultipartUploadRequest, now_ns: int, changes: _Changes
    ) -> metadata_pb2.AbortMultipartUploadReply:
        upload = self.get_upload(request.bucket, request.key, request.upload_id)
        stored = list(multipart.stored_parts(self._db, upload.upload_id))
        self._discard_upload(upload, stored, set(), now_ns, changes)
        return metadata_pb2.AbortMultipartUploadReply()

    def _discard_upload(
        self,
        upload: metadata_pb2.MultipartUpload,
        parts: list[metadata_pb2.Part],
        kept_part_numbers: set[int],
        now_ns: int,
        changes: _Changes,
    ) -> None:
        """Delete the upload's records; chunks of parts not kept (by a completed version) go to GC."""
        changes.batch.delete(records.upload_key(upload.upload_id))
        changes.batch.delete(records.upload_index_key(upload))
        unused: set[tuple[str, str]] = set()
        for part in parts:
            changes.batch.delete(records.part_key(upload.upload_id, part.part_number))
            if part.part_number not in kept_part_numbers:
                unused |= multipart.part_chunk_ids(part)
        self._enqueue_gc(unused, now_ns, changes)

    def _repair_chunk(self, request: metadata_pb2.RepairChunkCommand, now_ns: int,
                      changes: _Changes) -> metadata_pb2.RepairChunkReply:
        """Compare-and-set a rebuilt chunk's location: a version overwritten, deleted or already
        repaired meanwhile is left alone (and the rebuilt copy collected), never resurrected."""
        _check_node_id(request.old_node_id)
        _check_node_id(request.new_node_id)
        key = records.object_key(request.bucket, request.key)
        current = self._get_version(key)
        location = _find_location(current, request) if current is not None else None
        if current is None or current.version_id != request.version_id or location is None \
                or location.node_id != request.old_node_id:
            if request.new_node_id != request.old_node_id and request.new_chunk_id:
                self._enqueue_gc({(request.new_node_id, request.new_chunk_id)}, now_ns, changes)
            return metadata_pb2.RepairChunkReply(applied=False)
        part = next(p for p in current.parts if p.part_number == request.part_number)
        chunk_id = f"{part.data_id or current.version_id}.{part.part_number}.{location.chunk_index}"
        before = metadata_pb2.ObjectVersion()
        before.CopyFrom(current)
        location.node_id = request.new_node_id
        location.missing = False
        if request.new_node_id != request.old_node_id:
            self._enqueue_gc({(request.old_node_id, chunk_id)}, now_ns, changes)
            self._cancel_gc(request.new_node_id, chunk_id, changes)
        changes.batch.delete(records.problem_key(request.old_node_id, chunk_id))
        _reindex(before, current, changes)
        changes.batch.put(key, records.encode(current))
        return metadata_pb2.RepairChunkReply(applied=True)

    def _cancel_gc(self, node_id: str, chunk_id: str, changes: _Changes) -> None:
        """Drop queued deletions of `chunk_id` on `node_id`: the chunk lives there again."""
        for key, raw in self._scan(records.gc_prefix(node_id)):
            if records.decode(raw, metadata_pb2.GcEntry, key).chunk_id == chunk_id and \
                    key not in changes.gc_keys_touched:
                changes.gc_keys_touched.add(key)
                changes.batch.delete(key)
                changes.gc_delta -= 1

    def _report_chunk(self, request: metadata_pb2.ReportChunkRequest, now_ns: int,
                      changes: _Changes) -> metadata_pb2.ReportChunkReply:
        _check_node_id(request.node_id)
        if not request.chunk_id or len(request.chunk_id) > limits.upload_id_bytes_max + 32:
            raise InvalidArgument("chunk_id is empty or too long")
        key = records.problem_key(request.node_id, request.chunk_id)
        if self._get(key) is None:
            problem = metadata_pb2.ChunkProblem(node_id=request.node_id, chunk_id=request.chunk_id,
                                                reason=request.reason or "corrupt", reported_ns=now_ns)
            changes.batch.put(key, records.encode(problem))
        return metadata_pb2.ReportChunkReply()

    def _set_member(self, request: metadata_pb2.SetMemberRequest, changes: _Changes) -> metadata_pb2.SetMemberReply:
        _check_node_id(request.node_id)
        if request.address.count(":") < 1:
            raise InvalidArgument(f"member address {request.address!r} is not host:port")
        member = metadata_pb2.Member(node_id=request.node_id, address=request.address)
        changes.batch.put(records.member_key(request.node_id), records.encode(member))
        return metadata_pb2.SetMemberReply()

    def _set_node_mode(self, request: metadata_pb2.SetNodeModeRequest,
                       changes: _Changes) -> metadata_pb2.SetNodeModeReply:
        if request.mode not in ("", "draining", "removed"):
            raise InvalidArgument(f"node mode must be '', 'draining' or 'removed', not {request.mode!r}")
        key = records.node_key(request.node_id)
        raw = self._get(key)
        if raw is None:
            raise InvalidArgument(f"no datanode {request.node_id!r} is registered")
        node = records.decode(raw, metadata_pb2.Node, key)
        node.mode = request.mode
        changes.batch.put(key, records.encode(node))
        if request.mode == "removed":  # its queued deletions can never run: drop them with the node
            for gc_key, _raw in self._scan(records.gc_prefix(request.node_id)):
                if gc_key not in changes.gc_keys_touched:
                    changes.gc_keys_touched.add(gc_key)
                    changes.batch.delete(gc_key)
                    changes.gc_delta -= 1
        return metadata_pb2.SetNodeModeReply()

    def member_address(self, node_id: str) -> str | None:
        key = records.member_key(node_id)
        raw = self._get(key)
        return records.decode(raw, metadata_pb2.Member, key).address if raw is not None else None

    def chunk_problems(self, limit: int) -> list[metadata_pb2.ChunkProblem]:
        found: list[metadata_pb2.ChunkProblem] = []
        iterator = self._db.iter()
        iterator.seek(records.problem_prefix)
        while iterator.valid() and len(found) < limit:
            key = bytes(iterator.key())
            if not key.startswith(records.problem_prefix):
                break
            found.append(records.decode(bytes(iterator.value()), metadata_pb2.ChunkProblem, key))
            iterator.next()
        return found

    def scan_versions(self, after: bytes, limit: int) -> tuple[list[metadata_pb2.ObjectVersion], bytes]:
        """Up to `limit` stored object versions after key `after` (b"" = from the start), and the
        key to continue from (b"" when the scan is complete): the repair planner's cursor."""
        iterator = self._db.iter()
        iterator.seek(after + b"\x00" if after else records.object_prefix_root)
        found: list[metadata_pb2.ObjectVersion] = []
        last = b""
        while iterator.valid() and len(found) < limit:
            key = bytes(iterator.key())
            if not key.startswith(records.object_prefix_root):
                return found, b""
            found.append(records.decode(bytes(iterator.value()), metadata_pb2.ObjectVersion, key))
            last = key
            iterator.next()
        more = iterator.valid() and bytes(iterator.key()).startswith(records.object_prefix_root)
        return found, last if more else b""

    def chunks_on(self, node_id: str, limit: int) -> list[tuple[str, metadata_pb2.ChunkRef]]:
        """Up to `limit` (chunk_id, ChunkRef) of committed versions with a chunk on `node_id`."""
        prefix = records.chunk_index_prefix(node_id)
        found = []
        for key, raw in self._scan(prefix):
            found.append((key[len(prefix):].decode(), records.decode(raw, metadata_pb2.ChunkRef, key)))
            if len(found) >= limit:
                break
        return found

    def chunk_ref(self, node_id: str, chunk_id: str) -> metadata_pb2.ChunkRef | None:
        key = records.chunk_index_key(node_id, chunk_id)
        raw = self._get(key)
        return records.decode(raw, metadata_pb2.ChunkRef, key) if raw is not None else None

    def version_of(self, bucket: str, key: str) -> metadata_pb2.ObjectVersion | None:
        return self._get_version(records.object_key(bucket, key))

    def referenced_chunks(self) -> dict[str, set[str]]:
        """node_id -> chunk ids that metadata points at: committed versions, in-progress parts and
        chunks queued for GC (those are deleted by their node's GC, not by the orphan sweep)."""
        referenced: dict[str, set[str]] = collections.defaultdict(set)
        for key, raw in self._scan(records.object_prefix_root):
            version = records.decode(raw, metadata_pb2.ObjectVersion, key)
            for node_id, chunk_id in _chunk_ids(version):
                referenced[node_id].add(chunk_id)
        for key, raw in self._scan(records.part_prefix_root):
            part = records.decode(raw, metadata_pb2.Part, key)
            for location in part.chunks:
                referenced[location.node_id].add(f"{part.data_id}.{part.part_number}.{location.chunk_index}")
        for key, raw in self._scan(records.gc_prefix_root):
            entry = records.decode(raw, metadata_pb2.GcEntry, key)
            referenced[entry.node_id].add(entry.chunk_id)
        return referenced

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

    def get_upload(self, bucket: str, key: str, upload_id: str) -> metadata_pb2.MultipartUpload:
        """The upload, or NoSuchUpload when it is gone or belongs to another bucket or key."""
        upload = self._get_upload(upload_id)
        if upload is None or (upload.bucket, upload.key) != (bucket, key):
            raise NoSuchUpload(upload_id)
        return upload

    def list_parts(
        self, bucket: str, key: str, upload_id: str, part_number_marker: int = 0, max_parts: int = 1000
    ) -> metadata_pb2.ListPartsReply:
        """S3 ListParts: parts numbered above `part_number_marker` (exclusive), ascending."""
        upload = self.get_upload(bucket, key, upload_id)
        if not 0 <= max_parts <= limits.list_parts_max:
            raise InvalidArgument(f"max_parts must be within 0..{limits.list_parts_max}")
        return multipart.list_parts(self._db, upload, part_number_marker, max_parts)

    def list_multipart_uploads(
        self, bucket: str, prefix: str = "", key_marker: str = "", upload_id_marker: str = "", max_uploads: int = 1000
    ) -> metadata_pb2.ListMultipartUploadsReply:
        """S3 ListMultipartUploads ordered by (key, initiated_ns, upload_id); markers are exclusive.

        With only `key_marker`, listing resumes at the next key. With `upload_id_marker` too, it
        resumes just after that upload; if that upload has meanwhile completed or been aborted,
        its initiation time is unknown and listing resumes at the next key.
        """
        self.head_bucket(bucket)
        if not 0 <= max_uploads <= limits.list_uploads_max:
            raise InvalidArgument(f"max_uploads must be within 0..{limits.list_uploads_max}")
        marker_upload = self._get_upload(upload_id_marker) if key_marker and upload_id_marker else None
        start = multipart.uploads_start(bucket, key_marker, marker_upload)
        return multipart.list_uploads(self._db, bucket, prefix, start, max_uploads)

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

    def _get_upload(self, upload_id: str) -> metadata_pb2.MultipartUpload | None:
        key = records.upload_key(upload_id)
        raw = self._get(key)
        return None if raw is None else records.decode(raw, metadata_pb2.MultipartUpload, key)

    def _scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return multipart.scan(self._db, prefix, prefix)


def _reindex(old: metadata_pb2.ObjectVersion | None, new: metadata_pb2.ObjectVersion | None,
             changes: _Changes) -> None:
    """Keep the per-datanode chunk index in step with a version replaced, repaired or removed."""
    old_ids = _chunk_ids(old) if old is not None else set()
    new_ids = _chunk_ids(new) if new is not None else set()
    for node_id, chunk_id in sorted(old_ids - new_ids):
        changes.batch.delete(records.chunk_index_key(node_id, chunk_id))
    if new is not None:
        ref = records.encode(metadata_pb2.ChunkRef(bucket=new.bucket, key=new.key))
        for node_id, chunk_id in sorted(new_ids - old_ids):
            changes.batch.put(records.chunk_index_key(node_id, chunk_id), ref)


def _chunk_ids(version: metadata_pb2.ObjectVersion) -> set[tuple[str, str]]:
    """(node_id, chunk_id) of every stored chunk; chunk_id = "<data_id or version_id>.<part>.<chunk_index>"."""
    ids: set[tuple[str, str]] = set()
    for part in version.parts:
        ids |= multipart.part_chunk_ids(part, version.version_id)
    return ids


def _check_bucket_name(name: str) -> None:
    if not _bucket_name_pattern.fullmatch(name) or ".." in name:
        raise InvalidArgument(f"invalid bucket name {name!r}")


def _check_key(key: str) -> None:
    if not key:
        raise InvalidArgument("object key must not be empty")
    if len(key.encode()) > limits.key_bytes_max:
        raise InvalidArgument(f"object key is longer than {limits.key_bytes_max} bytes")


def _check_id(name: str, value: str, bytes_max: int) -> None:
    """Ids chosen by the proposer end up inside keys and chunk names: bounded, no NUL."""
    if not value or "\x00" in value or len(value.encode()) > bytes_max:
        raise InvalidArgument(f"{name} must be 1..{bytes_max} bytes without NUL")


def _check_node_id(node_id: str) -> None:
    if not node_id or "\x00" in node_id or len(node_id.encode()) > limits.node_id_bytes_max:
        raise InvalidArgument(f"node_id must be 1..{limits.node_id_bytes_max} bytes without NUL")
