from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WriteChunkHeader(_message.Message):
    __slots__ = ("chunk_id", "piece_size_max", "format_version")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    PIECE_SIZE_MAX_FIELD_NUMBER: _ClassVar[int]
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    chunk_id: str
    piece_size_max: int
    format_version: int
    def __init__(self, chunk_id: _Optional[str] = ..., piece_size_max: _Optional[int] = ..., format_version: _Optional[int] = ...) -> None: ...

class Piece(_message.Message):
    __slots__ = ("piece_index", "data", "crc32")
    PIECE_INDEX_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CRC32_FIELD_NUMBER: _ClassVar[int]
    piece_index: int
    data: bytes
    crc32: int
    def __init__(self, piece_index: _Optional[int] = ..., data: _Optional[bytes] = ..., crc32: _Optional[int] = ...) -> None: ...

class WriteChunkRequest(_message.Message):
    __slots__ = ("header", "piece", "commit")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PIECE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    header: WriteChunkHeader
    piece: Piece
    commit: bool
    def __init__(self, header: _Optional[_Union[WriteChunkHeader, _Mapping]] = ..., piece: _Optional[_Union[Piece, _Mapping]] = ..., commit: _Optional[bool] = ...) -> None: ...

class WriteChunkReply(_message.Message):
    __slots__ = ("size_bytes", "piece_count")
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIECE_COUNT_FIELD_NUMBER: _ClassVar[int]
    size_bytes: int
    piece_count: int
    def __init__(self, size_bytes: _Optional[int] = ..., piece_count: _Optional[int] = ...) -> None: ...

class ReadChunkRequest(_message.Message):
    __slots__ = ("chunk_id", "piece_start", "piece_count")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    PIECE_START_FIELD_NUMBER: _ClassVar[int]
    PIECE_COUNT_FIELD_NUMBER: _ClassVar[int]
    chunk_id: str
    piece_start: int
    piece_count: int
    def __init__(self, chunk_id: _Optional[str] = ..., piece_start: _Optional[int] = ..., piece_count: _Optional[int] = ...) -> None: ...

class ReadChunkReply(_message.Message):
    __slots__ = ("piece",)
    PIECE_FIELD_NUMBER: _ClassVar[int]
    piece: Piece
    def __init__(self, piece: _Optional[_Union[Piece, _Mapping]] = ...) -> None: ...

class ChunkIdRequest(_message.Message):
    __slots__ = ("chunk_id",)
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    chunk_id: str
    def __init__(self, chunk_id: _Optional[str] = ...) -> None: ...

class DeleteChunkReply(_message.Message):
    __slots__ = ("existed",)
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    existed: bool
    def __init__(self, existed: _Optional[bool] = ...) -> None: ...

class StatChunkReply(_message.Message):
    __slots__ = ("exists", "size_bytes", "piece_count", "piece_size_max", "mtime_ns")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIECE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PIECE_SIZE_MAX_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    size_bytes: int
    piece_count: int
    piece_size_max: int
    mtime_ns: int
    def __init__(self, exists: _Optional[bool] = ..., size_bytes: _Optional[int] = ..., piece_count: _Optional[int] = ..., piece_size_max: _Optional[int] = ..., mtime_ns: _Optional[int] = ...) -> None: ...

class ListChunksRequest(_message.Message):
    __slots__ = ("prefix",)
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    def __init__(self, prefix: _Optional[str] = ...) -> None: ...

class ListChunksReply(_message.Message):
    __slots__ = ("chunk_ids",)
    CHUNK_IDS_FIELD_NUMBER: _ClassVar[int]
    chunk_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, chunk_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class NodeInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeInfoReply(_message.Message):
    __slots__ = ("node_id", "zone", "capacity_bytes", "used_bytes", "chunk_count", "scrubbed_bytes", "scrub_passes", "corrupt_pieces_found")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCRUBBED_BYTES_FIELD_NUMBER: _ClassVar[int]
    SCRUB_PASSES_FIELD_NUMBER: _ClassVar[int]
    CORRUPT_PIECES_FOUND_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    zone: str
    capacity_bytes: int
    used_bytes: int
    chunk_count: int
    scrubbed_bytes: int
    scrub_passes: int
    corrupt_pieces_found: int
    def __init__(self, node_id: _Optional[str] = ..., zone: _Optional[str] = ..., capacity_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., chunk_count: _Optional[int] = ..., scrubbed_bytes: _Optional[int] = ..., scrub_passes: _Optional[int] = ..., corrupt_pieces_found: _Optional[int] = ...) -> None: ...

class RepairSource(_message.Message):
    __slots__ = ("chunk_index", "address", "chunk_id")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    address: str
    chunk_id: str
    def __init__(self, chunk_index: _Optional[int] = ..., address: _Optional[str] = ..., chunk_id: _Optional[str] = ...) -> None: ...

class RepairChunkRequest(_message.Message):
    __slots__ = ("chunk_id", "chunk_index", "backend", "k", "m", "piece_count", "piece_size_max", "sources")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    M_FIELD_NUMBER: _ClassVar[int]
    PIECE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PIECE_SIZE_MAX_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    chunk_id: str
    chunk_index: int
    backend: str
    k: int
    m: int
    piece_count: int
    piece_size_max: int
    sources: _containers.RepeatedCompositeFieldContainer[RepairSource]
    def __init__(self, chunk_id: _Optional[str] = ..., chunk_index: _Optional[int] = ..., backend: _Optional[str] = ..., k: _Optional[int] = ..., m: _Optional[int] = ..., piece_count: _Optional[int] = ..., piece_size_max: _Optional[int] = ..., sources: _Optional[_Iterable[_Union[RepairSource, _Mapping]]] = ...) -> None: ...

class RepairChunkReply(_message.Message):
    __slots__ = ("size_bytes", "piece_count")
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIECE_COUNT_FIELD_NUMBER: _ClassVar[int]
    size_bytes: int
    piece_count: int
    def __init__(self, size_bytes: _Optional[int] = ..., piece_count: _Optional[int] = ...) -> None: ...
