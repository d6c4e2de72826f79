"""Object operations: PutObject, GetObject, HeadObject, DeleteObject."""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping

from aiohttp import web

from frontend import limits
from frontend.objects.get import ByteRange, read_range
from frontend.objects.put import BodyDigest, PutRequest
from frontend.s3 import errors, router
from frontend.s3.body import RequestBody
from frontend.s3.context import S3Context
from frontend.s3.headers import checksum_response_headers, object_response_headers, parse_put_headers
from frontend.s3.names import check_key
from frontend.s3.ranges import parse_range
from frontend.s3.sigv4 import AuthResult
from proto import metadata_pb2 as pb


async def put_object(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                     auth: AuthResult) -> web.StreamResponse:
    check_key(endpoint.key)
    if "x-amz-copy-source" in request.headers:
        raise errors.NotImplemented_("CopyObject is not implemented yet")
    headers = parse_put_headers(request.headers)
    body = RequestBody.open(request, auth)
    before_commit = body_validator(body, headers.content_md5)
    put = PutRequest(bucket=endpoint.bucket, key=endpoint.key, content_type=headers.content_type,
                     user_metadata=headers.user_metadata, headers=headers.stored)
    if body.declared_length >= limits.inline_bytes_max:  # fail fast before streaming a large body
        await ctx.metadata.head_bucket(endpoint.bucket)
    version = await ctx.writer.put(put, body.chunks(), body.hashers, before_commit)
    return web.Response(status=200, headers={"ETag": f'"{version.etag}"', **checksum_response_headers(version)})


def body_validator(body: RequestBody, content_md5: bytes | None) -> Callable[[BodyDigest], Mapping[str, str]]:
    """What runs after the last byte and before any commit: every promise the client made about the body."""

    def before_commit(digest: BodyDigest) -> Mapping[str, str]:
        body.check_complete(digest.size_bytes)
        if content_md5 is not None and bytes.fromhex(digest.md5_hex) != content_md5:
            raise errors.BadDigest()
        return body.verified_checksums()

    return before_commit


def check_preconditions(request: web.Request, version: pb.ObjectVersion) -> int | None:
    """Apply If-* headers as S3 does: None to proceed, or 304/412 to answer with."""
    etag = f'"{version.etag}"'
    modified_s = version.last_modified_ns // 1_000_000_000
    if_match = request.headers.get("If-Match")
    if if_match is not None and if_match.strip() not in (etag, version.etag, "*"):
        return 412
    if_unmodified = _parse_http_date(request.headers.get("If-Unmodified-Since"))
    if if_match is None and if_unmodified is not None and modified_s > if_unmodified:
        return 412
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and if_none_match.strip() in (etag, version.etag, "*"):
        return 304
    if_modified = _parse_http_date(request.headers.get("If-Modified-Since"))
    if if_none_match is None and if_modified is not None and modified_s <= if_modified:
        return 304
    return None


def _parse_http_date(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        return None


async def head_object(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                      auth: AuthResult) -> web.StreamResponse:
    version = await _get_version(endpoint, ctx)
    headers = object_response_headers(version, request.query)
    status = check_preconditions(request, version)
    if status == 412:
        raise errors.PreconditionFailed()
    if status == 304:
        return web.Response(status=304, headers={"ETag": headers["ETag"]})
    byte_range = parse_range(request.headers.get("Range"), version.size_bytes)
    # A StreamResponse, because web.Response insists on computing Content-Length from a body.
    return _body_headers(web.StreamResponse(status=200 if byte_range is None else 206, headers=headers),
                         version, byte_range)


async def get_object(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                     auth: AuthResult) -> web.StreamResponse:
    version = await _get_version(endpoint, ctx)
    headers = object_response_headers(version, request.query)
    status = check_preconditions(request, version)
    if status == 412:
        raise errors.PreconditionFailed()
    if status == 304:
        return web.Response(status=304, headers={"ETag": headers["ETag"]})
    byte_range = parse_range(request.headers.get("Range"), version.size_bytes)
    response = _body_headers(web.StreamResponse(status=200 if byte_range is None else 206, headers=headers),
                             version, byte_range)
    if version.size_bytes == 0:
        await response.prepare(request)
        await response.write_eof()
        return response
    span = byte_range or ByteRange(0, version.size_bytes - 1)
    stream = read_range(ctx.pool, ctx.directory, version, span)
    try:
        first = await anext(stream)  # errors before this point still become S3 error responses
        await response.prepare(request)
        await response.write(first)
        async for block in stream:
            await response.write(block)
    finally:
        await stream.aclose()
    await response.write_eof()
    return response


def _body_headers(response: web.StreamResponse, version: pb.ObjectVersion,
                  byte_range: ByteRange | None) -> web.StreamResponse:
    if byte_range is None:
        response.content_length = version.size_bytes
        response.headers.update(checksum_response_headers(version))
    else:
        response.content_length = byte_range.length
        response.headers["Content-Range"] = f"bytes {byte_range.first}-{byte_range.last}/{version.size_bytes}"
    return response


async def _get_version(endpoint: router.Endpoint, ctx: S3Context) -> pb.ObjectVersion:
    check_key(endpoint.key)
    return await ctx.metadata.get_object(endpoint.bucket, endpoint.key)


async def delete_object(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                        auth: AuthResult) -> web.StreamResponse:
    check_key(endpoint.key)
    await ctx.metadata.delete_object(endpoint.bucket, endpoint.key)
    return web.Response(status=204)
