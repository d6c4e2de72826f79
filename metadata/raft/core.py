"""The sans-I/O Raft core: a synchronous state machine fed with ticks and messages.

Theory of operation
-------------------
`RaftCore` follows etcd-io/raft's RawNode. It never touches a clock, a socket or a disk: the
driver calls `tick()` every heartbeat interval, feeds received messages to `step()`, and
submits work with `propose()`, `propose_conf_change()`, `read_index()` and
`transfer_leadership()`. Everything the core wants done comes out of `ready()` as one `Ready`
value, whose docstring is the ordering contract; the driver then calls `advance(ready)`.
Randomness (election timeouts) comes from an injected, seeded `random.Random`, so a
simulator can replay any run from its seed.

Elections use PreVote (a candidate first asks whether it *could* win, without bumping its
term, so a node rejoining after a partition does not depose a healthy leader) and CheckQuorum
(a leader that has not heard from a quorum for an election timeout steps down, and followers
that heard from a leader within that time ignore vote requests: the leader's lease).

Replication: per follower `Progress` (probe / replicate / snapshot), APPENDs batched up to
`append_entries_max` entries and `append_bytes_max` bytes, pipelined up to
`inflight_appends_max` un-acked APPENDs, and fast backtracking with `reject_hint`. A leader
counts replicas only for entries of its own term (§5.4.2), and appends a NOOP on election
so that it commits one quickly. Heartbeats carry commit = min(follower match, commit).

Membership (single-server changes, Raft thesis §4.1): a configuration takes effect on each
node as soon as its CONF_CHANGE entry is APPENDED to that node's log, committed or not, and
is rolled back if the entry is truncated. The configuration is therefore a pure function of
the log (snapshot voters + CONF_CHANGE entries after it), which makes restarts trivial. A
leader accepts a change only when the previous one is committed and after it has committed
an entry of its term (the NOOP: the fix for the single-server bug Ongaro reported in 2015).
A leader refuses to remove itself: transfer leadership first. A fresh cluster bootstraps by
every initial node appending the same committed CONF_CHANGE ADD entries at term 1.

Reads (ReadIndex, thesis §6.4): the leader records its commit index, confirms it is still
leader by a heartbeat round acked by a quorum, and then releases the index in a `ReadState`;
the driver serves the read once applied >= index. A new leader first waits for its NOOP to
commit. Followers forward READ_INDEX to the leader. No clock assumption is made.

Snapshots: the core deals only in `SnapshotMeta`. A leader whose follower needs compacted
entries sends SNAPSHOT; the driver streams the data and reports the outcome with
`report_snapshot`. A follower returns the snapshot in `Ready.snapshot` for installation.
"""

from __future__ import annotations

import collections
import enum
import logging
import random
from dataclasses import dataclass, field

from metadata.raft import limits
from metadata.raft.log import RaftLog
from metadata.raft.messages import (
    CAMPAIGN_TRANSFER,
    NO_NODE,
    ConfChange,
    ConfChangeKind,
    Entry,
    EntryKind,
    HardState,
    Message,
    MessageKind,
    SnapshotMeta,
    voters_after,
)
from metadata.raft.progress import Progress, ProgressState
from metadata.raft.storage import CompactedError, LogStorage

_all_bytes = 1 << 62  # "no byte limit" when reading the log for the configuration


class Role(enum.Enum):
    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre-candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


class RaftError(Exception):
    """Root of the errors the core raises to its caller (bad requests, not programmer errors)."""


class NotLeader(RaftError):
    """This node cannot serve the request; `leader_hint` is the leader it knows of, or ""."""

    def __init__(self, leader_hint: str) -> None:
        super().__init__(f"not the leader (leader hint: {leader_hint or 'unknown'})")
        self.leader_hint = leader_hint


class ProposalDropped(RaftError):
    """The leader refuses the proposal for now (transfer in progress, too many uncommitted)."""


class ConfChangeRejected(RaftError):
    """The membership change is not allowed (one pending already, or it changes nothing)."""


class ReadIndexDropped(RaftError):
    """Too many ReadIndex requests pending; retry later."""


@dataclass(frozen=True, slots=True)
class RaftConfig:
    """Tunables; every field in ticks, entries or bytes, validated on construction."""

    election_ticks: int = limits.election_ticks_default  # ticks; timeout is random in [e, 2e)
    heartbeat_ticks: int = limits.heartbeat_ticks_default  # ticks between leader heartbeats
    pre_vote: bool = True
    check_quorum: bool = True
    append_entries_max: int = limits.append_entries_max  # entries per APPEND
    append_bytes_max: int = limits.append_bytes_max  # bytes of entries per APPEND
    inflight_appends_max: int = limits.inflight_appends_max  # un-acked APPENDs per follower
    apply_bytes_max: int = limits.apply_bytes_max  # bytes of committed entries per Ready
    uncommitted_entries_max: int = limits.uncommitted_entries_max  # entries

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_ticks < self.election_ticks <= limits.election_ticks_max:
            raise ValueError(f"need 0 < heartbeat_ticks < election_ticks <= {limits.election_ticks_max}")
        if not 0 < self.append_entries_max <= limits.append_entries_max:
            raise ValueError(f"append_entries_max must be in 1..{limits.append_entries_max}")
        if not 0 < self.append_bytes_max <= limits.append_bytes_max:
            raise ValueError(f"append_bytes_max must be in 1..{limits.append_bytes_max}")
        if not 0 < self.inflight_appends_max <= limits.inflight_appends_max:
            raise ValueError(f"inflight_appends_max must be in 1..{limits.inflight_appends_max}")
        if self.apply_bytes_max <= 0 or self.uncommitted_entries_max <= 0:
            raise ValueError("apply_bytes_max and uncommitted_entries_max must be positive")


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile state the driver may want to show (tessera status) or act on (client hints)."""

    leader_id: str
    role: Role


@dataclass(frozen=True, slots=True)
class ReadState:
    """ReadIndex result: request `request_id` may be served once applied >= `index`."""

    request_id: bytes
    index: int


@dataclass(frozen=True, slots=True)
class Ready:
    """Work for the driver. The ORDERING CONTRACT, in this order:

    1. Persist `hard_state` (if not None), `entries_to_persist` (appending them truncates any
       stored suffix they overwrite) and `snapshot` (if not None) in ONE synced write batch.
       A snapshot's data is installed into the state machine (applied index = its index)
       together with its meta, so a restart never sees one without the other.
    2. Send `messages`. Only now: a vote or an APPEND ack must never leave before the state
       it promises is on disk. A SNAPSHOT message is sent with the snapshot data streamed,
       then `report_snapshot(to, success)` is called.
    3. Apply `committed_entries` in order (skipping any at or below the state machine's
       applied index), storing the applied index in the same batch as their effects. CONF_CHANGE
       and NOOP entries change nothing in the state machine (the core already applied the
       configuration). Serve each of `read_states` once applied >= its index.
    4. Call `advance(ready)`.

    `soft_state` is set when the leader or role changed (None otherwise).
    """

    hard_state: HardState | None
    soft_state: SoftState | None
    entries_to_persist: tuple[Entry, ...]
    snapshot: SnapshotMeta | None
    messages: tuple[Message, ...]
    committed_entries: tuple[Entry, ...]
    read_states: tuple[ReadState, ...]


@dataclass(frozen=True, slots=True)
class Status:
    node_id: str
    role: Role
    term: int
    vote: str
    leader_id: str
    commit_index: int
    applied_index: int
    last_index: int
    voters: tuple[str, ...]
    match_index: dict[str, int] = field(default_factory=dict)  # leader only


@dataclass(slots=True)
class _ReadRequest:
    index: int
    origin: str
    acks: set[str]


class RaftCore:
    def __init__(
        self,
        node_id: str,
        voters: tuple[str, ...] | list[str],
        storage: LogStorage,
        rng: random.Random,
        config: RaftConfig | None = None,
        logger: logging.Logger | None = None,
        applied: int = 0,
    ) -> None:
        """`voters` bootstraps a fresh cluster: used only when storage is empty, and then every
        initial node must pass the same set. A node joining later passes () and waits for the
        leader. `applied` is the driver's persisted applied index (entries after it are
        handed out again as committed)."""
        self.id = node_id
        self.config = config or RaftConfig()
        self.logger = logger or logging.getLogger("tessera.metadata.raft")
        self.rng = rng
        hard_state, _ = storage.initial_state()
        self.log = RaftLog(storage, hard_state.commit, applied)
        self.term = hard_state.term
        self.vote = hard_state.vote
        self.lead = NO_NODE
        self.role = Role.FOLLOWER
        self.voters: tuple[str, ...] = ()
        self.config_index = 0  # index of the entry (or snapshot) the configuration comes from
        self.pending_conf_index = 0
        self.progress: dict[str, Progress] = {}
        self.votes: dict[str, bool] = {}
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_ticks = self.config.election_ticks
        self.lead_transferee = NO_NODE
        self.reads: collections.OrderedDict[bytes, _ReadRequest] = collections.OrderedDict()
        self.reads_waiting: list[tuple[bytes, str]] = []  # until the leader commits in its term
        self.msgs: list[Message] = []
        self.read_states: list[ReadState] = []
        if self.log.last_index() == 0 and self.term == 0 and voters:
            self._bootstrap(tuple(sorted(voters)))
        self.prev_hard_state = hard_state
        self.prev_soft_state = SoftState(NO_NODE, Role.FOLLOWER)
        self._refresh_voters()
        self.become_follower(self.term, NO_NODE)
        self.ready_outstanding = False

    def _bootstrap(self, voters: tuple[str, ...]) -> None:
        entries = [
            Entry(1, index, EntryKind.CONF_CHANGE, ConfChange(ConfChangeKind.ADD, voter).encode())
            for index, voter in enumerate(voters, start=1)
        ]
        self.log.append(entries)
        self.log.commit_to(len(entries))
        self.term = 1

    # --- inputs -----------------------------------------------------------------------------

    def tick(self) -> None:
        """One heartbeat interval has passed."""
        if self.role is Role.LEADER:
            self._tick_leader()
            return
        self.election_elapsed += 1
        if self.promotable() and self.election_elapsed >= self.randomized_election_ticks:
            self.election_elapsed = 0
            self._campaign(MessageKind.PRE_VOTE if self.config.pre_vote else MessageKind.VOTE)

    def step(self, m: Message) -> None:
        """Process one message received from a peer."""
        if m.to_id != self.id:
            self.logger.warning("dropping message for %s at %s", m.to_id, self.id)
            return
        if m.term == 0:
            if m.kind is MessageKind.READ_INDEX and self.role is Role.LEADER:
                self._on_read_index(m.context, m.from_id)
            return
        if m.term > self.term and not self._on_higher_term(m):
            return
        if m.term < self.term:
            self._on_lower_term(m)
            return
        if m.kind in (MessageKind.VOTE, MessageKind.PRE_VOTE):
            self._on_vote_request(m)
        elif self.role is Role.LEADER:
            self._step_leader(m)
        elif self.role is Role.FOLLOWER:
            self._step_follower(m)
        else:
            self._step_candidate(m)

    def propose(self, data: bytes) -> int:
        """Append a command; returns its log index. Commit shows up in a later Ready."""
        self._check_proposal(len(data))
        return self._append(EntryKind.NORMAL, data)

    def propose_conf_change(self, change: ConfChange) -> int:
        """Add or remove one voter; effective on every node when its entry is appended."""
        self._check_proposal(len(change.node_id))
        if self.pending_conf_index > self.log.committed:
            raise ConfChangeRejected(f"configuration change at {self.pending_conf_index} not committed yet")
        if (change.kind is ConfChangeKind.ADD) == (change.node_id in self.voters):
            raise ConfChangeRejected(
                f"{change.kind.name} {change.node_id!r} changes nothing: voters {self.voters}")
        if change.kind is ConfChangeKind.REMOVE and change.node_id == self.id:
            raise ConfChangeRejected("the leader cannot remove itself: transfer leadership first")
        return self._append(EntryKind.CONF_CHANGE, change.encode())

    def read_index(self, request_id: bytes) -> None:
        """Ask for a linearizable read point; the answer comes as a ReadState in a Ready."""
        if not 0 < len(request_id) <= limits.read_request_id_bytes_max:
            raise ValueError(f"request_id must be 1..{limits.read_request_id_bytes_max} bytes")
        if self.role is Role.LEADER:
            if not self._on_read_index(request_id, self.id):
                raise ReadIndexDropped(f"{limits.read_index_pending_max} reads pending")
        elif self.lead != NO_NODE:
            self._send(Message(MessageKind.READ_INDEX, self.id, self.lead, 0, context=request_id))
        else:
            raise NotLeader(NO_NODE)

    def transfer_leadership(self, target: str) -> None:
        """Catch `target` up, then tell it to campaign at once (TIMEOUT_NOW)."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.lead)
        if target not in self.voters:
            raise ValueError(f"transfer target {target!r} is not a voter: {self.voters}")
        if target == self.id or target == self.lead_transferee:
            return
        self.logger.info("transfer_leadership node=%s term=%d target=%s", self.id, self.term, target)
        self.lead_transferee = target
        self.election_elapsed = 0  # the transfer is aborted after one election timeout
        if self.progress[target].match == self.log.last_index():
            self._send_to(target, MessageKind.TIMEOUT_NOW)
        else:
            self._send_append(target)

    def report_snapshot(self, to: str, success: bool) -> None:
        """The driver finished (or failed) streaming the snapshot sent to `to`."""
        pr = self.progress.get(to)
        if self.role is not Role.LEADER or pr is None or pr.state is not ProgressState.SNAPSHOT:
            return
        if not success:
            pr.pending_snapshot = 0
        pr.become_probe()
        pr.probe_sent = True  # resume on the follower's ack or the next heartbeat response

    # --- Ready ------------------------------------------------------------------------------

    def soft_state(self) -> SoftState:
        return SoftState(self.lead, self.role)

    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    def has_ready(self) -> bool:
        return bool(
            self.soft_state() != self.prev_soft_state
            or self.hard_state() != self.prev_hard_state
            or self.log.unstable
            or self.log.unstable_snapshot is not None
            or self.msgs
            or self.read_states
            or self.log.has_next_committed()
        )

    def ready(self) -> Ready:
        """Collect the pending work; call advance() with it before the next ready()."""
        assert not self.ready_outstanding, "ready() called twice without advance()"
        self.ready_outstanding = True
        hard_state = self.hard_state()
        soft_state = self.soft_state()
        return Ready(
            hard_state=hard_state if hard_state != self.prev_hard_state else None,
            soft_state=soft_state if soft_state != self.prev_soft_state else None,
            entries_to_persist=tuple(self.log.unstable),
            snapshot=self.log.unstable_snapshot,
            messages=tuple(self.msgs),
            committed_entries=tuple(self.log.next_committed(self.config.apply_bytes_max)),
            read_states=tuple(self.read_states),
        )

    def advance(self, ready: Ready) -> None:
        """The driver has carried out `ready` (steps 1-3 of its contract)."""
        assert self.ready_outstanding, "advance() without ready()"
        self.ready_outstanding = False
        if ready.hard_state is not None:
            self.prev_hard_state = ready.hard_state
        if ready.soft_state is not None:
            self.prev_soft_state = ready.soft_state
        if ready.entries_to_persist:
            last = ready.entries_to_persist[-1]
            self.log.stable_to(last.index, last.term)
        if ready.snapshot is not None:
            self.log.stable_snapshot_to(ready.snapshot.index)
            self.log.applied = max(self.log.applied, ready.snapshot.index)
        if ready.committed_entries:
            self.log.applied_to(ready.committed_entries[-1].index)
        del self.msgs[:len(ready.messages)]
        del self.read_states[:len(ready.read_states)]

    # --- introspection ----------------------------------------------------------------------

    def promotable(self) -> bool:
        return self.id in self.voters and self.log.unstable_snapshot is None

    def log_term(self, index: int) -> int | None:
        return self.log.term(index)

    def status(self) -> Status:
        return Status(
            node_id=self.id, role=self.role, term=self.term, vote=self.vote, leader_id=self.lead,
            commit_index=self.log.committed, applied_index=self.log.applied,
            last_index=self.log.last_index(), voters=self.voters,
            match_index=(
                {peer: pr.match for peer, pr in self.progress.items()} if self.role is Role.LEADER else {}),
        )

    # --- role changes -----------------------------------------------------------------------

    def _reset(self, term: int) -> None:
        if term != self.term:
            self.term = term
            self.vote = NO_NODE
        self.lead = NO_NODE
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        election_ticks = self.config.election_ticks
        self.randomized_election_ticks = self.rng.randrange(election_ticks, 2 * election_ticks)
        self.lead_transferee = NO_NODE
        self.votes = {}
        self.reads.clear()
        self.reads_waiting.clear()
        self.pending_conf_index = 0
        last = self.log.last_index()
        self.progress = {}
        for voter in self.voters:
            self._add_progress(voter)
        if self.id in self.progress:
            self.progress[self.id].match = last

    def _add_progress(self, voter: str) -> None:
        pr = Progress(self.log.last_index() + 1, self.config.inflight_appends_max)
        pr.recent_active = voter == self.id
        self.progress[voter] = pr

    def become_follower(self, term: int, lead: str) -> None:
        self._reset(term)
        self.lead = lead
        self.role = Role.FOLLOWER
        self.logger.debug("become_follower node=%s term=%d leader=%s", self.id, term, lead or "-")

    def _become_pre_candidate(self) -> None:
        assert self.role is not Role.LEADER
        self.role = Role.PRE_CANDIDATE
        self.votes = {}
        self.lead = NO_NODE

    def _become_candidate(self) -> None:
        assert self.role is not Role.LEADER
        self._reset(self.term + 1)
        self.vote = self.id
        self.role = Role.CANDIDATE

    def _become_leader(self) -> None:
        assert self.role is Role.CANDIDATE
        self._reset(self.term)
        self.lead = self.id
        self.role = Role.LEADER
        self.progress[self.id].become_replicate()
        self.logger.info("become_leader node=%s term=%d last_index=%d", self.id, self.term,
                         self.log.last_index())
        # Committing a NOOP of this term commits everything before it (§5.4.2, §8); conf
        # changes and reads wait for it.
        self.pending_conf_index = self._append(EntryKind.NOOP, b"")

    def _campaign(self, kind: MessageKind, transfer: bool = False) -> None:
        if not self.promotable():
            return
        if kind is MessageKind.PRE_VOTE:
            self._become_pre_candidate()
            vote_term = self.term + 1
        else:
            self._become_candidate()
            vote_term = self.term
        self.logger.debug("campaign node=%s kind=%s term=%d", self.id, kind.name, vote_term)
        self.votes = {self.id: True}
        if self._tally() == 1:
            self._won(kind)
            return
        for voter in self.voters:
            if voter != self.id:
                self._send(Message(
                    kind, self.id, voter, vote_term, log_term=self.log.last_term(),
                    index=self.log.last_index(), context=CAMPAIGN_TRANSFER if transfer else b"",
                ))

    def _won(self, kind: MessageKind) -> None:
        if kind is MessageKind.PRE_VOTE:
            self._campaign(MessageKind.VOTE)
        else:
            self._become_leader()

    def _tally(self) -> int:
        """1 if the votes so far win, -1 if they lose, 0 if undecided."""
        granted = sum(1 for voter in self.voters if self.votes.get(voter) is True)
        rejected = sum(1 for voter in self.voters if self.votes.get(voter) is False)
        if granted >= self._quorum():
            return 1
        return -1 if rejected >= self._quorum() else 0

    def _quorum(self) -> int:
        return len(self.voters) // 2 + 1

    # --- term rules -------------------------------------------------------------------------

    def _on_higher_term(self, m: Message) -> bool:
        """Rules for a message of a higher term; False if it must be ignored."""
        if m.kind in (MessageKind.VOTE, MessageKind.PRE_VOTE):
            in_lease = (self.config.check_quorum and self.lead != NO_NODE
                        and self.election_elapsed < self.config.election_ticks)
            if in_lease and m.context != CAMPAIGN_TRANSFER:
                return False  # we heard from a leader recently: do not let a rejoining node disrupt it
        if m.kind is MessageKind.PRE_VOTE or (m.kind is MessageKind.PRE_VOTE_RESP and not m.reject):
            return True  # a pre-vote never changes terms; the pre-candidate bumps it when it wins
        from_leader = m.kind in (MessageKind.APPEND, MessageKind.HEARTBEAT, MessageKind.SNAPSHOT)
        self.become_follower(m.term, m.from_id if from_leader else NO_NODE)
        return True

    def _on_lower_term(self, m: Message) -> None:
        if (self.config.check_quorum or self.config.pre_vote) and m.kind in (
            MessageKind.HEARTBEAT, MessageKind.APPEND,
        ):
            # A stale leader (e.g. after a partition) learns our term and steps down; without
            # this it would never hear a higher term, since PreVote keeps ours from rising.
            self._send_to(m.from_id, MessageKind.APPEND_RESP)
        elif m.kind is MessageKind.PRE_VOTE:
            self._send_to(m.from_id, MessageKind.PRE_VOTE_RESP, reject=True)

    def _on_vote_request(self, m: Message) -> None:
        can_vote = (
            self.vote == m.from_id
            or (self.vote == NO_NODE and self.lead == NO_NODE)
            or (m.kind is MessageKind.PRE_VOTE and m.term > self.term)
        )
        response = MessageKind.VOTE_RESP if m.kind is MessageKind.VOTE else MessageKind.PRE_VOTE_RESP
        if can_vote and self.log.is_up_to_date(m.index, m.log_term):
            # The response carries the candidate's term so it is not dropped as stale.
            self._send(Message(response, self.id, m.from_id, m.term))
            if m.kind is MessageKind.VOTE:
                self.election_elapsed = 0
                self.vote = m.from_id
        else:
            self._send_to(m.from_id, response, reject=True)

    # --- followers and candidates -----------------------------------------------------------

    def _step_follower(self, m: Message) -> None:
        if m.kind in (MessageKind.APPEND, MessageKind.HEARTBEAT, MessageKind.SNAPSHOT):
            self.election_elapsed = 0
            self.lead = m.from_id
            self._on_leader_message(m)
        elif m.kind is MessageKind.TIMEOUT_NOW:
            self.logger.info("timeout_now node=%s term=%d from=%s", self.id, self.term, m.from_id)
            self._campaign(MessageKind.VOTE, transfer=True)
        elif m.kind is MessageKind.READ_INDEX_RESP:
            self.read_states.append(ReadState(m.context, m.index))

    def _step_candidate(self, m: Message) -> None:
        if m.kind in (MessageKind.APPEND, MessageKind.HEARTBEAT, MessageKind.SNAPSHOT):
            self.become_follower(m.term, m.from_id)
            self._on_leader_message(m)
            return
        expected = MessageKind.PRE_VOTE_RESP if self.role is Role.PRE_CANDIDATE else MessageKind.VOTE_RESP
        if m.kind is not expected:
            return
        self.votes.setdefault(m.from_id, not m.reject)
        result = self._tally()
        if result == 1:
            self._won(MessageKind.PRE_VOTE if self.role is Role.PRE_CANDIDATE else MessageKind.VOTE)
        elif result == -1:
            self.become_follower(self.term, NO_NODE)

    def _on_leader_message(self, m: Message) -> None:
        if m.kind is MessageKind.APPEND:
            self._handle_append(m)
        elif m.kind is MessageKind.HEARTBEAT:
            self.log.commit_to(m.commit)
            self._send_to(m.from_id, MessageKind.HEARTBEAT_RESP, context=m.context)
        else:
            self._handle_snapshot(m)

    def _handle_append(self, m: Message) -> None:
        if m.index < self.log.committed:
            self._send_to(m.from_id, MessageKind.APPEND_RESP, index=self.log.committed)
            return
        last_new = self.log.maybe_append(m.index, m.log_term, m.commit, m.entries)
        if last_new is not None:
            if self.config_index > m.index or any(e.kind is EntryKind.CONF_CHANGE for e in m.entries):
                self._refresh_voters()
            self._send_to(m.from_id, MessageKind.APPEND_RESP, index=last_new)
            return
        hint_index, hint_term = self.log.find_conflict_by_term(
            min(m.index, self.log.last_index()), m.log_term)
        self._send_to(
            m.from_id, MessageKind.APPEND_RESP, index=m.index, reject=True,
            reject_hint=hint_index, log_term=hint_term,
        )

    def _handle_snapshot(self, m: Message) -> None:
        meta = m.snapshot
        assert meta is not None, "SNAPSHOT message without a snapshot"
        if meta.index <= self.log.committed:
            self._send_to(m.from_id, MessageKind.APPEND_RESP, index=self.log.committed)
        elif self.log.match_term(meta.index, meta.term):
            self.log.commit_to(meta.index)  # we already have it: just fast-forward commit
            self._send_to(m.from_id, MessageKind.APPEND_RESP, index=self.log.committed)
        else:
            self.logger.info("restore_snapshot node=%s index=%d term=%d", self.id, meta.index, meta.term)
            self.log.restore(meta)
            self._refresh_voters()
            self._send_to(m.from_id, MessageKind.APPEND_RESP, index=self.log.last_index())

    # --- configuration ----------------------------------------------------------------------

    def _refresh_voters(self) -> None:
        """Recompute the configuration from the log: snapshot voters + CONF_CHANGE entries."""
        snapshot = self.log.snapshot_meta()
        entries = self.log.entries(self.log.first_index(), self.log.last_index() + 1, _all_bytes)
        self.config_index = max((e.index for e in entries if e.kind is EntryKind.CONF_CHANGE),
                                default=snapshot.index)
        self._set_voters(voters_after(snapshot.voters, entries))

    def _set_voters(self, voters: tuple[str, ...]) -> None:
        if voters == self.voters:
            return
        self.logger.info("configuration node=%s voters=%s", self.id, ",".join(voters))
        self.voters = voters
        if self.role is not Role.LEADER:
            return
        assert self.id in voters, "a leader never removes itself"
        for gone in set(self.progress) - set(voters):
            del self.progress[gone]
        for added in set(voters) - set(self.progress):
            self._add_progress(added)
        if self.lead_transferee not in voters:
            self.lead_transferee = NO_NODE

    # --- leader -----------------------------------------------------------------------------

    def _check_proposal(self, size_bytes: int) -> None:
        if self.role is not Role.LEADER:
            raise NotLeader(self.lead)
        if self.lead_transferee != NO_NODE:
            raise ProposalDropped(f"leadership transfer to {self.lead_transferee} in progress")
        if size_bytes > limits.entry_data_bytes_max:
            raise ProposalDropped(f"entry of {size_bytes} bytes exceeds {limits.entry_data_bytes_max}")
        if self.log.last_index() - self.log.committed >= self.config.uncommitted_entries_max:
            raise ProposalDropped(f"{self.config.uncommitted_entries_max} entries uncommitted")

    def _append(self, kind: EntryKind, data: bytes) -> int:
        index = self.log.last_index() + 1
        self.log.append([Entry(self.term, index, kind, data)])
        self.progress[self.id].maybe_update(index)
        if kind is EntryKind.CONF_CHANGE:
            self.pending_conf_index = index
            self.config_index = index
            self._set_voters(ConfChange.decode(data).applied_to(self.voters))
        self._maybe_commit()  # a single voter (or a smaller quorum) may commit at once
        self._broadcast_append()
        return index

    def _tick_leader(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.config.election_ticks:
            self.election_elapsed = 0
            if self.config.check_quorum and not self._quorum_active():
                self.logger.info("check_quorum_failed node=%s term=%d", self.id, self.term)
                self.become_follower(self.term, NO_NODE)
                return
            if self.lead_transferee != NO_NODE:
                self.logger.info("transfer_aborted node=%s target=%s", self.id, self.lead_transferee)
                self.lead_transferee = NO_NODE
        if self.heartbeat_elapsed >= self.config.heartbeat_ticks:
            self.heartbeat_elapsed = 0
            self._broadcast_heartbeat(next(reversed(self.reads), b""))

    def _quorum_active(self) -> bool:
        active = sum(1 for voter in self.voters if self.progress[voter].recent_active)
        for peer, pr in self.progress.items():
            pr.recent_active = peer == self.id
        return active >= self._quorum()

    def _step_leader(self, m: Message) -> None:
        pr = self.progress.get(m.from_id)
        if pr is None:
            return
        if m.kind is MessageKind.APPEND_RESP:
            pr.recent_active = True
            if m.reject:
                self._on_append_reject(m, pr)
            else:
                self._on_append_ack(m, pr)
        elif m.kind is MessageKind.HEARTBEAT_RESP:
            self._on_heartbeat_resp(m, pr)

    def _on_append_reject(self, m: Message, pr: Progress) -> None:
        next_probe = m.reject_hint
        if m.log_term > 0:
            # Skip every entry of ours whose term is above the follower's term at the hint.
            next_probe, _ = self.log.find_conflict_by_term(m.reject_hint, m.log_term)
        if pr.maybe_decrease_to(m.index, next_probe):
            if pr.state is ProgressState.REPLICATE:
                pr.become_probe()
            self._send_append(m.from_id)

    def _on_append_ack(self, m: Message, pr: Progress) -> None:
        was_paused = pr.is_paused()
        if not pr.maybe_update(m.index):
            return
        if pr.state is ProgressState.PROBE:
            pr.become_replicate()
        elif pr.state is ProgressState.SNAPSHOT and pr.match >= pr.pending_snapshot:
            pr.become_probe()
            pr.become_replicate()
        else:
            pr.free_through(m.index)
        if self._maybe_commit():
            self._broadcast_append()
        elif was_paused:
            self._send_append(m.from_id)
        while self._maybe_send_append(m.from_id, send_if_empty=False):
            pass  # pipelining: bounded by the in-flight window and the end of the log
        if m.from_id == self.lead_transferee and pr.match == self.log.last_index():
            self._send_to(m.from_id, MessageKind.TIMEOUT_NOW)

    def _on_heartbeat_resp(self, m: Message, pr: Progress) -> None:
        pr.recent_active = True
        pr.probe_sent = False
        if pr.state is ProgressState.REPLICATE and len(pr.inflight) >= pr.inflight_max:
            pr.inflight.popleft()  # an APPEND or its ack may be lost: let one more through
        if pr.match < self.log.last_index():
            self._send_append(m.from_id)
        if m.context:
            self._on_read_ack(m.context, m.from_id)

    def _maybe_commit(self) -> bool:
        """Commit the highest index a quorum has, if it is of this term (§5.4.2, Figure 8)."""
        matches = sorted((self.progress[voter].match for voter in self.voters), reverse=True)
        if not self.log.maybe_commit(matches[self._quorum() - 1], self.term):
            return False
        self._release_waiting_reads()
        return True

    def _broadcast_append(self) -> None:
        for peer in self.progress:
            if peer != self.id:
                self._send_append(peer)

    def _send_append(self, to: str) -> None:
        self._maybe_send_append(to, send_if_empty=True)

    def _maybe_send_append(self, to: str, send_if_empty: bool) -> bool:
        pr = self.progress[to]
        if pr.is_paused():
            return False
        prev_index = pr.next - 1
        prev_term = self.log.term(prev_index)
        hi = min(self.log.last_index() + 1, pr.next + self.config.append_entries_max)
        try:
            entries = self.log.entries(pr.next, hi, self.config.append_bytes_max)
        except CompactedError:
            prev_term = None
        if prev_term is None:
            return self._send_snapshot(to, pr)
        if not entries and not send_if_empty:
            return False
        self._send(Message(
            MessageKind.APPEND, self.id, to, self.term, log_term=prev_term, index=prev_index,
            entries=tuple(entries), commit=self.log.committed,
        ))
        pr.sent_entries(entries[-1].index if entries else prev_index, len(entries))
        return True

    def _send_snapshot(self, to: str, pr: Progress) -> bool:
        if not pr.recent_active:
            return False  # it may be down; wait until it answers before streaming a snapshot
        meta = self.log.snapshot_meta()
        self.logger.info("send_snapshot node=%s to=%s index=%d", self.id, to, meta.index)
        self._send(Message(MessageKind.SNAPSHOT, self.id, to, self.term, snapshot=meta))
        pr.become_snapshot(meta.index)
        return True

    def _broadcast_heartbeat(self, context: bytes) -> None:
        for peer, pr in self.progress.items():
            if peer != self.id:
                commit = min(pr.match, self.log.committed)
                self._send(Message(
                    MessageKind.HEARTBEAT, self.id, peer, self.term, commit=commit, context=context))

    # --- ReadIndex --------------------------------------------------------------------------

    def _on_read_index(self, request_id: bytes, origin: str) -> bool:
        """Start a ReadIndex round; False if too many are pending (the request is dropped)."""
        pending = len(self.reads) + len(self.reads_waiting)
        if pending >= limits.read_index_pending_max or request_id in self.reads:
            return False
        if self.log.term(self.log.committed) != self.term:
            self.reads_waiting.append((request_id, origin))  # our commit index may be stale
            return True
        self.reads[request_id] = _ReadRequest(self.log.committed, origin, {self.id})
        if self._quorum() == 1:
            self._on_read_ack(request_id, self.id)
        else:
            self._broadcast_heartbeat(request_id)
        return True

    def _release_waiting_reads(self) -> None:
        if self.reads_waiting and self.log.term(self.log.committed) == self.term:
            waiting, self.reads_waiting = self.reads_waiting, []
            for request_id, origin in waiting:
                self._on_read_index(request_id, origin)

    def _on_read_ack(self, request_id: bytes, peer: str) -> None:
        request = self.reads.get(request_id)
        if request is None:
            return
        request.acks.add(peer)
        if len(request.acks.intersection(self.voters)) < self._quorum():
            return
        # A quorum confirmed us leader after every earlier request was queued: release them too.
        while self.reads:
            done_id, done = self.reads.popitem(last=False)
            if done.origin == self.id:
                self.read_states.append(ReadState(done_id, done.index))
            else:
                self._send_to(done.origin, MessageKind.READ_INDEX_RESP, index=done.index, context=done_id)
            if done_id == request_id:
                break

    # --- sending ----------------------------------------------------------------------------

    def _send_to(
        self, to: str, kind: MessageKind, *, index: int = 0, reject: bool = False,
        reject_hint: int = 0, log_term: int = 0, context: bytes = b"",
    ) -> None:
        self._send(Message(kind, self.id, to, self.term, log_term=log_term, index=index, reject=reject,
                           reject_hint=reject_hint, context=context))

    def _send(self, message: Message) -> None:
        self.msgs.append(message)
