"""Multipart uploads through boto3, the aws CLI's default path for large files."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.integration.test_s3_objects import error_code

MIB = 1024 * 1024


def multipart_etag(parts: list[bytes]) -> str:
    return f'"{hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()}-{len(parts)}"'


def test_multipart_round_trip(s3: Any, bucket: str) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 7), os.urandom(1234)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentType="video/x-test",
                                        Metadata={"kind": "multipart"})
    upload_id = upload["UploadId"]
    etags = []
    for number, data in enumerate(parts, start=1):
        reply = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=number, Body=data)
        assert reply["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        etags.append(reply["ETag"])
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, 5 * MIB), (2, 5 * MIB + 7), (3, 1234)]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mp", upload_id)]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})
    assert done["ETag"] == multipart_etag(parts)
    whole = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == whole
    assert got["ContentType"] == "video/x-test" and got["Metadata"] == {"kind": "multipart"}
    assert got["ETag"] == multipart_etag(parts)
    span = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MIB - 3}-{10 * MIB + 10}")["Body"].read()
    assert span == whole[5 * MIB - 3:10 * MIB + 11]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_upload_file_uses_multipart(s3: Any, bucket: str, tmp_path: Any) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(23 * MIB + 5))
    config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=3)
    s3.upload_file(str(source), bucket, "big", Config=config)
    assert s3.head_object(Bucket=bucket, Key="big")["ETag"].endswith('-3"')
    target = tmp_path / "down.bin"
    s3.download_file(bucket, "big", str(target), Config=config)
    assert target.read_bytes() == source.read_bytes()


def test_multipart_errors(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="e")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="e", UploadId=upload_id, PartNumber=1, Body=b"tiny")["ETag"]
    last = s3.upload_part(Bucket=bucket, Key="e", UploadId=upload_id, PartNumber=2, Body=b"end")["ETag"]
    cases = [
        ([{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}], ("EntityTooSmall", 400)),
        ([{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}], ("InvalidPartOrder", 400)),
        ([{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}], ("InvalidPart", 400)),
        ([{"PartNumber": 9, "ETag": small}], ("InvalidPart", 400)),
    ]
    for parts, expected in cases:
        with pytest.raises(ClientError) as excinfo:
            s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
        assert error_code(excinfo) == expected, parts
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket=bucket, Key="e", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert error_code(excinfo) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket=bucket, Key="e", UploadId="no-such-upload", PartNumber=1, Body=b"x")
    assert error_code(excinfo) == ("NoSuchUpload", 404)
    s3.abort_multipart_upload(Bucket=bucket, Key="e", UploadId=upload_id)
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket=bucket, Key="e", UploadId=upload_id)
    assert error_code(excinfo) == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="e")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_replaced_part_and_overwrite_by_multipart(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"single put")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="o")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="o", UploadId=upload_id, PartNumber=1, Body=os.urandom(5 * MIB))
    final = os.urandom(5 * MIB)
    etag = s3.upload_part(Bucket=bucket, Key="o", UploadId=upload_id, PartNumber=1, Body=final)["ETag"]
    # Until completion, readers see the old object.
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"single put"
    s3.complete_multipart_upload(Bucket=bucket, Key="o", UploadId=upload_id,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == final
