"""Object headers: what PutObject stores and what GetObject/HeadObject return."""

from __future__ import annotations

import base64
import binascii
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass

from frontend import limits
from frontend.s3 import errors
from proto import metadata_pb2 as pb

STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires")
USER_METADATA_PREFIX = "x-amz-meta-"
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
# GetObject query parameters that override response headers, as AWS documents them.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


@dataclass(frozen=True, slots=True)
class ObjectHeaders:
    content_type: str
    user_metadata: dict[str, str]
    stored: dict[str, str]
    content_md5: bytes | None


def parse_put_headers(headers: Mapping[str, str]) -> ObjectHeaders:
    """Validate and collect what a PutObject request asks us to store."""
    user_metadata: dict[str, str] = {}
    size = 0
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(USER_METADATA_PREFIX):
            meta_name = lowered[len(USER_METADATA_PREFIX):]
            user_metadata[meta_name] = value
            size += len(meta_name.encode()) + len(value.encode())
    if size > limits.user_metadata_bytes_max:
        raise errors.MetadataTooLarge(f"Your metadata headers exceed the maximum allowed metadata size "
                                      f"({size} > {limits.user_metadata_bytes_max} bytes)")
    stored = {name: headers[name] for name in STORED_HEADERS if name in headers}
    encoding = _without_aws_chunked(stored.get("content-encoding", ""))
    if encoding:
        stored["content-encoding"] = encoding
    else:  # aws-chunked describes the upload's framing, not the object: S3 does not keep it
        stored.pop("content-encoding", None)
    return ObjectHeaders(
        content_type=headers.get("content-type") or DEFAULT_CONTENT_TYPE,
        user_metadata=user_metadata,
        stored=stored,
        content_md5=parse_content_md5(headers.get("content-md5")),
    )


def _without_aws_chunked(encoding: str) -> str:
    """
    >>> _without_aws_chunked("aws-chunked,gzip")
    'gzip'
    """
    return ",".join(part.strip() for part in encoding.split(",") if part.strip() and part.strip() != "aws-chunked")


def parse_content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise errors.InvalidDigest() from error
    if len(digest) != 16:
        raise errors.InvalidDigest()
    return digest


def http_date(time_ns: int) -> str:
    return email.utils.formatdate(time_ns / 1e9, usegmt=True)


def object_response_headers(version: pb.ObjectVersion, query: Mapping[str, str]) -> dict[str, str]:
    headers = {
        "Content-Type": version.content_type or DEFAULT_CONTENT_TYPE,
        "ETag": f'"{version.etag}"',
        "Last-Modified": http_date(version.last_modified_ns),
        "Accept-Ranges": "bytes",
    }
    for name, value in version.headers.items():
        headers["-".join(part.capitalize() for part in name.split("-"))] = value
    for name, value in version.user_metadata.items():
        headers[USER_METADATA_PREFIX + name] = value
    for parameter, header in RESPONSE_OVERRIDES.items():
        if parameter in query:
            headers[header] = query[parameter]
    return headers


def checksum_response_headers(version: pb.ObjectVersion) -> dict[str, str]:
    return {f"x-amz-checksum-{algorithm.lower()}": value for algorithm, value in version.checksums.items()}
