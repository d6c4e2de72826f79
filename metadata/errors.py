"""The metadata service's one exception tree.

Subclasses are named after the S3 condition they report and carry fields, not status
codes: the gRPC status is chosen in `metadata.server`, the S3 code in the frontend, which
maps on the class name sent as `details = "<ClassName>: message"`.
"""

from __future__ import annotations


class MetadataError(Exception):
    """Root of every error the metadata service reports to a client."""


class NoSuchBucket(MetadataError):
    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket {bucket!r} does not exist")
        self.bucket = bucket


class NoSuchKey(MetadataError):
    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"key {key!r} does not exist in bucket {bucket!r}")
        self.bucket = bucket
        self.key = key


class BucketAlreadyOwnedByYou(MetadataError):
    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket {bucket!r} already exists")
        self.bucket = bucket


class BucketNotEmpty(MetadataError):
    def __init__(self, bucket: str, detail: str = "") -> None:
        super().__init__(f"bucket {bucket!r} is not empty" + (f": {detail}" if detail else ""))
        self.bucket = bucket


class TooManyBuckets(MetadataError):
    def __init__(self, buckets_max: int) -> None:
        super().__init__(f"the cluster already holds the maximum of {buckets_max} buckets")
        self.buckets_max = buckets_max


class NoSuchUpload(MetadataError):
    def __init__(self, upload_id: str) -> None:
        super().__init__(f"upload {upload_id!r} does not exist (never created, completed or aborted)")
        self.upload_id = upload_id


class InvalidPart(MetadataError):
    """CompleteMultipartUpload lists a part that was never uploaded or whose etag differs."""

    def __init__(self, part_number: int, reason: str) -> None:
        super().__init__(f"part {part_number}: {reason}")
        self.part_number = part_number


class InvalidPartOrder(MetadataError):
    """CompleteMultipartUpload lists part numbers that are not strictly ascending."""

    def __init__(self, part_number: int, previous_part_number: int) -> None:
        super().__init__(f"part {part_number} is listed after part {previous_part_number}")
        self.part_number = part_number
        self.previous_part_number = previous_part_number


class EntityTooSmall(MetadataError):
    """A part other than the last one of a completed upload is below the minimum part size."""

    def __init__(self, part_number: int, size_bytes: int, part_bytes_min: int) -> None:
        super().__init__(f"part {part_number} is {size_bytes} bytes; all but the last need {part_bytes_min}")
        self.part_number = part_number
        self.size_bytes = size_bytes
        self.part_bytes_min = part_bytes_min


class InsufficientNodes(MetadataError):
    """Placement cannot find enough datanodes (or zones) for the requested stripe width."""


class InvalidArgument(MetadataError):
    """A request or command field is malformed or out of bounds."""


class StoredFormatError(RuntimeError):
    """Persistent state this build cannot read (newer format version or corruption).

    Deliberately not a MetadataError: it is an operating fault of this replica, not an
    answer to the client, and the process should stop rather than serve wrong data.
    """
