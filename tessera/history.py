"""Record a history of concurrent S3 operations for the linearizability checker.

Theory of operation: `record` first empties the keys under test (and proves nothing else lives
under their common prefix), because the checker's model starts from an empty store. It then
starts one thread per client, each with its own boto3 client (clients are thread-safe, but one
each keeps the concurrency exact and the connection pools apart), plus one thread running the
caller's `chaos` (killing or pausing nodes). A barrier releases them together.

Each client plays a plan drawn beforehand from `random.Random(f"{seed}/{client_id}")`, so a
seed fixes what is asked (not the answers or the timing). Every PUT writes a value no other
operation writes (`c<client>-<sequence>`), so a GET's answer names the one write it observed.
Call and return times are `time.monotonic_ns()` taken right around the request, the body read
included: one clock for all threads, which is all the checker needs.

Outcomes follow what the client can know. A 2xx is `ok`; a GET answered NoSuchKey is `ok` with
no value. An error that provably stops a write before anything is committed (authentication,
a missing bucket, a malformed request) is `failed`. Everything else is `unknown`: a 5xx or a
503 may come after the commit, and a timeout or dropped connection tells nothing. Retries are
off (`total_max_attempts=1`): botocore's `max_attempts` counts retries, so `max_attempts=1`
would still send a request twice, and a silent second attempt would hide behind one window.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tessera.credentials import Credentials
from tessera.lincheck import Delete, Get, History, Input, List, Operation, Outcome, Output, Put

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("tessera.history")

# seconds to open a connection; a node that does not accept within this is down, and the
# operation is recorded as unknown rather than stalling the whole history.
connect_timeout_s: Final = 2.0
# seconds to wait for a response; long enough to ride out a metadata leader election (a few
# hundred ms) so a failover shows up as slow operations, short enough to keep a run bounded.
read_timeout_s: Final = 5.0
# seconds the client threads wait at the start barrier for each other; only a thread that died
# before starting can make them wait this long.
start_barrier_timeout_s: Final = 30.0
# operations per client; a history is meant for an exponential search, keep it small.
operations_per_client_max: Final = 10_000
# client threads; each holds a connection, and the checker's cost grows with concurrency.
clients_max: Final = 64
# keys returned by one ListObjectsV2 page; histories use a handful of keys, so a truncated
# listing means someone else is writing under the prefix.
list_keys_max: Final = 1000

# S3 error codes the frontend returns before it commits anything: a write answered with one of
# these provably took no effect. Any other error leaves the outcome unknown.
no_effect_error_codes: Final = frozenset({
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestTimeTooSkewed",
    "NoSuchBucket", "InvalidBucketName", "InvalidArgument", "InvalidRequest", "KeyTooLongError",
    "MissingContentLength", "InvalidDigest", "BadDigest", "EntityTooLarge", "MethodNotAllowed",
})


@dataclass(frozen=True, slots=True)
class OpMix:
    """Relative weights of the operations each client draws (they need not sum to 1)."""

    put: float = 0.4
    get: float = 0.4
    delete: float = 0.1
    list: float = 0.1


class RecordError(Exception):
    """The endpoint could not be prepared for a recording (keys not removable, stray keys)."""


# --- one operation ---------------------------------------------------------------------------


def _list(client: S3Client, bucket: str, prefix: str) -> tuple[tuple[str, ...], bool]:
    """The keys under `prefix` and whether the listing was truncated."""
    response = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=list_keys_max)
    keys = tuple(item["Key"] for item in response.get("Contents", []) if "Key" in item)
    return keys, bool(response.get("IsTruncated", False))


def _send(client: S3Client, bucket: str, operation: Input) -> tuple[Output, Outcome, str]:
    match operation:
        case Put(key=key, value=value):
            client.put_object(Bucket=bucket, Key=key, Body=value.encode())
            return None, Outcome.OK, ""
        case Get(key=key):
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                # A byte that is not UTF-8 cannot match any value written: the checker flags it.
                return body.read().decode("utf-8", errors="replace"), Outcome.OK, ""
            finally:
                body.close()
        case Delete(key=key):
            client.delete_object(Bucket=bucket, Key=key)
            return None, Outcome.OK, ""
        case List(prefix=prefix):
            keys, truncated = _list(client, bucket, prefix)
            if truncated:
                return None, Outcome.UNKNOWN, "listing truncated"
            return keys, Outcome.OK, ""


def classify(operation: Input, error: Exception) -> tuple[Output, Outcome, str]:
    """(output, outcome, note) for an operation that raised `error`.

    >>> classify(Get("k"), ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject"))
    (None, <Outcome.OK: 'ok'>, '')
    """
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        note = f"{status} {code}".strip()
        if isinstance(operation, Get) and code == "NoSuchKey":
            return None, Outcome.OK, ""
        if isinstance(operation, Put | Delete) and code in no_effect_error_codes:
            return None, Outcome.FAILED, note
        return None, Outcome.UNKNOWN, note
    # Timeouts, refused or dropped connections, a body cut short: nothing is known.
    return None, Outcome.UNKNOWN, f"{type(error).__name__}: {error}"


def perform(client: S3Client, bucket: str, client_id: int, operation: Input) -> Operation:
    """Send one operation and record it with its call and return times."""
    call_ns = time.monotonic_ns()
    try:
        output, outcome, note = _send(client, bucket, operation)
    except (ClientError, BotoCoreError, OSError) as error:
        output, outcome, note = classify(operation, error)
    return_ns = time.monotonic_ns()
    return Operation(client_id, call_ns, return_ns, operation, output, outcome, note)


# --- plans and clients -----------------------------------------------------------------------


def plan(client_id: int, keys: Sequence[str], count: int, seed: int, op_mix: OpMix) -> list[Input]:
    """The operations one client sends, fixed by the seed; PUT values are unique per history."""
    rng = random.Random(f"{seed}/{client_id}")
    prefix = os.path.commonprefix(list(keys))
    kinds = rng.choices(["put", "get", "delete", "list"],
                        weights=[op_mix.put, op_mix.get, op_mix.delete, op_mix.list], k=count)
    operations: list[Input] = []
    for sequence, kind in enumerate(kinds):
        key = rng.choice(keys)
        if kind == "put":
            operations.append(Put(key, f"c{client_id}-{sequence}"))
        elif kind == "get":
            operations.append(Get(key))
        elif kind == "delete":
            operations.append(Delete(key))
        else:
            operations.append(List(prefix))
    return operations


def make_clients(endpoint: str, credentials: Credentials, region: str, count: int) -> list[S3Client]:
    # One session, used only from this thread, builds every client: sessions are not thread-safe.
    session = boto3.session.Session(aws_access_key_id=credentials.access_key,
                                    aws_secret_access_key=credentials.secret_key, region_name=region)
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    connect_timeout=connect_timeout_s, read_timeout=read_timeout_s)
    return [session.client("s3", endpoint_url=endpoint, config=config) for _ in range(count)]


def _prepare(client: S3Client, bucket: str, keys: Sequence[str]) -> None:
    """Leave the keys absent and nothing else under their prefix, as the model assumes."""
    for key in keys:
        client.delete_object(Bucket=bucket, Key=key)
    prefix = os.path.commonprefix(list(keys))
    listed, truncated = _list(client, bucket, prefix)
    if listed or truncated:
        raise RecordError(f"bucket {bucket!r} holds keys under {prefix!r} that the history does not "
                          f"track: {listed[:5]!r}; use a dedicated bucket or prefix")


# --- the recording ---------------------------------------------------------------------------


def _run_client(client: S3Client, bucket: str, client_id: int, operations: Sequence[Input],
                start: threading.Barrier) -> list[Operation]:
    start.wait()
    return [perform(client, bucket, client_id, operation) for operation in operations]


def _run_chaos(chaos: Callable[[], None], start: threading.Barrier) -> None:
    start.wait()
    chaos()


def _validate(keys: Sequence[str], clients: int, operations_per_client: int) -> None:
    if not keys or len(set(keys)) != len(keys):
        raise ValueError(f"keys must be distinct and at least one: {keys!r}")
    if not 1 <= clients <= clients_max:
        raise ValueError(f"clients must be within 1..{clients_max}: {clients}")
    if not 0 <= operations_per_client <= operations_per_client_max:
        raise ValueError(f"operations_per_client must be within 0..{operations_per_client_max}")


def record(endpoint: str, credentials: Credentials, bucket: str, keys: Sequence[str], clients: int,
           operations_per_client: int, seed: int, op_mix: OpMix = OpMix(),
           chaos: Callable[[], None] | None = None, *, region: str = "us-east-1") -> History:
    """Run `clients` concurrent clients against `bucket` and return what they saw.

    The bucket must exist; `keys` are deleted first and no other key may share their common
    prefix (Lists use that prefix). `chaos`, when given, runs in its own thread from the moment
    the clients start; the recording ends when both the clients and `chaos` have returned, and
    an exception from either is raised here.
    """
    _validate(keys, clients, operations_per_client)
    plans = [plan(client_id, keys, operations_per_client, seed, op_mix) for client_id in range(clients)]
    s3_clients = make_clients(endpoint, credentials, region, clients)
    try:
        _prepare(s3_clients[0], bucket, keys)
        start = threading.Barrier(clients + (chaos is not None), timeout=start_barrier_timeout_s)
        with ThreadPoolExecutor(max_workers=clients + 1, thread_name_prefix="history") as pool:
            chaos_done: Future[None] | None = pool.submit(_run_chaos, chaos, start) if chaos else None
            futures = [pool.submit(_run_client, client, bucket, client_id, plans[client_id], start)
                       for client_id, client in enumerate(s3_clients)]
            operations = [operation for future in futures for operation in future.result()]
            if chaos_done is not None:
                chaos_done.result()
    finally:
        for client in s3_clients:
            client.close()
    operations.sort(key=lambda operation: (operation.call_ns, operation.client_id))
    _log_summary(operations)
    return History(tuple(operations), tuple(keys), bucket)


def _log_summary(operations: Sequence[Operation]) -> None:
    counts = {outcome: sum(1 for op in operations if op.outcome is outcome) for outcome in Outcome}
    logger.info("recorded operations=%d ok=%d failed=%d unknown=%d", len(operations),
                counts[Outcome.OK], counts[Outcome.FAILED], counts[Outcome.UNKNOWN])
