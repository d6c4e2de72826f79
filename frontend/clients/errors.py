"""Typed errors raised by the gRPC clients; the S3 layer maps them to S3 codes."""

from __future__ import annotations


class BackendError(Exception):
    """Root of everything a backend call can raise."""


class NoSuchBucket(BackendError):
    pass


class NoSuchKey(BackendError):
    pass


class BucketAlreadyOwnedByYou(BackendError):
    pass


class BucketNotEmpty(BackendError):
    pass


class TooManyBuckets(BackendError):
    pass


class NoSuchUpload(BackendError):
    pass


class InvalidPart(BackendError):
    pass


class InvalidPartOrder(BackendError):
    pass


class EntityTooSmall(BackendError):
    pass


class InsufficientNodes(BackendError):
    """Metadata cannot place a stripe: too few datanodes or zones."""


class InvalidArgument(BackendError):
    pass


class MetadataUnavailable(BackendError):
    """Metadata did not answer within the retry budget."""


class ChunkUnavailable(BackendError):
    """A datanode could not serve or store a chunk (down, slow, corrupt, full)."""

    def __init__(self, node_id: str, chunk_id: str, reason: str) -> None:
        super().__init__(f"{node_id} {chunk_id}: {reason}")
        self.node_id = node_id
        self.chunk_id = chunk_id
        self.reason = reason


METADATA_ERRORS: dict[str, type[BackendError]] = {
    cls.__name__: cls
    for cls in (NoSuchBucket, NoSuchKey, BucketAlreadyOwnedByYou, BucketNotEmpty, InsufficientNodes, TooManyBuckets,
                NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall,
                InvalidArgument)
}
