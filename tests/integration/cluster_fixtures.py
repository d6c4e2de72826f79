"""Start real local clusters for tests on free 127.0.0.1 ports."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tessera.cluster import ClusterOptions, LocalCluster
from tessera.credentials import Credentials

PORTS_PER_CLUSTER = 10  # frontend, 3 metadata replicas, 6 datanodes
TEST_CREDENTIALS = Credentials("TESTACCESSKEY0001", "test-secret-key-0001")


def free_port_block(count: int = PORTS_PER_CLUSTER) -> int:
    """A base port whose next `count` ports are all free now."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free block of ports")


@contextmanager
def running_cluster(data_dir: Path, **overrides: Any) -> Iterator[LocalCluster]:
    ports = 1 + overrides.get("metadata_replicas", 3) + 3 * overrides.get("datanodes_per_zone", 2)
    options = ClusterOptions(data_dir=data_dir, base_port=free_port_block(max(ports, PORTS_PER_CLUSTER)), **overrides)
    cluster = LocalCluster(options, TEST_CREDENTIALS)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def s3_client(cluster: LocalCluster, **config: Any) -> Any:
    return boto3.client(
        "s3", endpoint_url=cluster.endpoint, region_name=cluster.options.region,
        aws_access_key_id=cluster.credentials.access_key, aws_secret_access_key=cluster.credentials.secret_key,
        config=Config(signature_version="s3v4", retries={"max_attempts": 1, "mode": "standard"}, **config))
