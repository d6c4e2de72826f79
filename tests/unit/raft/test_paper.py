"""One test per rule of the Raft paper (and thesis), in the manner of etcd's raft_paper_test.

Each test drives RaftCores over MemoryStorage through the `Cluster` harness, or steps one
core by hand, and asserts the rule's observable effect.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from metadata.raft.core import ConfChangeRejected, NotLeader, RaftConfig, RaftCore, ReadState, Role
from metadata.raft.messages import (
    ConfChange,
    ConfChangeKind,
    Entry,
    EntryKind,
    HardState,
    Message,
    MessageKind,
)
from metadata.raft.storage import MemoryStorage
from tests.unit.raft.harness import Cluster, bootstrap_entries, kinds

ABC = ("a", "b", "c")


def elected(leader: str = "a", ids: tuple[str, ...] = ABC, config: RaftConfig | None = None) -> Cluster:
    cluster = Cluster(ids, config=config) if config else Cluster(ids)
    cluster.stabilize()
    cluster.campaign(leader)
    assert cluster.leader() == leader
    return cluster


def test_election_safety_one_leader_and_one_term() -> None:
    cluster = elected("a")
    terms = {core.term for core in cluster.nodes.values()}
    assert len(terms) == 1
    assert [n for n, core in cluster.nodes.items() if core.role is Role.LEADER] == ["a"]
    assert {core.lead for core in cluster.nodes.values()} == {"a"}


def test_follower_updates_term_and_leader_on_higher_term() -> None:
    core = RaftCore("a", ABC, MemoryStorage(), random.Random(1))
    core.step(Message(MessageKind.HEARTBEAT, "b", "a", term=5))
    assert (core.term, core.role, core.lead) == (5, Role.FOLLOWER, "b")


def test_candidate_restarts_election_on_timeout() -> None:
    cluster = Cluster(ABC, config=RaftConfig(pre_vote=False))
    cluster.stabilize()
    cluster.isolate("a")
    core = cluster.nodes["a"]
    start = core.term
    cluster.tick("a", core.randomized_election_ticks)
    assert (core.role, core.term, core.vote) == (Role.CANDIDATE, start + 1, "a")
    cluster.tick("a", core.randomized_election_ticks)
    assert (core.role, core.term) == (Role.CANDIDATE, start + 2)


def test_election_timeout_is_randomized_in_range() -> None:
    timeouts = set()
    for seed in range(50):
        core = RaftCore("a", ABC, MemoryStorage(), random.Random(seed), RaftConfig(election_ticks=10))
        timeouts.add(core.randomized_election_ticks)
    assert min(timeouts) >= 10 and max(timeouts) < 20 and len(timeouts) > 3


def test_leader_appends_noop_of_its_term_and_commits_it() -> None:
    cluster = elected("a")
    leader = cluster.nodes["a"]
    last = leader.log.entries(leader.log.last_index(), leader.log.last_index() + 1, 1 << 20)[0]
    assert (last.kind, last.term) == (EntryKind.NOOP, leader.term)
    for node_id in ABC:
        assert cluster.nodes[node_id].log.committed == last.index
        assert cluster.applied[node_id][-1] == last


def test_commit_only_current_term_entries_by_counting_figure_8() -> None:
    # a was leader of term 2 and appended x at 4 alone; it is elected again in term 3. It sends one
    # entry per APPEND; b acks x (term 2) but the NOOP of term 3 is lost. A quorum
    # (a, b) holds x, yet x must not commit: only an entry of the current term may (§5.4.2).
    cluster = Cluster(ABC, config=RaftConfig(append_entries_max=1))
    boot = bootstrap_entries(ABC)
    cluster.preload("a", [*boot, Entry(2, 4, EntryKind.NORMAL, b"x")], term=2, commit=3)
    cluster.preload("b", boot, term=2, commit=3)
    cluster.preload("c", boot, term=2, commit=3)
    # The first APPEND (NOOP after 4) is rejected by b and c, which lack 4; then x alone is
    # sent and acked; the NOOP that follows is lost.
    cluster.drop = lambda m: (any(e.kind is EntryKind.NOOP for e in m.entries)
                              and cluster.storage[m.to_id].last_index() >= 4)
    cluster.campaign("a")
    leader = cluster.nodes["a"]
    assert leader.role is Role.LEADER and leader.progress["b"].match == 4
    assert leader.log.committed == 3, "an entry of an older term was committed by counting replicas"
    cluster.drop = lambda m: False
    cluster.heartbeat("a")
    assert leader.log.committed == 5  # the NOOP of term 3 commits, and x with it
    assert cluster.applied_data("c") == [b"x"]


def test_log_matching_conflicting_suffix_is_truncated() -> None:
    boot = bootstrap_entries(ABC)
    cluster = Cluster(ABC)
    cluster.preload("a", [*boot, Entry(3, 4, EntryKind.NORMAL, b"y")], term=3, commit=3)
    cluster.preload("b", [*boot, Entry(2, 4, EntryKind.NORMAL, b"x"), Entry(2, 5, EntryKind.NORMAL, b"z")],
                    term=2, commit=3)
    cluster.preload("c", boot, term=3, commit=3)
    cluster.campaign("a")
    a, b = cluster.storage["a"], cluster.storage["b"]
    assert b.last_index() == a.last_index() == 5
    assert b.entries(1, 6, 1 << 20) == a.entries(1, 6, 1 << 20)
    assert cluster.applied_data("b") == [b"y"]


def vote_reply(voter_log: list[Entry], candidate_index: int, candidate_term: int) -> Message:
    storage = MemoryStorage()
    storage.append(voter_log)
    storage.set_hard_state(HardState(2, "", 3))
    core = RaftCore("b", (), storage, random.Random(1))
    core.step(Message(MessageKind.VOTE, "a", "b", term=5, index=candidate_index, log_term=candidate_term))
    (reply,) = core.ready().messages
    return reply


def test_vote_rejected_for_stale_log_granted_for_up_to_date() -> None:
    log = [*bootstrap_entries(ABC), Entry(2, 4)]
    assert vote_reply(log, candidate_index=9, candidate_term=1).reject  # older last term loses
    assert vote_reply(log, candidate_index=3, candidate_term=2).reject  # same term, shorter loses
    granted = vote_reply(log, candidate_index=4, candidate_term=2)
    assert (granted.kind, granted.reject, granted.term) == (MessageKind.VOTE_RESP, False, 5)


def test_prevote_does_not_bump_term_and_rejoining_node_does_not_disrupt() -> None:
    cluster = elected("a")
    term = cluster.nodes["a"].term
    cluster.isolate("c")
    c = cluster.nodes["c"]
    for _ in range(5):
        cluster.tick("c", c.randomized_election_ticks)
        cluster.stabilize()
    assert c.role is Role.PRE_CANDIDATE and c.term == term
    cluster.heal()
    cluster.tick("c", c.randomized_election_ticks)  # campaigns again, now connected
    cluster.heartbeat("a")
    assert cluster.leader() == "a" and cluster.nodes["a"].term == term
    assert (c.role, c.lead) == (Role.FOLLOWER, "a")


def test_check_quorum_isolated_leader_steps_down() -> None:
    cluster = elected("a")
    cluster.isolate("a")
    leader = cluster.nodes["a"]
    cluster.tick("a", 2 * cluster.config.election_ticks)
    cluster.stabilize()
    assert leader.role is Role.FOLLOWER and leader.lead == ""
    with pytest.raises(NotLeader):
        leader.propose(b"x")


def test_read_index_waits_for_heartbeat_quorum() -> None:
    cluster = elected("a")
    leader = cluster.nodes["a"]
    cluster.drop = lambda m: m.kind is MessageKind.HEARTBEAT_RESP
    leader.read_index(b"r1")
    cluster.stabilize()
    assert cluster.read_states["a"] == []  # no quorum has confirmed a is still leader
    cluster.drop = lambda m: False
    cluster.heartbeat("a")
    assert cluster.read_states["a"] == [ReadState(b"r1", leader.log.committed)]
    cluster.nodes["b"].read_index(b"r2")  # forwarded to the leader, answered to b
    cluster.stabilize()
    assert cluster.read_states["b"] == [ReadState(b"r2", leader.log.committed)]


def test_read_index_waits_for_new_leader_to_commit_in_its_term() -> None:
    cluster = Cluster(ABC)
    cluster.stabilize()
    cluster.drop = lambda m: any(e.kind is EntryKind.NOOP for e in m.entries)
    cluster.campaign("a")
    leader = cluster.nodes["a"]
    leader.read_index(b"r1")
    cluster.heartbeat("a")
    assert cluster.read_states["a"] == []
    cluster.drop = lambda m: False
    cluster.heartbeat("a")
    assert cluster.read_states["a"] == [ReadState(b"r1", 4)]


def test_leadership_transfer() -> None:
    cluster = elected("a")
    term = cluster.nodes["a"].term
    cluster.nodes["a"].transfer_leadership("c")
    cluster.stabilize()
    assert cluster.leader() == "c" and cluster.nodes["c"].term == term + 1


def test_leadership_transfer_catches_up_target_first() -> None:
    cluster = elected("a")
    cluster.cut = {("a", "c")}
    cluster.nodes["a"].propose(b"x")
    cluster.stabilize()
    cluster.heal()
    cluster.nodes["a"].transfer_leadership("c")
    cluster.stabilize()
    assert cluster.leader() == "c" and cluster.applied_data("c") == [b"x"]


def test_conf_change_add_then_remove() -> None:
    cluster = elected("a")
    leader = cluster.nodes["a"]
    leader.propose_conf_change(ConfChange(ConfChangeKind.ADD, "d"))
    assert leader.voters == ("a", "b", "c", "d")  # effective when appended
    with pytest.raises(ConfChangeRejected):
        leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "b"))  # one at a time
    cluster.add("d", ())
    cluster.stabilize()
    assert cluster.nodes["d"].voters == ("a", "b", "c", "d")
    assert cluster.storage["d"].last_index() == leader.log.last_index()
    leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "b"))
    cluster.stabilize()
    assert {cluster.nodes[n].voters for n in "acd"} == {("a", "c", "d")}
    with pytest.raises(ConfChangeRejected):
        leader.propose_conf_change(ConfChange(ConfChangeKind.REMOVE, "a"))  # transfer first
    cluster.isolate("b")  # quorum is now 2 of a, c, d
    leader.propose(b"after")
    cluster.stabilize()
    assert cluster.applied_data("d") == [b"after"]


def test_snapshot_sent_to_lagging_follower() -> None:
    cluster = elected("a")
    cluster.isolate("c")
    for number in range(5):
        cluster.nodes["a"].propose(b"x%d" % number)
    cluster.stabilize()
    compacted = cluster.nodes["a"].log.applied
    cluster.storage["a"].compact(compacted)
    sent: list[Message] = []
    cluster.heal()

    def record(m: Message) -> bool:
        sent.append(m)
        return False

    cluster.drop = record
    cluster.heartbeat("a")
    assert MessageKind.SNAPSHOT in kinds(sent)
    assert cluster.storage["c"].snapshot_meta().index == compacted
    assert cluster.storage["c"].last_index() == cluster.storage["a"].last_index()


def test_heartbeat_commit_is_min_of_match_and_commit() -> None:
    cluster = elected("a")
    cluster.cut = {("a", "c")}
    cluster.nodes["a"].propose(b"x")
    cluster.stabilize()
    leader = cluster.nodes["a"]
    leader.tick()
    beats = {m.to_id: m.commit for m in leader.ready().messages if m.kind is MessageKind.HEARTBEAT}
    assert beats == {"b": leader.log.committed, "c": leader.progress["c"].match}
    assert leader.progress["c"].match < leader.log.committed


def test_followers_reject_proposals_with_leader_hint() -> None:
    cluster = elected("a")
    with pytest.raises(NotLeader) as raised:
        cluster.nodes["b"].propose(b"x")
    assert raised.value.leader_hint == "a"


def test_pipelining_is_bounded_by_inflight_window() -> None:
    cluster = elected("a", config=RaftConfig(append_entries_max=1, inflight_appends_max=3))
    cluster.drop = lambda m: m.kind is MessageKind.APPEND_RESP
    leader = cluster.nodes["a"]
    for number in range(10):
        leader.propose(b"x%d" % number)
    appends = [m for m in leader.ready().messages if m.kind is MessageKind.APPEND and m.to_id == "b"]
    assert len(appends) == 3 and all(len(m.entries) == 1 for m in appends)


def test_fast_backtracking_skips_a_whole_term() -> None:
    boot = bootstrap_entries(ABC)
    stale = [Entry(2, index, EntryKind.NORMAL, b"old") for index in range(4, 40)]
    cluster = Cluster(ABC)
    cluster.preload("a", [*boot, Entry(3, 4)], term=3, commit=3)
    cluster.preload("b", [*boot, *stale], term=2, commit=3)
    cluster.preload("c", boot, term=3, commit=3)
    rejects: list[Message] = []

    def record(m: Message) -> bool:
        if m.kind is MessageKind.APPEND_RESP and m.reject:
            rejects.append(m)
        return False

    cluster.drop = record
    cluster.campaign("a")
    assert len(rejects) <= 2  # one round trip per differing term, not per entry
    assert cluster.storage["b"].last_index() == cluster.storage["a"].last_index()


def test_restart_keeps_term_vote_and_log() -> None:
    cluster = elected("a")
    cluster.nodes["a"].propose(b"x")
    cluster.stabilize()
    before = cluster.nodes["b"].status()
    restarted = cluster.restart("b")
    after = restarted.status()
    assert (after.term, after.vote, after.last_index, after.commit_index) == (
        before.term, before.vote, before.last_index, before.commit_index)
    assert dataclasses.replace(after, role=before.role).voters == before.voters == ABC
