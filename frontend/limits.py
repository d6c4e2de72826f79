"""Named bounds of the frontend (unit last; S3 limits as AWS documents them)."""

from __future__ import annotations

from typing import Final

key_bytes_max: Final = 1024                     # S3: object key, UTF-8 bytes
user_metadata_bytes_max: Final = 2 * 1024       # S3: x-amz-meta-* names + values
put_object_bytes_max: Final = 5 * 1024**3       # S3: single PUT 5 GiB
list_keys_max: Final = 1000                     # S3: max-keys cap
delete_objects_max: Final = 1000                # S3: keys per DeleteObjects
request_xml_bytes_max: Final = 1024 * 1024      # bound on any XML request body we parse
inline_bytes_max: Final = 64 * 1024             # smaller objects live in the metadata record
piece_queue_max: Final = 2                      # pieces buffered per datanode writer: memory bound
piece_write_timeout_s: Final = 30.0             # a writer stalled longer is declared failed
piece_read_timeout_s: Final = 10.0              # a reader stalled longer is replaced by parity
metadata_call_timeout_s: Final = 10.0          # per metadata RPC; a healthy call takes milliseconds
metadata_retry_attempts_max: Final = 40         # attempts (NotLeader hops, failovers) before a 503
metadata_retry_s_max: Final = 15.0              # covers a leader election with room to spare
part_bytes_min: Final = 5 * 1024 * 1024         # S3: every part but the last
part_bytes_max: Final = 5 * 1024**3             # S3: one part
part_number_max: Final = 10_000                 # S3: parts per upload
list_parts_max: Final = 1000                    # S3: max-parts / max-uploads cap
connect_timeout_s: Final = 1.0                  # wait for a reconnect to a node metadata reports up
