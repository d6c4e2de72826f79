"""Parse an HTTP request into a typed S3 operation, before anything is dispatched.

Routing is data: `route()` is pure and returns a frozen Endpoint named after the
AWS operation; handlers are looked up by its type. Both path-style
(`host/bucket/key`) and virtual-hosted-style (`bucket.domain/key`) addressing
are accepted; `domains` lists the host names that carry no bucket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from frontend.s3 import errors


@dataclass(frozen=True, slots=True)
class Endpoint:
    bucket: str = ""
    key: str = ""


@dataclass(frozen=True, slots=True)
class ListBuckets(Endpoint): ...
@dataclass(frozen=True, slots=True)
class CreateBucket(Endpoint): ...
@dataclass(frozen=True, slots=True)
class HeadBucket(Endpoint): ...
@dataclass(frozen=True, slots=True)
class DeleteBucket(Endpoint): ...
@dataclass(frozen=True, slots=True)
class GetBucketLocation(Endpoint): ...
@dataclass(frozen=True, slots=True)
class GetBucketVersioning(Endpoint): ...
@dataclass(frozen=True, slots=True)
class ListObjects(Endpoint): ...
@dataclass(frozen=True, slots=True)
class ListObjectsV2(Endpoint): ...
@dataclass(frozen=True, slots=True)
class DeleteObjects(Endpoint): ...
@dataclass(frozen=True, slots=True)
class PutObject(Endpoint): ...
@dataclass(frozen=True, slots=True)
class GetObject(Endpoint): ...
@dataclass(frozen=True, slots=True)
class HeadObject(Endpoint): ...
@dataclass(frozen=True, slots=True)
class DeleteObject(Endpoint): ...
@dataclass(frozen=True, slots=True)
class ListMultipartUploads(Endpoint): ...


@dataclass(frozen=True, slots=True)
class UploadEndpoint(Endpoint):
    upload_id: str = ""


@dataclass(frozen=True, slots=True)
class CreateMultipartUpload(Endpoint): ...
@dataclass(frozen=True, slots=True)
class UploadPart(UploadEndpoint):
    part_number_text: str = ""  # validated by the handler: InvalidArgument names the bad value
@dataclass(frozen=True, slots=True)
class CompleteMultipartUpload(UploadEndpoint): ...
@dataclass(frozen=True, slots=True)
class AbortMultipartUpload(UploadEndpoint): ...
@dataclass(frozen=True, slots=True)
class ListParts(UploadEndpoint): ...


# Sub-resources we do not serve yet: answering NotImplemented beats misreading them as object calls.
UNSUPPORTED_SUBRESOURCES = frozenset({
    "acl", "policy", "cors", "lifecycle", "tagging", "website", "logging", "notification", "replication",
    "encryption", "object-lock", "retention", "legal-hold", "requestPayment", "accelerate", "analytics",
    "inventory", "metrics", "intelligent-tiering", "ownershipControls", "publicAccessBlock", "torrent",
    "restore", "select", "versions", "attributes", "policyStatus", "versionId",
})


def split_host(host: str, domains: Sequence[str]) -> str:
    """The bucket named by a virtual-hosted-style Host header, or "" for path style.

    >>> split_host("photos.s3.localhost:9000", ["s3.localhost", "localhost"])
    'photos'
    >>> split_host("127.0.0.1:9000", ["localhost"])
    ''
    """
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower()
    for domain in sorted(domains, key=len, reverse=True):
        if name == domain:
            return ""
        if name.endswith("." + domain):
            return name[: -len(domain) - 1]
    return ""


def route(method: str, raw_path: str, query: Mapping[str, str], host_bucket: str) -> Endpoint:
    """Map (method, path, query) to an Endpoint; raises an S3Error for what we do not serve."""
    path = unquote(raw_path.split("?", 1)[0])
    if host_bucket:
        bucket, key = host_bucket, path[1:]
    else:
        bucket, _, key = path[1:].partition("/")
    unsupported = UNSUPPORTED_SUBRESOURCES.intersection(query)
    if unsupported:
        raise errors.NotImplemented_(f"{sorted(unsupported)[0]} is not implemented")
    if not bucket:
        if method in ("GET", "HEAD"):
            return ListBuckets()
        raise errors.MethodNotAllowed()
    if not key:
        return _bucket_endpoint(method, bucket, query)
    if "uploadId" in query or "uploads" in query:
        return _upload_endpoint(method, bucket, key, query)
    if "partNumber" in query:
        raise errors.NotImplemented_("partNumber is not implemented outside multipart uploads")
    factory = {"PUT": PutObject, "GET": GetObject, "HEAD": HeadObject, "DELETE": DeleteObject}.get(method)
    if factory is None:
        raise errors.MethodNotAllowed()
    return factory(bucket, key)


def _upload_endpoint(method: str, bucket: str, key: str, query: Mapping[str, str]) -> Endpoint:
    if "uploads" in query:
        if method == "POST":
            return CreateMultipartUpload(bucket, key)
        raise errors.MethodNotAllowed()
    upload_id = query["uploadId"]
    if method == "PUT" and "partNumber" in query:
        return UploadPart(bucket, key, upload_id, query["partNumber"])
    factory = {"POST": CompleteMultipartUpload, "DELETE": AbortMultipartUpload, "GET": ListParts}.get(method)
    if factory is None:
        raise errors.MethodNotAllowed()
    return factory(bucket, key, upload_id)


def _bucket_endpoint(method: str, bucket: str, query: Mapping[str, str]) -> Endpoint:
    if "versioning" in query and method != "GET":
        raise errors.NotImplemented_("PutBucketVersioning is not implemented yet")
    if method == "GET" and "uploads" in query:
        return ListMultipartUploads(bucket)
    if method == "GET":
        if "location" in query:
            return GetBucketLocation(bucket)
        if "versioning" in query:
            return GetBucketVersioning(bucket)
        return ListObjectsV2(bucket) if query.get("list-type") == "2" else ListObjects(bucket)
    if method == "POST" and "delete" in query:
        return DeleteObjects(bucket)
    factory = {"PUT": CreateBucket, "HEAD": HeadBucket, "DELETE": DeleteBucket}.get(method)
    if factory is None:
        raise errors.MethodNotAllowed()
    return factory(bucket)
