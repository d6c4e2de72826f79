"""SigV4 verification against botocore's own signer, AWS's published examples and tampering."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.auth
import botocore.config
import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

from frontend.s3 import sigv4
from frontend.s3.sigv4 import PayloadMode, SignedRequest, verify_request

ACCESS_KEY = "AKIDTESSERA"
SECRET = "tessera/secret+key"
SIGNED_AT = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


def lookup(access_key: str) -> str | None:
    return SECRET if access_key == ACCESS_KEY else None


# --------------------------------------------------------------------------- boto3 capture


@dataclass
class Captured:
    request: SignedRequest
    body: bytes


class _EmptyRaw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        return iter([b""])


def _to_signed_request(method: str, url: str, headers: dict[str, str]) -> SignedRequest:
    """What aiohttp would hand us: raw path, decoded query pairs, headers with Host."""
    split = urlsplit(url)
    return SignedRequest(
        method=method,
        raw_path=split.path,
        query=parse_qsl(split.query, keep_blank_values=True),
        # urllib3 adds Host on the wire unless the signer (botocore's CRT one does) already set it.
        headers=headers if any(name.lower() == "host" for name in headers) else {"Host": split.netloc, **headers},
    )


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _signed_at(remove_tzinfo: bool = True) -> datetime:
    return SIGNED_AT.replace(tzinfo=None) if remove_tzinfo else SIGNED_AT


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin botocore's signing clock, in its Python signer and (if awscrt is installed) its CRT one."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", _signed_at)
    try:
        import botocore.crt.auth as crt_auth
    except ImportError:
        return
    monkeypatch.setattr(crt_auth, "get_current_datetime", _signed_at)


ClientFactory = Callable[..., tuple[Any, list[Captured]]]


@pytest.fixture
def make_s3(pinned_clock: None) -> Iterator[ClientFactory]:
    """boto3 clients whose requests are captured at the wire instead of sent."""
    clients: list[Any] = []

    def make(signature_version: str | None = None) -> tuple[Any, list[Captured]]:
        captured: list[Captured] = []

        def before_send(request: Any, **_: Any) -> Any:  # a response here short-circuits the send
            body = request.body.read() if hasattr(request.body, "read") else (request.body or b"")
            headers = {name: _text(value) for name, value in request.headers.items()}
            captured.append(Captured(_to_signed_request(request.method, request.url, headers), body))
            return AWSResponse(request.url, 200, cast(Any, {}), _EmptyRaw())

        client = boto3.client(
            "s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET,
            config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                          signature_version=signature_version),
        )
        client.meta.events.register("before-send", before_send)
        clients.append(client)
        return client, captured

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def s3(make_s3: ClientFactory) -> tuple[Any, list[Captured]]:
    return make_s3("s3v4")


def _verify(request: SignedRequest, now: datetime = SIGNED_AT, **kwargs: Any) -> sigv4.AuthResult:
    result = verify_request(request, lookup, now, **kwargs)
    assert result is not None
    return result


BOTO3_CALLS: list[tuple[str, Callable[[Any], object]]] = [
    ("put_object", lambda c: c.put_object(Bucket="bkt", Key="dir/k ey+!*'()ü~", Body=b"x" * 1000,
                                          Metadata={"spaced": "  a   b  "})),
    ("get_object_range", lambda c: c.get_object(Bucket="bkt", Key="a/b", Range="bytes=0-9")),
    ("list_objects_v2", lambda c: c.list_objects_v2(Bucket="bkt", Prefix="a b/ü", Delimiter="/",
                                                    StartAfter="x+y=z&w")),
    ("create_multipart", lambda c: c.create_multipart_upload(Bucket="bkt", Key="big")),
    ("upload_part", lambda c: c.upload_part(Bucket="bkt", Key="big", PartNumber=3, UploadId="u/1+2=",
                                            Body=b"part")),
    ("copy_object", lambda c: c.copy_object(Bucket="bkt", Key="dst", CopySource={"Bucket": "s", "Key": "a b"})),
    ("delete_objects", lambda c: c.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "a"}]})),
    ("put_bucket_acl", lambda c: c.put_bucket_acl(Bucket="bkt", ACL="public-read")),
    ("head_bucket", lambda c: c.head_bucket(Bucket="bkt")),
]


@pytest.mark.parametrize("name,call", BOTO3_CALLS, ids=[name for name, _ in BOTO3_CALLS])
def test_boto3_requests_verify(s3: tuple[Any, list[Captured]], name: str, call: Callable[[Any], object]) -> None:
    client, captured = s3
    call(client)
    (request,) = captured
    result = _verify(request.request, region="us-east-1")
    assert result.access_key == ACCESS_KEY
    assert result.region == "us-east-1"
    assert result.amz_date == "20260314T150926Z"
    assert result.payload_mode is PayloadMode.SHA256
    assert not result.presigned
    sigv4.check_payload_sha256(result.payload_hash, hashlib.sha256(request.body).digest())


def test_boto3_put_tampering_is_caught(s3: tuple[Any, list[Captured]]) -> None:
    client, captured = s3
    client.put_object(Bucket="bkt", Key="k", Body=b"payload", Metadata={"m": "v"}, StorageClass="STANDARD_IA")
    request = captured[0].request
    _verify(request)

    def tampered(**changes: Any) -> SignedRequest:
        return replace(request, **changes)

    headers = sigv4.lowercase_headers(request.headers)
    cases = {
        "signed header value": tampered(headers={**headers, "x-amz-meta-m": "w"}),
        "host": tampered(headers={**headers, "host": "127.0.0.1:9001"}),
        "path": tampered(raw_path="/bkt/K"),
        "method": tampered(method="POST"),
        "query added": tampered(query=[("acl", "")]),
        "payload hash": tampered(headers={**headers, "x-amz-content-sha256": hashlib.sha256(b"x").hexdigest()}),
    }
    for case, bad in cases.items():
        with pytest.raises(sigv4.SignatureDoesNotMatch) as caught:
            _verify(bad)
        assert caught.value.access_key == ACCESS_KEY, case
        assert caught.value.string_to_sign.startswith("AWS4-HMAC-SHA256\n20260314T150926Z\n"), case

    with pytest.raises(sigv4.HeadersNotSigned) as unsigned:
        _verify(tampered(headers={**headers, "x-amz-acl": "public-read-write"}))
    assert unsigned.value.headers == ("x-amz-acl",)
    # Headers outside x-amz-* (User-Agent, proxies' own) may be added in transit.
    _verify(tampered(headers={**headers, "X-Forwarded-For": "10.0.0.1", "User-Agent": "other"}))


def test_payload_sha256_mismatch(s3: tuple[Any, list[Captured]]) -> None:
    client, captured = s3
    client.put_object(Bucket="bkt", Key="k", Body=b"payload")
    result = _verify(captured[0].request)
    with pytest.raises(sigv4.XAmzContentSHA256Mismatch) as caught:
        sigv4.check_payload_sha256(result.payload_hash, hashlib.sha256(b"pAyload").digest())
    assert caught.value.client_computed == hashlib.sha256(b"payload").hexdigest()
    assert caught.value.s3_computed == hashlib.sha256(b"pAyload").hexdigest()


def test_wrong_secret_and_unknown_key(s3: tuple[Any, list[Captured]]) -> None:
    client, captured = s3
    client.head_bucket(Bucket="bkt")
    request = captured[0].request
    with pytest.raises(sigv4.SignatureDoesNotMatch):
        verify_request(request, lambda _key: "other-secret", SIGNED_AT)
    with pytest.raises(sigv4.InvalidAccessKeyId) as caught:
        verify_request(request, lambda _key: None, SIGNED_AT)
    assert caught.value.access_key == ACCESS_KEY


@pytest.mark.parametrize("offset_s,ok", [(-14 * 60, True), (14 * 60, True), (-16 * 60, False), (16 * 60, False)])
def test_clock_skew(s3: tuple[Any, list[Captured]], offset_s: int, ok: bool) -> None:
    client, captured = s3
    client.head_bucket(Bucket="bkt")
    now = SIGNED_AT + timedelta(seconds=offset_s)
    if ok:
        _verify(captured[0].request, now=now)
        return
    with pytest.raises(sigv4.RequestTimeTooSkewed) as caught:
        _verify(captured[0].request, now=now)
    assert caught.value.request_time == SIGNED_AT
    assert caught.value.server_time == now


def test_region_mismatch_names_expected_region(s3: tuple[Any, list[Captured]]) -> None:
    client, captured = s3
    client.head_bucket(Bucket="bkt")
    with pytest.raises(sigv4.AuthorizationHeaderMalformed) as caught:
        _verify(captured[0].request, region="eu-west-1")
    assert caught.value.region == "eu-west-1"
    assert _verify(captured[0].request).region == "us-east-1"  # any region when none is configured


# --------------------------------------------------------------------------- presigned URLs


def _presigned(client: Any, expires_s: int = 3600, **params: Any) -> SignedRequest:
    url = client.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "a b/ü", **params},
                                        ExpiresIn=expires_s)
    return _to_signed_request("GET", url, {})


def test_presigned_url_verifies_until_expiry(s3: tuple[Any, list[Captured]]) -> None:
    client, _ = s3
    request = _presigned(client, expires_s=600, ResponseContentType="text/plain; charset=utf-8")
    result = _verify(request, now=SIGNED_AT + timedelta(seconds=600))
    assert result.presigned
    assert result.payload_mode is PayloadMode.UNSIGNED
    assert result.payload_hash == "UNSIGNED-PAYLOAD"
    with pytest.raises(sigv4.RequestExpired) as caught:
        _verify(request, now=SIGNED_AT + timedelta(seconds=601))
    assert isinstance(caught.value, sigv4.AccessDenied)
    assert caught.value.message == "Request has expired"
    assert caught.value.expires_at == SIGNED_AT + timedelta(seconds=600)
    with pytest.raises(sigv4.RequestNotYetValid):
        _verify(request, now=SIGNED_AT - timedelta(minutes=16))


def test_presigned_tampering(s3: tuple[Any, list[Captured]]) -> None:
    client, _ = s3
    request = _presigned(client)
    query = list(request.query)
    swapped = [(name, "7200" if name == "X-Amz-Expires" else value) for name, value in query]
    for bad in [replace(request, query=swapped), replace(request, query=[*query, ("versionId", "1")]),
                replace(request, raw_path=request.raw_path + "x")]:
        with pytest.raises(sigv4.SignatureDoesNotMatch):
            _verify(bad)
    too_long = [(name, "604801" if name == "X-Amz-Expires" else value) for name, value in query]
    with pytest.raises(sigv4.AuthorizationQueryParametersError):
        _verify(replace(request, query=too_long))
    missing = [(name, value) for name, value in query if name != "X-Amz-SignedHeaders"]
    with pytest.raises(sigv4.AuthorizationQueryParametersError):
        _verify(replace(request, query=missing))
    with pytest.raises(sigv4.InvalidArgument):
        _verify(replace(request, headers={**request.headers, "Authorization": "AWS4-HMAC-SHA256 x"}))


# --------------------------------------------------------------------------- AWS published examples

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
AWS_DATE = datetime(2013, 5, 24, tzinfo=UTC)


def _aws_example(headers: dict[str, str], signed: str, signature: str, path: str = "/test.txt") -> SignedRequest:
    authorization = (f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY}/20130524/us-east-1/s3/aws4_request, "
                     f"SignedHeaders={signed}, Signature={signature}")
    return SignedRequest("GET" if path == "/test.txt" else "PUT", path, [],
                         {"x-amz-date": "20130524T000000Z", **headers, "Authorization": authorization})


def test_aws_documented_signatures() -> None:
    """Examples from the S3 SigV4 documentation: GET with Range, and the two chunked PUTs."""
    get = _aws_example(
        {"Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9",
         "x-amz-content-sha256": sigv4.EMPTY_SHA256_HEX},
        "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    )
    chunked = {"Host": "s3.amazonaws.com", "x-amz-storage-class": "REDUCED_REDUNDANCY",
               "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "66560"}
    put = _aws_example(
        {**chunked, "Content-Length": "66824", "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
        "x-amz-storage-class",
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        path="/examplebucket/chunkObject.txt",
    )
    put_trailer = _aws_example(
        {**chunked, "x-amz-trailer": "x-amz-checksum-crc32c",
         "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"},
        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;"
        "x-amz-trailer",
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
        path="/examplebucket/chunkObject.txt",
    )
    aws_lookup: Callable[[str], str | None] = lambda key: AWS_SECRET if key == AWS_ACCESS_KEY else None  # noqa: E731
    for request, mode in [(get, PayloadMode.SHA256), (put, PayloadMode.STREAMING_SIGNED),
                          (put_trailer, PayloadMode.STREAMING_SIGNED_TRAILER)]:
        result = verify_request(request, aws_lookup, AWS_DATE)
        assert result is not None
        assert result.payload_mode is mode
        assert result.scope == "20130524/us-east-1/s3/aws4_request"


# --------------------------------------------------------------------------- parsing and canonical forms


def test_canonical_forms() -> None:
    assert sigv4.canonical_uri("/b/a%2fb/%7e~/c d") == "/b/a%2Fb/~~/c%20d"
    assert sigv4.canonical_uri("/b//./..?x=1") == "/b//./.."  # S3 never normalises the path
    assert sigv4.canonical_query([("b", "2"), ("a", "z"), ("a", "y"), ("c d", "é")]) == "a=y&a=z&b=2&c%20d=%C3%A9"
    assert sigv4.canonical_query([("X-Amz-Signature", "s"), ("a", "")], exclude="X-Amz-Signature") == "a="
    assert sigv4.canonical_header_value(" a \t b  c ") == "a b c"
    assert sigv4.lowercase_headers({"A": "1", "a": "2", "B": "3"}) == {"a": "1,2", "b": "3"}


def _with_auth(authorization: str, **headers: str) -> SignedRequest:
    base = {"Host": "h", "x-amz-date": "20260314T150926Z", "x-amz-content-sha256": sigv4.EMPTY_SHA256_HEX}
    return SignedRequest("GET", "/", [], {**base, **headers, "Authorization": authorization})


GOOD_CREDENTIAL = f"Credential={ACCESS_KEY}/20260314/us-east-1/s3/aws4_request"
MALFORMED: list[tuple[str, SignedRequest, type[sigv4.AuthError]]] = [
    ("sigv2 unknown key", _with_auth("AWS AKID:c2ln", Date="Sat, 14 Mar 2026 15:09:26 GMT"),
     sigv4.InvalidAccessKeyId),
    ("sigv4a", _with_auth("AWS4-ECDSA-P256-SHA256 Credential=x"), sigv4.InvalidArgument),
    ("no signature", _with_auth(f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host"),
     sigv4.AuthorizationHeaderMalformed),
    ("short credential", _with_auth("AWS4-HMAC-SHA256 Credential=AK/20260314/us-east-1/s3, SignedHeaders=host, "
                                    "Signature=00"), sigv4.AuthorizationHeaderMalformed),
    ("wrong service", _with_auth(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260314/us-east-1/iam/aws4_request, "
                                 "SignedHeaders=host, Signature=00"), sigv4.AuthorizationHeaderMalformed),
    ("host unsigned", _with_auth(f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=x-amz-date, Signature=00"),
     sigv4.AuthorizationHeaderMalformed),
    ("scope date differs", _with_auth(f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature=00",
                                      **{"x-amz-date": "20260315T000000Z"}), sigv4.AuthorizationHeaderMalformed),
    ("bad x-amz-date", _with_auth(f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature=00",
                                  **{"x-amz-date": "2026-03-14T15:09:26Z"}), sigv4.InvalidArgument),
    ("bad content sha", _with_auth(f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature=00",
                                   **{"x-amz-content-sha256": "abc"}), sigv4.InvalidArgument),
]


@pytest.mark.parametrize("name,request_,error", MALFORMED, ids=[name for name, _, _ in MALFORMED])
def test_malformed_authorization(name: str, request_: SignedRequest, error: type[sigv4.AuthError]) -> None:
    with pytest.raises(error):
        verify_request(request_, lookup, SIGNED_AT)


def test_missing_headers() -> None:
    authorization = f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature=00"
    no_sha = SignedRequest("GET", "/", [], {"Host": "h", "x-amz-date": "20260314T150926Z",
                                            "Authorization": authorization})
    with pytest.raises(sigv4.MissingSecurityHeader) as caught:
        verify_request(no_sha, lookup, SIGNED_AT)
    assert caught.value.header_name == "x-amz-content-sha256"
    no_date = SignedRequest("GET", "/", [], {"Host": "h", "x-amz-content-sha256": sigv4.EMPTY_SHA256_HEX,
                                             "Authorization": authorization})
    with pytest.raises(sigv4.AccessDenied):
        verify_request(no_date, lookup, SIGNED_AT)


def test_anonymous_request_is_not_an_error() -> None:
    assert verify_request(SignedRequest("GET", "/bkt/k", [("versionId", "1")], {"Host": "h"}), lookup,
                          SIGNED_AT) is None
    with pytest.raises(sigv4.InvalidAccessKeyId):  # SigV2 query signing is checked, not taken as anonymous
        verify_request(SignedRequest("GET", "/", [("AWSAccessKeyId", "a"), ("Signature", "s"),
                                                  ("Expires", str(int(SIGNED_AT.timestamp()) + 60))],
                                     {"Host": "h"}), lookup, SIGNED_AT)


def test_date_header_fallback() -> None:
    """Without x-amz-date, SigV4 signs the RFC 1123 Date header's time in ISO 8601 basic form."""
    headers = {"Host": "h", "Date": "Sat, 14 Mar 2026 15:09:26 GMT", "x-amz-content-sha256": sigv4.EMPTY_SHA256_HEX}
    canonical = "\n".join(["GET", "/", "", f"date:Sat, 14 Mar 2026 15:09:26 GMT\nhost:h\n"
                           f"x-amz-content-sha256:{sigv4.EMPTY_SHA256_HEX}\n",
                           "date;host;x-amz-content-sha256", sigv4.EMPTY_SHA256_HEX])
    key = sigv4.derive_signing_key(SECRET, "20260314", "us-east-1")
    to_sign = sigv4.string_to_sign("20260314T150926Z", "20260314/us-east-1/s3/aws4_request", canonical)
    signature = sigv4.hmac_sha256(key, to_sign).hex()
    request = SignedRequest("GET", "/", [], {**headers, "Authorization": (
        f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL},SignedHeaders=date;host;x-amz-content-sha256,Signature={signature}")})
    assert _verify(request).amz_date == "20260314T150926Z"


# --------------------------------------------------------------------------- legacy SigV2


def test_default_boto3_presigned_url_is_sigv2_and_verifies(make_s3: ClientFactory) -> None:
    """boto3 and `aws s3 presign` default to SigV2 query URLs against a custom endpoint."""
    client, _ = make_s3()
    url = client.generate_presigned_url(
        "get_object", ExpiresIn=600,
        Params={"Bucket": "bkt", "Key": "a b/ü+", "VersionId": "v1", "ResponseContentType": "text/plain"},
    )
    assert "AWSAccessKeyId=" in url
    request = _to_signed_request("GET", url, {})
    now = datetime.now(UTC)
    result = _verify(request, now=now)
    assert (result.signature_version, result.presigned, result.access_key) == (2, True, ACCESS_KEY)
    assert result.payload_mode is PayloadMode.UNSIGNED
    with pytest.raises(sigv4.RequestExpired):
        _verify(request, now=now + timedelta(seconds=602))
    for bad in [replace(request, raw_path=request.raw_path + "x"),
                replace(request, query=[(n, "v2" if n == "versionId" else v) for n, v in request.query]),
                replace(request, method="DELETE")]:
        with pytest.raises(sigv4.SignatureDoesNotMatch):
            _verify(bad, now=now)


def test_sigv2_header_auth(make_s3: ClientFactory) -> None:
    client, captured = make_s3("s3")
    client.put_object(Bucket="bkt", Key="k", Body=b"body", ContentType="text/plain", Metadata={"a": "1"})
    client.get_object_acl(Bucket="bkt", Key="k")
    now = datetime.now(UTC)
    for request in captured:
        result = _verify(request.request, now=now)
        assert (result.signature_version, result.presigned) == (2, False)
    put = captured[0].request
    with pytest.raises(sigv4.SignatureDoesNotMatch):
        _verify(replace(put, headers={**put.headers, "x-amz-meta-a": "2"}), now=now)
    with pytest.raises(sigv4.RequestTimeTooSkewed):
        _verify(put, now=now + timedelta(minutes=16))


def test_botocore_python_signers_verify(pinned_clock: None) -> None:
    """botocore's pure-Python S3SigV4Auth and S3SigV4QueryAuth (boto3 uses the CRT one when awscrt is present)."""
    credentials = Credentials(ACCESS_KEY, SECRET)
    put = AWSRequest(method="PUT", url="http://127.0.0.1:9000/bkt/a%20b%2B?partNumber=2&uploadId=x%2By",
                     data=b"abc", headers={"x-amz-meta-spaced": "  a   b ", "Content-Type": "text/plain"})
    botocore.auth.S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(put)
    assert put.method is not None and put.url is not None
    result = _verify(_to_signed_request(put.method, put.url, {k: _text(v) for k, v in put.headers.items()}))
    assert result.payload_hash == hashlib.sha256(b"abc").hexdigest()

    get = AWSRequest(method="GET", url="http://127.0.0.1:9000/bkt/k%21?versionId=3")
    botocore.auth.S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=60).add_auth(get)
    assert get.url is not None
    presigned = _to_signed_request("GET", get.url, {})
    assert _verify(presigned, now=SIGNED_AT + timedelta(seconds=60)).presigned
    with pytest.raises(sigv4.RequestExpired):
        _verify(presigned, now=SIGNED_AT + timedelta(seconds=61))
