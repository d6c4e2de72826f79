"""The metadata state machine: apply semantics, restart safety, listing, placement."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rocksdict import Options, Rdict

from metadata import records
from metadata.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InsufficientNodes,
    InvalidArgument,
    NoSuchBucket,
    NoSuchKey,
    StoredFormatError,
)
from metadata.listing import list_objects
from metadata.placement import choose_placement, node_state
from metadata.state_machine import StateMachine
from proto import metadata_pb2 as pb


class Harness:
    """A state machine plus the next log index, like SingleNodeLog but synchronous."""

    def __init__(self, path: Path, sync: bool = False) -> None:
        self.path = path
        self.sm = StateMachine(path, sync=sync)
        self.now_ns = 1_000

    def apply(self, **op: Any) -> Any:
        self.now_ns += 1
        command = pb.Command(now_ns=self.now_ns, **op)
        return self.sm.apply(self.sm.applied_index + 1, command.SerializeToString())

    def create_bucket(self, name: str) -> Any:
        return self.apply(create_bucket=pb.CreateBucketRequest(name=name, owner="alice"))

    def put(self, bucket: str, key: str, version_id: str = "v1", nodes: tuple[str, ...] = ()) -> Any:
        part = pb.Part(part_number=1, chunks=[pb.ChunkLocation(chunk_index=i, node_id=n) for i, n in enumerate(nodes)])
        version = pb.ObjectVersion(bucket=bucket, key=key, version_id=version_id, size_bytes=3, parts=[part])
        return self.apply(put_object=pb.PutObjectRequest(version=version))

    def reopen(self) -> None:
        self.sm.close()
        self.sm = StateMachine(self.path, sync=False)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path / "db")
    yield h
    h.sm.close()


def gc_ids(h: Harness, node_id: str) -> list[str]:
    return [e.chunk_id for e in h.sm.gc_list(node_id, 1000, 2**62)]


# ---- apply semantics -------------------------------------------------------------------


def test_create_bucket_twice_is_rejected_and_still_consumes_the_index(harness: Harness) -> None:
    assert harness.create_bucket("photos").created
    with pytest.raises(BucketAlreadyOwnedByYou):
        harness.create_bucket("photos")
    assert harness.sm.applied_index == 2
    harness.create_bucket("archive")
    assert [b.name for b in harness.sm.list_buckets()] == ["archive", "photos"]
    assert harness.sm.head_bucket("photos").owner == "alice"
    assert harness.sm.head_bucket("photos").created_ns == 1_001  # the command's now_ns
    assert harness.sm.counts().bucket_count == 2


def test_delete_bucket_missing_nonempty_and_empty(harness: Harness) -> None:
    with pytest.raises(NoSuchBucket):
        harness.apply(delete_bucket=pb.DeleteBucketRequest(name="nope"))
    harness.create_bucket("photos")
    harness.create_bucket("photos2")  # a longer name sharing the prefix must not count as content
    harness.put("photos2", "k")
    harness.put("photos", "k")
    with pytest.raises(BucketNotEmpty):
        harness.apply(delete_bucket=pb.DeleteBucketRequest(name="photos"))
    harness.apply(delete_object=pb.DeleteObjectRequest(bucket="photos", key="k"))
    harness.apply(delete_bucket=pb.DeleteBucketRequest(name="photos"))
    with pytest.raises(NoSuchBucket):
        harness.sm.head_bucket("photos")
    assert harness.sm.counts().bucket_count == 1


def test_put_object_on_missing_bucket(harness: Harness) -> None:
    with pytest.raises(NoSuchBucket):
        harness.put("nope", "k")
    assert harness.sm.counts().object_count == 0


def test_put_replaces_and_enqueues_the_old_chunks_for_gc(harness: Harness) -> None:
    harness.create_bucket("bk1")
    assert harness.put("bk1", "k", "v1", ("n1", "n2")).version_id == "v1"
    assert harness.put("bk1", "k", "v2", ("n2", "n3")).version_id == "v2"
    assert harness.sm.get_object("bk1", "k").version_id == "v2"
    assert gc_ids(harness, "n1") == ["v1.1.0"]
    assert gc_ids(harness, "n2") == ["v1.1.1"]
    assert gc_ids(harness, "n3") == []
    counts = harness.sm.counts()
    assert (counts.object_count, counts.gc_queue_length) == (1, 2)


def test_retried_put_of_the_same_version_collects_nothing(harness: Harness) -> None:
    harness.create_bucket("bk1")
    harness.put("bk1", "k", "v1", ("n1", "n2"))
    harness.put("bk1", "k", "v1", ("n1", "n2"))
    assert harness.sm.counts().gc_queue_length == 0
    assert harness.sm.counts().object_count == 1


def test_delete_object_existing_and_missing(harness: Harness) -> None:
    harness.create_bucket("bk1")
    harness.put("bk1", "k", "v1", ("n1",))
    assert harness.apply(delete_object=pb.DeleteObjectRequest(bucket="bk1", key="k")).existed
    assert not harness.apply(delete_object=pb.DeleteObjectRequest(bucket="bk1", key="k")).existed
    with pytest.raises(NoSuchKey):
        harness.sm.get_object("bk1", "k")
    assert gc_ids(harness, "n1") == ["v1.1.0"]
    assert harness.sm.counts().object_count == 0
    with pytest.raises(NoSuchBucket):
        harness.apply(delete_object=pb.DeleteObjectRequest(bucket="nope", key="k"))


def test_heartbeat_stamps_the_command_time(harness: Harness) -> None:
    node = pb.Node(node_id="n1", zone="z1", address="127.0.0.1:1", last_heartbeat_ns=7, state="up")
    harness.apply(heartbeat=pb.HeartbeatRequest(node=node))
    [stored] = harness.sm.list_nodes()
    assert (stored.node_id, stored.zone, stored.last_heartbeat_ns, stored.state) == ("n1", "z1", 1_001, "")


def test_gc_list_filters_by_age_and_limit_and_gc_done_is_idempotent(harness: Harness) -> None:
    harness.create_bucket("bk1")
    for i in range(4):
        harness.put("bk1", f"k{i}", f"v{i}", ("n1",))
        harness.apply(delete_object=pb.DeleteObjectRequest(bucket="bk1", key=f"k{i}"))
    entries = harness.sm.gc_list("n1", 1000, 2**62)
    assert [e.chunk_id for e in entries] == ["v0.1.0", "v1.1.0", "v2.1.0", "v3.1.0"]
    cutoff = entries[2].enqueued_ns
    assert [e.chunk_id for e in harness.sm.gc_list("n1", 1000, cutoff)] == ["v0.1.0", "v1.1.0"]
    assert [e.chunk_id for e in harness.sm.gc_list("n1", 1, cutoff)] == ["v0.1.0"]
    harness.apply(gc_done=pb.GcDoneRequest(entries=[entries[0], entries[0], entries[1]]))
    harness.apply(gc_done=pb.GcDoneRequest(entries=[entries[1]]))
    assert gc_ids(harness, "n1") == ["v2.1.0", "v3.1.0"]
    assert harness.sm.counts().gc_queue_length == 2


def test_invalid_commands_are_rejected(harness: Harness) -> None:
    for name in ["", "ab", "UPPER", "a" * 64, "-ab", "a..b", "bad\x00name"]:
        with pytest.raises(InvalidArgument):
            harness.create_bucket(name)
    harness.create_bucket("bk1")
    with pytest.raises(InvalidArgument):
        harness.put("bk1", "")
    with pytest.raises(InvalidArgument):
        harness.put("bk1", "k" * 1025)
    with pytest.raises(InvalidArgument):
        harness.put("bk1", "k", version_id="")
    with pytest.raises(InvalidArgument):
        harness.apply()  # no operation
    with pytest.raises(InvalidArgument):
        harness.sm.apply(harness.sm.applied_index + 1, b"\xff\xff garbage")
    assert harness.sm.counts().object_count == 0


def test_reapplying_an_old_index_is_a_noop(harness: Harness) -> None:
    harness.create_bucket("bk1")
    first, later = (
        pb.Command(
            now_ns=5, put_object=pb.PutObjectRequest(version=pb.ObjectVersion(bucket="bk1", key="k", version_id=v))
        )
        for v in ("v1", "v2")
    )
    assert harness.sm.apply(2, first.SerializeToString()) is not None
    assert harness.sm.apply(2, later.SerializeToString()) is None
    assert harness.sm.apply(1, later.SerializeToString()) is None
    assert harness.sm.get_object("bk1", "k").version_id == "v1"
    assert harness.sm.applied_index == 2


def test_restart_keeps_state(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "db", sync=True)
    harness.create_bucket("bk1")
    harness.put("bk1", "k", "v1", ("n1",))
    harness.put("bk1", "k", "v2", ("n1",))
    harness.reopen()
    try:
        assert harness.sm.applied_index == 3
        assert harness.sm.get_object("bk1", "k").version_id == "v2"
        counts = harness.sm.counts()
        assert (counts.bucket_count, counts.object_count, counts.gc_queue_length) == (1, 1, 1)
    finally:
        harness.sm.close()


def test_a_value_from_a_newer_format_is_refused(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "db")
    harness.create_bucket("bk1")
    harness.sm.close()
    db = Rdict(str(tmp_path / "db"), Options(raw_mode=True))
    db[records.bucket_key("bk1")] = b"\x02" + pb.Bucket(name="bk1").SerializeToString()
    db.close()
    harness.sm = StateMachine(tmp_path / "db")
    try:
        with pytest.raises(StoredFormatError, match="format version 2"):
            harness.sm.head_bucket("bk1")
    finally:
        harness.sm.close()


# ---- listing against a naive reference -------------------------------------------------

ALPHABET = "ab/é😀"


def reference_list(
    keys: list[str], prefix: str, delimiter: str, start_after: str, max_keys: int
) -> tuple[list[tuple[str, bool]], bool]:
    """S3 ListObjects the slow, obvious way: group everything, then drop entries <= start_after."""
    entries: list[tuple[str, bool]] = []
    for key in sorted(keys):  # str order == UTF-8 byte order (code points)
        if not key.startswith(prefix):
            continue
        position = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = (key[: position + len(delimiter)], True) if position >= 0 else (key, False)
        if not entries or entries[-1] != entry:
            entries.append(entry)
    entries = [e for e in entries if e[0] > start_after]
    return entries[:max_keys], 0 < max_keys < len(entries)  # AWS: max-keys=0 is never truncated


def make_keys(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    keys = {"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))) for _ in range(count)}
    return sorted(keys)


KEYS = make_keys(1, 400)


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("listing") / "db")
    h.create_bucket("bk1")
    h.create_bucket("bk0")
    h.create_bucket("bk10")  # neighbours must not leak into b1's listing
    for key in KEYS:
        h.put("bk1", key, "v-" + key, ("n1",))
    h.put("bk0", "zzz")
    h.put("bk10", "a")
    yield h
    h.sm.close()


def as_pairs(reply: pb.ListObjectsReply) -> list[tuple[str, bool]]:
    return [(e.key, e.is_prefix) for e in reply.entries]


text = st.text(alphabet=ALPHABET, max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.text(alphabet=ALPHABET, max_size=2),
    delimiter=st.sampled_from(["", "/", "b", "ab", "é", "😀/"]),
    start_after=text,
    max_keys=st.integers(min_value=0, max_value=30),
)
def test_list_objects_matches_reference(
    listing: Harness, prefix: str, delimiter: str, start_after: str, max_keys: int
) -> None:
    reply = listing.sm.list_objects("bk1", prefix, delimiter, start_after, max_keys)
    expected, truncated = reference_list(KEYS, prefix, delimiter, start_after, max_keys)
    assert as_pairs(reply) == expected
    assert reply.is_truncated == truncated
    assert reply.next_marker == (expected[-1][0] if expected else "")
    for entry in reply.entries:
        assert entry.is_prefix or (entry.version.version_id == "v-" + entry.key and not entry.version.parts)


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.text(alphabet=ALPHABET, max_size=1),
    delimiter=st.sampled_from(["", "/", "é"]),
    page=st.integers(min_value=1, max_value=50),
)
def test_paging_with_next_marker_visits_every_entry_once(
    listing: Harness, prefix: str, delimiter: str, page: int
) -> None:
    collected: list[tuple[str, bool]] = []
    marker = ""
    for _ in range(len(KEYS) + 1):
        reply = listing.sm.list_objects("bk1", prefix, delimiter, marker, page)
        collected += as_pairs(reply)
        if not reply.is_truncated:
            break
        marker = reply.next_marker
    assert collected == reference_list(KEYS, prefix, delimiter, "", 10**6)[0]


def test_start_after_inside_a_common_prefix_continues_after_it(harness: Harness) -> None:
    harness.create_bucket("bk1")
    for key in ["a/1", "a/2", "b", "c/1"]:
        harness.put("bk1", key)
    assert as_pairs(harness.sm.list_objects("bk1", delimiter="/")) == [("a/", True), ("b", False), ("c/", True)]
    assert as_pairs(harness.sm.list_objects("bk1", delimiter="/", start_after="a/1")) == [("b", False), ("c/", True)]
    page = harness.sm.list_objects("bk1", delimiter="/", max_keys=1)
    assert (page.is_truncated, page.next_marker) == (True, "a/")
    assert as_pairs(harness.sm.list_objects("bk1", delimiter="/", start_after="a/"))[0] == ("b", False)


def test_list_objects_edge_cases(listing: Harness) -> None:
    assert as_pairs(listing.sm.list_objects("bk0")) == [("zzz", False)]
    empty = listing.sm.list_objects("bk1", max_keys=0)
    assert (len(empty.entries), empty.is_truncated, empty.next_marker) == (0, False, "")
    with pytest.raises(NoSuchBucket):
        listing.sm.list_objects("missing")
    with pytest.raises(InvalidArgument):
        listing.sm.list_objects("bk1", max_keys=1001)


class CountingDb:
    """Wraps an Rdict so the test can count iterator steps and seeks."""

    def __init__(self, db: Rdict) -> None:
        self.db = db
        self.steps = 0

    def iter(self) -> Any:
        outer = self
        inner = self.db.iter()

        class Iter:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            def next(self) -> None:
                outer.steps += 1
                inner.next()

            def seek(self, key: bytes) -> None:
                outer.steps += 1
                inner.seek(key)

        return Iter()


def test_a_common_prefix_is_skipped_with_one_seek(tmp_path: Path) -> None:
    h = Harness(tmp_path / "db")
    h.create_bucket("bk1")
    for i in range(2000):
        h.put("bk1", f"dir/{i:05}")
    h.put("bk1", "file")
    h.sm.close()
    db = Rdict(str(tmp_path / "db"), Options(raw_mode=True))
    try:
        counting = CountingDb(db)
        reply = list_objects(counting, "bk1", "", "/", "", 1000)  # type: ignore[arg-type]
        assert as_pairs(reply) == [("dir/", True), ("file", False)]
        assert counting.steps <= 4
        counting.steps = 0
        reply = list_objects(counting, "bk1", "", "/", "dir/00007", 1000)  # type: ignore[arg-type]
        assert as_pairs(reply) == [("file", False)]
        assert counting.steps <= 4
    finally:
        db.close()


# ---- node states and placement ---------------------------------------------------------


def test_node_state_thresholds() -> None:
    s, d = 3_000, 10_000
    assert [node_state(0, now, s, d) for now in (0, 2_999, 3_000, 9_999, 10_000)] == [
        "up",
        "up",
        "suspect",
        "suspect",
        "down",
    ]


def nodes(layout: dict[str, list[str]]) -> list[pb.Node]:
    """{"zone": ["up", "down"]} -> nodes z-0, z-1 in that zone with those states."""
    return [
        pb.Node(node_id=f"{zone}-{i}", zone=zone, state=state)
        for zone, states in layout.items()
        for i, state in enumerate(states)
    ]


def test_placement_spreads_evenly_over_zones() -> None:
    chosen = choose_placement(nodes({z: ["up"] * 3 for z in "abc"}), 6, 2, random.Random(1))
    assert len({n.node_id for n in chosen}) == 6
    assert sorted(n.zone for n in chosen) == ["a", "a", "b", "b", "c", "c"]


def test_placement_prefers_up_nodes_for_the_low_chunk_indices() -> None:
    layout = {"a": ["up", "up"], "b": ["up", "up"], "c": ["down", "suspect"]}
    for seed in range(20):
        chosen = choose_placement(nodes(layout), 6, 2, random.Random(seed))
        assert [n.state for n in chosen] == ["up"] * 4 + ["suspect", "down"]


def test_placement_refuses_more_than_m_chunks_per_zone() -> None:
    with pytest.raises(InsufficientNodes, match="per zone"):
        choose_placement(nodes({"a": ["up"] * 3, "b": ["up"] * 3}), 6, 2, random.Random(0))
    with pytest.raises(InsufficientNodes, match="5 registered"):
        choose_placement(nodes({"a": ["up"] * 2, "b": ["up"] * 2, "c": ["up"]}), 6, 2, random.Random(0))
    with pytest.raises(InvalidArgument):
        choose_placement(nodes({"a": ["up"]}), 0, 2, random.Random(0))


@settings(max_examples=200, deadline=None)
@given(
    layout=st.dictionaries(
        st.sampled_from("abcde"),
        st.lists(st.sampled_from(["up", "suspect", "down"]), min_size=1, max_size=4),
        min_size=1,
    ),
    count=st.integers(min_value=1, max_value=10),
    m=st.integers(min_value=1, max_value=3),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_placement_property(layout: dict[str, list[str]], count: int, m: int, seed: int) -> None:
    candidates = nodes(layout)
    room = sum(min(len(states), m) for states in layout.values())
    if room < count:
        with pytest.raises(InsufficientNodes):
            choose_placement(candidates, count, m, random.Random(seed))
        return
    chosen = choose_placement(candidates, count, m, random.Random(seed))
    assert len({n.node_id for n in chosen}) == count
    if max(sum(n.zone == z for n in chosen) for z in layout) > m:
        # Relaxed layout: only when the zone rule would have needed unhealthy nodes, and then
        # every chosen node is healthy.
        assert all(n.state == "up" for n in chosen)
        strict_healthy_room = sum(min(sum(s == "up" for s in states), m) for states in layout.values())
        assert strict_healthy_room < count <= sum(s == "up" for states in layout.values() for s in states)
        return
    rank = {"up": 0, "suspect": 1, "down": 2}
    assert [rank[n.state] for n in chosen] == sorted(rank[n.state] for n in chosen)
    # Healthier nodes are never skipped in favour of worse ones while their zone has room.
    worst = max(rank[n.state] for n in chosen)
    for zone, states in layout.items():
        taken = sum(n.zone == zone for n in chosen)
        better_taken = sum(n.zone == zone and rank[n.state] < worst for n in chosen)
        better_left = sum(rank[s] < worst for s in states) - better_taken
        assert taken == m or better_left == 0
