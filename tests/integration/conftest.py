from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tessera.cluster import LocalCluster
from tests.integration.cluster_fixtures import running_cluster, s3_client

_bucket_numbers = itertools.count()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """One shared cluster for the tests that do not break it."""
    with running_cluster(Path(tmp_path_factory.mktemp("cluster"))) as started:
        yield started


@pytest.fixture(scope="session")
def s3(cluster: LocalCluster) -> Any:
    return s3_client(cluster)


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty bucket per test, emptied and removed afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    name = f"t-{slug}-{next(_bucket_numbers)}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)
