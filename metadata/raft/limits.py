"""Named upper bounds of the Raft core (qualifier last, unit and reason on each)."""

from typing import Final

# Ticks: the driver calls tick() every heartbeat interval (100 ms in production), so an election
# timeout of 10 ticks is 1 s, randomized over [10, 20) ticks to break split votes.
election_ticks_default: Final = 10  # ticks
heartbeat_ticks_default: Final = 1  # ticks; must be well below the election timeout
# Above this an outage goes unnoticed for too long; it also bounds the lease of CheckQuorum.
election_ticks_max: Final = 10_000  # ticks

# One APPEND carries at most this many entries and bytes of entry payload (at least one entry is
# always sent, so a single larger entry still moves): bounds the gRPC message and the follower's
# synced batch.
append_entries_max: Final = 512  # entries per APPEND
append_bytes_max: Final = 1024 * 1024  # bytes of entry data per APPEND
# Pipelining: a follower in REPLICATE state has at most this many un-acked APPENDs in flight;
# with append_bytes_max it bounds the bytes the leader buffers for one follower.
inflight_appends_max: Final = 256  # APPEND messages per follower
# Committed entries handed to the application in one Ready: bounds one apply batch.
apply_bytes_max: Final = 4 * 1024 * 1024  # bytes of entry data per Ready

# One command must fit in one APPEND and one gRPC message (metadata grpc_message_bytes_max is
# 16 MiB); the biggest command (CompleteMultipartUpload of 10,000 parts) encodes to ~2 MB.
entry_data_bytes_max: Final = 8 * 1024 * 1024  # bytes per entry
# A leader that cannot commit (no quorum) refuses new proposals beyond this many uncommitted
# entries instead of growing its log and memory without bound.
uncommitted_entries_max: Final = 10_000  # entries

# ReadIndex requests waiting for a heartbeat quorum (or for the new leader's first commit);
# beyond it read_index() raises ReadIndexDropped and the client retries.
read_index_pending_max: Final = 4096  # requests
# ReadIndex request ids are opaque client bytes echoed back in ReadState.
read_request_id_bytes_max: Final = 64  # bytes

# Fast backtracking scans the log backwards for the first entry of a lower term; the scan stops
# at the log's first index, so it is bounded by the retained log. Entry payload overhead used
# for byte accounting (term, index, kind), an estimate of the encoded header.
entry_overhead_bytes: Final = 24  # bytes per entry

assert heartbeat_ticks_default < election_ticks_default <= election_ticks_max
assert append_bytes_max >= 1 and append_entries_max >= 1 and inflight_appends_max >= 1
assert entry_data_bytes_max <= 16 * 1024 * 1024  # fits metadata's gRPC message limit
