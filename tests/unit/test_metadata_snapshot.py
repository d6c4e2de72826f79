"""A state machine snapshot installed elsewhere reproduces the store, applied index included."""

from __future__ import annotations

from pathlib import Path

from metadata.state_machine import StateMachine
from proto import metadata_pb2 as pb


def command(**op: object) -> bytes:
    return pb.Command(now_ns=1_000, **op).SerializeToString(deterministic=True)  # type: ignore[arg-type]


def test_snapshot_round_trip_replaces_the_receiver(tmp_path: Path) -> None:
    source = StateMachine(tmp_path / "source", sync=False)
    source.apply(1, command(create_bucket=pb.CreateBucketRequest(name="photos", region="us-east-1")))
    for index in range(2, 40):
        version = pb.ObjectVersion(bucket="photos", key=f"k{index:03}", version_id=f"v{index}", size_bytes=index,
                                   is_inline=True, inline_data=b"x" * index)
        source.apply(index, command(put_object=pb.PutObjectRequest(version=version)))
    receiver = StateMachine(tmp_path / "receiver", sync=False)
    receiver.apply(1, command(create_bucket=pb.CreateBucketRequest(name="stale", region="us-east-1")))
    assert receiver.install_snapshot(source.snapshot_batches(pairs_max=7)) == 39
    assert receiver.applied_index == 39
    assert [b.name for b in receiver.list_buckets()] == ["photos"]
    assert receiver.get_object("photos", "k017").inline_data == b"x" * 17
    assert receiver.counts() == source.counts()
    receiver.close()
    reopened = StateMachine(tmp_path / "receiver", sync=False)
    assert reopened.applied_index == 39 and not (tmp_path / "receiver.incoming").exists()
    reopened.close()
    source.close()


def test_interrupted_swap_is_finished_at_open(tmp_path: Path) -> None:
    source = StateMachine(tmp_path / "source", sync=False)
    source.apply(1, command(create_bucket=pb.CreateBucketRequest(name="kept", region="us-east-1")))
    target = StateMachine(tmp_path / "db", sync=False)
    target.close()
    # Simulate a crash between the two renames of install_snapshot.
    fresh = StateMachine(tmp_path / "db.incoming", sync=False)
    fresh.install_snapshot(source.snapshot_batches(pairs_max=100))
    fresh.close()
    (tmp_path / "db").rename(tmp_path / "db.retired")
    reopened = StateMachine(tmp_path / "db", sync=False)
    assert [b.name for b in reopened.list_buckets()] == ["kept"]
    assert not (tmp_path / "db.retired").exists()
    reopened.close()
    source.close()


def test_a_retried_request_is_applied_at_most_once(tmp_path: Path) -> None:
    machine = StateMachine(tmp_path / "db", sync=False)
    create = pb.Command(now_ns=1_000, request_id="req-1", create_bucket=pb.CreateBucketRequest(name="once"))
    first = machine.apply(1, create.SerializeToString())
    again = machine.apply(2, create.SerializeToString())  # the client retried after a lost reply
    assert first == again == pb.CreateBucketReply(created=True)
    fresh = pb.Command(now_ns=2_000, request_id="req-2", create_bucket=pb.CreateBucketRequest(name="once"))
    import pytest

    from metadata.errors import BucketAlreadyOwnedByYou

    for index in (3, 4):  # a failure is recorded too, and replayed as the same error
        with pytest.raises(BucketAlreadyOwnedByYou, match="already exists"):
            machine.apply(index, fresh.SerializeToString())
    # Records expire by command time, so the table stays bounded.
    late = pb.Command(now_ns=2_000 + 16 * 60 * 10**9, heartbeat=pb.HeartbeatRequest(node=pb.Node(node_id="d")))
    machine.apply(5, late.SerializeToString())
    with pytest.raises(BucketAlreadyOwnedByYou):  # req-1 expired: it would now be applied afresh
        machine.apply(6, create.SerializeToString())
    machine.close()
