"""The datanode's one exception tree. Subclasses carry fields, never gRPC or HTTP codes:
`datanode.server` alone maps them to grpc.StatusCode."""


class DatanodeError(Exception):
    """Root of every operating error the datanode raises on purpose."""


class InvalidChunkId(DatanodeError):
    """A chunk id that is not "<version_id>.<part_number>.<chunk_index>"."""

    def __init__(self, chunk_id: str) -> None:
        super().__init__(f"invalid chunk id {chunk_id!r}")
        self.chunk_id = chunk_id


class ProtocolError(DatanodeError):
    """The caller broke the write protocol (pieces out of order, piece too long, ...)."""


class ChunkNotFound(DatanodeError):
    def __init__(self, chunk_id: str) -> None:
        super().__init__(f"chunk {chunk_id!r} not found")
        self.chunk_id = chunk_id


class ChecksumMismatch(DatanodeError):
    """A piece arrived with a crc32 that does not match its data: nothing was written."""

    def __init__(self, chunk_id: str, piece_index: int, expected: int, actual: int) -> None:
        super().__init__(
            f"chunk {chunk_id!r} piece {piece_index}: crc32 sent {expected:#010x}, data has {actual:#010x}"
        )
        self.chunk_id = chunk_id
        self.piece_index = piece_index
        self.expected = expected
        self.actual = actual


class CorruptChunk(DatanodeError):
    """A stored chunk file fails its own checks (header, footer, size)."""

    def __init__(self, chunk_id: str, reason: str) -> None:
        super().__init__(f"chunk {chunk_id!r} is corrupt: {reason}")
        self.chunk_id = chunk_id
        self.reason = reason


class CorruptPiece(CorruptChunk):
    """One stored piece fails its crc32 or length check; its bytes are never returned."""

    def __init__(self, chunk_id: str, piece_index: int, reason: str = "crc32 mismatch") -> None:
        super().__init__(chunk_id, f"piece {piece_index}: {reason}")
        self.piece_index = piece_index


class UnsupportedFormat(DatanodeError):
    """A chunk file written by a newer major format version: this reader refuses it."""

    def __init__(self, chunk_id: str, major: int) -> None:
        super().__init__(f"chunk {chunk_id!r} has format major version {major}, this reader knows 1")
        self.chunk_id = chunk_id
        self.major = major


class PieceRangeError(DatanodeError):
    """A read asked for pieces past the end of the chunk."""

    def __init__(self, chunk_id: str, piece_start: int, piece_count: int, available: int) -> None:
        super().__init__(
            f"chunk {chunk_id!r}: pieces [{piece_start}, +{piece_count}) outside [0, {available})"
        )
        self.chunk_id = chunk_id
        self.piece_start = piece_start
        self.piece_count = piece_count
        self.available = available


class OutOfSpace(DatanodeError):
    """Accepting the write would exceed the node's capacity (configured or disk free space)."""

    def __init__(self, needed_bytes: int, available_bytes: int) -> None:
        super().__init__(f"need {needed_bytes} bytes, {available_bytes} available")
        self.needed_bytes = needed_bytes
        self.available_bytes = available_bytes


class InvalidConfig(DatanodeError):
    """A DatanodeConfig field is out of range; raised by DatanodeConfig.validate()."""
