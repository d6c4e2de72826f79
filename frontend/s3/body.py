"""A PutObject body: plain or aws-chunked, with everything it promises checked.

The body is consumed once as a stream. What the client promised about it
(length, x-amz-content-sha256, Content-MD5, an x-amz-checksum header or trailer)
is checked after the last byte and before the object layer commits anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from aiohttp import web

from frontend.s3 import checksums, errors, sigv4
from frontend.s3.chunked import AwsChunkedDecoder, ChunkedEncodingError

read_block_bytes: Final = 256 * 1024  # bytes taken from the socket per read of a plain body


def _lower(request: web.Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


class RequestBody:
    def __init__(self, request: web.Request, auth: sigv4.AuthResult) -> None:
        self._request = request
        self._auth = auth
        headers = _lower(request)
        self._chunked = auth.payload_mode.is_aws_chunked
        declared = headers.get("x-amz-decoded-content-length") if self._chunked else headers.get("content-length")
        if declared is None or not declared.isdigit():
            raise errors.MissingContentLength()
        self.declared_length = int(declared)
        self._sha256 = checksums.new_checksum("SHA256") if auth.payload_mode is sigv4.PayloadMode.SHA256 else None
        self._checksum, self._expected_checksum, self._trailer_name = _requested_checksum(headers)
        self.hashers = [h for h in (self._sha256, self._checksum) if h is not None]
        self._decoder: AwsChunkedDecoder | None = None

    @classmethod
    def open(cls, request: web.Request, auth: sigv4.AuthResult) -> RequestBody:
        try:
            return cls(request, auth)
        except checksums.ChecksumError as error:
            raise errors.InvalidRequest(error.message) from error

    async def chunks(self) -> AsyncIterator[bytes]:
        if not self._chunked:
            async for block in self._request.content.iter_chunked(read_block_bytes):
                yield block
            return
        self._decoder = AwsChunkedDecoder(self._request.content, self._auth, self.declared_length)
        try:
            async for block in self._decoder:
                yield block
        except ChunkedEncodingError as error:
            raise errors.IncompleteBody(str(error)) from error
        except sigv4.SignatureDoesNotMatch as error:
            raise errors.SignatureDoesNotMatch(str(error)) from error

    def check_complete(self, size_bytes: int) -> None:
        if size_bytes != self.declared_length:
            raise errors.IncompleteBody()
        if self._sha256 is not None and self._sha256.digest().hex() != self._auth.payload_hash.lower():
            raise errors.XAmzContentSHA256Mismatch()

    def verified_checksums(self) -> dict[str, str]:
        """{ALGORITHM: base64} of the checksum the client asked for, once it matched."""
        if self._checksum is None:
            return {}
        expected = self._expected_checksum
        if self._trailer_name is not None:
            trailers = self._decoder.trailers if self._decoder is not None else {}
            expected = trailers.get(self._trailer_name)
            if expected is None:
                raise errors.InvalidRequest(f"trailer {self._trailer_name} was declared but not sent")
        try:
            if expected is not None:
                checksums.verify_checksum(self._checksum, expected)
        except checksums.BadDigest as error:
            raise errors.BadDigest(error.message) from error
        except checksums.ChecksumError as error:
            raise errors.InvalidRequest(error.message) from error
        return {self._checksum.algorithm.value: self._checksum.b64digest()}


def _requested_checksum(headers: dict[str, str]) -> tuple[checksums.Checksum | None, str | None, str | None]:
    """(hasher, expected value from a header, trailer name carrying the value)."""
    in_header = checksums.checksum_from_headers(headers)
    if in_header is not None:
        algorithm, value = in_header
        checksums.decode_checksum_value(algorithm, value)  # malformed values fail before the body is read
        return checksums.new_checksum(algorithm), value, None
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    if trailer:
        trailer_algorithm = checksums.ChecksumAlgorithm.from_header_name(trailer)
        if trailer_algorithm is None:
            raise checksums.InvalidChecksumRequest(f"unsupported trailer {trailer}")
        return checksums.new_checksum(trailer_algorithm), None, trailer
    sdk_algorithm = headers.get("x-amz-sdk-checksum-algorithm")
    if sdk_algorithm:
        return checksums.new_checksum(sdk_algorithm), None, None
    return None, None, None
