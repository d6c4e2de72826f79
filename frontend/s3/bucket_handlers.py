"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation, GetBucketVersioning, ListObjects (v1 and v2), DeleteObjects."""

from __future__ import annotations

import base64
import binascii
import hashlib

from aiohttp import web

from frontend import limits
from frontend.s3 import errors, router, xml
from frontend.s3.context import S3Context
from frontend.s3.headers import parse_content_md5
from frontend.s3.names import check_bucket_name
from frontend.s3.sigv4 import AuthResult
from proto import metadata_pb2 as pb

XML_CONTENT_TYPE = "application/xml"


def xml_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type=XML_CONTENT_TYPE)


async def read_small_body(request: web.Request) -> bytes:
    """A request document, bounded; bodies are small XML here."""
    if request.content_length is not None and request.content_length > limits.request_xml_bytes_max:
        raise errors.MalformedXML("request document too large")
    body = await request.content.read(limits.request_xml_bytes_max + 1)
    if len(body) > limits.request_xml_bytes_max:
        raise errors.MalformedXML("request document too large")
    return body


async def list_buckets(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                       auth: AuthResult) -> web.StreamResponse:
    buckets = await ctx.metadata.list_buckets()
    top = xml.root("ListAllMyBucketsResult")
    xml.add_owner(top, auth.access_key)
    container = xml.element(top, "Buckets")
    for bucket in buckets:
        entry = xml.element(container, "Bucket")
        xml.element(entry, "Name", bucket.name)
        xml.element(entry, "CreationDate", xml.iso8601(bucket.created_ns))
        xml.element(entry, "BucketRegion", bucket.region)
    return xml_response(xml.document(top))


async def create_bucket(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                        auth: AuthResult) -> web.StreamResponse:
    check_bucket_name(endpoint.bucket)
    location = xml.parse_location_constraint(await read_small_body(request))
    if location and location != ctx.config.region:
        raise errors.InvalidArgument(f"this cluster serves region {ctx.config.region}, not {location}",
                                     ArgumentName="LocationConstraint", ArgumentValue=location)
    await ctx.metadata.create_bucket(endpoint.bucket, ctx.config.region, auth.access_key)
    return web.Response(status=200, headers={"Location": f"/{endpoint.bucket}"})


async def head_bucket(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                      auth: AuthResult) -> web.StreamResponse:
    bucket = await ctx.metadata.head_bucket(endpoint.bucket)
    return web.Response(status=200, headers={"x-amz-bucket-region": bucket.region})


async def delete_bucket(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                        auth: AuthResult) -> web.StreamResponse:
    await ctx.metadata.delete_bucket(endpoint.bucket)
    return web.Response(status=204)


async def get_bucket_location(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                              auth: AuthResult) -> web.StreamResponse:
    bucket = await ctx.metadata.head_bucket(endpoint.bucket)
    top = xml.root("LocationConstraint")
    # AWS answers an empty constraint for us-east-1, and SDKs rely on it.
    top.text = "" if bucket.region == "us-east-1" else bucket.region
    return xml_response(xml.document(top))


async def get_bucket_versioning(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                                auth: AuthResult) -> web.StreamResponse:
    await ctx.metadata.head_bucket(endpoint.bucket)
    return xml_response(xml.document(xml.root("VersioningConfiguration")))


def _max_keys(query: dict[str, str]) -> int:
    raw = query.get("max-keys", str(limits.list_keys_max))
    try:
        value = int(raw)
    except ValueError:
        raise errors.InvalidArgument("Provided max-keys not an integer or within integer range",
                                     ArgumentName="max-keys", ArgumentValue=raw) from None
    if value < 0:
        raise errors.InvalidArgument("Argument maxKeys must be an integer between 0 and 2147483647",
                                     ArgumentName="max-keys", ArgumentValue=raw)
    return min(value, limits.list_keys_max)


def _encoding_type(query: dict[str, str]) -> str:
    encoding = query.get("encoding-type", "")
    if encoding not in ("", "url"):
        raise errors.InvalidArgument("Invalid Encoding Method specified in Request",
                                     ArgumentName="encoding-type", ArgumentValue=encoding)
    return encoding


async def list_objects(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                       auth: AuthResult) -> web.StreamResponse:
    query = dict(request.query)
    v2 = isinstance(endpoint, router.ListObjectsV2)
    max_keys, encoding = _max_keys(query), _encoding_type(query)
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    token = query.get("continuation-token")
    if v2:
        start_after = query.get("start-after", "")
        start = _decode_token(token) if token is not None else start_after
    else:
        start = query.get("marker", "")
    if max_keys == 0:  # proto3 cannot tell 0 from unset, and AWS answers an empty, untruncated page
        await ctx.metadata.head_bucket(endpoint.bucket)
        reply = pb.ListObjectsReply()
    else:
        reply = await ctx.metadata.list_objects(endpoint.bucket, prefix, delimiter, start, max_keys)
    top = xml.root("ListBucketResult")
    xml.element(top, "Name", endpoint.bucket)
    xml.element(top, "Prefix", xml.encode_key(prefix, encoding))
    if v2:
        if token is not None:
            xml.element(top, "ContinuationToken", token)
        if start_after:
            xml.element(top, "StartAfter", xml.encode_key(start_after, encoding))
        xml.element(top, "KeyCount", len(reply.entries))
    else:
        xml.element(top, "Marker", xml.encode_key(start, encoding))
    xml.element(top, "MaxKeys", max_keys)
    if delimiter:
        xml.element(top, "Delimiter", xml.encode_key(delimiter, encoding))
    if encoding:
        xml.element(top, "EncodingType", encoding)
    xml.element(top, "IsTruncated", reply.is_truncated)
    if reply.is_truncated:
        if v2:
            xml.element(top, "NextContinuationToken", _encode_token(reply.next_marker))
        elif delimiter:
            xml.element(top, "NextMarker", xml.encode_key(reply.next_marker, encoding))
    owner = auth.access_key if (not v2 or query.get("fetch-owner") == "true") else None
    xml.add_contents(top, (xml.ListedObject(e.key, e.version.last_modified_ns, e.version.etag,
                                            e.version.size_bytes)
                           for e in reply.entries if not e.is_prefix), owner, encoding)
    xml.add_common_prefixes(top, (e.key for e in reply.entries if e.is_prefix), encoding)
    return xml_response(xml.document(top))


def _encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise errors.InvalidArgument("The continuation token provided is incorrect",
                                     ArgumentName="continuation-token", ArgumentValue=token) from None


async def delete_objects(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                         auth: AuthResult) -> web.StreamResponse:
    body = await read_small_body(request)
    expected_md5 = parse_content_md5(request.headers.get("Content-MD5"))
    if expected_md5 is not None and hashlib.md5(body).digest() != expected_md5:
        raise errors.BadDigest()
    delete = xml.parse_delete(body, limits.delete_objects_max)
    await ctx.metadata.head_bucket(endpoint.bucket)
    top = xml.root("DeleteResult")
    for key in delete.keys:
        try:
            await ctx.metadata.delete_object(endpoint.bucket, key)
        except Exception as error:  # one key's failure is reported in the document, not raised
            s3_error = errors.to_s3_error(error)
            entry = xml.element(top, "Error")
            xml.element(entry, "Key", key)
            xml.element(entry, "Code", s3_error.code)
            xml.element(entry, "Message", s3_error.message)
            continue
        if not delete.quiet:
            xml.element(xml.element(top, "Deleted"), "Key", key)
    return xml_response(xml.document(top))
