"""Named upper bounds of the metadata service (qualifier last, unit and reason on each)."""

from typing import Final

# S3 ListObjects returns at most 1000 entries per page; the default page is the same.
list_entries_max: Final = 1000  # entries (keys + common prefixes) per ListObjects reply
list_entries_default: Final = 1000  # used when the request leaves max_keys at 0 (proto3 "unset")

# S3 object key limit: 1024 bytes of UTF-8.
key_bytes_max: Final = 1024  # bytes
# S3 bucket name rules: 3..63 characters of [a-z0-9.-].
bucket_name_bytes_min: Final = 3  # bytes
bucket_name_bytes_max: Final = 63  # bytes
# AWS default quota is 10,000 buckets per account; ListBuckets returns them all in one reply.
buckets_max: Final = 10_000  # buckets in the cluster
# Node ids are operator-chosen labels; keep keys and log lines short.
node_id_bytes_max: Final = 128  # bytes
zone_bytes_max: Final = 128  # bytes
# pyeclib backends support at most 32 fragments; a little headroom for future codecs.
placement_count_max: Final = 64  # datanodes per placement
# Bounds one GcList reply and one GcDone command (one synced WriteBatch).
gc_list_entries_default: Final = 1000  # entries, used when the request leaves limit at 0
gc_list_entries_max: Final = 10_000  # entries per GcList reply
gc_done_entries_max: Final = 10_000  # entries per GcDone command
# A 10,000-part object with 6 chunks per part encodes to ~2 MB; inline data adds <= 64 KiB.
grpc_message_bytes_max: Final = 16 * 1024 * 1024  # bytes, both directions
# In-flight RPCs get this long to finish on SIGTERM before they are cancelled.
shutdown_grace_s: Final = 5.0  # seconds

assert list_entries_default <= list_entries_max
assert gc_list_entries_default <= gc_list_entries_max
assert bucket_name_bytes_min <= bucket_name_bytes_max
