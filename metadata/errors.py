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
    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket {bucket!r} is not empty")
        self.bucket = bucket


class TooManyBuckets(MetadataError):
    def __init__(self, buckets_max: int) -> None:
        super().__init__(f"the cluster already holds the maximum of {buckets_max} buckets")
        self.buckets_max = buckets_max


class InsufficientNodes(MetadataError):
    """Placement cannot find enough datanodes (or zones) for the requested stripe width."""


class InvalidArgument(MetadataError):
    """A request or command field is malformed or out of bounds."""


class StoredFormatError(RuntimeError):
    """Persistent state this build cannot read (newer format version or corruption).

    Deliberately not a MetadataError: it is an operating fault of this replica, not an
    answer to the client, and the process should stop rather than serve wrong data.
    """
