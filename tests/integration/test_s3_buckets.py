"""Bucket operations and listings through boto3 against a real cluster."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.test_s3_objects import error_code


def test_bucket_lifecycle(s3: Any) -> None:
    s3.create_bucket(Bucket="lifecycle-1")
    assert "lifecycle-1" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket="lifecycle-1")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket="lifecycle-1")["LocationConstraint"] is None  # us-east-1
    s3.put_object(Bucket="lifecycle-1", Key="x", Body=b"1")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket="lifecycle-1")
    assert error_code(excinfo) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket="lifecycle-1", Key="x")
    s3.delete_bucket(Bucket="lifecycle-1")
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket="lifecycle-1")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_create_bucket_with_location_constraint(s3: Any) -> None:
    # boto3 refuses us-east-1 as an explicit constraint, so send the XML body by hand through a hook.
    def add_body(params: dict[str, Any], **kwargs: Any) -> None:
        params["body"] = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                          b"<LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>")

    s3.meta.events.register("before-call.s3.CreateBucket", add_body)
    try:
        s3.create_bucket(Bucket="located-1")
    finally:
        s3.meta.events.unregister("before-call.s3.CreateBucket", add_body)
    assert s3.head_bucket(Bucket="located-1")["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == \
        "us-east-1"
    s3.delete_bucket(Bucket="located-1")


def test_bucket_errors(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=bucket)
    assert error_code(excinfo) == ("BucketAlreadyOwnedByYou", 409)
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert error_code(excinfo) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket="no-such-bucket-here")
    assert error_code(excinfo) == ("NoSuchBucket", 404)
    for bad in ("ab", "UPPER", "has_underscore", "-dash-first", "192.168.1.1", "a..b", "x" * 64):
        with pytest.raises(ClientError) as excinfo:
            s3.create_bucket(Bucket=bad)
        assert error_code(excinfo) == ("InvalidBucketName", 400), bad


def test_virtual_hosted_style(cluster: Any) -> None:
    from tests.integration.cluster_fixtures import s3_client

    port = cluster.options.base_port
    path_client = s3_client(cluster)
    path_client.create_bucket(Bucket="vhost-1")
    vhost = s3_client(cluster, s3={"addressing_style": "virtual"})
    vhost.meta.events.register("before-sign.s3", lambda request, **kw: setattr(
        request, "url", request.url.replace(f"vhost-1.127.0.0.1:{port}", f"vhost-1.localhost:{port}")))
    # The resolver maps *.localhost to 127.0.0.1 (RFC 6761), so the Host header carries the bucket.
    vhost._endpoint.host = f"http://localhost:{port}"
    vhost.put_object(Bucket="vhost-1", Key="k", Body=b"virtual")
    assert path_client.get_object(Bucket="vhost-1", Key="k")["Body"].read() == b"virtual"
    path_client.delete_object(Bucket="vhost-1", Key="k")
    path_client.delete_bucket(Bucket="vhost-1")


@pytest.fixture
def listing_bucket(s3: Any, bucket: str) -> str:
    keys = ["a.txt", "b/1", "b/2", "b/3/x", "c/1", "d", "e f+g", "é/1", "z/"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def test_list_v2_delimiter_and_prefix(s3: Any, listing_bucket: str) -> None:
    reply = s3.list_objects_v2(Bucket=listing_bucket, Delimiter="/")
    assert [o["Key"] for o in reply["Contents"]] == ["a.txt", "d", "e f+g"]
    assert [p["Prefix"] for p in reply["CommonPrefixes"]] == ["b/", "c/", "z/", "é/"]
    assert reply["KeyCount"] == 7
    reply = s3.list_objects_v2(Bucket=listing_bucket, Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in reply["Contents"]] == ["b/1", "b/2"]
    assert [p["Prefix"] for p in reply["CommonPrefixes"]] == ["b/3/"]
    assert reply["Contents"][0]["Size"] == 3
    assert reply["Contents"][0]["ETag"].startswith('"')


def test_list_v2_pagination(s3: Any, listing_bucket: str) -> None:
    keys: list[str] = []
    token: dict[str, str] = {}
    pages = 0
    while True:
        reply = s3.list_objects_v2(Bucket=listing_bucket, MaxKeys=2, **token)
        pages += 1
        assert reply["KeyCount"] == len(reply.get("Contents", []))
        keys += [o["Key"] for o in reply.get("Contents", [])]
        if not reply["IsTruncated"]:
            break
        token = {"ContinuationToken": reply["NextContinuationToken"]}
    assert keys == ["a.txt", "b/1", "b/2", "b/3/x", "c/1", "d", "e f+g", "z/", "é/1"]
    assert pages == 5
    after = s3.list_objects_v2(Bucket=listing_bucket, StartAfter="d")
    assert [o["Key"] for o in after["Contents"]] == ["e f+g", "z/", "é/1"]
    assert s3.list_objects_v2(Bucket=listing_bucket, MaxKeys=0)["KeyCount"] == 0


def test_list_v1_markers(s3: Any, listing_bucket: str) -> None:
    reply = s3.list_objects(Bucket=listing_bucket, MaxKeys=3)
    assert [o["Key"] for o in reply["Contents"]] == ["a.txt", "b/1", "b/2"]
    assert reply["IsTruncated"] is True
    reply = s3.list_objects(Bucket=listing_bucket, Marker="a.txt", Delimiter="/", MaxKeys=2)
    assert "Contents" not in reply
    assert [p["Prefix"] for p in reply["CommonPrefixes"]] == ["b/", "c/"]
    assert reply["IsTruncated"] is True
    assert reply["NextMarker"] == "c/"
    reply = s3.list_objects(Bucket=listing_bucket, Marker=reply["NextMarker"], Delimiter="/")
    assert [o["Key"] for o in reply["Contents"]] == ["d", "e f+g"]
    assert [p["Prefix"] for p in reply["CommonPrefixes"]] == ["z/", "é/"]
    assert reply["IsTruncated"] is False


def test_list_encoding_type_url(s3: Any, listing_bucket: str) -> None:
    # boto3 leaves keys encoded when the caller asked for the encoding itself.
    raw = s3.list_objects_v2(Bucket=listing_bucket, Prefix="e", EncodingType="url")
    assert [o["Key"] for o in raw["Contents"]] == ["e%20f%2Bg"]
    seen: list[bytes] = []
    s3.meta.events.register("after-call.s3.ListObjectsV2",
                            lambda http_response, **kw: seen.append(http_response.content))
    s3.list_objects_v2(Bucket=listing_bucket, Prefix="e", EncodingType="url")
    assert b"<Key>e%20f%2Bg</Key>" in seen[-1]
