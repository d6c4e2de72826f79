"""Bad input gets the right S3 error and status; the server keeps serving and stored data is unchanged."""

from __future__ import annotations

import datetime
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.cluster_fixtures import s3_client
from tests.integration.raw_requests import send, signed_headers
from tests.integration.test_s3_objects import error_code

SENTINEL_BODY = os.urandom(5 * 1024 * 1024 + 3)  # erasure coded, two stripes


@pytest.fixture
def guarded(s3: Any, bucket: str) -> Iterator[str]:
    """A bucket holding a sentinel object that must survive the bad request untouched."""
    s3.put_object(Bucket=bucket, Key="sentinel", Body=SENTINEL_BODY, Metadata={"keep": "me"})
    before = s3.head_object(Bucket=bucket, Key="sentinel")
    yield bucket
    after = s3.get_object(Bucket=bucket, Key="sentinel")
    assert after["Body"].read() == SENTINEL_BODY
    assert after["ETag"] == before["ETag"] and after["Metadata"] == {"keep": "me"}
    assert after["LastModified"] == before["LastModified"]


def test_signature_does_not_match(cluster: Any, guarded: str) -> None:
    wrong = s3_client(cluster)
    wrong._request_signer._credentials.secret_key = "not-the-secret"  # same key id, wrong secret
    with pytest.raises(ClientError) as excinfo:
        wrong.put_object(Bucket=guarded, Key="sentinel", Body=b"overwrite attempt")
    assert error_code(excinfo) == ("SignatureDoesNotMatch", 403)


def test_invalid_access_key_id(cluster: Any, guarded: str) -> None:
    response = send(cluster, "DELETE", f"/{guarded}/sentinel", access_key="NOSUCHKEY", secret_key="x")
    assert (response.code, response.status) == ("InvalidAccessKeyId", 403)


def test_anonymous_request_is_access_denied(cluster: Any, guarded: str) -> None:
    response = send(cluster, "GET", f"/{guarded}/sentinel", sign=False)
    assert (response.code, response.status) == ("AccessDenied", 403)


def test_expired_presigned_url_is_access_denied(cluster: Any, s3: Any, guarded: str) -> None:
    import time

    import urllib3

    http = urllib3.PoolManager()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": guarded, "Key": "sentinel"}, ExpiresIn=3)
    assert http.request("GET", url, retries=False).status == 200
    deadline = time.monotonic() + 10  # the URL is valid for three seconds, measured in whole seconds
    while time.monotonic() < deadline:
        response = http.request("GET", url, retries=False)
        if response.status != 200:
            break
    assert response.status == 403 and b"<Code>AccessDenied</Code>" in response.data


def test_request_time_too_skewed(cluster: Any, guarded: str) -> None:
    skewed = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    response = send(cluster, "DELETE", f"/{guarded}/sentinel", now=skewed)
    assert (response.code, response.status) == ("RequestTimeTooSkewed", 403)


def test_payload_hash_mismatch(cluster: Any, guarded: str) -> None:
    response = send(cluster, "PUT", f"/{guarded}/sentinel", body=b"original", sent_body=b"tampered")
    assert (response.code, response.status) == ("XAmzContentSHA256Mismatch", 400)


def test_bad_content_md5(s3: Any, guarded: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=guarded, Key="sentinel", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert error_code(excinfo) == ("BadDigest", 400)


def test_bad_checksum_header(cluster: Any, guarded: str) -> None:
    response = send(cluster, "PUT", f"/{guarded}/sentinel", body=b"abc",
                    headers={"x-amz-checksum-crc32": "AAAAAA=="})
    assert (response.code, response.status) == ("BadDigest", 400)


def aws_chunked(data: bytes, chunk_bytes: int, trailer: str) -> bytes:
    """An unsigned aws-chunked body with a trailer, framed as current SDKs send it."""
    framed = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + chunk_bytes]), data[i:i + chunk_bytes])
                      for i in range(0, len(data), chunk_bytes))
    return framed + b"0\r\n" + trailer.encode() + b"\r\n\r\n"


@pytest.mark.parametrize("good", [True, False])
def test_checksum_trailer_on_large_body(cluster: Any, s3: Any, guarded: str, good: bool) -> None:
    import base64
    import zlib

    data = os.urandom(6 * 1024 * 1024)
    crc = zlib.crc32(data) if good else zlib.crc32(data) ^ 1
    trailer = "x-amz-checksum-crc32:" + base64.b64encode(crc.to_bytes(4, "big")).decode()
    body = aws_chunked(data, 64 * 1024, trailer)
    key = "trailer-ok" if good else "sentinel"
    response = send(cluster, "PUT", f"/{guarded}/{key}", body=body, trailer=True, headers={
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32"})
    if good:
        assert response.status == 200, response.body
        assert s3.get_object(Bucket=guarded, Key=key)["Body"].read() == data
    else:
        assert (response.code, response.status) == ("BadDigest", 400)


def test_key_too_long(s3: Any, guarded: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=guarded, Key="k" * 1025, Body=b"x")
    assert error_code(excinfo) == ("KeyTooLongError", 400)


def test_metadata_too_large(s3: Any, guarded: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=guarded, Key="sentinel", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_code(excinfo) == ("MetadataTooLarge", 400)


def test_invalid_argument(cluster: Any, guarded: str) -> None:
    response = send(cluster, "GET", f"/{guarded}?list-type=2&max-keys=lots")
    assert (response.code, response.status) == ("InvalidArgument", 400)
    response = send(cluster, "GET", f"/{guarded}?encoding-type=base64")
    assert (response.code, response.status) == ("InvalidArgument", 400)


@pytest.mark.parametrize("body", [b"<Delete><Object><Key>sentinel", b"not xml at all",
                                  b"<Delete></Delete>", b"<Other><Object><Key>sentinel</Key></Object></Other>"])
def test_malformed_xml(cluster: Any, guarded: str, body: bytes) -> None:
    md5 = __import__("base64").b64encode(hashlib.md5(body).digest()).decode()
    response = send(cluster, "POST", f"/{guarded}?delete", body=body, headers={"Content-MD5": md5})
    assert (response.code, response.status) == ("MalformedXML", 400)


def test_malformed_create_bucket_xml(cluster: Any, guarded: str) -> None:
    response = send(cluster, "PUT", "/fresh-bucket-xml", body=b"<CreateBucketConfiguration><Locat")
    assert (response.code, response.status) == ("MalformedXML", 400)
    response = send(cluster, "HEAD", "/fresh-bucket-xml")
    assert response.status == 404  # nothing was created


def test_invalid_range_keeps_object(s3: Any, guarded: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=guarded, Key="sentinel", Range=f"bytes={len(SENTINEL_BODY)}-")
    assert error_code(excinfo) == ("InvalidRange", 416)


def test_interrupted_upload_commits_nothing(cluster: Any, guarded: str) -> None:
    import socket
    import time

    def chunk_files(folder: str) -> set[Path]:
        return {p for node in cluster.datanodes()
                for p in (cluster.options.data_dir / node.node_id / folder).rglob("*") if p.is_file()}

    committed_before = chunk_files("chunks")
    body = os.urandom(12 * 1024 * 1024)
    headers = signed_headers(cluster, "PUT", f"/{guarded}/sentinel", body)
    host, port = cluster.frontend.address.split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = f"PUT /{guarded}/sentinel HTTP/1.1\r\nHost: {cluster.frontend.address}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items() if name.lower() != "host")
        sock.sendall(head.encode() + b"\r\n" + body[:9 * 1024 * 1024])  # two full stripes, then the client dies
        deadline = time.monotonic() + 15  # the upload is under way: all six chunks are being written
        while len(chunk_files("tmp")) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(chunk_files("tmp")) == 6
    deadline = time.monotonic() + 15  # the frontend notices the broken body and every datanode discards its chunk
    while chunk_files("tmp") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert chunk_files("tmp") == set()
    assert chunk_files("chunks") == committed_before  # nothing committed; the sentinel check runs in the fixture


def test_unsupported_subresource_is_not_implemented(cluster: Any, guarded: str) -> None:
    response = send(cluster, "GET", f"/{guarded}?acl")
    assert (response.code, response.status) == ("NotImplemented", 501)
