"""`tessera bench`: PUT/GET throughput and latency against any S3 endpoint.

Theory of operation: two workloads, small objects (ops/s and tail latency) and
large objects (aggregate MB/s), each run as a PUT phase then a GET phase. A phase
hands object indexes to a fixed set of worker threads through one queue; each
thread owns one boto3 client, so no client or connection pool is shared and the
concurrency is exactly the thread count. Object bodies come from `PatternStream`,
a seekable raw stream that derives every byte from a seed and a position, so a
64 MiB object never sits in memory and botocore can still rewind it to sign or
checksum it. The stream hashes itself (MD5) as reads first reach each byte,
and each GET streams the body through MD5 and compares it with that digest, so
the benchmark also proves the store returns exactly what it was given. The run
writes under its own key prefix in a fresh `bench-<random>` bucket (or a given
one), and deletes what it wrote afterwards.

Exit status: 0 when every request succeeded and verified, 1 when any request
failed or any body mismatched, 2 when the run could not start (credentials,
endpoint, bucket).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import math
import os
import queue
import random
import re
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, cast

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("tessera.bench")

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB

# Bounds (qualifier last). The machine is small: every thread holds a client and a socket.
concurrency_max: Final = 256  # threads per phase; far past what 2 cores can drive
object_count_max: Final = 1_000_000  # objects per workload; keeps key lists and latency lists small
object_size_max: Final = 5 * GIB  # bytes; S3's limit for one PutObject
pattern_block_bytes: Final = 1 * MIB  # bytes of seeded randomness held per stream
pattern_rotation_step: Final = 7919  # bytes; prime, so block i != block j for ~1 TiB of stream
read_chunk_bytes: Final = 1 * MIB  # bytes per GET body read while hashing
error_log_max: Final = 5  # failures logged per phase; the rest are only counted
request_timeout_s: Final = 120  # connect/read timeout per request; a stalled server fails the op
MB: Final = 1_000_000  # throughput is reported in decimal MB/s, like S3 tools do

DEFAULT_ENDPOINT: Final = "http://127.0.0.1:9000"
DEFAULT_REGION: Final = "us-east-1"
DEFAULT_DATA_DIR: Final = "./data"
ACCESS_KEY_ENV: Final = "TESSERA_ACCESS_KEY"
SECRET_KEY_ENV: Final = "TESSERA_SECRET_KEY"


class BenchError(Exception):
    """The benchmark could not start: bad flags, no credentials, endpoint refused setup."""


# --- sizes -----------------------------------------------------------------------------

_SIZE_UNITS: Final = {
    "": 1,
    "b": 1,
    "k": KIB,
    "kib": KIB,
    "kb": 1000,
    "m": MIB,
    "mib": MIB,
    "mb": 1000**2,
    "g": GIB,
    "gib": GIB,
    "gb": 1000**3,
}


def parse_size(text: str) -> int:
    """Bytes from '4096', '4KiB', '64MiB', '1.5m' (k/m/g and KiB are binary, KB decimal).

    >>> parse_size("64MiB"), parse_size("4k"), parse_size("1KB")
    (67108864, 4096, 1000)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (try 4096, 4KiB, 64MiB)")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def format_size(size_bytes: int) -> str:
    """Short binary size for tables.

    >>> format_size(4096), format_size(64 * 1024 * 1024), format_size(1000)
    ('4 KiB', '64 MiB', '1000 B')
    """
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size_bytes >= scale:
            value = size_bytes / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size_bytes} B"


# --- bodies ----------------------------------------------------------------------------


class PatternStream(io.RawIOBase):
    """`size_bytes` of repeatable pseudo-random bytes, generated on read.

    Holds one block of at most `pattern_block_bytes` drawn from `random.Random(seed)`;
    block i of the stream is that block rotated by i * `pattern_rotation_step`, so
    blocks differ without generating fresh randomness per block. Seekable, so
    botocore can find the length and rewind. The MD5 of the content is computed on
    the reads as they extend the prefix already hashed, whatever the read sizes and rewinds.
    """

    def __init__(self, seed: int | str, size_bytes: int) -> None:
        super().__init__()
        if not 0 <= size_bytes <= object_size_max:
            raise ValueError(f"size {size_bytes} out of range 0..{object_size_max}")
        self._size = size_bytes
        self._block = memoryview(random.Random(seed).randbytes(min(size_bytes, pattern_block_bytes)))
        self._position = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._hashed_bytes = 0  # prefix of the stream already fed to _md5

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        origins = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}
        if whence not in origins:
            raise ValueError(f"bad whence {whence}")
        position = origins[whence] + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._size - self._position))
        if count == 0:
            return 0
        self._fill(view[:count], self._position)
        end = self._position + count
        if self._position <= self._hashed_bytes < end:  # this read extends the hashed prefix
            self._md5.update(view[self._hashed_bytes - self._position : count])
            self._hashed_bytes = end
        self._position += count
        return count

    def _fill(self, view: memoryview, position: int) -> None:
        block, length = self._block, len(self._block)
        written = 0
        while written < len(view):
            block_index, within = divmod(position + written, length)
            start = (within + block_index * pattern_rotation_step) % length
            run = min(len(view) - written, length - within, length - start)
            view[written : written + run] = block[start : start + run]
            written += run

    def md5_hexdigest(self) -> str | None:
        """MD5 of the whole content once every byte has been read from the start, else None."""
        return self._md5.hexdigest() if self._hashed_bytes == self._size else None


def pattern_md5(seed: int | str, size_bytes: int) -> str:
    """MD5 hex digest of `PatternStream(seed, size_bytes)`, read in bounded chunks."""
    with PatternStream(seed, size_bytes) as stream:
        buffer = bytearray(read_chunk_bytes)
        while stream.readinto(buffer):
            pass
        digest = stream.md5_hexdigest()
    assert digest is not None, "a read from start to end must yield the digest"
    return digest


def object_seed(run_seed: int, workload: str, index: int) -> str:
    """Seed of one object: distinct per run seed, workload and index; stable across runs."""
    return f"{run_seed}/{workload}/{index}"


# --- statistics ------------------------------------------------------------------------


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile: the smallest value with `percent`% of values at or below it.

    >>> percentile([4.0, 1.0, 3.0, 2.0], 50), percentile(list(map(float, range(1, 101))), 99)
    (2.0, 99.0)
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= percent <= 100:
        raise ValueError(f"percent {percent} out of range 0..100")
    ordered = sorted(values)
    # round() first: 99 * 100 / 100 in floating point must not become rank 100.
    rank = max(1, math.ceil(round(percent * len(ordered) / 100, 9)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency of the successful requests of one phase, in milliseconds (0 when none)."""

    p50_ms: float
    p99_ms: float
    max_ms: float


def summarize(latencies_s: Sequence[float]) -> LatencySummary:
    if not latencies_s:
        return LatencySummary(0.0, 0.0, 0.0)
    return LatencySummary(
        p50_ms=percentile(latencies_s, 50) * 1000,
        p99_ms=percentile(latencies_s, 99) * 1000,
        max_ms=max(latencies_s) * 1000,
    )


# --- configuration ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    region: str


@dataclass(frozen=True, slots=True)
class Workload:
    """One object size run as a PUT phase then a GET phase."""

    name: str  # "small" or "large"; also the key infix
    size_bytes: int
    count: int
    concurrency: int  # worker threads, each with its own client

    def __post_init__(self) -> None:
        if not 0 <= self.size_bytes <= object_size_max:
            raise ValueError(f"{self.name} size {self.size_bytes} out of range 0..{object_size_max}")
        if not 0 <= self.count <= object_count_max:
            raise ValueError(f"{self.name} count {self.count} out of range 0..{object_count_max}")
        if not 1 <= self.concurrency <= concurrency_max:
            raise ValueError(f"{self.name} concurrency {self.concurrency} out of range 1..{concurrency_max}")


@dataclass(frozen=True, slots=True)
class BenchConfig:
    endpoint: str  # S3 endpoint URL
    credentials: Credentials
    bucket: str | None  # None: create a fresh bench-<random> bucket and remove it afterwards
    workloads: tuple[Workload, ...]
    seed: int  # base of every object's pattern seed, so a run's bytes are reproducible


def resolve_credentials(
    access_key: str | None,
    secret_key: str | None,
    region: str | None,
    data_dir: Path,
    environ: Mapping[str, str],
) -> Credentials:
    """Flags win, then TESSERA_ACCESS_KEY/TESSERA_SECRET_KEY, then <data>/credentials.json."""
    access_key = access_key or environ.get(ACCESS_KEY_ENV)
    secret_key = secret_key or environ.get(SECRET_KEY_ENV)
    stored: dict[str, str] = {}
    path = data_dir / "credentials.json"
    if not (access_key and secret_key) or region is None:
        try:
            stored = json.loads(path.read_text())
        except FileNotFoundError:
            stored = {}
        except (OSError, ValueError) as error:
            raise BenchError(f"cannot read {path}: {error}") from error
    access_key = access_key or stored.get("access_key")
    secret_key = secret_key or stored.get("secret_key")
    if not (access_key and secret_key):
        raise BenchError(
            f"no credentials: pass --access-key/--secret-key, set {ACCESS_KEY_ENV}/{SECRET_KEY_ENV}, "
            f"or point --data at a directory holding credentials.json (tried {path})"
        )
    return Credentials(str(access_key), str(secret_key), str(region or stored.get("region") or DEFAULT_REGION))


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> BenchConfig:
    credentials = resolve_credentials(args.access_key, args.secret_key, args.region, Path(args.data), environ)
    try:
        workloads = (
            Workload("small", args.small_size, args.small_count, args.small_concurrency),
            Workload("large", args.large_size, args.large_count, args.large_concurrency),
        )
    except ValueError as error:
        raise BenchError(str(error)) from error
    return BenchConfig(args.endpoint, credentials, args.bucket, workloads, args.seed)


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhaseResult:
    name: str  # e.g. "small PUT"
    object_size_bytes: int
    concurrency: int
    requests: int
    errors: int  # requests that raised (network, HTTP error status)
    mismatches: int  # GETs whose body length or MD5 differed from what was PUT
    elapsed_s: float  # wall time of the whole phase
    ops_per_s: float  # successful requests per second of phase wall time
    mb_per_s: float  # successful payload bytes / 10^6 per second of phase wall time
    latency: LatencySummary


@dataclass(frozen=True, slots=True)
class BenchReport:
    endpoint: str
    bucket: str
    seed: int
    phases: tuple[PhaseResult, ...]

    @property
    def errors(self) -> int:
        return sum(phase.errors for phase in self.phases)

    @property
    def mismatches(self) -> int:
        return sum(phase.mismatches for phase in self.phases)

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.mismatches == 0


def exit_status(report: BenchReport) -> int:
    return 0 if report.ok else 1


def format_table(report: BenchReport) -> str:
    header = (
        f"{'phase':<10} {'object':>9} {'conc':>4} {'requests':>8} {'errors':>6} {'bad md5':>7} "
        f"{'ops/s':>9} {'MB/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    lines = [f"tessera bench: {report.endpoint} bucket={report.bucket} seed={report.seed}", header]
    for phase in report.phases:
        lines.append(
            f"{phase.name:<10} {format_size(phase.object_size_bytes):>9} {phase.concurrency:>4} "
            f"{phase.requests:>8} {phase.errors:>6} {phase.mismatches:>7} {phase.ops_per_s:>9.1f} "
            f"{phase.mb_per_s:>8.1f} {phase.latency.p50_ms:>8.1f} {phase.latency.p99_ms:>8.1f} "
            f"{phase.latency.max_ms:>8.1f}"
        )
    verdict = "OK" if report.ok else "FAILED"
    lines.append(f"{verdict}: {report.errors} errors, {report.mismatches} checksum mismatches")
    return "\n".join(lines)


def format_json(report: BenchReport) -> str:
    document = asdict(report)
    document.update(errors=report.errors, mismatches=report.mismatches, ok=report.ok)
    return json.dumps(document)


# --- running phases --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpOutcome:
    payload_bytes: int
    md5_hex: str  # of the body sent (PUT) or received (GET)
    mismatch: bool = False


@dataclass(frozen=True, slots=True)
class Sample:
    index: int
    latency_s: float
    outcome: OpOutcome | None  # None: the request failed
    error: str = ""  # why it failed


Operation = Callable[["S3Client", int], OpOutcome]


def _worker(client: S3Client, indexes: queue.SimpleQueue[int], operation: Operation) -> list[Sample]:
    samples: list[Sample] = []
    while True:
        try:
            index = indexes.get_nowait()
        except queue.Empty:
            return samples
        started = time.perf_counter()
        try:
            outcome = operation(client, index)
        except (BotoCoreError, ClientError) as error:
            samples.append(Sample(index, time.perf_counter() - started, None, str(error)))
            continue
        samples.append(Sample(index, time.perf_counter() - started, outcome))


def run_requests(
    clients: Sequence[S3Client], indexes: Sequence[int], operation: Operation
) -> tuple[list[Sample], float]:
    """Run `operation` once per index on one thread per client; samples and wall time."""
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in indexes:
        work.put(index)
    workers = clients[: max(1, min(len(clients), len(indexes)))]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(workers), thread_name_prefix="tessera-bench") as pool:
        futures = [pool.submit(_worker, client, work, operation) for client in workers]
        samples = [sample for future in futures for sample in future.result()]
    return sorted(samples, key=lambda sample: sample.index), time.perf_counter() - started


def phase_result(name: str, workload: Workload, samples: Sequence[Sample], elapsed_s: float) -> PhaseResult:
    done = [sample for sample in samples if sample.outcome is not None]
    payload = sum(sample.outcome.payload_bytes for sample in done if sample.outcome is not None)
    mismatches = sum(1 for sample in done if sample.outcome is not None and sample.outcome.mismatch)
    rate_base = elapsed_s if elapsed_s > 0 else math.inf
    return PhaseResult(
        name=name,
        object_size_bytes=workload.size_bytes,
        concurrency=min(workload.concurrency, max(1, len(samples))),
        requests=len(samples),
        errors=len(samples) - len(done),
        mismatches=mismatches,
        elapsed_s=elapsed_s,
        ops_per_s=len(done) / rate_base,
        mb_per_s=payload / MB / rate_base,
        latency=summarize([sample.latency_s for sample in done]),
    )


def object_key(prefix: str, workload: Workload, index: int) -> str:
    return f"{prefix}{workload.name}/{index:07d}"


def request_body(stream: PatternStream, size_bytes: int) -> bytes | IO[bytes]:
    """Small bodies as bytes (less work for botocore); large ones as the stream itself."""
    if size_bytes <= pattern_block_bytes:
        return stream.read() or b""
    # typeshed's RawIOBase is no IO[bytes], but botocore needs only read, seek and tell.
    return cast(IO[bytes], stream)


def put_operation(bucket: str, prefix: str, workload: Workload, seed: int) -> Operation:
    def put(client: S3Client, index: int) -> OpOutcome:
        with PatternStream(object_seed(seed, workload.name, index), workload.size_bytes) as stream:
            body = request_body(stream, workload.size_bytes)
            client.put_object(Bucket=bucket, Key=object_key(prefix, workload, index), Body=body)
            digest = stream.md5_hexdigest()
        if digest is None:  # botocore never read every byte; recompute rather than guess
            digest = pattern_md5(object_seed(seed, workload.name, index), workload.size_bytes)
        return OpOutcome(workload.size_bytes, digest)

    return put


def stream_md5(body: StreamingBody) -> tuple[str, int]:
    """MD5 hex digest and length of a GET body, read in bounded chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        for chunk in body.iter_chunks(read_chunk_bytes):
            digest.update(chunk)
            size += len(chunk)
    finally:
        body.close()
    return digest.hexdigest(), size


def get_operation(bucket: str, prefix: str, workload: Workload, expected: Mapping[int, str]) -> Operation:
    def get(client: S3Client, index: int) -> OpOutcome:
        key = object_key(prefix, workload, index)
        response = client.get_object(Bucket=bucket, Key=key)
        digest, size = stream_md5(response["Body"])
        mismatch = size != workload.size_bytes or digest != expected[index]
        return OpOutcome(size, digest, mismatch)

    return get


def delete_operation(bucket: str, prefix: str, workload: Workload) -> Operation:
    def delete(client: S3Client, index: int) -> OpOutcome:
        client.delete_object(Bucket=bucket, Key=object_key(prefix, workload, index))
        return OpOutcome(0, "")

    return delete


def _log_failures(name: str, samples: Sequence[Sample]) -> None:
    errors = [sample.error for sample in samples if sample.outcome is None]
    if errors:
        logger.warning("%s: first error: %s", name, errors[0])
    failed = [sample.index for sample in samples if sample.outcome is None]
    mismatched = [sample.index for sample in samples if sample.outcome is not None and sample.outcome.mismatch]
    for what, indexes in (("requests failed", failed), ("bodies differ from what was PUT", mismatched)):
        if indexes:
            shown = ", ".join(str(index) for index in indexes[:error_log_max])
            more = ", ..." if len(indexes) > error_log_max else ""
            logger.warning("%s: %d %s (object indexes %s%s)", name, len(indexes), what, shown, more)


def run_workload(
    clients: Sequence[S3Client], bucket: str, prefix: str, workload: Workload, seed: int
) -> tuple[PhaseResult, PhaseResult]:
    """PUT every object, then GET back the ones that were stored and verify them."""
    pool = clients[: workload.concurrency]
    put_samples, put_elapsed_s = run_requests(
        pool, range(workload.count), put_operation(bucket, prefix, workload, seed)
    )
    _log_failures(f"{workload.name} PUT", put_samples)
    expected = {sample.index: sample.outcome.md5_hex for sample in put_samples if sample.outcome is not None}
    get_samples, get_elapsed_s = run_requests(pool, sorted(expected), get_operation(bucket, prefix, workload, expected))
    _log_failures(f"{workload.name} GET", get_samples)
    return (
        phase_result(f"{workload.name} PUT", workload, put_samples, put_elapsed_s),
        phase_result(f"{workload.name} GET", workload, get_samples, get_elapsed_s),
    )


# --- bucket lifecycle ------------------------------------------------------------------


def make_clients(config: BenchConfig, count: int) -> list[S3Client]:
    # One session, used only from this thread, builds every client: sessions are not
    # thread-safe, clients are; each worker thread then uses only its own client.
    session = boto3.session.Session(
        aws_access_key_id=config.credentials.access_key,
        aws_secret_access_key=config.credentials.secret_key,
        region_name=config.credentials.region,
    )
    boto_config = BotoConfig(
        max_pool_connections=max(count, 10),
        retries={"max_attempts": 1, "mode": "standard"},  # a benchmark reports failures, never hides them
        s3={"addressing_style": "path"},
        connect_timeout=request_timeout_s,
        read_timeout=request_timeout_s,
    )
    return [session.client("s3", endpoint_url=config.endpoint, config=boto_config) for _ in range(count)]


def prepare_bucket(client: S3Client, config: BenchConfig) -> tuple[str, bool]:
    """The bucket to use and whether this run created it (and so must remove it)."""
    if config.bucket is not None:
        try:
            client.head_bucket(Bucket=config.bucket)
            return config.bucket, False
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise
    bucket = config.bucket or f"bench-{secrets.token_hex(6)}"
    if config.credentials.region == "us-east-1":
        client.create_bucket(Bucket=bucket)
    else:
        client.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": config.credentials.region},  # type: ignore[typeddict-item]
        )
    return bucket, True


def clean_up(clients: Sequence[S3Client], bucket: str, prefix: str, config: BenchConfig, created: bool) -> None:
    """Delete every key this run may have written, then the bucket if the run made it."""
    for workload in config.workloads:
        samples, _ = run_requests(clients, range(workload.count), delete_operation(bucket, prefix, workload))
        _log_failures(f"{workload.name} DELETE", samples)
    if created:
        try:
            clients[0].delete_bucket(Bucket=bucket)
        except (BotoCoreError, ClientError) as error:
            logger.warning("could not remove bucket %s: %s", bucket, error)


def run_bench(config: BenchConfig) -> BenchReport:
    clients = make_clients(config, max(workload.concurrency for workload in config.workloads))
    try:
        try:
            bucket, created = prepare_bucket(clients[0], config)
        except (BotoCoreError, ClientError) as error:
            raise BenchError(f"cannot prepare a bucket at {config.endpoint}: {error}") from error
        prefix = f"tessera-bench-{secrets.token_hex(4)}/"
        phases: list[PhaseResult] = []
        try:
            for workload in config.workloads:
                if workload.count > 0:
                    phases.extend(run_workload(clients, bucket, prefix, workload, config.seed))
        finally:
            clean_up(clients, bucket, prefix, config, created)
        return BenchReport(config.endpoint, bucket, config.seed, tuple(phases))
    finally:
        for client in clients:
            client.close()


# --- command line ----------------------------------------------------------------------


def _size_argument(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `tessera bench`."""
    parser.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help=f"S3 endpoint URL (default {DEFAULT_ENDPOINT})")
    parser.add_argument("--access-key", help=f"access key (default ${ACCESS_KEY_ENV}, else <data>/credentials.json)")
    parser.add_argument("--secret-key", help=f"secret key (default ${SECRET_KEY_ENV}, else <data>/credentials.json)")
    parser.add_argument("--region", help=f"signing region (default credentials.json's, else {DEFAULT_REGION})")
    parser.add_argument("--data", default=DEFAULT_DATA_DIR, help="data directory holding credentials.json")
    parser.add_argument("--bucket", help="existing bucket to use (default: a fresh bench-<random>, removed after)")
    parser.add_argument("--small-size", type=_size_argument, default=4 * KIB, help="small object size (4KiB)")
    parser.add_argument("--small-count", type=int, default=2000, help="small objects (2000)")
    parser.add_argument("--small-concurrency", type=int, default=16, help="small-object threads (16)")
    parser.add_argument("--large-size", type=_size_argument, default=64 * MIB, help="large object size (64MiB)")
    parser.add_argument("--large-count", type=int, default=8, help="large objects (8)")
    parser.add_argument("--large-concurrency", type=int, default=4, help="large-object threads (4)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the object contents (1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run(args: argparse.Namespace) -> int:
    """Run `tessera bench`; 0 all verified, 1 errors or mismatches, 2 could not start."""
    try:
        config = config_from_args(args, os.environ)
        report = run_bench(config)
    except BenchError as error:
        print(f"tessera bench: {error}", file=sys.stderr)
        return 2
    print(format_json(report) if args.json else format_table(report))
    return exit_status(report)
