"""A linearizability checker for histories of S3 operations on a few keys of one bucket.

Theory of operation: a history is a set of operations, each with the client's call and return
times (`time.monotonic_ns`, one clock for every client), an input, an output and an outcome.
The history is linearizable when one total order of the operations exists that (a) respects
real time: an operation that returned before another was called comes first, and (b) replays
through the sequential model (a dict from key to value, empty at the start) giving every
operation the output the store returned.

The search is Wing and Gong's, with Lowe's memoization as Porcupine uses it:

* The call and return events are kept in time order in a doubly linked list; at equal times a
  call sorts before a return, so touching operations count as concurrent (the permissive
  choice: it never invents a violation).
* Walking from the head, each call met is a candidate to linearize next. If the model accepts
  its output, it is "lifted" out of the list (call and return), pushed on a stack with the
  previous state, and the walk restarts from the head. Meeting a return means that operation
  cannot be postponed any further: backtrack by popping the last lifted operation and trying
  the call after it instead.
* (bitmask of linearized operations, model state) pairs already explored are never explored
  again: two paths that reach the same pair have the same future. The number of pairs is the
  measure of work; past `explored_states_max` the answer is "unknown" (None), never a guess.

Outcomes: `ok` operations must take effect between call and return. `failed` ones provably
took no effect and are dropped. `unknown` ones (timeouts, 5xx, dropped connections) may take
effect at any point after their call or never: their return is moved to +infinity, and the
search succeeds once every definite operation is placed, because a write left unplaced is a
write that never happened. A read with an unknown outcome carries no output and is dropped.

P-compositionality: Put/Get/Delete touch one key, so keys are checked independently. A List
touches every key under its prefix, so keys joined by some List are checked together (with
several Lists over the whole key set, that is one partition: keep those histories small).

When a partition is not linearizable, the explanation is the minimal failing prefix: the
earliest return time T such that what was known at T (operations returned by T; writes still
in flight at T as unknown; reads in flight dropped) already admits no linearization. Knowledge
only grows with T, so a binary search over return times finds it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

# states (distinct (linearized set, model state) pairs) per search. Each memo entry holds a
# bitmask of a few hundred bits and a tuple of a few values (~200 bytes): 200k entries keep a
# check under ~50 MB and a few seconds of CPython; beyond that the answer is `unknown`.
explored_states_max: Final = 200_000
# lines of operations listed in a counterexample; a minimal failing prefix of a long history can
# still hold hundreds of operations, and the most recent ones are the ones that matter.
counterexample_operations_max: Final = 60


class Outcome(enum.Enum):
    OK = "ok"  # took effect between call and return, output as recorded
    FAILED = "failed"  # provably took no effect (rejected before anything was committed)
    UNKNOWN = "unknown"  # may have taken effect at any time after its call, or never


@dataclass(frozen=True, slots=True)
class Put:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Get:
    key: str


@dataclass(frozen=True, slots=True)
class Delete:
    key: str


@dataclass(frozen=True, slots=True)
class List:
    prefix: str


Input = Put | Get | Delete | List
# Get: the value or None when absent; List: the keys returned, in the order returned; Put and
# Delete: None.
Output = str | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Operation:
    client_id: int
    call_ns: int
    return_ns: int  # as recorded; ignored (+infinity) when the outcome is unknown
    input: Input
    output: Output
    outcome: Outcome
    note: str = ""  # why the outcome is not ok (error code, exception), for explanations


@dataclass(frozen=True, slots=True)
class History:
    operations: tuple[Operation, ...]
    keys: tuple[str, ...] = ()  # the keys the recorder used, for reports; the checker does not need them
    bucket: str = ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    linearizable: bool | None  # None: the state bound was reached before an answer
    explored_states: int
    counterexample: list[str] | None = field(default=None)


# --- the model ---------------------------------------------------------------------------

State = tuple[str | None, ...]  # value per key of the partition, keys in sorted order
Numbered = tuple[int, Operation]  # an operation and its position in the caller's history
Partition = tuple[tuple[str, ...], list[Numbered]]  # sorted key names and their operations


@dataclass(frozen=True, slots=True)
class _Step:
    """One operation compiled against a partition's key order."""

    index: int  # position in the caller's history, for explanations
    operation: Operation
    key_index: int  # Put/Get/Delete; -1 for List
    touched: tuple[int, ...]  # List: indexes of the keys under its prefix, in key order


def _apply(step: _Step, state: State, names: tuple[str, ...]) -> State | None:
    """The state after `step`, or None when the model could not have produced its output."""
    operation = step.operation
    match operation.input:
        case Put(value=value):
            return state[: step.key_index] + (value,) + state[step.key_index + 1:]
        case Delete():
            return state[: step.key_index] + (None,) + state[step.key_index + 1:]
        case Get():
            return state if state[step.key_index] == operation.output else None
        case List():
            listed = tuple(names[i] for i in step.touched if state[i] is not None)
            return state if listed == operation.output else None


def _keys_of(operation: Operation, universe: Sequence[str]) -> list[str]:
    """The keys an operation reads or writes: a List, every key of `universe` under its prefix,
    and any key it returned (so a List naming a key outside its prefix is checked, and fails)."""
    if isinstance(operation.input, List):
        listed = operation.output if isinstance(operation.output, tuple) else ()
        return [key for key in universe if key.startswith(operation.input.prefix) or key in listed]
    return [operation.input.key]


# --- partitions ----------------------------------------------------------------------------


def _considered(operations: Iterable[Operation]) -> list[Numbered]:
    """Operations that constrain the search: failed ones and reads without an answer go."""
    kept = []
    for index, operation in enumerate(operations):
        if operation.outcome is Outcome.FAILED:
            continue
        if operation.outcome is Outcome.UNKNOWN and isinstance(operation.input, Get | List):
            continue
        if operation.outcome is Outcome.OK and operation.return_ns < operation.call_ns:
            raise ValueError(f"operation #{index} returns before its call: {operation}")
        kept.append((index, operation))
    return kept


def _universe(operations: Sequence[Numbered]) -> list[str]:
    keys = {op.input.key for _, op in operations if not isinstance(op.input, List)}
    for _, operation in operations:
        if isinstance(operation.output, tuple):
            keys.update(operation.output)  # a listed key nobody wrote still needs a slot
    return sorted(keys)


def _partitions(operations: Sequence[Numbered]) -> list[Partition]:
    """Groups of keys joined by Lists, each with its operations (P-compositionality)."""
    universe = _universe(operations)
    parent = {key: key for key in universe}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for _, operation in operations:
        if isinstance(operation.input, List):
            keys = _keys_of(operation, universe)
            for other in keys[1:]:
                parent[root(other)] = root(keys[0])
    groups: dict[str, list[Numbered]] = {}
    for index, operation in operations:
        keys = _keys_of(operation, universe)
        if keys:  # a List over no key that returned (): nothing to check
            groups.setdefault(root(keys[0]), []).append((index, operation))
    return [(tuple(sorted(key for key in universe if root(key) == group)), members)
            for group, members in groups.items()]


def _compile(names: tuple[str, ...], members: Sequence[Numbered]) -> list[_Step]:
    position = {name: i for i, name in enumerate(names)}
    steps = []
    for index, operation in members:
        if isinstance(operation.input, List):
            touched = tuple(i for i, name in enumerate(names) if name.startswith(operation.input.prefix))
            steps.append(_Step(index, operation, -1, touched))
        else:
            steps.append(_Step(index, operation, position[operation.input.key], ()))
    return steps


# --- the search ----------------------------------------------------------------------------


class _Events:
    """Call and return events in time order, as a circular doubly linked list with a sentinel.

    Lifting an operation unlinks its two events; unlifting relinks them in reverse order, which
    restores the list exactly (dancing links), so backtracking costs O(1).
    """

    def __init__(self, steps: Sequence[_Step]) -> None:
        order = []
        for i, step in enumerate(steps):
            unknown = step.operation.outcome is Outcome.UNKNOWN
            order.append((0, step.operation.call_ns, 0, i))
            order.append((1 if unknown else 0, 0 if unknown else step.operation.return_ns, 1, i))
        order.sort()
        self.head = len(order)
        self.is_return = [kind == 1 for _, _, kind, _ in order]
        self.is_unknown_return = [late == 1 for late, _, _, _ in order]
        self.step_of = [i for _, _, _, i in order]
        self.return_of = [0] * len(order)
        returns = {(i, kind): event for event, (_, _, kind, i) in enumerate(order)}
        for event, (_, _, kind, i) in enumerate(order):
            if kind == 0:
                self.return_of[event] = returns[(i, 1)]
        self.next = [*range(1, len(order) + 1), 0]
        self.previous = [len(order), *range(len(order))]

    def _unlink(self, event: int) -> None:
        self.next[self.previous[event]] = self.next[event]
        self.previous[self.next[event]] = self.previous[event]

    def _relink(self, event: int) -> None:
        self.next[self.previous[event]] = event
        self.previous[self.next[event]] = event

    def lift(self, call: int) -> None:
        self._unlink(call)
        self._unlink(self.return_of[call])

    def unlift(self, call: int) -> None:
        self._relink(self.return_of[call])
        self._relink(call)


@dataclass(frozen=True, slots=True)
class _SearchResult:
    linearizable: bool | None
    explored_states: int
    longest: tuple[int, ...]  # step positions of the linearization placing most ok operations
    state: State  # the model state after `longest`


def _search(steps: Sequence[_Step], names: tuple[str, ...], states_max: int) -> _SearchResult:
    events = _Events(steps)
    state: State = (None,) * len(names)
    linearized = 0
    stack: list[tuple[int, State]] = []  # (lifted call event, state before it)
    seen: set[tuple[int, State]] = set()
    longest: tuple[int, ...] = ()
    longest_state, placed, placed_max = state, 0, 0
    definite = [step.operation.outcome is Outcome.OK for step in steps]
    event = events.next[events.head]
    while True:
        if event == events.head or events.is_unknown_return[event]:
            order = tuple(events.step_of[call] for call, _ in stack)
            return _SearchResult(True, len(seen), order, state)
        if events.is_return[event]:  # this operation cannot wait any longer: backtrack
            if not stack:
                return _SearchResult(False, len(seen), longest, longest_state)
            call, state = stack.pop()
            linearized &= ~(1 << events.step_of[call])
            placed -= definite[events.step_of[call]]
            events.unlift(call)
            event = events.next[call]
            continue
        step = steps[events.step_of[event]]
        after = _apply(step, state, names)
        bit = 1 << events.step_of[event]
        if after is not None and (linearized | bit, after) not in seen:
            seen.add((linearized | bit, after))
            if len(seen) > states_max:
                return _SearchResult(None, len(seen), longest, longest_state)
            stack.append((event, state))
            state, linearized = after, linearized | bit
            placed += definite[events.step_of[event]]
            events.lift(event)
            if placed > placed_max:
                placed_max, longest_state = placed, state
                longest = tuple(events.step_of[call] for call, _ in stack)
            event = events.next[events.head]
        else:
            event = events.next[event]


# --- minimal failing prefix and its explanation --------------------------------------------


def _known_at(members: Sequence[Numbered], time_ns: int) -> list[Numbered]:
    """What the clients knew at `time_ns`: returned operations as they are, writes in flight as
    unknown, reads in flight and everything called later left out."""
    known = []
    for index, operation in members:
        if operation.call_ns > time_ns:
            continue
        if operation.outcome is Outcome.OK and operation.return_ns <= time_ns:
            known.append((index, operation))
        elif not isinstance(operation.input, Get | List):
            known.append((index, replace(operation, outcome=Outcome.UNKNOWN)))
    return known


def _minimal_failing_time(names: tuple[str, ...], members: Sequence[Numbered], states_max: int) -> int:
    times = sorted({op.return_ns for _, op in members if op.outcome is Outcome.OK})
    assert times, "only ok operations constrain a search: a partition without one cannot fail"
    low, high = 0, len(times) - 1  # times[high] is known to fail: it is the whole history
    while low < high:
        middle = (low + high) // 2
        verdict = _search(_compile(names, _known_at(members, times[middle])), names, states_max).linearizable
        if verdict is False:
            high = middle
        else:  # linearizable, or too costly to tell: look later (the answer stays a failing prefix)
            low = middle + 1
    return times[high]


def describe(index: int, operation: Operation, origin_ns: int = 0) -> str:
    """One line for an operation, times in ms relative to `origin_ns`.

    >>> describe(3, Operation(1, 2_000_000, 2_500_000, Get("k"), "c0-1", Outcome.OK))
    "#3 client 1 Get('k') -> 'c0-1' ok [+2.000, +2.500] ms"
    """
    match operation.input:
        case Put(key=key, value=value):
            text = f"Put({key!r}, {value!r})"
        case Get(key=key):
            text = f"Get({key!r}) -> {operation.output!r}"
        case Delete(key=key):
            text = f"Delete({key!r})"
        case List(prefix=prefix):
            text = f"List({prefix!r}) -> {operation.output!r}"
    call_ms = (operation.call_ns - origin_ns) / 1e6
    if operation.outcome is Outcome.UNKNOWN:
        window = f"[+{call_ms:.3f}, ?] ms"
    else:
        window = f"[+{call_ms:.3f}, +{(operation.return_ns - origin_ns) / 1e6:.3f}] ms"
    note = f" ({operation.note})" if operation.note else ""
    return f"#{index} client {operation.client_id} {text} {operation.outcome.value}{note} {window}"


def _explain(names: tuple[str, ...], members: Sequence[Numbered], origin_ns: int,
             states_max: int) -> list[str]:
    failing_ns = _minimal_failing_time(names, members, states_max)
    known = _known_at(members, failing_ns)
    steps = _compile(names, known)
    found = _search(steps, names, states_max)
    culprits = [describe(i, op, origin_ns) for i, op in known
                if op.outcome is Outcome.OK and op.return_ns == failing_ns]
    lines = [f"not linearizable: keys {list(names)} admit no order once these returned "
             f"(+{(failing_ns - origin_ns) / 1e6:.3f} ms):", *(f"  {line}" for line in culprits)]
    shown = sorted(known, key=lambda entry: entry[1].call_ns)
    lines.append(f"what was known then ({len(shown)} operations, by call time; in flight = unknown):")
    if len(shown) > counterexample_operations_max:
        lines.append(f"  ... {len(shown) - counterexample_operations_max} earlier operations left out")
        shown = shown[-counterexample_operations_max:]
    lines += [f"  {describe(i, op, origin_ns)}" for i, op in shown]
    definite = sum(1 for _, op in known if op.outcome is Outcome.OK)
    placed = sum(1 for position in found.longest if steps[position].operation.outcome is Outcome.OK)
    order = ", ".join(f"#{steps[position].index}" for position in found.longest)
    lines.append(f"best valid order found places {placed} of the {definite} ok operations: {order or '-'}")
    lines.append(f"model state after it: {dict(zip(names, found.state, strict=True))}")
    return lines


# --- the entry point -----------------------------------------------------------------------


def check(history: History | Sequence[Operation], states_max: int = explored_states_max) -> CheckResult:
    """Whether `history` is linearizable against a key-value store that starts empty.

    `states_max` bounds the search of each partition; when it is reached the answer is None.
    """
    operations = history.operations if isinstance(history, History) else tuple(history)
    considered = _considered(operations)
    origin_ns = min((op.call_ns for op in operations), default=0)
    explored, unknown = 0, False
    for names, members in _partitions(considered):
        found = _search(_compile(names, members), names, states_max)
        explored += found.explored_states
        if found.linearizable is False:
            return CheckResult(False, explored, _explain(names, members, origin_ns, states_max))
        unknown = unknown or found.linearizable is None
    return CheckResult(None if unknown else True, explored, None)
