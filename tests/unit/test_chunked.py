"""aws-chunked decoding and flexible checksums: AWS's vectors, boto3's real bodies, tampering, framing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import random
import socket
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.config
import pytest
from aiohttp import web
from botocore.awsrequest import AWSResponse

from frontend.s3 import checksums, limits, sigv4
from frontend.s3.chunked import (
    AwsChunkedDecoder,
    IncompleteBody,
    MalformedChunkedEncoding,
    MalformedTrailer,
    open_aws_chunked,
)
from frontend.s3.sigv4 import AuthResult, PayloadMode, SignedRequest

# --------------------------------------------------------------------------- helpers


class MemorySource:
    """A ByteSource that hands out the body in pieces of seeded random size (<= max_piece)."""

    def __init__(self, data: bytes, max_piece: int = 1 << 20, seed: int = 0) -> None:
        self._data = memoryview(data)
        self._max_piece = max_piece
        self._random = random.Random(seed)

    async def read(self, n: int) -> bytes:
        size = min(n, self._random.randint(1, self._max_piece))
        piece, self._data = self._data[:size], self._data[size:]
        return bytes(piece)


def decode(decoder: AwsChunkedDecoder) -> bytes:
    async def run() -> bytes:
        return b"".join([piece async for piece in decoder])

    return asyncio.run(run())


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_SIGNING_KEY = sigv4.derive_signing_key(AWS_SECRET, "20130524", "us-east-1")
AWS_DATA = b"a" * 66560


def aws_auth(mode: PayloadMode, seed: str) -> AuthResult:
    return AuthResult(
        access_key="AKIAIOSFODNN7EXAMPLE", region="us-east-1", date_stamp="20130524", amz_date="20130524T000000Z",
        signing_key=AWS_SIGNING_KEY, seed_signature=seed, payload_hash=mode.value, payload_mode=mode,
        presigned=False, signed_headers=(),
    )


# The S3 documentation's two chunked PUT examples: 64 KiB + 1 KiB of 'a', then the final chunk.
EXAMPLE_SIGNED = aws_auth(PayloadMode.STREAMING_SIGNED,
                          "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
EXAMPLE_SIGNED_SIGS = ("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                       "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                       "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
EXAMPLE_TRAILER = aws_auth(PayloadMode.STREAMING_SIGNED_TRAILER,
                           "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
EXAMPLE_TRAILER_SIGS = ("b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
                        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
                        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992")
EXAMPLE_TRAILER_LINE = b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
EXAMPLE_TRAILER_SIG = b"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"


def signed_chunk(data: bytes, signature: str) -> bytes:
    return b"%x;chunk-signature=%s\r\n%s\r\n" % (len(data), signature.encode(), data)


def example_body(sigs: tuple[str, str, str], trailer: bytes = b"") -> bytes:
    return (signed_chunk(b"a" * 65536, sigs[0]) + signed_chunk(b"a" * 1024, sigs[1])
            + b"0;chunk-signature=%s\r\n" % sigs[2].encode() + trailer + b"\r\n")


SIGNED_BODY = example_body(EXAMPLE_SIGNED_SIGS)
TRAILER_BODY = example_body(EXAMPLE_TRAILER_SIGS, EXAMPLE_TRAILER_LINE + EXAMPLE_TRAILER_SIG)


def signed_decoder(body: bytes, max_piece: int = 1 << 20, length: int | None = 66560) -> AwsChunkedDecoder:
    return AwsChunkedDecoder(MemorySource(body, max_piece), EXAMPLE_SIGNED, length)


def trailer_decoder(body: bytes, length: int | None = 66560) -> AwsChunkedDecoder:
    return AwsChunkedDecoder(MemorySource(body), EXAMPLE_TRAILER, length,
                             declared_trailers={"x-amz-checksum-crc32c"})


# --------------------------------------------------------------------------- AWS published vectors


@pytest.mark.parametrize("max_piece", [1, 7, 100, 4096, 65536, 70000, 1 << 20])
def test_aws_signed_example_decodes_however_it_is_sliced(max_piece: int) -> None:
    decoder = signed_decoder(SIGNED_BODY, max_piece)  # a byte at a time is the harshest framing
    assert decode(decoder) == AWS_DATA
    assert decoder.decoded_bytes == 66560
    assert decoder.trailers == {}


def test_aws_trailer_example_decodes_and_its_crc32c_matches() -> None:
    decoder = trailer_decoder(TRAILER_BODY)
    assert decode(decoder) == AWS_DATA
    assert decoder.trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    crc = checksums.new_checksum(checksums.ChecksumAlgorithm.CRC32C)
    crc.update(AWS_DATA)
    checksums.verify_checksum(crc, decoder.trailers["x-amz-checksum-crc32c"])


def _chunks(*pairs: tuple[bytes, str]) -> bytes:
    return b"".join(signed_chunk(data, sig) for data, sig in pairs)


A64, A1 = b"a" * 65536, b"a" * 1024
S = EXAMPLE_SIGNED_SIGS
FINAL = b"0;chunk-signature=%s\r\n\r\n" % S[2].encode()
SIGNED_TAMPERING = {
    "data byte changed": SIGNED_BODY.replace(b"a\r\n400;", b"b\r\n400;", 1),
    "chunk signature changed": SIGNED_BODY.replace(S[1].encode(), b"0" * 64, 1),
    "final signature changed": SIGNED_BODY.replace(S[2].encode(), S[1].encode(), 1),
    "chunks reordered": _chunks((A1, S[1]), (A64, S[0])) + FINAL,
    "chunk dropped": _chunks((A64, S[0])) + FINAL,
    "chunk appended": _chunks((A64, S[0]), (A1, S[1]), (b"a", S[2])) + FINAL,
    "cut at a chunk boundary": _chunks((A64, S[0])) + b"0;chunk-signature=%s\r\n\r\n" % S[1].encode(),
}


@pytest.mark.parametrize("case", list(SIGNED_TAMPERING))
def test_signed_chunk_tampering_fails_the_chain(case: str) -> None:
    with pytest.raises(sigv4.SignatureDoesNotMatch) as caught:
        decode(signed_decoder(SIGNED_TAMPERING[case], length=None))
    assert caught.value.string_to_sign.startswith("AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n")


TRAILER_TAMPERING: dict[str, tuple[bytes, type[Exception]]] = {
    "checksum changed": (TRAILER_BODY.replace(b"sOO8/Q==", b"AAAAAA=="), sigv4.SignatureDoesNotMatch),
    "trailer signature changed": (TRAILER_BODY.replace(EXAMPLE_TRAILER_SIG[24:40], b"0" * 16),
                                  sigv4.SignatureDoesNotMatch),
    "trailer signature missing": (TRAILER_BODY.replace(EXAMPLE_TRAILER_SIG, b""), sigv4.SignatureDoesNotMatch),
    "trailer added": (TRAILER_BODY.replace(EXAMPLE_TRAILER_LINE, EXAMPLE_TRAILER_LINE + b"x-amz-meta-x:1\r\n"),
                      MalformedTrailer),
    "trailer dropped": (TRAILER_BODY.replace(EXAMPLE_TRAILER_LINE, b""), MalformedTrailer),
    "trailer twice": (TRAILER_BODY.replace(EXAMPLE_TRAILER_LINE, EXAMPLE_TRAILER_LINE * 2), MalformedTrailer),
    "not a header": (TRAILER_BODY.replace(EXAMPLE_TRAILER_LINE, b"garbage\r\n"), MalformedTrailer),
}


@pytest.mark.parametrize("case", list(TRAILER_TAMPERING))
def test_trailer_tampering(case: str) -> None:
    body, error = TRAILER_TAMPERING[case]
    with pytest.raises(error):
        decode(trailer_decoder(body))


def test_trailer_on_a_body_signed_without_one_is_refused() -> None:
    body = SIGNED_BODY[:-2] + b"x-amz-checksum-crc32:NSRBwg==\r\n\r\n"
    with pytest.raises(MalformedTrailer):
        decode(signed_decoder(body))


# --------------------------------------------------------------------------- framing and lengths


def unsigned_body(pieces: list[bytes], trailer: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n" + trailer + b"\r\n"


def unsigned_decoder(body: bytes, length: int | None = None, max_piece: int = 1 << 20) -> AwsChunkedDecoder:
    return AwsChunkedDecoder(MemorySource(body, max_piece), None, length,
                             mode=PayloadMode.STREAMING_UNSIGNED_TRAILER)


FRAMING_ERRORS: dict[str, tuple[bytes, int | None, type[Exception]]] = {
    "size not hex": (b"zz\r\nab\r\n0\r\n\r\n", None, MalformedChunkedEncoding),
    "size with 0x": (b"0x2\r\nab\r\n0\r\n\r\n", None, MalformedChunkedEncoding),
    "size with sign": (b"+2\r\nab\r\n0\r\n\r\n", None, MalformedChunkedEncoding),
    "chunk too large": (b"%x\r\n" % (limits.chunk_bytes_max + 1), None, MalformedChunkedEncoding),
    "data longer than size": (b"2\r\nabc\r\n0\r\n\r\n", None, MalformedChunkedEncoding),
    "endless line": (b"1" * (limits.chunk_line_bytes_max + 10), None, MalformedChunkedEncoding),
    "bare LF": (b"2\nab\n0\n\n", None, IncompleteBody),
    "cut inside data": (b"10\r\nabc", None, IncompleteBody),
    "no final chunk": (b"2\r\nab\r\n", None, IncompleteBody),
    "shorter than declared": (unsigned_body([b"abc"]), 4, IncompleteBody),
    "longer than declared": (unsigned_body([b"abc", b"def"]), 4, IncompleteBody),
    "too many trailers": (unsigned_body([b"a"], b"x-a:1\r\n" * (limits.trailer_count_max + 1)), None,
                          MalformedTrailer),
}


@pytest.mark.parametrize("case", list(FRAMING_ERRORS))
def test_framing_errors(case: str) -> None:
    body, length, error = FRAMING_ERRORS[case]
    with pytest.raises(error):
        decode(unsigned_decoder(body, length))


def test_incomplete_body_reports_counts() -> None:
    with pytest.raises(IncompleteBody) as caught:
        decode(unsigned_decoder(unsigned_body([b"abc", b"defg"]), 10))
    assert (caught.value.expected_bytes, caught.value.received_bytes) == (10, 7)


def test_unsigned_round_trip_streams_in_bounded_slices() -> None:
    rng = random.Random(7)
    pieces = [rng.randbytes(rng.randint(1, 700_000)) for _ in range(4)]
    body = unsigned_body(pieces, b"x-amz-checksum-sha256:abc\r\n")
    decoder = unsigned_decoder(body, sum(map(len, pieces)), max_piece=100_000)

    async def run() -> list[bytes]:
        return [piece async for piece in decoder]

    out = asyncio.run(run())
    assert b"".join(out) == b"".join(pieces)
    assert max(map(len, out)) <= min(limits.chunk_slice_bytes_max, 100_000)
    assert decoder.trailers == {"x-amz-checksum-sha256": "abc"}


# --------------------------------------------------------------------------- boto3's real bodies

ACCESS_KEY, SECRET = "AKIDTESSERA", "tessera-secret"


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class _EmptyRaw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        return iter([b""])


def capture_put(endpoint: str, body: bytes, **params: Any) -> tuple[str, str, dict[str, str], bytes]:
    """(method, url, headers, wire body) of the PutObject boto3 sends to ``endpoint``."""
    captured: list[tuple[str, str, dict[str, str], bytes]] = []

    def before_send(request: Any, **_: Any) -> Any:
        wire = request.body.read() if hasattr(request.body, "read") else request.body
        captured.append((request.method, request.url,
                         {name: _text(value) for name, value in request.headers.items()}, wire))
        return AWSResponse(request.url, 200, cast(Any, {}), _EmptyRaw())

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET, config=botocore.config.Config(retries={"max_attempts": 1}))
    client.meta.events.register("before-send", before_send)
    try:
        client.put_object(Bucket="bkt", Key="key", Body=body, **params)
    finally:
        client.close()
    return captured[0]


def _signed_request(method: str, url: str, headers: dict[str, str]) -> SignedRequest:
    split = urlsplit(url)
    if not any(name.lower() == "host" for name in headers):
        headers = {"Host": split.netloc, **headers}
    return SignedRequest(method, split.path, parse_qsl(split.query, keep_blank_values=True), headers)


def _boto3_algorithms() -> list[str]:
    crt = checksums.implementation_name(checksums.ChecksumAlgorithm.CRC64NVME) == "awscrt.checksums"
    return ["CRC32", "SHA1", "SHA256"] + (["CRC32C", "CRC64NVME"] if crt else [])


@pytest.mark.parametrize("algorithm", _boto3_algorithms())
def test_boto3_unsigned_trailer_body_decodes(algorithm: str) -> None:
    """Over HTTPS boto3 sends STREAMING-UNSIGNED-PAYLOAD-TRAILER with the checksum as a trailer."""
    data = random.Random(3).randbytes(300_000)
    method, url, headers, wire = capture_put("https://127.0.0.1:9443", data, ChecksumAlgorithm=algorithm)
    request = _signed_request(method, url, headers)
    auth = sigv4.verify_request(request, lambda key: SECRET if key == ACCESS_KEY else None, datetime.now(UTC))
    assert auth is not None and auth.payload_mode is PayloadMode.STREAMING_UNSIGNED_TRAILER
    decoder = open_aws_chunked(MemorySource(wire, 5000), request.headers, auth)
    assert decode(decoder) == data
    algo = checksums.ChecksumAlgorithm.parse(algorithm)
    checksum = checksums.new_checksum(algo)
    checksum.update(data)
    checksums.verify_checksum(checksum, decoder.trailers[algo.header_name])
    tampered = checksums.new_checksum(algo)
    tampered.update(data + b"!")
    with pytest.raises(checksums.BadDigest):
        checksums.verify_checksum(tampered, decoder.trailers[algo.header_name])


# --------------------------------------------------------------------------- over a real aiohttp server


class RecordingServer:
    """An aiohttp server that verifies each request and decodes its body, recording the outcome."""

    def __init__(self) -> None:
        self.outcomes: list[tuple[str, bytes, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        signed = SignedRequest(request.method, request.raw_path, list(request.query.items()), request.headers)
        try:
            auth = sigv4.verify_request(signed, lambda k: SECRET if k == ACCESS_KEY else None, datetime.now(UTC))
            assert auth is not None
            if auth.payload_mode.is_aws_chunked:
                decoder = open_aws_chunked(request.content, request.headers, auth)
                body = b"".join([piece async for piece in decoder])
                trailers = decoder.trailers
            else:
                body, trailers = await request.read(), {}
                if auth.payload_mode is PayloadMode.SHA256:
                    sigv4.check_payload_sha256(auth.payload_hash, hashlib.sha256(body).digest())
        except (sigv4.AuthError, MalformedChunkedEncoding, IncompleteBody, MalformedTrailer) as error:
            self.outcomes.append((type(error).__name__, b"", {}))
            return web.Response(status=400)
        self.outcomes.append(("ok", body, trailers))
        return web.Response(status=200)


def _replay_chunked(port: int, method: str, url: str, headers: dict[str, str], wire: bytes) -> int:
    """Send a captured request as HTTP/1.1 chunked transfer, keeping its signed Host."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, urlsplit(url).path, skip_host=True, skip_accept_encoding=True)
        if not any(name.lower() == "host" for name in headers):
            headers = {"Host": urlsplit(url).netloc, **headers}
        for name, value in headers.items():
            if name.lower() not in ("expect", "content-length"):
                connection.putheader(name, value)
        connection.endheaders()
        for start in range(0, len(wire), 10_000):
            piece = wire[start:start + 10_000]
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_boto3_against_a_real_aiohttp_server() -> None:
    """aiohttp's StreamReader is a ByteSource: boto3 over HTTP, and its HTTPS aws-chunked body replayed."""
    data = random.Random(5).randbytes(200_000)
    server = RecordingServer()

    def boto3_put(port: int) -> None:
        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                              aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET,
                              config=botocore.config.Config(retries={"max_attempts": 1}))
        try:
            client.put_object(Bucket="bkt", Key="k ey", Body=data)
        finally:
            client.close()

    async def run() -> list[int]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", server.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(runner, sock)
        await site.start()
        port = sock.getsockname()[1]
        try:
            await asyncio.to_thread(boto3_put, port)
            method, url, headers, wire = capture_put("https://127.0.0.1:9443", data, ChecksumAlgorithm="CRC32")
            good = await asyncio.to_thread(_replay_chunked, port, method, url, headers, wire)
            bad_wire = wire.replace(b"x-amz-checksum-crc32:", b"x-amz-checksum-crc32c:")
            bad = await asyncio.to_thread(_replay_chunked, port, method, url, headers, bad_wire)
            return [good, bad]
        finally:
            await runner.cleanup()

    statuses = asyncio.run(run())
    assert statuses == [200, 400]
    assert [outcome[0] for outcome in server.outcomes] == ["ok", "ok", "MalformedTrailer"]
    assert server.outcomes[0][1] == data
    assert server.outcomes[1][1] == data
    expected_crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert server.outcomes[1][2] == {"x-amz-checksum-crc32": expected_crc}


# --------------------------------------------------------------------------- checksums


KNOWN_ANSWERS = {
    checksums.ChecksumAlgorithm.CRC32: "cbf43926",
    checksums.ChecksumAlgorithm.CRC32C: "e3069283",
    checksums.ChecksumAlgorithm.CRC64NVME: "ae8b14860a799888",
    checksums.ChecksumAlgorithm.SHA1: "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    checksums.ChecksumAlgorithm.SHA256: "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
}


@pytest.mark.parametrize("algorithm", list(checksums.ChecksumAlgorithm))
def test_checksum_known_answers_incrementally(algorithm: checksums.ChecksumAlgorithm) -> None:
    checksum = checksums.new_checksum(algorithm)
    for piece in (b"1", b"2345", b"", b"6789"):
        checksum.update(piece)
    assert checksum.digest().hex() == KNOWN_ANSWERS[algorithm]
    assert base64.b64decode(checksum.b64digest()) == bytes.fromhex(KNOWN_ANSWERS[algorithm])
    assert checksum.algorithm is algorithm


def test_python_crcs_match_the_chosen_implementations() -> None:
    rng = random.Random(11)
    for _ in range(5):
        data = rng.randbytes(rng.randint(0, 3000))
        for algorithm, reference in [(checksums.ChecksumAlgorithm.CRC32C, checksums.python_crc32c),
                                     (checksums.ChecksumAlgorithm.CRC64NVME, checksums.python_crc64nvme)]:
            checksum = checksums.new_checksum(algorithm)
            checksum.update(data[:100])
            checksum.update(data[100:])
            assert int.from_bytes(checksum.digest(), "big") == reference(data, 0)
    assert checksums.python_crc32c(b"6789", checksums.python_crc32c(b"12345", 0)) == 0xE3069283


def test_checksum_values_and_errors() -> None:
    algorithm = checksums.ChecksumAlgorithm.CRC32
    checksum = checksums.new_checksum("crc32")
    checksum.update(b"hello world")
    checksums.verify_checksum(checksum, "DUoRhQ==")
    with pytest.raises(checksums.BadDigest) as bad:
        checksums.verify_checksum(checksum, "AAAAAA==")
    assert (bad.value.expected_b64, bad.value.calculated_b64) == ("AAAAAA==", "DUoRhQ==")
    for malformed in ["bad", "DUoRhQ", "DUoRhQAA", "DUoR hQ==", "ü"]:
        with pytest.raises(checksums.InvalidChecksumValue):
            checksums.verify_checksum(checksum, malformed)
    with pytest.raises(checksums.InvalidChecksumRequest):
        checksums.new_checksum("MD5")
    assert checksums.ChecksumAlgorithm.from_header_name("X-Amz-Checksum-Crc64nvme") is \
        checksums.ChecksumAlgorithm.CRC64NVME
    assert checksums.ChecksumAlgorithm.from_header_name("x-amz-checksum-type") is None
    assert checksums.checksum_from_headers({"x-amz-checksum-crc32": "DUoRhQ==", "x-amz-checksum-type": "FULL"}) \
        == (algorithm, "DUoRhQ==")
    with pytest.raises(checksums.InvalidChecksumRequest):
        checksums.checksum_from_headers({"x-amz-checksum-crc32": "a", "x-amz-checksum-sha1": "b"})
