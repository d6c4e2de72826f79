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
# S3 multipart: part numbers 1..10,000, so an upload holds at most 10,000 part records and a
# CompleteMultipartUpload lists at most that many parts.
part_number_max: Final = 10_000  # parts per upload
# Upload ids and part data ids are chosen by the frontend (today 64 and 32 hex characters).
upload_id_bytes_max: Final = 256  # bytes
data_id_bytes_max: Final = 256  # bytes
# S3 ListParts and ListMultipartUploads return at most 1000 entries per page, 1000 by default.
list_parts_max: Final = 1000  # parts per ListParts reply
list_parts_default: Final = 1000  # used when the request leaves max_parts at 0
list_uploads_max: Final = 1000  # uploads per ListMultipartUploads reply
list_uploads_default: Final = 1000  # used when the request leaves max_uploads at 0
# DeleteBucket discards the bucket's in-progress uploads in its one synced WriteBatch; beyond this
# many upload + part records it refuses (BucketNotEmpty) so that batch stays bounded.
delete_bucket_upload_records_max: Final = 10_000  # upload and part records
# In-flight RPCs get this long to finish on SIGTERM before they are cancelled.
shutdown_grace_s: Final = 5.0  # seconds

assert list_entries_default <= list_entries_max
assert gc_list_entries_default <= gc_list_entries_max
assert bucket_name_bytes_min <= bucket_name_bytes_max
assert list_parts_default <= list_parts_max
assert list_uploads_default <= list_uploads_max
session_ttl_ns: Final = 15 * 60 * 10**9     # retries arrive within seconds; 15 min is ample
sessions_expired_per_apply_max: Final = 16  # expiry work each command does, bounding its batch
request_id_bytes_max: Final = 128           # request ids are uuids; bound what a client can store
drain_count_max: Final = 10_000_000          # chunks counted for one DrainStatus answer
