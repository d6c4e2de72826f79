from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErasurePolicy(_message.Message):
    __slots__ = ("backend", "k", "m", "segment_size")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    M_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_SIZE_FIELD_NUMBER: _ClassVar[int]
    backend: str
    k: int
    m: int
    segment_size: int
    def __init__(self, backend: _Optional[str] = ..., k: _Optional[int] = ..., m: _Optional[int] = ..., segment_size: _Optional[int] = ...) -> None: ...

class ChunkLocation(_message.Message):
    __slots__ = ("chunk_index", "node_id", "missing")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    node_id: str
    missing: bool
    def __init__(self, chunk_index: _Optional[int] = ..., node_id: _Optional[str] = ..., missing: _Optional[bool] = ...) -> None: ...

class Part(_message.Message):
    __slots__ = ("part_number", "size_bytes", "etag", "piece_size_max", "chunks", "data_id", "last_modified_ns", "checksums")
    class ChecksumsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PIECE_SIZE_MAX_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    DATA_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_NS_FIELD_NUMBER: _ClassVar[int]
    CHECKSUMS_FIELD_NUMBER: _ClassVar[int]
    part_number: int
    size_bytes: int
    etag: str
    piece_size_max: int
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkLocation]
    data_id: str
    last_modified_ns: int
    checksums: _containers.ScalarMap[str, str]
    def __init__(self, part_number: _Optional[int] = ..., size_bytes: _Optional[int] = ..., etag: _Optional[str] = ..., piece_size_max: _Optional[int] = ..., chunks: _Optional[_Iterable[_Union[ChunkLocation, _Mapping]]] = ..., data_id: _Optional[str] = ..., last_modified_ns: _Optional[int] = ..., checksums: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ObjectVersion(_message.Message):
    __slots__ = ("bucket", "key", "version_id", "size_bytes", "etag", "last_modified_ns", "content_type", "user_metadata", "headers", "checksums", "policy", "parts", "inline_data", "is_inline")
    class UserMetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ChecksumsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_NS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_METADATA_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    CHECKSUMS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    INLINE_DATA_FIELD_NUMBER: _ClassVar[int]
    IS_INLINE_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    version_id: str
    size_bytes: int
    etag: str
    last_modified_ns: int
    content_type: str
    user_metadata: _containers.ScalarMap[str, str]
    headers: _containers.ScalarMap[str, str]
    checksums: _containers.ScalarMap[str, str]
    policy: ErasurePolicy
    parts: _containers.RepeatedCompositeFieldContainer[Part]
    inline_data: bytes
    is_inline: bool
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ..., version_id: _Optional[str] = ..., size_bytes: _Optional[int] = ..., etag: _Optional[str] = ..., last_modified_ns: _Optional[int] = ..., content_type: _Optional[str] = ..., user_metadata: _Optional[_Mapping[str, str]] = ..., headers: _Optional[_Mapping[str, str]] = ..., checksums: _Optional[_Mapping[str, str]] = ..., policy: _Optional[_Union[ErasurePolicy, _Mapping]] = ..., parts: _Optional[_Iterable[_Union[Part, _Mapping]]] = ..., inline_data: _Optional[bytes] = ..., is_inline: _Optional[bool] = ...) -> None: ...

class Bucket(_message.Message):
    __slots__ = ("name", "region", "created_ns", "owner")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    CREATED_NS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    name: str
    region: str
    created_ns: int
    owner: str
    def __init__(self, name: _Optional[str] = ..., region: _Optional[str] = ..., created_ns: _Optional[int] = ..., owner: _Optional[str] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("node_id", "zone", "address", "capacity_bytes", "used_bytes", "last_heartbeat_ns", "state", "pid", "mode")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_NS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    zone: str
    address: str
    capacity_bytes: int
    used_bytes: int
    last_heartbeat_ns: int
    state: str
    pid: int
    mode: str
    def __init__(self, node_id: _Optional[str] = ..., zone: _Optional[str] = ..., address: _Optional[str] = ..., capacity_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., last_heartbeat_ns: _Optional[int] = ..., state: _Optional[str] = ..., pid: _Optional[int] = ..., mode: _Optional[str] = ...) -> None: ...

class MultipartUpload(_message.Message):
    __slots__ = ("bucket", "key", "upload_id", "initiated_ns", "content_type", "user_metadata", "headers", "policy", "owner", "checksum_algorithm")
    class UserMetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    INITIATED_NS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_METADATA_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    upload_id: str
    initiated_ns: int
    content_type: str
    user_metadata: _containers.ScalarMap[str, str]
    headers: _containers.ScalarMap[str, str]
    policy: ErasurePolicy
    owner: str
    checksum_algorithm: str
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ..., upload_id: _Optional[str] = ..., initiated_ns: _Optional[int] = ..., content_type: _Optional[str] = ..., user_metadata: _Optional[_Mapping[str, str]] = ..., headers: _Optional[_Mapping[str, str]] = ..., policy: _Optional[_Union[ErasurePolicy, _Mapping]] = ..., owner: _Optional[str] = ..., checksum_algorithm: _Optional[str] = ...) -> None: ...

class SessionRecord(_message.Message):
    __slots__ = ("recorded_ns", "reply", "error_name", "error_message")
    RECORDED_NS_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    ERROR_NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    recorded_ns: int
    reply: bytes
    error_name: str
    error_message: str
    def __init__(self, recorded_ns: _Optional[int] = ..., reply: _Optional[bytes] = ..., error_name: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class GcEntry(_message.Message):
    __slots__ = ("node_id", "chunk_id", "enqueued_ns")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_NS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    chunk_id: str
    enqueued_ns: int
    def __init__(self, node_id: _Optional[str] = ..., chunk_id: _Optional[str] = ..., enqueued_ns: _Optional[int] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ("now_ns", "request_id", "create_bucket", "delete_bucket", "put_object", "delete_object", "heartbeat", "gc_done", "create_multipart_upload", "upload_part", "complete_multipart_upload", "abort_multipart_upload", "repair_chunk", "report_chunk", "set_member", "set_node_mode")
    NOW_NS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_BUCKET_FIELD_NUMBER: _ClassVar[int]
    DELETE_BUCKET_FIELD_NUMBER: _ClassVar[int]
    PUT_OBJECT_FIELD_NUMBER: _ClassVar[int]
    DELETE_OBJECT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    GC_DONE_FIELD_NUMBER: _ClassVar[int]
    CREATE_MULTIPART_UPLOAD_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_PART_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_MULTIPART_UPLOAD_FIELD_NUMBER: _ClassVar[int]
    ABORT_MULTIPART_UPLOAD_FIELD_NUMBER: _ClassVar[int]
    REPAIR_CHUNK_FIELD_NUMBER: _ClassVar[int]
    REPORT_CHUNK_FIELD_NUMBER: _ClassVar[int]
    SET_MEMBER_FIELD_NUMBER: _ClassVar[int]
    SET_NODE_MODE_FIELD_NUMBER: _ClassVar[int]
    now_ns: int
    request_id: str
    create_bucket: CreateBucketRequest
    delete_bucket: DeleteBucketRequest
    put_object: PutObjectRequest
    delete_object: DeleteObjectRequest
    heartbeat: HeartbeatRequest
    gc_done: GcDoneRequest
    create_multipart_upload: CreateMultipartUploadRequest
    upload_part: UploadPartRequest
    complete_multipart_upload: CompleteMultipartUploadRequest
    abort_multipart_upload: AbortMultipartUploadRequest
    repair_chunk: RepairChunkCommand
    report_chunk: ReportChunkRequest
    set_member: SetMemberRequest
    set_node_mode: SetNodeModeRequest
    def __init__(self, now_ns: _Optional[int] = ..., request_id: _Optional[str] = ..., create_bucket: _Optional[_Union[CreateBucketRequest, _Mapping]] = ..., delete_bucket: _Optional[_Union[DeleteBucketRequest, _Mapping]] = ..., put_object: _Optional[_Union[PutObjectRequest, _Mapping]] = ..., delete_object: _Optional[_Union[DeleteObjectRequest, _Mapping]] = ..., heartbeat: _Optional[_Union[HeartbeatRequest, _Mapping]] = ..., gc_done: _Optional[_Union[GcDoneRequest, _Mapping]] = ..., create_multipart_upload: _Optional[_Union[CreateMultipartUploadRequest, _Mapping]] = ..., upload_part: _Optional[_Union[UploadPartRequest, _Mapping]] = ..., complete_multipart_upload: _Optional[_Union[CompleteMultipartUploadRequest, _Mapping]] = ..., abort_multipart_upload: _Optional[_Union[AbortMultipartUploadRequest, _Mapping]] = ..., repair_chunk: _Optional[_Union[RepairChunkCommand, _Mapping]] = ..., report_chunk: _Optional[_Union[ReportChunkRequest, _Mapping]] = ..., set_member: _Optional[_Union[SetMemberRequest, _Mapping]] = ..., set_node_mode: _Optional[_Union[SetNodeModeRequest, _Mapping]] = ...) -> None: ...

class CreateBucketRequest(_message.Message):
    __slots__ = ("name", "region", "owner")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    name: str
    region: str
    owner: str
    def __init__(self, name: _Optional[str] = ..., region: _Optional[str] = ..., owner: _Optional[str] = ...) -> None: ...

class CreateBucketReply(_message.Message):
    __slots__ = ("created",)
    CREATED_FIELD_NUMBER: _ClassVar[int]
    created: bool
    def __init__(self, created: _Optional[bool] = ...) -> None: ...

class DeleteBucketRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteBucketReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BucketRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class BucketReply(_message.Message):
    __slots__ = ("bucket",)
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    bucket: Bucket
    def __init__(self, bucket: _Optional[_Union[Bucket, _Mapping]] = ...) -> None: ...

class ListBucketsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBucketsReply(_message.Message):
    __slots__ = ("buckets",)
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[Bucket]
    def __init__(self, buckets: _Optional[_Iterable[_Union[Bucket, _Mapping]]] = ...) -> None: ...

class PutObjectRequest(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: ObjectVersion
    def __init__(self, version: _Optional[_Union[ObjectVersion, _Mapping]] = ...) -> None: ...

class PutObjectReply(_message.Message):
    __slots__ = ("version_id",)
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    version_id: str
    def __init__(self, version_id: _Optional[str] = ...) -> None: ...

class GetObjectRequest(_message.Message):
    __slots__ = ("bucket", "key")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class GetObjectReply(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: ObjectVersion
    def __init__(self, version: _Optional[_Union[ObjectVersion, _Mapping]] = ...) -> None: ...

class DeleteObjectRequest(_message.Message):
    __slots__ = ("bucket", "key")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class DeleteObjectReply(_message.Message):
    __slots__ = ("existed",)
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    existed: bool
    def __init__(self, existed: _Optional[bool] = ...) -> None: ...

class ListObjectsRequest(_message.Message):
    __slots__ = ("bucket", "prefix", "delimiter", "start_after", "max_keys")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    DELIMITER_FIELD_NUMBER: _ClassVar[int]
    START_AFTER_FIELD_NUMBER: _ClassVar[int]
    MAX_KEYS_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    prefix: str
    delimiter: str
    start_after: str
    max_keys: int
    def __init__(self, bucket: _Optional[str] = ..., prefix: _Optional[str] = ..., delimiter: _Optional[str] = ..., start_after: _Optional[str] = ..., max_keys: _Optional[int] = ...) -> None: ...

class ListObjectsEntry(_message.Message):
    __slots__ = ("key", "is_prefix", "version")
    KEY_FIELD_NUMBER: _ClassVar[int]
    IS_PREFIX_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    is_prefix: bool
    version: ObjectVersion
    def __init__(self, key: _Optional[str] = ..., is_prefix: _Optional[bool] = ..., version: _Optional[_Union[ObjectVersion, _Mapping]] = ...) -> None: ...

class ListObjectsReply(_message.Message):
    __slots__ = ("entries", "is_truncated", "next_marker")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    IS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    NEXT_MARKER_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ListObjectsEntry]
    is_truncated: bool
    next_marker: str
    def __init__(self, entries: _Optional[_Iterable[_Union[ListObjectsEntry, _Mapping]]] = ..., is_truncated: _Optional[bool] = ..., next_marker: _Optional[str] = ...) -> None: ...

class CreateMultipartUploadRequest(_message.Message):
    __slots__ = ("upload",)
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    upload: MultipartUpload
    def __init__(self, upload: _Optional[_Union[MultipartUpload, _Mapping]] = ...) -> None: ...

class CreateMultipartUploadReply(_message.Message):
    __slots__ = ("upload_id",)
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    def __init__(self, upload_id: _Optional[str] = ...) -> None: ...

class UploadPartRequest(_message.Message):
    __slots__ = ("upload_id", "part")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    part: Part
    def __init__(self, upload_id: _Optional[str] = ..., part: _Optional[_Union[Part, _Mapping]] = ...) -> None: ...

class UploadPartReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CompletedPart(_message.Message):
    __slots__ = ("part_number", "etag")
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    part_number: int
    etag: str
    def __init__(self, part_number: _Optional[int] = ..., etag: _Optional[str] = ...) -> None: ...

class CompleteMultipartUploadRequest(_message.Message):
    __slots__ = ("bucket", "key", "upload_id", "parts", "version_id", "part_bytes_min")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    PART_BYTES_MIN_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    upload_id: str
    parts: _containers.RepeatedCompositeFieldContainer[CompletedPart]
    version_id: str
    part_bytes_min: int
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ..., upload_id: _Optional[str] = ..., parts: _Optional[_Iterable[_Union[CompletedPart, _Mapping]]] = ..., version_id: _Optional[str] = ..., part_bytes_min: _Optional[int] = ...) -> None: ...

class CompleteMultipartUploadReply(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: ObjectVersion
    def __init__(self, version: _Optional[_Union[ObjectVersion, _Mapping]] = ...) -> None: ...

class AbortMultipartUploadRequest(_message.Message):
    __slots__ = ("bucket", "key", "upload_id")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    upload_id: str
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ..., upload_id: _Optional[str] = ...) -> None: ...

class AbortMultipartUploadReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUploadRequest(_message.Message):
    __slots__ = ("bucket", "key", "upload_id")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    upload_id: str
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ..., upload_id: _Optional[str] = ...) -> None: ...

class GetUploadReply(_message.Message):
    __slots__ = ("upload",)
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    upload: MultipartUpload
    def __init__(self, upload: _Optional[_Union[MultipartUpload, _Mapping]] = ...) -> None: ...

class ListPartsRequest(_message.Message):
    __slots__ = ("bucket", "key", "upload_id", "part_number_marker", "max_parts")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_MARKER_FIELD_NUMBER: _ClassVar[int]
    MAX_PARTS_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    upload_id: str
    part_number_marker: int
    max_parts: int
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ..., upload_id: _Optional[str] = ..., part_number_marker: _Optional[int] = ..., max_parts: _Optional[int] = ...) -> None: ...

class ListPartsReply(_message.Message):
    __slots__ = ("upload", "parts", "is_truncated")
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    IS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    upload: MultipartUpload
    parts: _containers.RepeatedCompositeFieldContainer[Part]
    is_truncated: bool
    def __init__(self, upload: _Optional[_Union[MultipartUpload, _Mapping]] = ..., parts: _Optional[_Iterable[_Union[Part, _Mapping]]] = ..., is_truncated: _Optional[bool] = ...) -> None: ...

class ListMultipartUploadsRequest(_message.Message):
    __slots__ = ("bucket", "prefix", "key_marker", "upload_id_marker", "max_uploads")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    KEY_MARKER_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_MARKER_FIELD_NUMBER: _ClassVar[int]
    MAX_UPLOADS_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    prefix: str
    key_marker: str
    upload_id_marker: str
    max_uploads: int
    def __init__(self, bucket: _Optional[str] = ..., prefix: _Optional[str] = ..., key_marker: _Optional[str] = ..., upload_id_marker: _Optional[str] = ..., max_uploads: _Optional[int] = ...) -> None: ...

class ListMultipartUploadsReply(_message.Message):
    __slots__ = ("uploads", "is_truncated")
    UPLOADS_FIELD_NUMBER: _ClassVar[int]
    IS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    uploads: _containers.RepeatedCompositeFieldContainer[MultipartUpload]
    is_truncated: bool
    def __init__(self, uploads: _Optional[_Iterable[_Union[MultipartUpload, _Mapping]]] = ..., is_truncated: _Optional[bool] = ...) -> None: ...

class RepairChunkCommand(_message.Message):
    __slots__ = ("bucket", "key", "version_id", "part_number", "chunk_index", "old_node_id", "new_node_id", "new_chunk_id")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    OLD_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    version_id: str
    part_number: int
    chunk_index: int
    old_node_id: str
    new_node_id: str
    new_chunk_id: str
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ..., version_id: _Optional[str] = ..., part_number: _Optional[int] = ..., chunk_index: _Optional[int] = ..., old_node_id: _Optional[str] = ..., new_node_id: _Optional[str] = ..., new_chunk_id: _Optional[str] = ...) -> None: ...

class RepairChunkReply(_message.Message):
    __slots__ = ("applied",)
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    def __init__(self, applied: _Optional[bool] = ...) -> None: ...

class ReportChunkRequest(_message.Message):
    __slots__ = ("node_id", "chunk_id", "reason")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    chunk_id: str
    reason: str
    def __init__(self, node_id: _Optional[str] = ..., chunk_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReportChunkReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChunkRef(_message.Message):
    __slots__ = ("bucket", "key")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    key: str
    def __init__(self, bucket: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class ChunkProblem(_message.Message):
    __slots__ = ("node_id", "chunk_id", "reason", "reported_ns")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REPORTED_NS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    chunk_id: str
    reason: str
    reported_ns: int
    def __init__(self, node_id: _Optional[str] = ..., chunk_id: _Optional[str] = ..., reason: _Optional[str] = ..., reported_ns: _Optional[int] = ...) -> None: ...

class SetMemberRequest(_message.Message):
    __slots__ = ("node_id", "address")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    address: str
    def __init__(self, node_id: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class SetMemberReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Member(_message.Message):
    __slots__ = ("node_id", "address")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    address: str
    def __init__(self, node_id: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class SetNodeModeRequest(_message.Message):
    __slots__ = ("node_id", "mode")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    mode: str
    def __init__(self, node_id: _Optional[str] = ..., mode: _Optional[str] = ...) -> None: ...

class SetNodeModeReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DrainStatusRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class DrainStatusReply(_message.Message):
    __slots__ = ("state", "chunks_remaining")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    state: str
    chunks_remaining: int
    def __init__(self, state: _Optional[str] = ..., chunks_remaining: _Optional[int] = ...) -> None: ...

class PlacementRequest(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class PlacementReply(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    def __init__(self, nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: Node
    def __init__(self, node: _Optional[_Union[Node, _Mapping]] = ...) -> None: ...

class HeartbeatReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNodesReply(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    def __init__(self, nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ...) -> None: ...

class GcListRequest(_message.Message):
    __slots__ = ("node_id", "limit", "older_than_ns")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OLDER_THAN_NS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    limit: int
    older_than_ns: int
    def __init__(self, node_id: _Optional[str] = ..., limit: _Optional[int] = ..., older_than_ns: _Optional[int] = ...) -> None: ...

class GcListReply(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[GcEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[GcEntry, _Mapping]]] = ...) -> None: ...

class GcDoneRequest(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[GcEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[GcEntry, _Mapping]]] = ...) -> None: ...

class GcDoneReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusReply(_message.Message):
    __slots__ = ("bucket_count", "object_count", "applied_index", "node_id", "pid", "gc_queue_length", "raft_role", "term", "commit_index", "leader_id", "voters", "last_index", "snapshot_index", "repair_queue_length", "repaired_chunks", "repaired_bytes", "repair_mb_s", "repair_eta_s", "stripes_by_surviving", "degraded_stripes", "zone_unsafe_stripes", "chunk_problems", "last_scan_ns", "orphans_deleted")
    class StripesBySurvivingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    BUCKET_COUNT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_COUNT_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    GC_QUEUE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    RAFT_ROLE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    VOTERS_FIELD_NUMBER: _ClassVar[int]
    LAST_INDEX_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_INDEX_FIELD_NUMBER: _ClassVar[int]
    REPAIR_QUEUE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_BYTES_FIELD_NUMBER: _ClassVar[int]
    REPAIR_MB_S_FIELD_NUMBER: _ClassVar[int]
    REPAIR_ETA_S_FIELD_NUMBER: _ClassVar[int]
    STRIPES_BY_SURVIVING_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_STRIPES_FIELD_NUMBER: _ClassVar[int]
    ZONE_UNSAFE_STRIPES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    LAST_SCAN_NS_FIELD_NUMBER: _ClassVar[int]
    ORPHANS_DELETED_FIELD_NUMBER: _ClassVar[int]
    bucket_count: int
    object_count: int
    applied_index: int
    node_id: str
    pid: int
    gc_queue_length: int
    raft_role: str
    term: int
    commit_index: int
    leader_id: str
    voters: _containers.RepeatedScalarFieldContainer[str]
    last_index: int
    snapshot_index: int
    repair_queue_length: int
    repaired_chunks: int
    repaired_bytes: int
    repair_mb_s: float
    repair_eta_s: float
    stripes_by_surviving: _containers.ScalarMap[int, int]
    degraded_stripes: int
    zone_unsafe_stripes: int
    chunk_problems: int
    last_scan_ns: int
    orphans_deleted: int
    def __init__(self, bucket_count: _Optional[int] = ..., object_count: _Optional[int] = ..., applied_index: _Optional[int] = ..., node_id: _Optional[str] = ..., pid: _Optional[int] = ..., gc_queue_length: _Optional[int] = ..., raft_role: _Optional[str] = ..., term: _Optional[int] = ..., commit_index: _Optional[int] = ..., leader_id: _Optional[str] = ..., voters: _Optional[_Iterable[str]] = ..., last_index: _Optional[int] = ..., snapshot_index: _Optional[int] = ..., repair_queue_length: _Optional[int] = ..., repaired_chunks: _Optional[int] = ..., repaired_bytes: _Optional[int] = ..., repair_mb_s: _Optional[float] = ..., repair_eta_s: _Optional[float] = ..., stripes_by_surviving: _Optional[_Mapping[int, int]] = ..., degraded_stripes: _Optional[int] = ..., zone_unsafe_stripes: _Optional[int] = ..., chunk_problems: _Optional[int] = ..., last_scan_ns: _Optional[int] = ..., orphans_deleted: _Optional[int] = ...) -> None: ...
