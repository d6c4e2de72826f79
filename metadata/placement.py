"""Datanode health states and stripe placement. Reads only: clocks and randomness allowed here.

Theory of operation
-------------------
A node's state is derived on every read from the age of its last heartbeat (stamped by the
proposer of the Heartbeat command) against the reader's clock: younger than suspect_after
is `up`, younger than down_after is `suspect`, older is `down`. Nothing is stored, so a
replica that restarts or becomes leader needs no state transition to catch up on.

`choose_placement` picks `count` distinct datanodes for the k+m chunks of a new stripe set
under one hard rule: at most `zone_chunks_max` (= m) chunks in any zone, so losing a whole
zone loses at most m chunks and every stripe stays readable. Within that rule it prefers
healthy nodes: it fills round-robin over zones from the `up` nodes first, then `suspect`,
then `down` or full nodes (the frontend records chunks it cannot write as missing, and
repair fills them later). The zone order starts at a random zone and nodes within a zone are
shuffled, spreading load. Nodes come back in chunk-index order, so the data chunks (the
low indices, read on every healthy GET) land on the healthiest nodes.

Worked example: zones a, b, c with two up nodes each, count 6, m 2: each zone gets 2 chunks.
With zone c down, count 6, m 2: indices 0-3 go to a and b, 4-5 to c's (down) nodes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence

from metadata import limits
from metadata.errors import InsufficientNodes, InvalidArgument
from proto import metadata_pb2

states = ("up", "suspect", "down")


def node_state(last_heartbeat_ns: int, now_ns: int, suspect_after_ns: int, down_after_ns: int) -> str:
    """`up`, `suspect` or `down` from the heartbeat age, e.g. (0, 5e9, 3e9, 10e9) -> "suspect"."""
    age_ns = now_ns - last_heartbeat_ns
    if age_ns < suspect_after_ns:
        return "up"
    if age_ns < down_after_ns:
        return "suspect"
    return "down"


def with_states(
    nodes: Iterable[metadata_pb2.Node], now_ns: int, suspect_after_ns: int, down_after_ns: int
) -> list[metadata_pb2.Node]:
    """Copies of `nodes` with `state` filled in."""
    result = []
    for node in nodes:
        copy = metadata_pb2.Node()
        copy.CopyFrom(node)
        copy.state = node_state(node.last_heartbeat_ns, now_ns, suspect_after_ns, down_after_ns)
        if node.mode == "removed" or (node.mode == "draining" and copy.state == "up"):
            copy.state = node.mode  # readable while draining, but no new chunks go there
        result.append(copy)
    return result


def choose_placement(
    nodes: Sequence[metadata_pb2.Node], count: int, zone_chunks_max: int, rng: random.Random
) -> list[metadata_pb2.Node]:
    """`count` distinct nodes (with `state` filled), at most `zone_chunks_max` per zone."""
    if not 1 <= count <= limits.placement_count_max:
        raise InvalidArgument(f"placement count must be within 1..{limits.placement_count_max}")
    assert zone_chunks_max >= 1
    nodes = [n for n in nodes if n.state not in ("draining", "removed")]  # operator took them out
    if len(nodes) < count:
        raise InsufficientNodes(f"a stripe of {count} chunks needs {count} datanodes, {len(nodes)} registered")
    zones: dict[str, list[metadata_pb2.Node]] = defaultdict(list)
    for node in nodes:
        zones[node.zone].append(node)
    room = sum(min(len(members), zone_chunks_max) for members in zones.values())
    if room < count:
        layout = ", ".join(f"{zone!r}: {len(members)}" for zone, members in sorted(zones.items()))
        raise InsufficientNodes(
            f"a stripe of {count} chunks with at most {zone_chunks_max} per zone does not fit "
            f"the registered datanodes per zone {{{layout}}}"
        )
    zone_order = sorted(zones)
    start = rng.randrange(len(zone_order))
    zone_order = zone_order[start:] + zone_order[:start]
    chosen: list[metadata_pb2.Node] = []
    taken: dict[str, int] = defaultdict(int)
    for tier in range(3):
        candidates = {zone: _shuffled([n for n in zones[zone] if _tier(n) == tier], rng) for zone in zone_order}
        _round_robin(candidates, zone_order, taken, zone_chunks_max, count, chosen)
    assert len(chosen) == count, "room check guarantees a full placement"
    assert len({node.node_id for node in chosen}) == count
    healthy = [node for node in nodes if _tier(node) == 0]
    if any(_tier(node) != 0 for node in chosen) and len(healthy) >= count:
        # A zone is down (or full): rather than write chunks that are sure to fail, spread over
        # the healthy nodes with more than m in a zone. The stripe keeps full redundancy now and
        # repair moves chunks back once the zone returns (it reports such stripes zone-unsafe).
        relaxed: list[metadata_pb2.Node] = []
        spare: dict[str, int] = defaultdict(int)
        by_zone = {zone: _shuffled([n for n in zones[zone] if _tier(n) == 0], rng) for zone in zone_order}
        _round_robin(by_zone, zone_order, spare, count, count, relaxed)
        assert len(relaxed) == count
        return relaxed
    return chosen


def _round_robin(
    candidates: dict[str, list[metadata_pb2.Node]],
    zone_order: list[str],
    taken: dict[str, int],
    zone_chunks_max: int,
    count: int,
    chosen: list[metadata_pb2.Node],
) -> None:
    """Take one node per zone per round until `count` are chosen or no zone can give more."""
    for _ in range(limits.placement_count_max):  # each productive round adds >= 1 node
        progressed = False
        for zone in zone_order:
            if len(chosen) == count:
                return
            if taken[zone] < zone_chunks_max and candidates[zone]:
                chosen.append(candidates[zone].pop())
                taken[zone] += 1
                progressed = True
        if not progressed:
            return


def _tier(node: metadata_pb2.Node) -> int:
    """0 for up nodes with space, 1 for suspect, 2 for down or full nodes."""
    full = node.capacity_bytes > 0 and node.used_bytes >= node.capacity_bytes
    return 2 if full else states.index(node.state) if node.state in states else 2


def _shuffled(nodes: list[metadata_pb2.Node], rng: random.Random) -> list[metadata_pb2.Node]:
    rng.shuffle(nodes)
    return nodes
