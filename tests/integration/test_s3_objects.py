"""Object operations through boto3 against a real cluster."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

SEGMENT = 4 * 1024 * 1024
SIZES = [0, 1, 4096, 64 * 1024 - 1, 64 * 1024, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 12345]


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("size", SIZES)
def test_put_get_round_trip(s3: Any, bucket: str, size: int) -> None:
    data = os.urandom(size)
    put = s3.put_object(Bucket=bucket, Key=f"k{size}", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key=f"k{size}")
    assert got["Body"].read() == data
    assert got["ContentLength"] == size
    assert got["ETag"] == put["ETag"]


def test_range_reads(s3: Any, bucket: str) -> None:
    data = os.urandom(2 * SEGMENT + 100)
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    cases = {"bytes=0-0": data[0:1], "bytes=10-19": data[10:20], f"bytes={SEGMENT - 5}-{SEGMENT + 5}":
             data[SEGMENT - 5:SEGMENT + 6], "bytes=-7": data[-7:], f"bytes={2 * SEGMENT}-": data[2 * SEGMENT:],
             "bytes=5-999999999": data[5:]}
    for header, expected in cases.items():
        got = s3.get_object(Bucket=bucket, Key="r", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206, header
        assert got["Body"].read() == expected, header
        first = len(data) - len(expected) if header.startswith("bytes=-") else int(header[6:].split("-")[0])
        assert got["ContentRange"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


def test_unsatisfiable_range_is_416(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="small", Body=b"0123456789")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="small", Range="bytes=10-20")
    assert error_code(excinfo) == ("InvalidRange", 416)
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == b"0123456789"


def test_headers_and_metadata_round_trip(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="h", Body=b"x", ContentType="text/plain", CacheControl="max-age=60",
                  ContentDisposition='attachment; filename="x.txt"', ContentEncoding="identity",
                  Expires="Wed, 21 Oct 2037 07:28:00 GMT", Metadata={"color": "blue", "n": "1"})
    head = s3.head_object(Bucket=bucket, Key="h")
    assert head["ContentType"] == "text/plain"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == 'attachment; filename="x.txt"'
    assert head["ContentEncoding"] == "identity"
    assert head["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    assert head["Metadata"] == {"color": "blue", "n": "1"}
    assert head["ContentLength"] == 1
    assert head["LastModified"] is not None


def test_overwrite_replaces_and_delete_removes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"old" * 100_000)
    s3.put_object(Bucket=bucket, Key="o", Body=b"new")
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"new"
    assert s3.delete_object(Bucket=bucket, Key="o")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="o")
    assert error_code(excinfo) == ("NoSuchKey", 404)
    # Deleting a missing key succeeds, as in S3.
    assert s3.delete_object(Bucket=bucket, Key="o")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_objects(s3: Any, bucket: str) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    reply = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in reply["Deleted"]) == ["a", "b", "zz"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_conditional_get(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"abc")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"abc"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert error_code(excinfo) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_presigned_get_and_put(s3: Any, bucket: str) -> None:
    import urllib.request

    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    request = urllib.request.Request(put_url, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    with urllib.request.urlopen(get_url) as response:
        assert response.read() == b"presigned body"


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"])
def test_flexible_checksums(s3: Any, bucket: str, algorithm: str) -> None:
    data = os.urandom(300_000)
    put = s3.put_object(Bucket=bucket, Key=algorithm, Body=data, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"]
    got = s3.get_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
