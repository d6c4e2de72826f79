"""Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload, ListParts, ListMultipartUploads."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from aiohttp import web

from frontend import limits
from frontend.objects.put import policy_message
from frontend.s3 import errors, router, xml
from frontend.s3.body import RequestBody
from frontend.s3.bucket_handlers import read_small_body, xml_response
from frontend.s3.context import S3Context
from frontend.s3.headers import checksum_response_headers, parse_content_md5, parse_put_headers
from frontend.s3.names import check_key
from frontend.s3.object_handlers import body_validator
from frontend.s3.sigv4 import AuthResult
from proto import metadata_pb2 as pb


def _upload(endpoint: router.Endpoint) -> router.UploadEndpoint:
    assert isinstance(endpoint, router.UploadEndpoint), endpoint
    return endpoint


async def create_multipart_upload(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                                  auth: AuthResult) -> web.StreamResponse:
    check_key(endpoint.key)
    headers = parse_put_headers(request.headers)
    upload = pb.MultipartUpload(
        bucket=endpoint.bucket, key=endpoint.key, upload_id=uuid.uuid4().hex + uuid.uuid4().hex,
        content_type=headers.content_type, user_metadata=headers.user_metadata, headers=headers.stored,
        policy=policy_message(ctx.writer.policy), owner=auth.access_key,
        checksum_algorithm=request.headers.get("x-amz-checksum-algorithm", "").upper())
    await ctx.metadata.create_multipart_upload(upload)
    top = xml.root("InitiateMultipartUploadResult")
    xml.element(top, "Bucket", endpoint.bucket)
    xml.element(top, "Key", endpoint.key)
    xml.element(top, "UploadId", upload.upload_id)
    return xml_response(xml.document(top))


def _part_number(text: str) -> int:
    if not text.isdigit() or not (1 <= int(text) <= limits.part_number_max):
        raise errors.InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                                     ArgumentName="partNumber", ArgumentValue=text)
    return int(text)


async def upload_part(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                      auth: AuthResult) -> web.StreamResponse:
    assert isinstance(endpoint, router.UploadPart)
    if "x-amz-copy-source" in request.headers:
        raise errors.NotImplemented_("UploadPartCopy is not implemented yet")
    part_number = _part_number(endpoint.part_number_text)
    upload = await ctx.metadata.get_upload(endpoint.bucket, endpoint.key, endpoint.upload_id)
    body = RequestBody.open(request, auth)
    if body.declared_length > limits.part_bytes_max:
        raise errors.EntityTooLarge()
    before_commit = body_validator(body, parse_content_md5(request.headers.get("Content-MD5")))
    part = await ctx.writer.put_part(upload, part_number, body.chunks(), body.hashers, before_commit,
                                     limits.part_bytes_max)
    headers = {"ETag": f'"{part.etag}"'}
    headers.update({f"x-amz-checksum-{name.lower()}": value for name, value in part.checksums.items()})
    return web.Response(status=200, headers=headers)


def _parse_complete(body: bytes) -> list[pb.CompletedPart]:
    top = xml.parse(body)
    if top.tag != "CompleteMultipartUpload":
        raise errors.MalformedXML()
    parts = []
    for element in top.findall("Part"):
        number, etag = element.findtext("PartNumber"), element.findtext("ETag")
        if number is None or etag is None or not number.strip().isdigit():
            raise errors.MalformedXML()
        parts.append(pb.CompletedPart(part_number=int(number), etag=etag.strip().strip('"')))
    if not parts or len(parts) > limits.part_number_max:
        raise errors.MalformedXML()
    return parts


async def complete_multipart_upload(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                                    auth: AuthResult) -> web.StreamResponse:
    upload = _upload(endpoint)
    parts = _parse_complete(await read_small_body(request))
    version = await ctx.metadata.complete_multipart_upload(pb.CompleteMultipartUploadRequest(
        bucket=upload.bucket, key=upload.key, upload_id=upload.upload_id, parts=parts,
        version_id=uuid.uuid4().hex, part_bytes_min=limits.part_bytes_min))
    top = xml.root("CompleteMultipartUploadResult")
    xml.element(top, "Location", f"{request.scheme}://{request.host}/{upload.bucket}/{upload.key}")
    xml.element(top, "Bucket", upload.bucket)
    xml.element(top, "Key", upload.key)
    xml.element(top, "ETag", f'"{version.etag}"')
    return web.Response(body=xml.document(top), content_type="application/xml",
                        headers=checksum_response_headers(version))


async def abort_multipart_upload(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                                 auth: AuthResult) -> web.StreamResponse:
    upload = _upload(endpoint)
    await ctx.metadata.abort_multipart_upload(upload.bucket, upload.key, upload.upload_id)
    return web.Response(status=204)


def _bounded_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name, str(default))
    if not raw.isdigit():
        raise errors.InvalidArgument(f"Provided {name} not an integer or within integer range",
                                     ArgumentName=name, ArgumentValue=raw)
    return min(int(raw), limits.list_parts_max)


async def list_parts(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                     auth: AuthResult) -> web.StreamResponse:
    upload = _upload(endpoint)
    query = dict(request.query)
    max_parts = _bounded_int(query, "max-parts", limits.list_parts_max)
    marker = _bounded_int(query, "part-number-marker", 0) if "part-number-marker" in query else 0
    reply = await ctx.metadata.list_parts(pb.ListPartsRequest(
        bucket=upload.bucket, key=upload.key, upload_id=upload.upload_id, part_number_marker=marker,
        max_parts=max_parts or limits.list_parts_max))
    top = xml.root("ListPartsResult")
    for name, value in (("Bucket", upload.bucket), ("Key", upload.key), ("UploadId", upload.upload_id)):
        xml.element(top, name, value)
    xml.element(top, "PartNumberMarker", marker)
    parts = list(reply.parts)[:max_parts] if max_parts else []
    xml.element(top, "NextPartNumberMarker", parts[-1].part_number if parts else marker)
    xml.element(top, "MaxParts", max_parts)
    xml.element(top, "IsTruncated", reply.is_truncated if max_parts else False)
    for part in parts:
        entry = xml.element(top, "Part")
        xml.element(entry, "PartNumber", part.part_number)
        xml.element(entry, "LastModified", xml.iso8601(part.last_modified_ns))
        xml.element(entry, "ETag", f'"{part.etag}"')
        xml.element(entry, "Size", part.size_bytes)
    _initiator_and_owner(top, reply.upload.owner)
    xml.element(top, "StorageClass", "STANDARD")
    return xml_response(xml.document(top))


def _initiator_and_owner(parent: ET.Element, owner: str) -> None:
    initiator = xml.element(parent, "Initiator")
    xml.element(initiator, "ID", owner)
    xml.element(initiator, "DisplayName", owner)
    xml.add_owner(parent, owner)


async def list_multipart_uploads(request: web.Request, endpoint: router.Endpoint, ctx: S3Context,
                                 auth: AuthResult) -> web.StreamResponse:
    query = dict(request.query)
    max_uploads = _bounded_int(query, "max-uploads", limits.list_parts_max)
    prefix, key_marker = query.get("prefix", ""), query.get("key-marker", "")
    upload_id_marker = query.get("upload-id-marker", "")
    reply = await ctx.metadata.list_multipart_uploads(pb.ListMultipartUploadsRequest(
        bucket=endpoint.bucket, prefix=prefix, key_marker=key_marker, upload_id_marker=upload_id_marker,
        max_uploads=max_uploads or limits.list_parts_max))
    uploads = list(reply.uploads)[:max_uploads] if max_uploads else []
    top = xml.root("ListMultipartUploadsResult")
    xml.element(top, "Bucket", endpoint.bucket)
    xml.element(top, "KeyMarker", key_marker)
    xml.element(top, "UploadIdMarker", upload_id_marker)
    xml.element(top, "NextKeyMarker", uploads[-1].key if uploads else "")
    xml.element(top, "NextUploadIdMarker", uploads[-1].upload_id if uploads else "")
    xml.element(top, "Prefix", prefix)
    xml.element(top, "MaxUploads", max_uploads)
    xml.element(top, "IsTruncated", reply.is_truncated if max_uploads else False)
    for upload in uploads:
        entry = xml.element(top, "Upload")
        xml.element(entry, "Key", upload.key)
        xml.element(entry, "UploadId", upload.upload_id)
        _initiator_and_owner(entry, upload.owner)
        xml.element(entry, "StorageClass", "STANDARD")
        xml.element(entry, "Initiated", xml.iso8601(upload.initiated_ns))
    return xml_response(xml.document(top))
