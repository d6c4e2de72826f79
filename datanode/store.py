"""ChunkStore: chunk files on one local disk. Synchronous, pure file I/O, no grpc.

Theory of operation:
- Layout under the data directory: `tmp/` holds chunks being written, `chunks/<hh>/<chunk_id>`
  holds committed ones (hh = first two hex digits of sha256(chunk_id), spreading files over
  256 directories). The file format is datanode/chunkfile.py, documented in FORMAT.md.
- A write is two-phase: `begin()` opens a temp file, `append()` checks each piece's crc32
  and order before writing it, `commit()` writes the footer, fsyncs, renames into place
  (atomically replacing an older chunk with the same id) and fsyncs the directory. A crash
  before the rename leaves only a temp file, removed at the next startup, so a chunk is
  either wholly visible or absent.
- Reads verify every piece's crc32 and length against the header/footer and raise
  CorruptPiece rather than return bad bytes. They read one piece at a time (pread).
- Space: used_bytes is a running total of committed file sizes (a scan at startup, updated
  on commit/delete under a lock); bytes of in-flight writes are reserved so concurrent
  writers cannot overshoot the capacity together.
Methods may be called from several threads at once (the server runs them in to_thread);
one ChunkWriter or ChunkReader is used by one caller at a time.
"""

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from datanode import chunkfile, limits
from datanode.errors import (
    ChecksumMismatch,
    ChunkNotFound,
    CorruptPiece,
    OutOfSpace,
    PieceRangeError,
    ProtocolError,
)

logger = logging.getLogger("tessera.datanode.store")

_fanout_dirs = [f"{i:02x}" for i in range(256)]


@dataclass(frozen=True, slots=True)
class ChunkStat:
    chunk_id: str
    data_bytes: int  # payload: sum of piece lengths
    file_bytes: int  # on disk, header and footer included (what used_bytes counts)
    piece_count: int
    piece_size_max: int
    mtime_ns: int


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ChunkStore:
    """Chunk files under `root`; capacity_bytes = 0 means "bounded by disk free space only"."""

    def __init__(self, root: Path, capacity_bytes: int = 0) -> None:
        assert capacity_bytes >= 0
        self.root = Path(root)
        self.capacity_bytes_limit = capacity_bytes
        self._chunks = self.root / "chunks"
        self._tmp = self.root / "tmp"
        self._lock = threading.Lock()
        self._used_bytes = 0
        self._chunk_count = 0
        self._reserved_bytes = 0  # bytes written or about to be written by uncommitted writers
        self._prepare_directories()
        self._remove_stale_temp_files()
        self._scan()

    # -- startup ---------------------------------------------------------------------------

    def _prepare_directories(self) -> None:
        for directory in (self.root, self._chunks, self._tmp):
            directory.mkdir(parents=True, exist_ok=True)
        created = False
        for name in _fanout_dirs:
            fanout = self._chunks / name
            if not fanout.is_dir():
                fanout.mkdir(exist_ok=True)
                created = True
        if created:
            _fsync_dir(self._chunks)
            _fsync_dir(self.root)

    def _remove_stale_temp_files(self) -> None:
        removed = 0
        for entry in os.scandir(self._tmp):
            os.unlink(entry.path)  # a writer that never committed: the chunk never existed
            removed += 1
        if removed:
            _fsync_dir(self._tmp)
            logger.info("event=stale_temp_removed count=%d", removed)

    def _scan(self) -> None:
        for name in _fanout_dirs:
            for entry in os.scandir(self._chunks / name):
                if not entry.is_file(follow_symlinks=False):
                    continue
                self._used_bytes += entry.stat(follow_symlinks=False).st_size
                self._chunk_count += 1
        logger.info("event=store_opened root=%s chunks=%d used_bytes=%d", self.root, self._chunk_count,
                    self._used_bytes)

    # -- paths and space -------------------------------------------------------------------

    def path_of(self, chunk_id: str) -> Path:
        """Where a committed chunk lives (validates the id; the file may not exist)."""
        chunkfile.validate_chunk_id(chunk_id)
        fanout = hashlib.sha256(chunk_id.encode()).hexdigest()[:2]
        return self._chunks / fanout / chunk_id

    def used_bytes(self) -> int:
        """Bytes of committed chunk files (in-flight writes not included)."""
        with self._lock:
            return self._used_bytes

    def chunk_count(self) -> int:
        with self._lock:
            return self._chunk_count

    def capacity_bytes(self) -> int:
        """Effective capacity: the configured limit, else used + usable free disk space."""
        if self.capacity_bytes_limit:
            return self.capacity_bytes_limit
        free = shutil.disk_usage(self.root).free - limits.disk_free_reserve_bytes
        with self._lock:
            return self._used_bytes + max(free, 0)

    def _reserve(self, size_bytes: int) -> None:
        """Claim space for bytes about to be written, or raise OutOfSpace."""
        with self._lock:
            if self.capacity_bytes_limit:
                available = self.capacity_bytes_limit - self._used_bytes - self._reserved_bytes
            else:
                # In-flight bytes are already on disk, so free space accounts for them.
                available = shutil.disk_usage(self.root).free - limits.disk_free_reserve_bytes
            if size_bytes > available:
                raise OutOfSpace(size_bytes, max(available, 0))
            self._reserved_bytes += size_bytes

    def _release(self, size_bytes: int) -> None:
        with self._lock:
            self._reserved_bytes -= size_bytes
            assert self._reserved_bytes >= 0

    # -- writes ----------------------------------------------------------------------------

    def begin(self, chunk_id: str, piece_size_max: int) -> "ChunkWriter":
        """Open a writer for chunk_id; nothing is visible until its commit()."""
        chunkfile.validate_chunk_id(chunk_id)
        if not 0 < piece_size_max <= limits.piece_bytes_max:
            raise ProtocolError(f"piece_size_max {piece_size_max} outside [1, {limits.piece_bytes_max}]")
        temp_path = self._tmp / f"{chunk_id}.{uuid.uuid4().hex}.tmp"
        return ChunkWriter(self, chunk_id, piece_size_max, temp_path)

    def _install(self, writer: "ChunkWriter") -> Path:
        """Rename a fully synced temp file over the committed path and account for it.

        The caller fsyncs the returned path's directory to make the rename durable.
        """
        final = self.path_of(writer.chunk_id)
        with self._lock:  # stat + replace + accounting must not interleave with delete/install
            try:
                old_bytes: int | None = os.stat(final).st_size
            except FileNotFoundError:
                old_bytes = None
            os.replace(writer.temp_path, final)
            self._used_bytes += writer.file_bytes - (old_bytes or 0)
            self._chunk_count += old_bytes is None
            self._reserved_bytes -= writer.file_bytes
        return final

    def delete(self, chunk_id: str) -> bool:
        """Remove a committed chunk; returns whether it existed (idempotent)."""
        path = self.path_of(chunk_id)
        with self._lock:
            try:
                size_bytes = os.stat(path).st_size
                os.unlink(path)
            except FileNotFoundError:
                return False
            self._used_bytes -= size_bytes
            self._chunk_count -= 1
        _fsync_dir(path.parent)
        return True

    # -- reads -----------------------------------------------------------------------------

    def open_reader(self, chunk_id: str) -> "ChunkReader":
        """Open a committed chunk and check its header and footer; close the reader after use."""
        path = self.path_of(chunk_id)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise ChunkNotFound(chunk_id) from None
        try:
            return ChunkReader(chunk_id, fd)
        except BaseException:
            os.close(fd)
            raise

    def read_pieces(self, chunk_id: str, piece_start: int = 0,
                    piece_count: int = 0) -> Iterator[tuple[int, bytes, int]]:
        """Yield (piece_index, data, crc32) for the range; piece_count 0 = to the end.

        Lazy: the file is opened at the first next() (errors surface there) and one piece is
        read per step. Raises ChunkNotFound, PieceRangeError, CorruptChunk/CorruptPiece.
        """
        with self.open_reader(chunk_id) as reader:
            for index in reader.piece_range(piece_start, piece_count):
                data, crc = reader.read_piece(index)
                yield index, data, crc

    def stat(self, chunk_id: str) -> ChunkStat:
        with self.open_reader(chunk_id) as reader:
            return reader.stat()

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield committed chunk ids starting with prefix (sorted within each fanout directory)."""
        for name in _fanout_dirs:
            for chunk_id in sorted(os.listdir(self._chunks / name)):
                if chunk_id.startswith(prefix):
                    yield chunk_id


class ChunkWriter:
    """One chunk being written: append pieces in order, then commit() or abort()."""

    def __init__(self, store: ChunkStore, chunk_id: str, piece_size_max: int, temp_path: Path) -> None:
        self.chunk_id = chunk_id
        self.piece_size_max = piece_size_max
        self.temp_path = temp_path
        self.piece_count = 0
        self.data_bytes = 0
        self.file_bytes = 0  # written so far, all of it reserved in the store
        self._store = store
        self._state = "open"
        self._short_piece_seen = False
        # append/commit/abort may race when a cancelled RPC aborts while a worker thread
        # is still inside append: the lock makes abort wait for it. Reentrant: _write aborts.
        self._lock = threading.RLock()
        header = chunkfile.encode_header(piece_size_max)
        store._reserve(len(header))
        try:
            self._file = open(temp_path, "xb")  # noqa: SIM115 - closed by commit/abort
        except BaseException:
            store._release(len(header))
            raise
        self.file_bytes = len(header)
        self._write(header)

    def __enter__(self) -> "ChunkWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.abort()

    def _write(self, data: bytes) -> None:
        """Write already-reserved bytes; any OSError aborts the writer (ENOSPC -> OutOfSpace)."""
        try:
            self._file.write(data)
        except OSError as error:
            self.abort()
            if error.errno == errno.ENOSPC:
                raise OutOfSpace(len(data), 0) from error
            raise

    def append(self, piece_index: int, data: bytes, crc32: int) -> None:
        """Verify then write one piece. Nothing is written when a check fails."""
        with self._lock:
            self._append(piece_index, data, crc32)

    def _append(self, piece_index: int, data: bytes, crc32: int) -> None:
        if self._state != "open":
            raise ProtocolError(f"chunk {self.chunk_id!r}: append after {self._state}")
        if piece_index != self.piece_count:
            raise ProtocolError(f"chunk {self.chunk_id!r}: piece {piece_index}, expected {self.piece_count}")
        if self._short_piece_seen:
            raise ProtocolError(f"chunk {self.chunk_id!r}: piece {piece_index} after a short last piece")
        if len(data) > self.piece_size_max:
            raise ProtocolError(f"chunk {self.chunk_id!r}: piece {piece_index} has {len(data)} bytes "
                                f"> piece_size_max {self.piece_size_max}")
        actual = zlib.crc32(data)
        if actual != crc32:
            raise ChecksumMismatch(self.chunk_id, piece_index, crc32, actual)
        size_bytes = chunkfile.piece_frame_bytes + len(data)
        self._store._reserve(size_bytes)
        self.file_bytes += size_bytes
        self._write(chunkfile.piece_frame.pack(len(data), crc32))
        self._write(data)
        self.piece_count += 1
        self.data_bytes += len(data)
        self._short_piece_seen = len(data) < self.piece_size_max

    def commit(self) -> ChunkStat:
        """Footer, fsync, atomic rename into place, directory fsync. Then the chunk is durable."""
        with self._lock:
            return self._commit()

    def _commit(self) -> ChunkStat:
        if self._state != "open":
            raise ProtocolError(f"chunk {self.chunk_id!r}: commit after {self._state}")
        footer = chunkfile.encode_footer(self.piece_count, self.data_bytes)
        self._store._reserve(len(footer))
        self.file_bytes += len(footer)
        self._write(footer)
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            mtime_ns = os.fstat(self._file.fileno()).st_mtime_ns
            self._file.close()
            final = self._store._install(self)
        except BaseException:
            self.abort()
            raise
        self._state = "committed"  # renamed: from here the reservation belongs to used_bytes
        _fsync_dir(final.parent)
        return ChunkStat(self.chunk_id, self.data_bytes, self.file_bytes, self.piece_count,
                         self.piece_size_max, mtime_ns)

    def abort(self) -> None:
        """Drop the temp file; idempotent, and a no-op after commit."""
        with self._lock:
            self._abort()

    def _abort(self) -> None:
        if self._state != "open":
            return
        self._state = "aborted"
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)
        self._store._release(self.file_bytes)


class ChunkReader:
    """An open committed chunk whose header and footer have been checked."""

    def __init__(self, chunk_id: str, fd: int) -> None:
        self.chunk_id = chunk_id
        self._fd: int | None = fd
        self._lock = threading.Lock()  # close waits for an in-flight read_piece (fd reuse)
        file_stat = os.fstat(fd)
        self._mtime_ns = file_stat.st_mtime_ns
        head = os.pread(fd, chunkfile.header_bytes_max, 0)
        tail_offset = max(file_stat.st_size - chunkfile.footer_bytes, 0)
        tail = os.pread(fd, chunkfile.footer_bytes, tail_offset)
        self.layout = chunkfile.decode_layout(chunk_id, head, tail, file_stat.st_size)

    def __enter__(self) -> "ChunkReader":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def stat(self) -> ChunkStat:
        layout = self.layout
        return ChunkStat(self.chunk_id, layout.data_bytes, layout.file_bytes, layout.piece_count,
                         layout.piece_size_max, self._mtime_ns)

    def piece_range(self, piece_start: int, piece_count: int) -> range:
        """The pieces of a read request; piece_count 0 = to the end."""
        available = self.layout.piece_count
        end = available if piece_count == 0 else piece_start + piece_count
        if piece_start < 0 or piece_count < 0 or piece_start > available or end > available:
            raise PieceRangeError(self.chunk_id, piece_start, piece_count, available)
        return range(piece_start, end)

    def read_piece(self, piece_index: int) -> tuple[bytes, int]:
        """Return (data, crc32) of one piece after checking its length and crc32."""
        with self._lock:
            assert self._fd is not None, "read after close"
            return self._read_piece(self._fd, piece_index)

    def _read_piece(self, fd: int, piece_index: int) -> tuple[bytes, int]:
        assert 0 <= piece_index < self.layout.piece_count
        offset = self.layout.piece_offset(piece_index)
        expected_length = self.layout.piece_length(piece_index)
        frame = os.pread(fd, chunkfile.piece_frame_bytes, offset)
        if len(frame) != chunkfile.piece_frame_bytes:
            raise CorruptPiece(self.chunk_id, piece_index, "short read")
        length, crc = chunkfile.piece_frame.unpack(frame)
        if length != expected_length:
            raise CorruptPiece(self.chunk_id, piece_index, f"length {length}, layout says {expected_length}")
        data = os.pread(fd, length, offset + chunkfile.piece_frame_bytes)
        if len(data) != length or zlib.crc32(data) != crc:
            raise CorruptPiece(self.chunk_id, piece_index)
        return data, crc
