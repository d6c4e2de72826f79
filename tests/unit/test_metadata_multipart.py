"""Multipart uploads in the metadata role: state machine semantics, GC of part chunks, listings,
determinism, restart, and the gRPC surface of a real in-process server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import grpc
import grpc.aio
import pytest

from metadata import limits, multipart, records
from metadata.config import MetadataConfig
from metadata.errors import (
    BucketNotEmpty,
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from metadata.server import MetadataServer
from metadata.state_machine import StateMachine
from proto import metadata_pb2 as pb
from proto import metadata_pb2_grpc

MiB = 1024 * 1024


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class Harness:
    """A state machine fed with consecutive log indices and a clock that ticks once per command."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sm = StateMachine(path, sync=False)
        self.now_ns = 1_000

    def apply(self, **op: Any) -> Any:
        self.now_ns += 1
        command = pb.Command(now_ns=self.now_ns, **op)
        return self.sm.apply(self.sm.applied_index + 1, command.SerializeToString())

    def create_bucket(self, name: str = "photos") -> None:
        self.apply(create_bucket=pb.CreateBucketRequest(name=name, owner="alice"))

    def create(self, upload_id: str, key: str = "big.bin", bucket: str = "photos", **fields: Any) -> Any:
        upload = pb.MultipartUpload(bucket=bucket, key=key, upload_id=upload_id, **fields)
        return self.apply(create_multipart_upload=pb.CreateMultipartUploadRequest(upload=upload))

    def upload_part(
        self, upload_id: str, number: int, data_id: str, size: int = 5 * MiB, nodes: tuple[str, ...] = ("n1", "n2")
    ) -> pb.Part:
        part = pb.Part(
            part_number=number,
            size_bytes=size,
            etag=md5_hex(data_id.encode()),
            data_id=data_id,
            chunks=[pb.ChunkLocation(chunk_index=i, node_id=n) for i, n in enumerate(nodes)],
        )
        self.apply(upload_part=pb.UploadPartRequest(upload_id=upload_id, part=part))
        return part

    def complete(
        self, upload_id: str, parts: list[tuple[int, str]], key: str = "big.bin", version_id: str = "v9"
    ) -> pb.ObjectVersion:
        request = pb.CompleteMultipartUploadRequest(
            bucket="photos",
            key=key,
            upload_id=upload_id,
            parts=[pb.CompletedPart(part_number=n, etag=e) for n, e in parts],
            version_id=version_id,
            part_bytes_min=5 * MiB,
        )
        return cast(pb.CompleteMultipartUploadReply, self.apply(complete_multipart_upload=request)).version

    def abort(self, upload_id: str, key: str = "big.bin", bucket: str = "photos") -> Any:
        request = pb.AbortMultipartUploadRequest(bucket=bucket, key=key, upload_id=upload_id)
        return self.apply(abort_multipart_upload=request)

    def gc_ids(self, node_id: str) -> list[str]:
        return sorted(entry.chunk_id for entry in self.sm.gc_list(node_id, 1000, 2**62))

    def dump(self, prefix: bytes = b"") -> dict[bytes, bytes]:
        return dict(self.sm._scan(prefix))

    def reopen(self) -> None:
        self.sm.close()
        self.sm = StateMachine(self.path, sync=False)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path / "db")
    h.create_bucket()
    yield h
    h.sm.close()


# ---- the whole flow --------------------------------------------------------------------


def test_create_upload_complete_builds_the_version_and_forgets_the_upload(harness: Harness) -> None:
    policy = pb.ErasurePolicy(backend="isa_l_rs_cauchy", k=4, m=2, segment_size=MiB)
    reply = harness.create(
        "up1", content_type="video/mp4", user_metadata={"a": "1"}, headers={"cache-control": "no"}, policy=policy
    )
    assert reply.upload_id == "up1"
    upload = harness.sm.get_upload("photos", "big.bin", "up1")
    assert upload.initiated_ns == harness.now_ns  # stamped from the command
    first = harness.upload_part("up1", 1, "d1")
    second = harness.upload_part("up1", 2, "d2", size=7)
    listed = harness.sm.list_parts("photos", "big.bin", "up1")
    assert [p.part_number for p in listed.parts] == [1, 2] and not listed.is_truncated
    assert listed.parts[1].last_modified_ns == harness.now_ns  # stamped by the UploadPart command
    complete_ns = harness.now_ns + 1
    version = harness.complete("up1", [(1, f'"{first.etag}"'), (2, second.etag)])

    hand_etag = hashlib.md5(bytes.fromhex(md5_hex(b"d1")) + bytes.fromhex(md5_hex(b"d2"))).hexdigest() + "-2"
    assert version.etag == hand_etag
    assert (version.bucket, version.key, version.version_id) == ("photos", "big.bin", "v9")
    assert version.size_bytes == 5 * MiB + 7
    assert version.last_modified_ns == complete_ns
    assert (version.content_type, dict(version.user_metadata)) == ("video/mp4", {"a": "1"})
    assert dict(version.headers) == {"cache-control": "no"} and version.policy == policy
    assert [(p.part_number, p.data_id) for p in version.parts] == [(1, "d1"), (2, "d2")]
    assert harness.sm.get_object("photos", "big.bin") == version
    assert harness.sm.counts().object_count == 1
    with pytest.raises(NoSuchUpload):
        harness.sm.get_upload("photos", "big.bin", "up1")
    for prefix in (b"u/", b"U/", b"p/"):
        assert harness.dump(prefix) == {}, prefix
    assert harness.gc_ids("n1") == [] and harness.gc_ids("n2") == []
    with pytest.raises(NoSuchUpload):  # a retried Complete after success finds no upload
        harness.complete("up1", [(1, first.etag), (2, second.etag)])


def test_etag_formula_matches_a_hand_computation() -> None:
    etags = [md5_hex(b"hello"), md5_hex(b"world"), md5_hex(b"")]
    joined = b"".join(hashlib.md5(data).digest() for data in (b"hello", b"world", b""))
    assert multipart.multipart_etag(etags) == hashlib.md5(joined).hexdigest() + "-3"
    # md5 of the 16 bytes of md5(b""), checked once by hand with `printf ... | xxd -r -p | md5sum`
    assert multipart.multipart_etag([md5_hex(b"")]) == "59adb24ef3cdbe0297f05b395827453f-1"


def test_a_multipart_object_is_gc_ed_under_its_parts_data_ids(harness: Harness) -> None:
    harness.apply(
        put_object=pb.PutObjectRequest(
            version=pb.ObjectVersion(
                bucket="photos",
                key="big.bin",
                version_id="v1",
                parts=[pb.Part(part_number=1, chunks=[pb.ChunkLocation(chunk_index=0, node_id="n1")])],
            )
        )
    )
    harness.create("up1")
    part = harness.upload_part("up1", 1, "d1", nodes=("n3",))
    harness.complete("up1", [(1, part.etag)])
    assert harness.gc_ids("n1") == ["v1.1.0"]  # the replaced single-PUT version
    assert harness.sm.counts().object_count == 1
    harness.apply(delete_object=pb.DeleteObjectRequest(bucket="photos", key="big.bin"))
    assert harness.gc_ids("n3") == ["d1.1.0"]


# ---- part chunks and GC -----------------------------------------------------------------


def test_replacing_a_part_gcs_the_old_chunks_and_a_retry_gcs_nothing(harness: Harness) -> None:
    harness.create("up1")
    harness.upload_part("up1", 3, "old")
    harness.upload_part("up1", 3, "old")  # the same command again (same data_id): a retry
    assert harness.gc_ids("n1") == []
    harness.upload_part("up1", 3, "new")
    assert harness.gc_ids("n1") == ["old.3.0"] and harness.gc_ids("n2") == ["old.3.1"]
    assert [p.data_id for p in harness.sm.list_parts("photos", "big.bin", "up1").parts] == ["new"]


def test_complete_gcs_the_chunks_of_parts_it_does_not_list(harness: Harness) -> None:
    harness.create("up1")
    one = harness.upload_part("up1", 1, "d1")
    harness.upload_part("up1", 2, "d2", nodes=("n3",))
    three = harness.upload_part("up1", 3, "d3")
    version = harness.complete("up1", [(1, one.etag), (3, three.etag)])
    assert [p.part_number for p in version.parts] == [1, 3]
    assert harness.gc_ids("n3") == ["d2.2.0"]
    assert harness.gc_ids("n1") == [] and harness.dump(b"p/") == {}


def test_abort_deletes_the_upload_and_gcs_every_part(harness: Harness) -> None:
    harness.create("up1")
    harness.upload_part("up1", 1, "d1")
    harness.upload_part("up1", 2, "d2", nodes=("n1",))
    harness.abort("up1")
    assert harness.gc_ids("n1") == ["d1.1.0", "d2.2.0"] and harness.gc_ids("n2") == ["d1.1.1"]
    assert harness.dump(b"u/") == {} and harness.dump(b"U/") == {} and harness.dump(b"p/") == {}
    with pytest.raises(NoSuchUpload):
        harness.abort("up1")
    assert harness.sm.counts().gc_queue_length == 3


def test_delete_bucket_aborts_its_uploads(harness: Harness) -> None:
    harness.create("up1")
    harness.upload_part("up1", 1, "d1")
    harness.apply(delete_bucket=pb.DeleteBucketRequest(name="photos"))
    assert harness.gc_ids("n1") == ["d1.1.0"]
    assert harness.dump(b"u/") == {} and harness.dump(b"U/") == {} and harness.dump(b"p/") == {}
    harness.create_bucket()  # a new bucket of the same name starts without the old uploads
    assert list(harness.sm.list_multipart_uploads("photos").uploads) == []


def test_delete_bucket_refuses_beyond_the_upload_record_bound(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "delete_bucket_upload_records_max", 2)
    harness.create("up1")
    harness.upload_part("up1", 1, "d1")
    harness.upload_part("up1", 2, "d2")
    with pytest.raises(BucketNotEmpty, match="abort its uploads"):
        harness.apply(delete_bucket=pb.DeleteBucketRequest(name="photos"))
    assert harness.sm.head_bucket("photos").name == "photos"
    assert len(harness.dump(b"p/")) == 2


# ---- errors ------------------------------------------------------------------------------


def test_create_errors_and_retries(harness: Harness) -> None:
    with pytest.raises(NoSuchBucket):
        harness.create("up1", bucket="missing")
    for bad_id in ("", "a\x00b", "x" * (limits.upload_id_bytes_max + 1)):
        with pytest.raises(InvalidArgument):
            harness.create(bad_id)
    with pytest.raises(InvalidArgument):
        harness.create("up1", key="a\x00b")
    with pytest.raises(InvalidArgument):
        harness.create("up1", key="")
    harness.create("up1")
    initiated_ns = harness.sm.get_upload("photos", "big.bin", "up1").initiated_ns
    assert harness.create("up1").upload_id == "up1"  # a retried command: same answer, no change
    assert harness.sm.get_upload("photos", "big.bin", "up1").initiated_ns == initiated_ns
    assert len(harness.dump(b"U/")) == 1
    with pytest.raises(InvalidArgument, match="already in use"):
        harness.create("up1", key="other")


def test_upload_part_errors(harness: Harness) -> None:
    with pytest.raises(NoSuchUpload):
        harness.upload_part("nope", 1, "d1")
    harness.create("up1")
    for number in (0, limits.part_number_max + 1):
        with pytest.raises(InvalidArgument):
            harness.upload_part("up1", number, "d1")
    with pytest.raises(InvalidArgument):
        harness.upload_part("up1", 1, "")
    bad_etag = pb.Part(part_number=1, data_id="d1", etag='"' + md5_hex(b"") + '"')
    with pytest.raises(InvalidArgument):
        harness.apply(upload_part=pb.UploadPartRequest(upload_id="up1", part=bad_etag))
    assert harness.dump(b"p/") == {}
    harness.upload_part("up1", limits.part_number_max, "d1")
    assert [p.part_number for p in harness.sm.list_parts("photos", "big.bin", "up1").parts] == [10_000]


def test_complete_errors_leave_the_upload_intact(harness: Harness) -> None:
    harness.create("up1")
    one = harness.upload_part("up1", 1, "d1")
    two = harness.upload_part("up1", 2, "d2", size=5 * MiB - 1)
    three = harness.upload_part("up1", 3, "d3", size=1)
    cases: list[tuple[list[tuple[int, str]], type[Exception], str]] = [
        ([], InvalidArgument, "at least one part"),
        ([(2, two.etag), (1, one.etag)], InvalidPartOrder, "part 1 is listed after part 2"),
        ([(1, one.etag), (1, one.etag)], InvalidPartOrder, "part 1 is listed after part 1"),
        ([(0, one.etag)], InvalidPart, "part 0"),
        ([(1, one.etag), (4, one.etag)], InvalidPart, "part 4: was never uploaded"),
        ([(1, two.etag)], InvalidPart, "does not match"),
        ([(1, one.etag), (2, two.etag), (3, three.etag)], EntityTooSmall, "part 2 is 5242879 bytes"),
    ]
    for parts, error, message in cases:
        with pytest.raises(error, match=message):
            harness.complete("up1", parts)
    with pytest.raises(NoSuchUpload):
        harness.complete("up1", [(1, one.etag)], key="other.bin")
    with pytest.raises(NoSuchUpload):
        harness.complete("missing", [(1, one.etag)])
    with pytest.raises(NoSuchKey):
        harness.sm.get_object("photos", "big.bin")
    assert len(harness.dump(b"p/")) == 3 and harness.sm.counts().gc_queue_length == 0
    # The last part may be small: 1 and 3 complete.
    version = harness.complete("up1", [(1, one.etag), (3, three.etag)])
    assert version.size_bytes == 5 * MiB + 1
    assert harness.gc_ids("n1") == ["d2.2.0"]


def test_reads_of_a_missing_or_mismatched_upload(harness: Harness) -> None:
    harness.create("up1")
    for bucket, key, upload_id in (("photos", "big.bin", "nope"), ("photos", "other", "up1")):
        with pytest.raises(NoSuchUpload):
            harness.sm.get_upload(bucket, key, upload_id)
        with pytest.raises(NoSuchUpload):
            harness.sm.list_parts(bucket, key, upload_id)
    with pytest.raises(NoSuchUpload):
        harness.abort("up1", key="other")
    with pytest.raises(NoSuchBucket):
        harness.sm.list_multipart_uploads("missing")
    assert harness.sm.get_upload("photos", "big.bin", "up1").upload_id == "up1"


# ---- listings ----------------------------------------------------------------------------


def test_list_parts_pages_with_an_exclusive_marker(harness: Harness) -> None:
    harness.create("up1")
    for number in (1, 2, 5, 9):
        harness.upload_part("up1", number, f"d{number}")
    page = harness.sm.list_parts("photos", "big.bin", "up1", part_number_marker=0, max_parts=2)
    assert [p.part_number for p in page.parts] == [1, 2] and page.is_truncated
    page = harness.sm.list_parts("photos", "big.bin", "up1", part_number_marker=2, max_parts=2)
    assert [p.part_number for p in page.parts] == [5, 9] and not page.is_truncated
    assert page.upload.upload_id == "up1"
    assert list(harness.sm.list_parts("photos", "big.bin", "up1", part_number_marker=9).parts) == []
    assert list(harness.sm.list_parts("photos", "big.bin", "up1", part_number_marker=2**32 - 1).parts) == []


def test_list_uploads_orders_by_key_then_initiation_and_pages(harness: Harness) -> None:
    harness.create("zz", key="b")
    harness.create("aa", key="b")  # initiated later: listed after zz despite its id
    harness.create("mm", key="a")
    harness.create("kk", key="c/1")
    harness.create("other", key="a", bucket="photos")
    everything = harness.sm.list_multipart_uploads("photos")
    assert [(u.key, u.upload_id) for u in everything.uploads] == [
        ("a", "mm"),
        ("a", "other"),
        ("b", "zz"),
        ("b", "aa"),
        ("c/1", "kk"),
    ]
    page = harness.sm.list_multipart_uploads("photos", max_uploads=3)
    assert [u.upload_id for u in page.uploads] == ["mm", "other", "zz"] and page.is_truncated
    page = harness.sm.list_multipart_uploads("photos", key_marker="b", upload_id_marker="zz", max_uploads=3)
    assert [u.upload_id for u in page.uploads] == ["aa", "kk"] and not page.is_truncated
    page = harness.sm.list_multipart_uploads("photos", key_marker="a")
    assert [u.upload_id for u in page.uploads] == ["zz", "aa", "kk"]
    assert [u.upload_id for u in harness.sm.list_multipart_uploads("photos", prefix="c/").uploads] == ["kk"]
    harness.abort("zz", key="b")  # the marker upload is gone: resume at the next key
    page = harness.sm.list_multipart_uploads("photos", key_marker="b", upload_id_marker="zz")
    assert [u.upload_id for u in page.uploads] == ["kk"]
    # an upload id marker without a key marker is ignored, as in S3
    assert len(harness.sm.list_multipart_uploads("photos", upload_id_marker="mm").uploads) == 4


def test_uploads_of_other_buckets_stay_apart(harness: Harness) -> None:
    harness.create_bucket("photos2")
    harness.create("u1", key="k")
    harness.create("u2", key="k", bucket="photos2")
    assert [u.upload_id for u in harness.sm.list_multipart_uploads("photos").uploads] == ["u1"]
    assert [u.upload_id for u in harness.sm.list_multipart_uploads("photos2").uploads] == ["u2"]


# ---- determinism and restart ---------------------------------------------------------------


def command_script() -> list[pb.Command]:
    """A mixed history: uploads, a replaced part, a complete with an unlisted part, an abort, errors."""

    def part(number: int, data_id: str, node: str) -> pb.Part:
        chunks = [pb.ChunkLocation(chunk_index=0, node_id=node)]
        return pb.Part(
            part_number=number, size_bytes=5 * MiB, etag=md5_hex(data_id.encode()), data_id=data_id, chunks=chunks
        )

    ops: list[dict[str, Any]] = [
        {"create_bucket": pb.CreateBucketRequest(name="photos")},
        {
            "create_multipart_upload": pb.CreateMultipartUploadRequest(
                upload=pb.MultipartUpload(bucket="photos", key="k", upload_id="u1")
            )
        },
        {
            "create_multipart_upload": pb.CreateMultipartUploadRequest(
                upload=pb.MultipartUpload(bucket="photos", key="k2", upload_id="u2")
            )
        },
        {"upload_part": pb.UploadPartRequest(upload_id="u1", part=part(1, "a", "n1"))},
        {"upload_part": pb.UploadPartRequest(upload_id="u1", part=part(1, "b", "n2"))},
        {"upload_part": pb.UploadPartRequest(upload_id="u1", part=part(2, "c", "n1"))},
        {"upload_part": pb.UploadPartRequest(upload_id="u2", part=part(1, "d", "n3"))},
        {"upload_part": pb.UploadPartRequest(upload_id="nope", part=part(1, "e", "n3"))},
        {
            "complete_multipart_upload": pb.CompleteMultipartUploadRequest(
                bucket="photos",
                key="k",
                upload_id="u1",
                version_id="v1",
                parts=[pb.CompletedPart(part_number=1, etag=md5_hex(b"b"))],
            )
        },
        {"abort_multipart_upload": pb.AbortMultipartUploadRequest(bucket="photos", key="k2", upload_id="u2")},
    ]
    return [pb.Command(now_ns=10 * (i + 1), **op) for i, op in enumerate(ops)]


def test_replaying_the_same_commands_gives_identical_databases(tmp_path: Path) -> None:
    contents = []
    for name in ("a", "b"):
        sm = StateMachine(tmp_path / name, sync=False)
        try:
            for index, command in enumerate(command_script(), start=1):
                with contextlib.suppress(NoSuchUpload):  # the scripted error still consumes its index
                    sm.apply(index, command.SerializeToString(deterministic=True))
            contents.append(dict(sm._scan(b"")))
        finally:
            sm.close()
    assert contents[0] == contents[1]
    keys = set(contents[0])
    assert records.object_key("photos", "k") in keys
    assert not any(key.startswith((b"u/", b"U/", b"p/")) for key in keys)
    gc = [records.decode(raw, pb.GcEntry, key) for key, raw in contents[0].items() if key.startswith(b"g/")]
    assert sorted((e.node_id, e.chunk_id) for e in gc) == [("n1", "a.1.0"), ("n1", "c.2.0"), ("n3", "d.1.0")]


def test_restart_keeps_uploads_and_parts(harness: Harness) -> None:
    harness.create("up1")
    part = harness.upload_part("up1", 1, "d1")
    harness.reopen()
    assert harness.sm.get_upload("photos", "big.bin", "up1").upload_id == "up1"
    [stored] = harness.sm.list_parts("photos", "big.bin", "up1").parts
    assert (stored.data_id, stored.etag, list(stored.chunks)) == ("d1", part.etag, list(part.chunks))
    assert [u.upload_id for u in harness.sm.list_multipart_uploads("photos").uploads] == ["up1"]
    assert harness.complete("up1", [(1, part.etag)]).size_bytes == 5 * MiB


# ---- through the gRPC server -------------------------------------------------------------


async def expect_error(call: Any, code: grpc.StatusCode, name: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code
    assert (caught.value.details() or "").startswith(f"{name}: ")


def run_against_server(
    tmp_path: Path, scenario: Callable[[metadata_pb2_grpc.MetadataServiceStub], Awaitable[None]]
) -> None:
    """Start a real server on a free port (clock fixed at 7,000 ns), run `scenario`, stop it."""

    async def main() -> None:
        config = MetadataConfig(node_id="meta-t", data_dir=tmp_path / "meta")
        server = await MetadataServer.start(config, clock_ns=lambda: 7_000, rng=random.Random(0))
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                await scenario(metadata_pb2_grpc.MetadataServiceStub(channel))
        finally:
            await server.stop(0)

    asyncio.run(main())


def test_multipart_over_grpc(tmp_path: Path) -> None:
    async def scenario(stub: metadata_pb2_grpc.MetadataServiceStub) -> None:
        await stub.CreateBucket(pb.CreateBucketRequest(name="photos"))
        upload = pb.MultipartUpload(bucket="photos", key="k", upload_id="u1", content_type="text/plain")
        assert (await stub.CreateMultipartUpload(pb.CreateMultipartUploadRequest(upload=upload))).upload_id == "u1"
        got = await stub.GetUpload(pb.GetUploadRequest(bucket="photos", key="k", upload_id="u1"))
        assert got.upload.initiated_ns == 7_000
        etags = [md5_hex(b"one"), md5_hex(b"two")]
        for number, etag in enumerate(etags, start=1):
            part = pb.Part(part_number=number, size_bytes=6 * MiB, etag=etag, data_id=f"d{number}")
            await stub.UploadPart(pb.UploadPartRequest(upload_id="u1", part=part))
        parts = await stub.ListParts(pb.ListPartsRequest(bucket="photos", key="k", upload_id="u1", max_parts=1))
        assert [p.part_number for p in parts.parts] == [1] and parts.is_truncated
        listing = await stub.ListMultipartUploads(pb.ListMultipartUploadsRequest(bucket="photos"))
        assert [u.upload_id for u in listing.uploads] == ["u1"]

        def complete(*listed: tuple[int, str]) -> Any:
            return stub.CompleteMultipartUpload(
                pb.CompleteMultipartUploadRequest(
                    bucket="photos",
                    key="k",
                    upload_id="u1",
                    version_id="v1",
                    part_bytes_min=5 * MiB,
                    parts=[pb.CompletedPart(part_number=n, etag=e) for n, e in listed],
                )
            )

        failed = grpc.StatusCode.FAILED_PRECONDITION
        await expect_error(complete((2, etags[1]), (1, etags[0])), failed, "InvalidPartOrder")
        await expect_error(complete((1, etags[1])), failed, "InvalidPart")
        await expect_error(complete(), grpc.StatusCode.INVALID_ARGUMENT, "InvalidArgument")
        reply = await complete((1, etags[0]), (2, etags[1]))
        assert reply.version.etag.endswith("-2") and reply.version.content_type == "text/plain"
        await expect_error(complete((1, etags[0])), grpc.StatusCode.NOT_FOUND, "NoSuchUpload")
        await expect_error(
            stub.AbortMultipartUpload(pb.AbortMultipartUploadRequest(bucket="photos", key="k", upload_id="u1")),
            grpc.StatusCode.NOT_FOUND,
            "NoSuchUpload",
        )
        got_object = await stub.GetObject(pb.GetObjectRequest(bucket="photos", key="k"))
        assert got_object.version == reply.version

    run_against_server(tmp_path, scenario)


def test_entity_too_small_over_grpc(tmp_path: Path) -> None:
    async def scenario(stub: metadata_pb2_grpc.MetadataServiceStub) -> None:
        await stub.CreateBucket(pb.CreateBucketRequest(name="photos"))
        upload = pb.MultipartUpload(bucket="photos", key="k", upload_id="u1")
        await stub.CreateMultipartUpload(pb.CreateMultipartUploadRequest(upload=upload))
        for number in (1, 2):
            part = pb.Part(part_number=number, size_bytes=10, etag=md5_hex(b"x"), data_id=f"d{number}")
            await stub.UploadPart(pb.UploadPartRequest(upload_id="u1", part=part))
        request = pb.CompleteMultipartUploadRequest(
            bucket="photos",
            key="k",
            upload_id="u1",
            version_id="v1",
            part_bytes_min=5 * MiB,
            parts=[pb.CompletedPart(part_number=n, etag=md5_hex(b"x")) for n in (1, 2)],
        )
        await expect_error(stub.CompleteMultipartUpload(request), grpc.StatusCode.FAILED_PRECONDITION, "EntityTooSmall")
        await expect_error(
            stub.UploadPart(pb.UploadPartRequest(upload_id="gone", part=pb.Part(part_number=1))),
            grpc.StatusCode.NOT_FOUND,
            "NoSuchUpload",
        )
        await expect_error(
            stub.ListParts(pb.ListPartsRequest(bucket="photos", key="other", upload_id="u1")),
            grpc.StatusCode.NOT_FOUND,
            "NoSuchUpload",
        )

    run_against_server(tmp_path, scenario)
