"""Named bounds of the datanode: every buffer, batch, queue and timeout lives here.

Each constant says its unit and why it has that value. Relations between them are
asserted at import so a careless edit fails loudly instead of at 3 a.m.
"""

from typing import Final

# bytes: largest piece a writer may declare. A piece is one gRPC message, so this bounds
# the memory one WriteChunk/ReadChunk stream pins at a time (frontend pieces are <= 4 MiB).
piece_bytes_max: Final = 8 * 1024 * 1024

# bytes: slack on top of a piece for the protobuf framing of a message (field tags,
# varints, chunk id in a header). 64 KiB is orders of magnitude more than the real overhead.
grpc_message_overhead_bytes: Final = 64 * 1024

# bytes: grpc max send/receive message length for ChunkService, so an 8 MiB piece fits.
grpc_message_bytes_max: Final = piece_bytes_max + grpc_message_overhead_bytes

# count: concurrent RPCs one datanode serves; beyond it grpc answers RESOURCE_EXHAUSTED
# rather than letting memory (a piece per stream) grow without bound.
concurrent_rpcs_max: Final = 256

# count: worker threads doing blocking file I/O (asyncio.to_thread). 2-core machines:
# more threads than this only queue on the disk and the GIL.
io_threads_max: Final = 8

# count: chunk ids per ListChunksReply message, so a huge listing streams in bounded messages
# (1000 ids of ~60 bytes is ~60 KiB per message).
list_batch_ids_max: Final = 1000

# bytes: free disk space kept back when capacity_bytes is 0 (unlimited), so the datanode
# refuses writes before the filesystem itself fills up (logs, temp files, fsync metadata).
disk_free_reserve_bytes: Final = 64 * 1024 * 1024

# bytes: longest chunk id accepted; a chunk id is a file name and most filesystems stop at 255.
chunk_id_bytes_max: Final = 200

# count: GC entries requested per GcList call; bounds one round's work and message size.
gc_batch_entries_max: Final = 1000

# count: GcList rounds in one GC tick when batches come back full, so a large backlog drains
# faster than one batch per interval but a tick still ends.
gc_rounds_per_tick_max: Final = 10

# seconds: grace given to in-flight RPCs on SIGTERM/SIGINT before they are cancelled.
shutdown_grace_s: Final = 2.0

assert grpc_message_bytes_max > piece_bytes_max
assert chunk_id_bytes_max <= 255
assert gc_batch_entries_max > 0 and gc_rounds_per_tick_max > 0
