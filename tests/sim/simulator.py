"""A deterministic simulator of a Raft cluster: RaftCores over MemoryStorage, one seed.

Theory of operation
-------------------
Everything random comes from one `random.Random(seed)`: the network's choices, the faults,
the clients and (through derived seeds) each core's election timeouts, so a seed replays a
run exactly. A run is `steps` events, each chosen by weight:

* deliver one in-flight message, picked at random (so messages are reordered and delayed);
  it may be lost, or blocked by a symmetric or asymmetric partition; sends may be duplicated;
* handle one node's Ready by the contract (persist, send, apply, advance); now and then the
  node crashes right after persisting, so its messages never leave;
* tick every live node (the clock);
* a client proposes (a new command id, or a retry of an unacknowledged one) or reads;
* a fault: partition, heal, crash (unpersisted Ready contents and in-memory state are lost;
  MemoryStorage and the state machine, which the driver writes with its applied index, are
  kept), restart, compaction, a membership change, a leadership transfer.

The `Checker` is called after every persist, apply and step. `finish()` heals everything,
restarts crashed members, runs loss-free until the cluster is quiet, and checks convergence
and that every acknowledged command is applied exactly once.

Snapshot data is the state machine itself: a node compacts at its applied index and keeps a
copy of its state machine with the snapshot; a SNAPSHOT message carries the sender's copy
(the driver would stream it), and a report_snapshot tells the sender whether it arrived.
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass, field

from metadata.raft.core import NotLeader, RaftConfig, RaftCore, RaftError, Ready, Role
from metadata.raft.messages import ConfChange, ConfChangeKind, Entry, EntryKind, Message, MessageKind
from metadata.raft.storage import MemoryStorage
from tests.sim.checker import Checker, SafetyViolation

network_messages_max = 3000  # in-flight messages; beyond, the oldest are dropped (a full queue)
settle_rounds_max = 3000  # rounds of finish() before the cluster is declared stuck
trace_events_max = 80  # events kept for the failure report


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int
    replicas: int = 3
    steps: int = 20_000
    loss: float = 0.05  # probability a delivered message is lost
    duplicate: float = 0.03  # probability a sent message is sent twice
    fault: float = 0.03  # probability a step is a fault event
    crash_after_persist: float = 0.01  # probability a Ready is cut after step 1
    proposals_max: int = 300
    raft: RaftConfig = RaftConfig(election_ticks=10, heartbeat_ticks=1, append_entries_max=4,
                                  append_bytes_max=4096, inflight_appends_max=4)
    core_class: type[RaftCore] = RaftCore


@dataclass(slots=True)
class StateMachine:
    """The application: a list of command ids, deduplicated by id (clients retry)."""

    applied_index: int = 0
    applied_ids: list[bytes] = field(default_factory=list)
    seen: set[bytes] = field(default_factory=set)

    def apply(self, entry: Entry) -> None:
        assert entry.index == self.applied_index + 1, f"apply {entry.index} after {self.applied_index}"
        self.applied_index = entry.index
        if entry.kind is EntryKind.NORMAL and entry.data not in self.seen:
            self.seen.add(entry.data)
            self.applied_ids.append(entry.data)

    def copy(self) -> StateMachine:
        return StateMachine(self.applied_index, list(self.applied_ids), set(self.seen))


@dataclass(slots=True)
class Node:
    id: str
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    state_machine: StateMachine = field(default_factory=StateMachine)
    snapshot_data: StateMachine = field(default_factory=StateMachine)  # kept with the snapshot
    core: RaftCore | None = None  # None while crashed
    removed: bool = False
    received_snapshots: dict[int, StateMachine] = field(default_factory=dict)  # in memory


@dataclass(slots=True)
class Envelope:
    message: Message
    snapshot_data: StateMachine | None


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.checker = Checker()
        self.initial = tuple(f"n{i}" for i in range(1, config.replicas + 1))
        self.nodes: dict[str, Node] = {}
        self.network: list[Envelope] = []
        self.cut: set[tuple[str, str]] = set()
        self.loss = config.loss
        self.duplicate = config.duplicate
        self.crash_after_persist = config.crash_after_persist
        self.next_node = config.replicas + 1
        self.proposals = 0
        self.unacked: list[bytes] = []
        self.acked: dict[bytes, int] = {}  # command id -> index it was acknowledged at
        self.waiting: dict[tuple[str, int], tuple[bytes, int]] = {}  # (node, index) -> (id, term)
        self.reads: dict[bytes, int] = {}  # read id -> highest acked index when it started
        self.reads_checked = 0
        self.leader_hint = ""
        self.trace: collections.deque[str] = collections.deque(maxlen=trace_events_max)
        self.stats: collections.Counter[str] = collections.Counter()  # events, to show coverage
        for node_id in self.initial:
            self.nodes[node_id] = Node(node_id)
            self._start(node_id)

    # --- node lifecycle ---------------------------------------------------------------------

    def _start(self, node_id: str) -> None:
        node = self.nodes[node_id]
        voters = self.initial if node_id in self.initial else ()
        node.core = self.config.core_class(
            node_id, voters, node.storage, random.Random(self.rng.getrandbits(64)), self.config.raft,
            applied=node.state_machine.applied_index)
        node.received_snapshots = {}

    def live(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.core is not None]

    def cores(self) -> list[RaftCore]:
        return [node.core for node in self.nodes.values() if node.core is not None]

    def leader(self) -> RaftCore | None:
        leaders = [core for core in self.cores() if core.role is Role.LEADER]
        return max(leaders, key=lambda core: core.term) if leaders else None

    # --- the event loop ---------------------------------------------------------------------

    def run(self) -> None:
        weights = [("deliver", 50.0), ("ready", 30.0), ("tick", 10.0), ("propose", 6.0), ("read", 1.5),
                   ("fault", 100 * self.config.fault)]
        names = [name for name, _ in weights]
        cumulative = [w for _, w in weights]
        for step in range(self.config.steps):
            event = self.rng.choices(names, weights=cumulative)[0]
            getattr(self, f"_event_{event}")()
            self.checker.on_step(self.cores())
            if step % 500 == 0:
                self.trace.append(f"step {step}")

    def _event_deliver(self) -> None:
        if self.network:
            self._deliver(self.network.pop(self.rng.randrange(len(self.network))), lossy=True)

    def _event_ready(self) -> None:
        ready_nodes = [node for node in self.live() if node.core is not None and node.core.has_ready()]
        if ready_nodes:
            self.handle_ready(self.rng.choice(ready_nodes))

    def _event_tick(self) -> None:
        for core in self.cores():
            core.tick()

    def _event_propose(self) -> None:
        if self.unacked and (self.proposals >= self.config.proposals_max or self.rng.random() < 0.3):
            command = self.rng.choice(self.unacked)  # a client retry: same id
        elif self.proposals < self.config.proposals_max:
            self.proposals += 1
            command = b"c%05d" % self.proposals
            self.unacked.append(command)
        else:
            return
        target = self._client_target()
        if target is None or target.core is None:
            return
        try:
            index = target.core.propose(command)
        except NotLeader as error:
            self.leader_hint = error.leader_hint
            return
        except RaftError:
            return
        self.waiting[(target.id, index)] = (command, target.core.term)
        self.trace.append(f"propose {command!r} at {target.id}:{index}")

    def _client_target(self) -> Node | None:
        hinted = self.nodes.get(self.leader_hint)
        if hinted is not None and hinted.core is not None and self.rng.random() < 0.8:
            return hinted
        live = self.live()
        return self.rng.choice(live) if live else None

    def _event_read(self) -> None:
        target = self._client_target()
        if target is None or target.core is None:
            return
        read_id = b"r%05d" % len(self.reads)
        try:
            target.core.read_index(read_id)
        except RaftError:
            return
        self.reads[read_id] = max(self.acked.values(), default=0)

    def _event_fault(self) -> None:
        faults = ["partition", "asymmetric", "heal", "heal", "crash", "restart", "restart", "compact",
                  "compact", "membership", "transfer"]
        fault = self.rng.choice(faults)
        self.trace.append(f"fault {fault}")
        self.stats[fault] += 1
        getattr(self, f"_fault_{fault}")()

    # --- messages ---------------------------------------------------------------------------

    def send(self, sender: Node, message: Message) -> None:
        data = None
        if message.kind is MessageKind.SNAPSHOT:
            assert message.snapshot is not None
            if sender.snapshot_data.applied_index != message.snapshot.index:
                # Compacted again since the core chose this snapshot: the driver cannot stream it.
                assert sender.core is not None
                sender.core.report_snapshot(message.to_id, success=False)
                return
            data = sender.snapshot_data.copy()
        copies = 2 if self.rng.random() < self.duplicate else 1
        for _ in range(copies):
            self.network.append(Envelope(message, data))
        if len(self.network) > network_messages_max:
            del self.network[0]

    def _deliver(self, envelope: Envelope, lossy: bool) -> None:
        m = envelope.message
        target = self.nodes.get(m.to_id)
        lost = lossy and self.rng.random() < self.loss
        if lost or (m.from_id, m.to_id) in self.cut or target is None or target.core is None:
            self._report_snapshot(m, success=False)
            return
        if envelope.snapshot_data is not None and m.snapshot is not None:
            target.received_snapshots[m.snapshot.index] = envelope.snapshot_data
        target.core.step(m)
        self._report_snapshot(m, success=True)

    def _report_snapshot(self, m: Message, success: bool) -> None:
        sender = self.nodes.get(m.from_id)
        if m.kind is MessageKind.SNAPSHOT and sender is not None and sender.core is not None:
            sender.core.report_snapshot(m.to_id, success)

    # --- Ready ------------------------------------------------------------------------------

    def handle_ready(self, node: Node) -> None:
        core = node.core
        assert core is not None
        ready = core.ready()
        self._persist(node, core, ready)
        if self.rng.random() < self.crash_after_persist:
            self.trace.append(f"crash {node.id} after persist")
            self.stats["crash after persist"] += 1
            self.crash(node)
            return
        for message in ready.messages:
            self.send(node, message)
        for entry in ready.committed_entries:
            self._apply(node, entry)
        for read in ready.read_states:
            self._check_read(node, read.request_id, read.index)
        core.advance(ready)

    def _persist(self, node: Node, core: RaftCore, ready: Ready) -> None:
        """Step 1: one atomic batch (snapshot data and meta together, entries, hard state)."""
        if ready.snapshot is not None:
            data = node.received_snapshots[ready.snapshot.index]
            node.storage.apply_snapshot(ready.snapshot)
            node.state_machine = data.copy()
            node.snapshot_data = data.copy()
            self.trace.append(f"{node.id} installs snapshot {ready.snapshot.index}")
            self.stats["snapshot installed"] += 1
        if ready.entries_to_persist:
            first = ready.entries_to_persist[0]
            prev_term = core.log_term(first.index - 1)
            self.checker.on_persist(node.id, ready.entries_to_persist, prev_term)
            node.storage.append(ready.entries_to_persist)
        if ready.hard_state is not None:
            node.storage.set_hard_state(ready.hard_state)

    def _apply(self, node: Node, entry: Entry) -> None:
        if entry.index <= node.state_machine.applied_index:
            return  # already in the state machine (restart after a snapshot install)
        self.checker.on_apply(node.id, entry)
        node.state_machine.apply(entry)
        if entry.kind is EntryKind.CONF_CHANGE:
            change = ConfChange.decode(entry.data)
            gone = self.nodes.get(change.node_id)
            if change.kind is ConfChangeKind.REMOVE and gone is not None and not gone.removed:
                self.trace.append(f"{change.node_id} removed (committed at {entry.index})")
                gone.removed = True
                self.stats["removal committed"] += 1
                gone.core = None
        waiting = self.waiting.pop((node.id, entry.index), None)
        if waiting is not None and waiting == (entry.data, entry.term):
            self.acked.setdefault(entry.data, entry.index)  # the client hears "committed"
            if entry.data in self.unacked:
                self.unacked.remove(entry.data)

    def _check_read(self, node: Node, read_id: bytes, index: int) -> None:
        floor = self.reads.get(read_id)
        assert floor is not None, f"unknown read {read_id!r}"
        if index < floor:
            raise SafetyViolation(f"linearizable read: {node.id} read {read_id!r} at {index}, "
                                  f"but index {floor} was acknowledged before the read started")
        self.reads_checked += 1

    # --- faults -----------------------------------------------------------------------------

    def crash(self, node: Node) -> None:
        node.core = None
        node.received_snapshots = {}

    def _members(self) -> list[str]:
        return [node_id for node_id, node in self.nodes.items() if not node.removed]

    def _fault_partition(self) -> None:
        members = self._members()
        self.rng.shuffle(members)
        split = self.rng.randrange(1, len(members))
        left, right = members[:split], members[split:]
        self.cut = {(a, b) for a in left for b in right} | {(b, a) for a in left for b in right}

    def _fault_asymmetric(self) -> None:
        victim = self.rng.choice(self._members())
        outbound = self.rng.random() < 0.5  # the victim can hear but not speak, or the reverse
        others = [other for other in self.nodes if other != victim]
        self.cut = {(victim, other) if outbound else (other, victim) for other in others}

    def _fault_heal(self) -> None:
        self.cut = set()

    def _fault_crash(self) -> None:
        live = self.live()
        if live:
            node = self.rng.choice(live)
            self.trace.append(f"crash {node.id}")
            self.crash(node)

    def _fault_restart(self) -> None:
        down = [node for node in self.nodes.values() if node.core is None and not node.removed]
        if down:
            node = self.rng.choice(down)
            self.trace.append(f"restart {node.id}")
            self._start(node.id)

    def _fault_compact(self) -> None:
        live = [node for node in self.live() if node.core is not None and not node.core.ready_outstanding]
        if not live:
            return
        node = self.rng.choice(live)
        index = node.state_machine.applied_index
        if index > node.storage.snapshot_meta().index:
            node.storage.compact(index)
            node.snapshot_data = node.state_machine.copy()
            self.trace.append(f"{node.id} compacts to {index}")
            self.stats["compacted"] += 1

    def _fault_membership(self) -> None:
        leader = self.leader()
        if leader is None:
            return
        removable = [v for v in leader.voters if v != leader.id]
        if len(leader.voters) > 3 or (len(leader.voters) == 3 and self.rng.random() < 0.3):
            change = ConfChange(ConfChangeKind.REMOVE, self.rng.choice(removable))
        elif len(leader.voters) < self.config.replicas + 1:
            change = ConfChange(ConfChangeKind.ADD, f"n{self.next_node}")
        else:
            return
        try:
            index = leader.propose_conf_change(change)
        except RaftError:
            return
        self.trace.append(f"{leader.id} proposes {change} at {index}")
        self.stats[f"proposed {change.kind.name}"] += 1
        if change.kind is ConfChangeKind.ADD:
            self.next_node += 1
            self.nodes[change.node_id] = Node(change.node_id)
            self._start(change.node_id)

    def _fault_transfer(self) -> None:
        leader = self.leader()
        if leader is not None and len(leader.voters) > 1:
            target = self.rng.choice([v for v in leader.voters if v != leader.id])
            leader.transfer_leadership(target)
            self.trace.append(f"{leader.id} transfers to {target}")

    # --- the end ----------------------------------------------------------------------------

    def finish(self) -> None:
        """Heal, restart members, run loss-free until quiet; check convergence and acks."""
        self.cut = set()
        self.loss = self.duplicate = self.crash_after_persist = 0.0
        for node in self.nodes.values():
            if node.core is None and not node.removed:
                self._start(node.id)
        for _ in range(settle_rounds_max):
            self._settle_round()
            if self._quiet():
                break
        else:
            raise AssertionError(f"cluster did not settle: {[core.status() for core in self.cores()]}")
        self._check_convergence()

    def _settle_round(self) -> None:
        for core in self.cores():
            core.tick()
        for _ in range(100):
            for node in self.live():
                if node.core is not None and node.core.has_ready():
                    self.handle_ready(node)
            if not self.network:
                break
            network, self.network = self.network, []
            for envelope in network:
                self._deliver(envelope, lossy=False)
        self.checker.on_step(self.cores())

    def _quiet(self) -> bool:
        leader = self.leader()
        if leader is None or leader.log.term(leader.log.committed) != leader.term:
            return False
        for voter in leader.voters:
            core = self.nodes[voter].core
            if core is None or core.log.applied != leader.log.last_index() or core.has_ready():
                return False
        return all(core.term == leader.term for core in self.cores() if core.id in leader.voters)

    def _check_convergence(self) -> None:
        leader = self.leader()
        assert leader is not None
        machines = {voter: self.nodes[voter].state_machine for voter in leader.voters}
        reference = machines[leader.id]
        for voter, machine in machines.items():
            assert machine.applied_index == reference.applied_index, (
                f"{voter} applied {machine.applied_index}, {leader.id} {reference.applied_index}")
            assert machine.applied_ids == reference.applied_ids, f"{voter} diverged from {leader.id}"
        counts = collections.Counter(reference.applied_ids)
        for command in self.acked:
            assert counts[command] == 1, f"acknowledged {command!r} applied {counts[command]} times"

    def report(self) -> str:
        return "\n".join(self.trace)


def default_config(seed: int, core_class: type[RaftCore] = RaftCore) -> SimConfig:
    """The configuration the seeded test runs: 3 replicas on even seeds, 5 on odd ones."""
    return SimConfig(seed=seed, replicas=3 if seed % 2 == 0 else 5, core_class=core_class)


def run_seed(config: SimConfig) -> Simulator:
    simulator = Simulator(config)
    try:
        simulator.run()
        simulator.finish()
    except AssertionError as error:  # SafetyViolation included: keep the type, add the trace
        raise type(error)(f"{error}\n--- last events ---\n{simulator.report()}") from error
    return simulator
