"""The aiohttp application: authenticate, route, dispatch, and map every error to S3.

Theory of operation: one catch-all route hands each request to `handle`, which
parses it into an Endpoint (router.py), verifies SigV4 (sigv4.py) and calls the
handler registered for the Endpoint's type. Any exception becomes an S3 XML
error through errors.to_s3_error, so a bad request never takes the process down.
Backend clients live in a cleanup context and are closed on shutdown.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from frontend import limits
from frontend.clients.datanode import DatanodePool
from frontend.clients.metadata import MetadataClient
from frontend.config import FrontendConfig
from frontend.objects.nodes import NodeDirectory
from frontend.objects.put import ObjectWriter
from frontend.s3 import bucket_handlers, errors, multipart_handlers, object_handlers, router, xml
from frontend.s3.auth import authenticate
from frontend.s3.context import S3Context
from frontend.s3.sigv4 import AuthResult

log = logging.getLogger("tessera.frontend.s3")
Handler = Callable[[web.Request, router.Endpoint, S3Context, AuthResult], Awaitable[web.StreamResponse]]

HANDLERS: dict[type[router.Endpoint], Handler] = {
    router.ListBuckets: bucket_handlers.list_buckets,
    router.CreateBucket: bucket_handlers.create_bucket,
    router.HeadBucket: bucket_handlers.head_bucket,
    router.DeleteBucket: bucket_handlers.delete_bucket,
    router.GetBucketLocation: bucket_handlers.get_bucket_location,
    router.GetBucketVersioning: bucket_handlers.get_bucket_versioning,
    router.ListObjects: bucket_handlers.list_objects,
    router.ListObjectsV2: bucket_handlers.list_objects,
    router.DeleteObjects: bucket_handlers.delete_objects,
    router.PutObject: object_handlers.put_object,
    router.GetObject: object_handlers.get_object,
    router.HeadObject: object_handlers.head_object,
    router.DeleteObject: object_handlers.delete_object,
    router.CreateMultipartUpload: multipart_handlers.create_multipart_upload,
    router.UploadPart: multipart_handlers.upload_part,
    router.CompleteMultipartUpload: multipart_handlers.complete_multipart_upload,
    router.AbortMultipartUpload: multipart_handlers.abort_multipart_upload,
    router.ListParts: multipart_handlers.list_parts,
    router.ListMultipartUploads: multipart_handlers.list_multipart_uploads,
}
CONTEXT_KEY = web.AppKey("s3_context", S3Context)
REQUEST_ID_KEY = "tessera_request_id"


async def handle(request: web.Request) -> web.StreamResponse:
    request_id = request[REQUEST_ID_KEY] = uuid.uuid4().hex[:16].upper()
    endpoint: router.Endpoint | None = None
    try:
        ctx = request.app[CONTEXT_KEY]
        host_bucket = router.split_host(request.host, ctx.config.domains)
        endpoint = router.route(request.method, request.raw_path, request.query, host_bucket)
        auth = authenticate(request, ctx.config, datetime.datetime.now(datetime.UTC))
        response = await HANDLERS[type(endpoint)](request, endpoint, ctx, auth)
    except Exception as error:
        response = error_response(request, error, endpoint, request_id)
    return response


async def stamp_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every response, streamed ones included, names its request id before headers go out."""
    if REQUEST_ID_KEY in request:
        response.headers["x-amz-request-id"] = request[REQUEST_ID_KEY]
    response.headers["Server"] = "Tessera"


def error_response(request: web.Request, error: Exception, endpoint: router.Endpoint | None,
                   request_id: str) -> web.StreamResponse:
    s3_error = errors.to_s3_error(error)
    if s3_error.status >= 500:
        log.error("request failed request_id=%s method=%s path=%s", request_id, request.method, request.path,
                  exc_info=error)
    else:
        log.info("request rejected request_id=%s code=%s detail=%s", request_id, s3_error.code, error)
    fields = dict(s3_error.fields)
    if endpoint is not None and endpoint.bucket and s3_error.code in ("NoSuchBucket", "BucketNotEmpty",
                                                                      "BucketAlreadyOwnedByYou"):
        fields.setdefault("BucketName", endpoint.bucket)
    if endpoint is not None and endpoint.key and s3_error.code == "NoSuchKey":
        fields.setdefault("Key", endpoint.key)
    fields.setdefault("Resource", request.path)
    if request.method == "HEAD":  # HEAD answers carry no body
        return web.Response(status=s3_error.status)
    body = xml.error_document(s3_error.code, s3_error.message, request_id, fields)
    return web.Response(body=body, status=s3_error.status, content_type="application/xml")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def build_app(config: FrontendConfig) -> web.Application:
    config.validate()
    app = web.Application(client_max_size=limits.request_xml_bytes_max)
    app.router.add_get("/-/health", health)  # "-" cannot start a bucket name, so this never shadows S3
    app.router.add_route("*", "/{tail:.*}", handle)

    async def backends(app: web.Application) -> AsyncIterator[None]:
        metadata = MetadataClient(config.metadata_addresses)
        pool = DatanodePool()
        app[CONTEXT_KEY] = S3Context(config=config, metadata=metadata, pool=pool,
                                     directory=NodeDirectory(metadata),
                                     writer=ObjectWriter(metadata, pool, config.policy, config.write_quorum))
        yield
        await pool.close()
        await metadata.close()

    app.cleanup_ctx.append(backends)
    app.on_response_prepare.append(stamp_headers)
    return app
