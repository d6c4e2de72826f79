"""The aws CLI, unmodified, against a real cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tessera.cluster import LocalCluster


def aws_binary() -> str:
    found = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if found is None:
        pytest.fail("the aws CLI is not installed (it is a test dependency: pip install -e '.[test]')")
    return found


def aws(cluster: LocalCluster, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": cluster.credentials.access_key,
           "AWS_SECRET_ACCESS_KEY": cluster.credentials.secret_key, "AWS_DEFAULT_REGION": cluster.options.region,
           "HOME": str(home), "AWS_CONFIG_FILE": str(home / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none")}
    return subprocess.run([aws_binary(), "--endpoint-url", cluster.endpoint, *args], env=env, capture_output=True,
                          text=True, timeout=120)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_aws_s3_high_level_commands(cluster: LocalCluster, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(os.urandom(9 * 1024 * 1024 + 5))  # above the CLI default 8 MiB multipart threshold
    ok(aws(cluster, "s3", "mb", "s3://cli-high", home=tmp_path))
    ok(aws(cluster, "s3", "cp", str(source), "s3://cli-high/dir/upload.bin", home=tmp_path))
    small = tmp_path / "small.txt"
    small.write_text("hello tessera\n")
    ok(aws(cluster, "s3", "cp", str(small), "s3://cli-high/small.txt", home=tmp_path))
    listing = ok(aws(cluster, "s3", "ls", "s3://cli-high/", home=tmp_path))
    assert "PRE dir/" in listing and "small.txt" in listing
    recursive = ok(aws(cluster, "s3", "ls", "--recursive", "s3://cli-high/", home=tmp_path))
    assert str(source.stat().st_size) in recursive
    downloaded = tmp_path / "down.bin"
    ok(aws(cluster, "s3", "cp", "s3://cli-high/dir/upload.bin", str(downloaded), home=tmp_path))
    assert downloaded.read_bytes() == source.read_bytes()
    ok(aws(cluster, "s3", "rm", "s3://cli-high/small.txt", home=tmp_path))
    assert "small.txt" not in ok(aws(cluster, "s3", "ls", "s3://cli-high/", home=tmp_path))
    ok(aws(cluster, "s3", "rm", "--recursive", "s3://cli-high/", home=tmp_path))
    ok(aws(cluster, "s3", "rb", "s3://cli-high", home=tmp_path))
    assert "cli-high" not in ok(aws(cluster, "s3", "ls", home=tmp_path))


def test_aws_s3api_commands(cluster: LocalCluster, tmp_path: Path) -> None:
    body = tmp_path / "body.bin"
    body.write_bytes(os.urandom(5 * 1024 * 1024))
    ok(aws(cluster, "s3api", "create-bucket", "--bucket", "cli-api", home=tmp_path))
    put: dict[str, Any] = json.loads(ok(aws(cluster, "s3api", "put-object", "--bucket", "cli-api", "--key", "k",
                                            "--body", str(body), "--content-type", "application/x-test",
                                            "--metadata", "origin=cli", home=tmp_path)))
    head = json.loads(ok(aws(cluster, "s3api", "head-object", "--bucket", "cli-api", "--key", "k", home=tmp_path)))
    assert head["ContentLength"] == body.stat().st_size
    assert head["ETag"] == put["ETag"]
    assert head["ContentType"] == "application/x-test"
    assert head["Metadata"] == {"origin": "cli"}
    out = tmp_path / "range.bin"
    got = json.loads(ok(aws(cluster, "s3api", "get-object", "--bucket", "cli-api", "--key", "k",
                            "--range", "bytes=100-199", str(out), home=tmp_path)))
    assert got["ContentRange"] == f"bytes 100-199/{body.stat().st_size}"
    assert out.read_bytes() == body.read_bytes()[100:200]
    listed = json.loads(ok(aws(cluster, "s3api", "list-objects-v2", "--bucket", "cli-api", home=tmp_path)))
    assert [o["Key"] for o in listed["Contents"]] == ["k"]
    missing = aws(cluster, "s3api", "get-object", "--bucket", "cli-api", "--key", "nope", str(out), home=tmp_path)
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr
    ok(aws(cluster, "s3api", "delete-object", "--bucket", "cli-api", "--key", "k", home=tmp_path))
    ok(aws(cluster, "s3api", "delete-bucket", "--bucket", "cli-api", home=tmp_path))
