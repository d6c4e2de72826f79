"""Unit tests for the pure parts of `tessera bench`.

The end-to-end run against a live endpoint belongs to the integration tier; here we
pin the body generator (repeatable, exact size, streamed, self-hashing), the
statistics, the flag and credential handling, the phase scheduler and the output.
"""

from __future__ import annotations

import argparse
import doctest
import hashlib
import io
import json
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.utils import determine_content_length

from tessera import bench
from tessera.bench import (
    BenchError,
    BenchReport,
    LatencySummary,
    OpOutcome,
    PatternStream,
    PhaseResult,
    Sample,
    Workload,
)

MIB = 1024 * 1024
# Crosses two block boundaries and ends mid-block.
odd_size_bytes = 2 * bench.pattern_block_bytes + 12_345


def read_in_chunks(stream: io.RawIOBase, chunk_bytes: int) -> bytes:
    parts = []
    while chunk := stream.read(chunk_bytes):
        parts.append(chunk)
    return b"".join(parts)


def test_module_examples_hold() -> None:
    assert doctest.testmod(bench).failed == 0


# --- PatternStream -------------------------------------------------------------------


@pytest.mark.parametrize("chunk_bytes", [1_000_003, 65_536, 4_099])
def test_pattern_is_the_same_whatever_the_read_sizes(chunk_bytes: int) -> None:
    with PatternStream("s", odd_size_bytes) as whole, PatternStream("s", odd_size_bytes) as pieces:
        expected = whole.read()
        assert read_in_chunks(pieces, chunk_bytes) == expected
    assert expected is not None and len(expected) == odd_size_bytes


def test_pattern_is_repeatable_and_depends_on_the_seed() -> None:
    with PatternStream(7, 4096) as first, PatternStream(7, 4096) as again, PatternStream(8, 4096) as other:
        content = first.read()
        assert content == again.read()
        assert content != other.read()


def test_pattern_blocks_do_not_repeat() -> None:
    block = bench.pattern_block_bytes
    with PatternStream("blocks", 3 * block) as stream:
        content = stream.read()
    assert content is not None
    blocks = {content[i * block : (i + 1) * block] for i in range(3)}
    assert len(blocks) == 3


def test_pattern_has_exact_size_and_ends_cleanly() -> None:
    with PatternStream("s", 10_000) as stream:
        assert len(read_in_chunks(stream, 3_000)) == 10_000
        assert stream.tell() == 10_000
        assert stream.read(100) == b""
        assert stream.readinto(bytearray(10)) == 0
    with PatternStream("empty", 0) as empty:
        assert empty.read() == b""
        assert empty.md5_hexdigest() == hashlib.md5(b"").hexdigest()


def test_botocore_can_size_and_rewind_the_stream() -> None:
    with PatternStream("s", odd_size_bytes) as stream:
        stream.read(100)
        assert determine_content_length(stream) == odd_size_bytes - 100  # from the current position
        assert stream.tell() == 100
        stream.seek(-10, io.SEEK_END)
        assert stream.tell() == odd_size_bytes - 10
        assert len(stream.read(4)) == 4
        stream.seek(10, io.SEEK_CUR)
        assert stream.tell() == odd_size_bytes + 4
        assert stream.read(1) == b""  # past the end reads nothing
        with pytest.raises(ValueError):
            stream.seek(-1)


def test_stream_hashes_every_byte_once_across_rewinds() -> None:
    with PatternStream("h", odd_size_bytes) as reference:
        content = reference.read()
    assert content is not None
    with PatternStream("h", odd_size_bytes) as stream:
        stream.seek(1000)
        stream.read(5000)  # a read that does not start at the hashed prefix is ignored
        assert stream.md5_hexdigest() is None
        stream.seek(0)
        stream.read(3000)
        stream.seek(0)  # a rewind re-reads bytes already hashed: they are not hashed twice
        stream.read(2000)
        assert stream.md5_hexdigest() is None
        read_in_chunks(stream, 70_001)  # the first of these straddles the hashed prefix
        assert stream.md5_hexdigest() == hashlib.md5(content).hexdigest()
    assert bench.pattern_md5("h", odd_size_bytes) == hashlib.md5(content).hexdigest()


def test_stream_never_holds_the_object() -> None:
    tracemalloc.start()
    try:
        with PatternStream("huge", bench.object_size_max) as stream:
            stream.seek(-MIB, io.SEEK_END)
            tail = read_in_chunks(stream, 256 * 1024)
            _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(tail) == MIB
    assert peak_bytes < 4 * MIB  # one pattern block, the tail we kept, and slack


def test_object_seeds_differ_per_workload_and_index() -> None:
    seeds = {bench.object_seed(1, name, index) for name in ("small", "large") for index in range(3)}
    assert len(seeds) == 6
    assert bench.object_seed(1, "small", 0) != bench.object_seed(2, "small", 0)


# --- statistics ----------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    hundred = [float(value) for value in range(100, 0, -1)]  # unsorted on purpose
    assert bench.percentile(hundred, 50) == 50.0
    assert bench.percentile(hundred, 99) == 99.0
    assert bench.percentile(hundred, 100) == 100.0
    assert bench.percentile(hundred, 0) == 1.0
    assert bench.percentile([3.0], 99) == 3.0
    assert bench.percentile([1.0, 2.0], 50) == 1.0
    assert bench.percentile([1.0, 2.0], 51) == 2.0
    assert bench.percentile([float(v) for v in range(1, 1001)], 99.9) == 999.0


@pytest.mark.parametrize(("values", "percent"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_nonsense(values: list[float], percent: float) -> None:
    with pytest.raises(ValueError):
        bench.percentile(values, percent)


def test_summarize_reports_milliseconds() -> None:
    assert bench.summarize([]) == LatencySummary(0.0, 0.0, 0.0)
    summary = bench.summarize([0.001 * value for value in range(1, 101)])
    assert summary.p50_ms == pytest.approx(50.0)
    assert summary.p99_ms == pytest.approx(99.0)
    assert summary.max_ms == pytest.approx(100.0)


# --- flags and credentials -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size_bytes"),
    [("4096", 4096), ("4KiB", 4096), ("4k", 4096), ("64MiB", 64 * MIB), ("1.5m", 3 * MIB // 2), ("2KB", 2000)],
)
def test_parse_size(text: str, size_bytes: int) -> None:
    assert bench.parse_size(text) == size_bytes


@pytest.mark.parametrize("text", ["", "MiB", "4 XB", "-1", "1e3"])
def test_parse_size_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        bench.parse_size(text)


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(prog="tessera bench", exit_on_error=False)
    bench.add_arguments(result)
    return result


def test_flag_defaults() -> None:
    args = parser().parse_args([])
    assert args.endpoint == "http://127.0.0.1:9000"
    assert (args.small_size, args.small_count, args.small_concurrency) == (4096, 2000, 16)
    assert (args.large_size, args.large_count, args.large_concurrency) == (64 * MIB, 8, 4)
    assert (args.bucket, args.region, args.json, args.data) == (None, None, False, "./data")


def test_size_flags_take_units_and_reject_garbage() -> None:
    assert parser().parse_args(["--large-size", "1MiB"]).large_size == MIB
    with pytest.raises(argparse.ArgumentError):
        parser().parse_args(["--small-size", "lots"])


def write_credentials(directory: Path, region: str = "eu-west-3") -> None:
    document = {"access_key": "file-access", "secret_key": "file-secret", "region": region}
    (directory / "credentials.json").write_text(json.dumps(document))


def test_credentials_come_from_flags_then_environment_then_file(tmp_path: Path) -> None:
    write_credentials(tmp_path)
    environ = {bench.ACCESS_KEY_ENV: "env-access", bench.SECRET_KEY_ENV: "env-secret"}
    from_file = bench.resolve_credentials(None, None, None, tmp_path, {})
    assert from_file == bench.Credentials("file-access", "file-secret", "eu-west-3")
    from_env = bench.resolve_credentials(None, None, None, tmp_path, environ)
    assert (from_env.access_key, from_env.secret_key, from_env.region) == ("env-access", "env-secret", "eu-west-3")
    from_flags = bench.resolve_credentials("flag-access", "flag-secret", "us-west-2", tmp_path, environ)
    assert from_flags == bench.Credentials("flag-access", "flag-secret", "us-west-2")
    no_file = bench.resolve_credentials(None, None, None, tmp_path / "absent", environ)
    assert no_file.region == "us-east-1"


def test_missing_or_broken_credentials_are_reported(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="no credentials"):
        bench.resolve_credentials(None, None, None, tmp_path, {bench.ACCESS_KEY_ENV: "only-half"})
    (tmp_path / "credentials.json").write_text("{not json")
    with pytest.raises(BenchError, match="cannot read"):
        bench.resolve_credentials(None, None, None, tmp_path, {})


def test_bad_workload_flags_are_refused(tmp_path: Path) -> None:
    write_credentials(tmp_path)
    args = parser().parse_args(["--data", str(tmp_path), "--small-concurrency", "0"])
    with pytest.raises(BenchError, match="concurrency"):
        bench.config_from_args(args, {})
    good = bench.config_from_args(parser().parse_args(["--data", str(tmp_path), "--bucket", "b"]), {})
    assert good.bucket == "b"
    assert [workload.name for workload in good.workloads] == ["small", "large"]


def test_run_without_credentials_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(bench.ACCESS_KEY_ENV, raising=False)
    monkeypatch.delenv(bench.SECRET_KEY_ENV, raising=False)
    assert bench.run(parser().parse_args(["--data", str(tmp_path)])) == 2
    assert "no credentials" in capsys.readouterr().err


# --- scheduling and results ----------------------------------------------------------


def test_requests_run_once_each_on_one_thread_per_client() -> None:
    seen: dict[int, tuple[str, int]] = {}
    lock = threading.Lock()

    def operation(client: Any, index: int) -> OpOutcome:
        with lock:
            assert index not in seen
            seen[index] = (client, threading.get_ident())
        if index % 10 == 3:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "PutObject")
        return OpOutcome(100, "digest", mismatch=index == 5)

    clients: list[Any] = ["client-a", "client-b", "client-c"]
    samples, elapsed_s = bench.run_requests(clients, range(50), operation)
    assert [sample.index for sample in samples] == list(range(50))
    assert "boom" in samples[3].error and samples[4].error == ""
    assert elapsed_s > 0
    threads_by_client: dict[str, set[int]] = {}
    for client, thread in seen.values():
        threads_by_client.setdefault(client, set()).add(thread)
    assert all(len(threads) == 1 for threads in threads_by_client.values())  # a client never changes thread
    assert len({thread for threads in threads_by_client.values() for thread in threads}) == len(threads_by_client)
    workload = Workload("small", 100, 50, 3)
    result = bench.phase_result("small PUT", workload, samples, elapsed_s=2.0)
    assert (result.requests, result.errors, result.mismatches) == (50, 5, 1)
    assert result.ops_per_s == pytest.approx(45 / 2.0)
    assert result.mb_per_s == pytest.approx(45 * 100 / 1e6 / 2.0)


def test_phase_with_every_request_failed_has_zero_rates() -> None:
    samples = [Sample(index, 0.5, None) for index in range(4)]
    result = bench.phase_result("large GET", Workload("large", MIB, 4, 2), samples, elapsed_s=1.0)
    assert (result.errors, result.ops_per_s, result.mb_per_s) == (4, 0.0, 0.0)
    assert result.latency == LatencySummary(0.0, 0.0, 0.0)


def sample_report(mismatches: int) -> BenchReport:
    phase = PhaseResult(
        name="large GET",
        object_size_bytes=64 * MIB,
        concurrency=4,
        requests=8,
        errors=0,
        mismatches=mismatches,
        elapsed_s=2.5,
        ops_per_s=3.2,
        mb_per_s=214.7,
        latency=LatencySummary(p50_ms=1200.0, p99_ms=1500.5, max_ms=1501.0),
    )
    return BenchReport("http://127.0.0.1:9000", "bench-abc", 1, (phase,))


def test_table_is_readable() -> None:
    table = bench.format_table(sample_report(mismatches=0))
    lines = table.splitlines()
    assert "bench-abc" in lines[0]
    assert lines[1].split()[:3] == ["phase", "object", "conc"]
    assert lines[2].split() == [
        "large",
        "GET",
        "64",
        "MiB",
        "4",
        "8",
        "0",
        "0",
        "3.2",
        "214.7",
        "1200.0",
        "1500.5",
        "1501.0",
    ]
    assert lines[-1] == "OK: 0 errors, 0 checksum mismatches"
    assert bench.format_table(sample_report(mismatches=2)).splitlines()[-1].startswith("FAILED")


def test_json_is_one_object_with_totals() -> None:
    document = json.loads(bench.format_json(sample_report(mismatches=2)))
    assert (document["ok"], document["mismatches"], document["errors"], document["bucket"]) == (
        False,
        2,
        0,
        "bench-abc",
    )
    assert document["phases"][0]["latency"]["p99_ms"] == 1500.5
    assert document["phases"][0]["mb_per_s"] == 214.7
    assert bench.exit_status(sample_report(mismatches=2)) == 1
    assert bench.exit_status(sample_report(mismatches=0)) == 0
