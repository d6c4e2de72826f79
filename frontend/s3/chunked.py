"""Decoding of ``Content-Encoding: aws-chunked`` request bodies.

Theory of operation
-------------------
When ``x-amz-content-sha256`` is one of the ``STREAMING-*`` values the body is not
the object but a framing of it::

    signed:    <hex-size>;chunk-signature=<64 hex>\\r\\n <data> \\r\\n ... 0;chunk-signature=<sig>\\r\\n
    unsigned:  <hex-size>\\r\\n <data> \\r\\n ... 0\\r\\n

followed by ``\\r\\n`` alone, or, in the ``-TRAILER`` forms, by trailer lines
(``x-amz-checksum-crc32:<base64>\\r\\n``; signed form adds
``x-amz-trailer-signature:<sig>\\r\\n``) and then ``\\r\\n``.

Signed chunks form a chain: each chunk's signature is an HMAC, under the
request's signing key, of ``AWS4-HMAC-SHA256-PAYLOAD``, the request date and
scope, the *previous* signature (the request's own signature for the first
chunk), the hash of the empty string and the chunk data's SHA-256. So chunks
cannot be altered, reordered, dropped or appended, and the zero-length final
chunk proves the body was not cut short. The trailer is chained the same way
(``AWS4-HMAC-SHA256-TRAILER`` over the hash of the canonical trailer lines).

``AwsChunkedDecoder`` is an async iterator of the data bytes. It yields data
in slices of at most ``limits.chunk_slice_bytes_max`` as it arrives, never the
whole body; a chunk's signature can only be checked at the chunk's end, so the
consumer must treat the body as trustworthy only once iteration finishes
without raising (our PUT path commits nothing before then). After iteration
``decoder.trailers`` holds the trailer headers (the trailing checksum).

It reads from any ``ByteSource`` (aiohttp's ``StreamReader`` is one) and does no
other I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Protocol

from frontend.s3 import limits
from frontend.s3.sigv4 import (
    EMPTY_SHA256_HEX,
    AuthResult,
    PayloadMode,
    SignatureDoesNotMatch,
    canonical_header_value,
    hmac_sha256,
    lowercase_headers,
)

CHUNK_STRING_TO_SIGN_PREFIX = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_STRING_TO_SIGN_PREFIX = "AWS4-HMAC-SHA256-TRAILER"
TRAILER_SIGNATURE_HEADER = "x-amz-trailer-signature"

_CRLF = b"\r\n"
# At most 16 hex digits: anything longer is an absurd size whatever its value.
_CHUNK_SIZE_RE = re.compile(rb"[0-9a-fA-F]{1,16}")
_SIGNATURE_EXTENSION = b"chunk-signature="


class ByteSource(Protocol):
    """The only I/O the decoder needs: read up to n bytes, b"" at end of stream."""

    async def read(self, n: int) -> bytes: ...


# --------------------------------------------------------------------------- errors


class ChunkedEncodingError(Exception):
    """Root of aws-chunked framing failures (chunk signatures raise SignatureDoesNotMatch)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedChunkedEncoding(ChunkedEncodingError):
    """Framing that does not parse, or exceeds a limit (S3: 400 InvalidRequest)."""


class IncompleteBody(ChunkedEncodingError):
    """The stream ended early, or decoded to a length other than x-amz-decoded-content-length.

    ``expected_bytes`` is None when no decoded length was declared.
    """

    def __init__(self, expected_bytes: int | None, received_bytes: int) -> None:
        super().__init__("You did not provide the number of bytes specified by the Content-Length HTTP header")
        self.expected_bytes = expected_bytes
        self.received_bytes = received_bytes


class MalformedTrailer(ChunkedEncodingError):
    """Trailer lines that do not parse or differ from x-amz-trailer (S3: 400 MalformedTrailerError)."""


class _EndOfStream(Exception):
    pass


# --------------------------------------------------------------------------- framing reader


class _FrameReader:
    """Line and data reads over a ByteSource, holding at most one framing line extra."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._buffer = bytearray()

    async def readline(self) -> bytes:
        """The next CRLF-terminated line without its CRLF."""
        searched = 0
        while True:
            end = self._buffer.find(_CRLF, searched)
            if end >= 0:
                if end + len(_CRLF) > limits.chunk_line_bytes_max:
                    break
                line = bytes(self._buffer[:end])
                del self._buffer[: end + len(_CRLF)]
                return line
            if len(self._buffer) >= limits.chunk_line_bytes_max:
                break
            searched = max(0, len(self._buffer) - 1)  # a CR may end the buffer
            data = await self._source.read(limits.chunk_line_bytes_max)
            if not data:
                raise _EndOfStream
            self._buffer += data
        raise MalformedChunkedEncoding(f"aws-chunked line longer than {limits.chunk_line_bytes_max} bytes")

    async def read_some(self, n: int) -> bytes:
        """Between 1 and n bytes of data."""
        if self._buffer:
            piece = bytes(self._buffer[:n])
            del self._buffer[:n]
            return piece
        data = await self._source.read(n)
        if not data:
            raise _EndOfStream
        return data


# --------------------------------------------------------------------------- decoder


def _parse_chunk_header(line: bytes, signed: bool) -> tuple[int, str | None]:
    """``b"400;chunk-signature=ab.."`` -> (1024, "ab..")."""
    size_text, _, extension = line.partition(b";")
    if not _CHUNK_SIZE_RE.fullmatch(size_text):
        raise MalformedChunkedEncoding(f"bad aws-chunked chunk size {size_text[:32]!r}")
    size = int(size_text, 16)
    if size > limits.chunk_bytes_max:
        raise MalformedChunkedEncoding(f"aws-chunked chunk of {size} bytes exceeds {limits.chunk_bytes_max}")
    if not signed:
        return size, None  # extensions carry nothing we need in unsigned framing
    if not extension.startswith(_SIGNATURE_EXTENSION):
        raise MalformedChunkedEncoding("aws-chunked chunk without chunk-signature")
    signature = extension[len(_SIGNATURE_EXTENSION):]
    if not signature.isascii():
        raise MalformedChunkedEncoding("aws-chunked chunk-signature is not ASCII")
    return size, signature.decode("ascii")


def _parse_trailer_line(line: bytes) -> tuple[str, str]:
    name, separator, value = line.partition(b":")
    if not separator or not name.strip() or not line.isascii():
        raise MalformedTrailer(f"malformed trailer line {line[:64]!r}")
    return name.strip().lower().decode("ascii"), value.decode("ascii").strip()


def parse_trailer_names(value: str) -> frozenset[str]:
    """The names an ``x-amz-trailer`` header announces: ``"x-amz-checksum-crc32"`` -> {...}."""
    return frozenset(name.strip().lower() for name in value.split(",") if name.strip())


class AwsChunkedDecoder:
    """Async iterator over the data of one aws-chunked body; iterate it once.

    ``auth`` is the request's verify_request result; its ``payload_mode`` picks
    the framing unless ``mode`` is given (needed when ``auth`` is None, which
    only unsigned framing allows). Signed modes chain from ``auth``'s signing
    key, scope and seed signature. ``decoded_length``
    (x-amz-decoded-content-length) is enforced when given. When
    ``declared_trailers`` (from x-amz-trailer) is given, exactly those trailers
    must arrive; None accepts any names.
    """

    def __init__(
        self,
        source: ByteSource,
        auth: AuthResult | None,
        decoded_length: int | None = None,
        *,
        mode: PayloadMode | None = None,
        declared_trailers: Collection[str] | None = None,
    ) -> None:
        if mode is None:
            assert auth is not None, "pass mode when there is no AuthResult"
            mode = auth.payload_mode
        assert mode.is_aws_chunked, f"{mode} is not an aws-chunked payload"
        self._signed = mode in (PayloadMode.STREAMING_SIGNED, PayloadMode.STREAMING_SIGNED_TRAILER)
        assert auth is not None or not self._signed, "signed chunks need the request's AuthResult"
        self._reader = _FrameReader(source)
        self._mode = mode
        self._auth = auth
        self._previous_signature = auth.seed_signature if auth is not None else ""
        self._decoded_length = decoded_length
        self._declared_trailers = frozenset(declared_trailers) if declared_trailers is not None else None
        self._started = False
        self.decoded_bytes = 0
        self.trailers: dict[str, str] = {}

    def __aiter__(self) -> AsyncIterator[bytes]:
        assert not self._started, "an aws-chunked body can be iterated only once"
        self._started = True
        return self._decode()

    async def _decode(self) -> AsyncIterator[bytes]:
        try:
            while True:
                size, signature = _parse_chunk_header(await self._reader.readline(), self._signed)
                if size == 0:
                    self._verify_chunk(signature, EMPTY_SHA256_HEX)
                    break
                async for piece in self._chunk_data(size, signature):
                    yield piece
            await self._read_trailer_section()
        except _EndOfStream:
            raise IncompleteBody(self._decoded_length, self.decoded_bytes) from None
        if self._decoded_length is not None and self.decoded_bytes != self._decoded_length:
            raise IncompleteBody(self._decoded_length, self.decoded_bytes)

    async def _chunk_data(self, size: int, signature: str | None) -> AsyncIterator[bytes]:
        hasher = hashlib.sha256() if self._signed else None
        remaining = size
        while remaining:
            piece = await self._reader.read_some(min(remaining, limits.chunk_slice_bytes_max))
            remaining -= len(piece)
            self.decoded_bytes += len(piece)
            if self._decoded_length is not None and self.decoded_bytes > self._decoded_length:
                raise IncompleteBody(self._decoded_length, self.decoded_bytes)
            if hasher is not None:
                hasher.update(piece)
            yield piece
        if await self._reader.readline() != b"":
            raise MalformedChunkedEncoding("aws-chunked chunk data not followed by CRLF")
        self._verify_chunk(signature, hasher.hexdigest() if hasher is not None else "")

    def _chain(self, prefix: str, content_hash_lines: str, provided: str | None) -> None:
        """Check one link of the signature chain and advance it."""
        if not self._signed:
            return
        assert self._auth is not None
        to_sign = "\n".join(
            [prefix, self._auth.amz_date, self._auth.scope, self._previous_signature, content_hash_lines]
        )
        expected = hmac_sha256(self._auth.signing_key, to_sign).hex()
        if provided is None or not hmac.compare_digest(provided, expected):
            raise SignatureDoesNotMatch(self._auth.access_key, to_sign, provided or "")
        self._previous_signature = expected

    def _verify_chunk(self, signature: str | None, data_sha256_hex: str) -> None:
        self._chain(CHUNK_STRING_TO_SIGN_PREFIX, f"{EMPTY_SHA256_HEX}\n{data_sha256_hex}", signature)

    async def _read_trailer_section(self) -> None:
        has_trailer = self._mode is not PayloadMode.STREAMING_SIGNED
        signature: str | None = None
        for _ in range(limits.trailer_count_max + 2):
            line = await self._reader.readline()
            if line == b"":
                break
            if not has_trailer:
                raise MalformedTrailer("trailer sent on a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body")
            name, value = _parse_trailer_line(line)
            if name == TRAILER_SIGNATURE_HEADER and self._signed and signature is None:
                signature = value
            elif name in self.trailers or name == TRAILER_SIGNATURE_HEADER:
                raise MalformedTrailer(f"duplicate or unexpected trailer {name!r}")
            elif self._declared_trailers is None or name in self._declared_trailers:
                self.trailers[name] = value
            else:
                raise MalformedTrailer(f"trailer {name!r} was not announced in x-amz-trailer")
        else:
            raise MalformedTrailer(f"more than {limits.trailer_count_max} trailers")
        missing = (self._declared_trailers or frozenset()) - self.trailers.keys()
        if missing:
            raise MalformedTrailer(f"announced trailers missing: {', '.join(sorted(missing))}")
        if self._mode is PayloadMode.STREAMING_SIGNED_TRAILER:
            self._verify_trailer(signature)

    def _verify_trailer(self, signature: str | None) -> None:
        canonical = "".join(
            f"{name}:{canonical_header_value(value)}\n" for name, value in sorted(self.trailers.items())
        )
        digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()
        self._chain(TRAILER_STRING_TO_SIGN_PREFIX, digest, signature)


def parse_decoded_length(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise MalformedChunkedEncoding(f"x-amz-decoded-content-length is not a length: {value[:32]!r}")
    return int(value)


def open_aws_chunked(
    source: ByteSource, headers: Mapping[str, str], auth: AuthResult | None
) -> AwsChunkedDecoder:
    """A decoder configured from the request headers (any case).

    Uses x-amz-content-sha256 for the mode (the caller has seen that
    ``PayloadMode.is_aws_chunked``), x-amz-decoded-content-length and
    x-amz-trailer. ``auth`` is the verify_request result (None: anonymous, which
    can only send unsigned chunks).
    """
    lowered = lowercase_headers(headers)
    content_sha256 = lowered.get("x-amz-content-sha256", "")
    try:
        mode = PayloadMode(content_sha256)
    except ValueError:
        mode = PayloadMode.SHA256
    if not mode.is_aws_chunked:
        raise MalformedChunkedEncoding(f"x-amz-content-sha256 {content_sha256[:64]!r} is not aws-chunked")
    signed = mode in (PayloadMode.STREAMING_SIGNED, PayloadMode.STREAMING_SIGNED_TRAILER)
    if signed and (auth is None or auth.presigned):
        # The chain starts from a header signature; anonymous or presigned requests have none.
        raise MalformedChunkedEncoding("signed aws-chunked payload needs an Authorization-header signature")
    length_text = lowered.get("x-amz-decoded-content-length")
    return AwsChunkedDecoder(
        source,
        auth,
        parse_decoded_length(length_text) if length_text is not None else None,
        mode=mode,
        declared_trailers=parse_trailer_names(lowered.get("x-amz-trailer", "")),
    )
