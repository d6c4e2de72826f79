"""Kill -9 both datanodes of one zone: every object still reads back bit-exact."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tessera.cluster import LocalCluster
from tests.integration.cluster_fixtures import running_cluster, s3_client

SEGMENT = 4 * 1024 * 1024
SIZES = [0, 1, 4096, SEGMENT - 1, SEGMENT, SEGMENT + 1, 50 * 1024 * 1024]


@pytest.fixture(scope="module")
def zone_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(Path(tmp_path_factory.mktemp("zone"))) as cluster:
        yield cluster


@pytest.mark.parametrize("zone", ["a", "c"])
def test_objects_survive_loss_of_a_zone(zone_cluster: LocalCluster, zone: str) -> None:
    s3 = s3_client(zone_cluster)
    bucket = f"zone-{zone}"
    s3.create_bucket(Bucket=bucket)
    bodies = {f"obj-{size}": os.urandom(size) for size in SIZES}
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    victims = zone_cluster.datanodes(zone)
    for node in victims:
        zone_cluster.kill(node.node_id)
    try:
        for key, body in bodies.items():
            got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert hashlib.md5(got).digest() == hashlib.md5(body).digest(), key
            if len(body) > 10:
                middle = len(body) // 2
                ranged = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={middle - 5}-{middle + 5}")
                assert ranged["Body"].read() == body[middle - 5:middle + 6], key
        assert_put_succeeds_or_503(s3, bucket)
        listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
        assert listed - {"during-outage"} == set(bodies)
    finally:
        for node in victims:
            zone_cluster.start_node(node.node_id)
        zone_cluster.wait_datanodes_up()
    # Back to full strength: every object still reads, and writes work again.
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    s3.put_object(Bucket=bucket, Key="after", Body=b"x" * (SEGMENT + 1))


def assert_put_succeeds_or_503(s3: Any, bucket: str) -> None:
    """A write during the outage either commits under the quorum or is refused whole with a 503."""
    body = os.urandom(SEGMENT * 2 + 7)
    try:
        s3.put_object(Bucket=bucket, Key="during-outage", Body=body)
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status == 503, error.response
        assert error.response["Error"]["Code"] in ("ServiceUnavailable", "SlowDown")
        with pytest.raises(ClientError) as excinfo:
            s3.head_object(Bucket=bucket, Key="during-outage")
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    else:
        assert s3.get_object(Bucket=bucket, Key="during-outage")["Body"].read() == body


def all_chunk_files(cluster: LocalCluster) -> set[Path]:
    return {path for node in cluster.datanodes()
            for path in (cluster.options.data_dir / node.node_id / "chunks").rglob("*") if path.is_file()}


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_corrupt_chunks_are_decoded_around(zone_cluster: LocalCluster) -> None:
    s3 = s3_client(zone_cluster)
    s3.create_bucket(Bucket="corrupt")
    body = os.urandom(3 * SEGMENT + 99)
    before = all_chunk_files(zone_cluster)
    s3.put_object(Bucket="corrupt", Key="k", Body=body)
    files = {int(path.name.rsplit(".", 1)[1]): path for path in all_chunk_files(zone_cluster) - before}
    assert sorted(files) == [0, 1, 2, 3, 4, 5]
    for index in (0, 2):  # two data chunks: m=2 bad pieces per stripe is the most a stripe can lose
        flip_byte(files[index], files[index].stat().st_size // 2)
    assert s3.get_object(Bucket="corrupt", Key="k")["Body"].read() == body
    second = s3.get_object(Bucket="corrupt", Key="k", Range=f"bytes={SEGMENT}-{2 * SEGMENT - 1}")
    assert second["Body"].read() == body[SEGMENT:2 * SEGMENT]
