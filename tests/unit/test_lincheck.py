"""The linearizability checker: known-good and known-bad histories, and generated ones.

The generated histories come from a real linearizable execution: operations run one after the
other against a dict at strictly increasing linearization points, and each gets a random
call/return window around its point, so windows overlap as they would with concurrent clients.
The recorder's pure parts (outcome classification, seeded plans) are tested at the end.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tessera.history import OpMix, classify, plan
from tessera.lincheck import (
    CheckResult,
    Delete,
    Get,
    History,
    Input,
    List,
    Operation,
    Outcome,
    Output,
    Put,
    check,
    describe,
)

OK, FAILED, UNKNOWN = Outcome.OK, Outcome.FAILED, Outcome.UNKNOWN


def op(client: int, call: int, ret: int, operation: Input, output: Output = None, outcome: Outcome = OK) -> Operation:
    return Operation(client, call, ret, operation, output, outcome)


def rejected(history: list[Operation]) -> CheckResult:
    result = check(history)
    assert result.linearizable is False, result
    assert result.counterexample, "a rejection explains itself"
    return result


# --- accepted ------------------------------------------------------------------------------


def test_sequential_history_is_linearizable() -> None:
    history = [
        op(0, 0, 10, Put("a", "v1")),
        op(0, 20, 30, Get("a"), "v1"),
        op(1, 40, 50, List(""), ("a",)),
        op(1, 60, 70, Delete("a")),
        op(0, 80, 90, Get("a"), None),
        op(1, 100, 110, List(""), ()),
    ]
    result = check(History(tuple(history)))
    assert result == CheckResult(True, result.explored_states, None)
    assert result.explored_states >= len(history)


def test_empty_history_is_linearizable() -> None:
    assert check([]).linearizable is True


def test_overlapping_operations_with_a_valid_order_are_linearizable() -> None:
    history = [
        op(0, 0, 100, Put("a", "v1")),  # long write: readers may see before or after it
        op(1, 10, 20, Get("a"), None),
        op(2, 30, 40, Get("a"), "v1"),
        op(1, 50, 150, Get("a"), "v1"),
        op(3, 60, 70, Put("a", "v2")),  # concurrent with the read above, which linearizes first
        op(3, 80, 200, Put("a", "v3")),
        op(2, 160, 170, Get("a"), "v2"),
        op(0, 180, 190, List(""), ("a",)),
    ]
    assert check(history).linearizable is True


def test_touching_windows_count_as_concurrent() -> None:
    # The read's call and the write's return share a timestamp: either order is allowed.
    history = [op(0, 0, 10, Put("a", "v1")), op(1, 5, 10, Get("a"), None)]
    assert check(history).linearizable is True
    history = [op(0, 10, 20, Put("a", "v1")), op(1, 0, 10, Get("a"), "v1")]
    assert check(history).linearizable is True


def test_keys_are_checked_independently_and_lists_join_only_their_prefix() -> None:
    history = [
        op(0, 0, 10, Put("x/1", "v1")),
        op(1, 0, 10, Put("y/1", "w1")),
        op(0, 20, 30, List("x/"), ("x/1",)),
        op(1, 20, 30, Get("y/1"), "w1"),
    ]
    assert check(history).linearizable is True


# --- rejected ------------------------------------------------------------------------------


def test_stale_read_after_a_completed_write_is_rejected() -> None:
    history = [
        op(0, 0, 10, Put("a", "v1")),
        op(0, 20, 30, Put("a", "v2")),
        op(1, 40, 50, Get("a"), "v1"),
    ]
    rejected(history)


def test_read_your_write_violation_is_rejected() -> None:
    rejected([op(0, 0, 10, Put("a", "v1")), op(0, 20, 30, Get("a"), None)])


def test_readers_observing_writes_in_opposite_orders_are_rejected() -> None:
    history = [
        op(0, 0, 100, Put("a", "v1")),
        op(1, 0, 100, Put("a", "v2")),
        op(2, 10, 20, Get("a"), "v1"),
        op(2, 30, 40, Get("a"), "v2"),
        op(3, 10, 20, Get("a"), "v2"),
        op(3, 30, 40, Get("a"), "v1"),
    ]
    rejected(history)
    assert check(history[:5]).linearizable is True  # each reader alone is fine


def test_list_missing_a_key_written_before_it_started_is_rejected() -> None:
    rejected([op(0, 0, 10, Put("a", "v1")), op(1, 20, 30, List(""), ())])
    rejected([op(0, 0, 10, Put("p/a", "v1")), op(0, 0, 10, Put("p/b", "v1")), op(1, 20, 30, List("p/"), ("p/b",))])


def test_list_naming_a_deleted_or_foreign_key_is_rejected() -> None:
    rejected([op(0, 0, 10, Put("a", "v1")), op(0, 20, 30, Delete("a")), op(1, 40, 50, List(""), ("a",))])
    rejected([op(0, 0, 10, List("p/"), ("ghost",))])  # a key outside its prefix, never written
    rejected([op(0, 0, 10, Put("q/a", "v1")), op(0, 20, 30, List("p/"), ("q/a",))])


def test_get_of_a_value_never_written_is_rejected() -> None:
    result = rejected([op(0, 0, 10, Put("a", "v1")), op(1, 5, 30, Get("a"), "ghost")])
    assert any("'ghost'" in line for line in result.counterexample or [])


def test_counterexample_is_the_minimal_failing_prefix() -> None:
    history = [
        op(0, 0, 10, Put("a", "v1")),
        op(1, 20, 30, Get("a"), None),  # the violation: v1 was written before this read began
        op(0, 40, 50, Put("a", "v2")),
        op(1, 60, 70, Get("a"), "v2"),
        op(0, 80, 90, Put("b", "w1")),
    ]
    result = rejected(history)
    text = "\n".join(result.counterexample or [])
    assert "#1 client 1 Get('a') -> None ok" in result.counterexample[1]  # type: ignore[index]
    assert "#0 " in text
    assert "#2 " not in text and "#3 " not in text, text  # called after the failing return
    assert "'b'" not in text  # another partition


# --- unknown and failed outcomes -----------------------------------------------------------


def test_unknown_write_may_take_effect() -> None:
    history = [
        op(0, 0, 5, Put("a", "v1"), outcome=UNKNOWN),  # its recorded return means nothing
        op(1, 20, 30, Get("a"), None),
        op(1, 40, 50, Get("a"), "v1"),  # took effect late, long after the client gave up
        op(2, 60, 70, List(""), ("a",)),
    ]
    assert check(history).linearizable is True


def test_unknown_write_may_never_take_effect() -> None:
    history = [
        op(0, 0, 5, Put("a", "v1"), outcome=UNKNOWN),
        op(0, 10, 15, Delete("a"), outcome=UNKNOWN),
        op(1, 20, 30, Get("a"), None),
        op(1, 40, 50, List(""), ()),
    ]
    assert check(history).linearizable is True


def test_unknown_write_cannot_take_effect_before_its_call_or_twice() -> None:
    rejected([op(1, 0, 10, Get("a"), "v1"), op(0, 20, 25, Put("a", "v1"), outcome=UNKNOWN)])
    rejected([
        op(0, 0, 5, Put("a", "v1"), outcome=UNKNOWN),
        op(1, 10, 20, Get("a"), "v1"),
        op(1, 30, 40, Get("a"), None),  # nothing deleted it
        op(1, 50, 60, Get("a"), "v1"),
    ])


def test_failed_write_never_takes_effect() -> None:
    rejected([op(0, 0, 5, Put("a", "v1"), outcome=FAILED), op(1, 10, 20, Get("a"), "v1")])
    assert check([op(0, 0, 5, Put("a", "v1"), outcome=FAILED), op(1, 10, 20, Get("a"), None)]).linearizable


def test_reads_without_an_answer_constrain_nothing() -> None:
    history = [op(0, 0, 5, Get("a"), "junk", outcome=UNKNOWN), op(0, 0, 5, List(""), ("x",), outcome=FAILED)]
    assert check(history).linearizable is True


def test_operation_returning_before_its_call_is_refused() -> None:
    with pytest.raises(ValueError, match="returns before its call"):
        check([op(0, 10, 5, Get("a"), None)])


def test_describe_is_readable() -> None:
    line = describe(7, op(2, 1_500_000, 2_000_000, Put("a", "v"), outcome=UNKNOWN), origin_ns=500_000)
    assert line == "#7 client 2 Put('a', 'v') unknown [+1.000, ?] ms"


# --- the state bound -----------------------------------------------------------------------


def test_state_bound_answers_unknown_rather_than_guessing() -> None:
    writes = [op(i, 0, 100, Put("a", f"v{i}")) for i in range(12)]
    history = [*writes, op(99, 200, 210, Get("a"), "ghost")]  # every order of writes must be tried
    bounded = check(history, states_max=100)
    assert bounded.linearizable is None
    assert bounded.counterexample is None
    assert bounded.explored_states > 100
    full = check(history)
    assert full.linearizable is False
    assert full.explored_states > 1000  # the memo holds it to subsets x last value, not 12!


# --- generated histories -------------------------------------------------------------------


@st.composite
def linearizable_histories(draw: st.DrawFn) -> list[Operation]:
    """A true linearizable execution with random windows around its linearization points."""
    keys = draw(st.lists(st.sampled_from(["a", "b", "p/c"]), min_size=1, max_size=3, unique=True))
    kinds = ["put", "get", "delete"] + (["list"] if draw(st.booleans()) else [])
    state: dict[str, str] = {}
    history = []
    for i in range(draw(st.integers(1, 24))):
        point = 10 * i + 50  # strictly increasing linearization points
        call, ret = point - draw(st.integers(0, 45)), point + draw(st.integers(0, 45))
        key, kind = draw(st.sampled_from(keys)), draw(st.sampled_from(kinds))
        # unknown writes: applied or not; failed writes: never applied
        outcome = draw(st.sampled_from([OK, OK, OK, UNKNOWN, FAILED])) if kind in ("put", "delete") else OK
        applied = outcome is OK or (outcome is UNKNOWN and draw(st.booleans()))
        if kind == "put":
            value = f"c{i % 4}-{i}"
            if applied:
                state[key] = value
            history.append(op(i % 4, call, ret, Put(key, value), outcome=outcome))
        elif kind == "delete":
            if applied:
                state.pop(key, None)
            history.append(op(i % 4, call, ret, Delete(key), outcome=outcome))
        elif kind == "get":
            history.append(op(i % 4, call, ret, Get(key), state.get(key)))
        else:
            prefix = draw(st.sampled_from(["", "p/"]))
            history.append(op(i % 4, call, ret, List(prefix), tuple(sorted(k for k in state if k.startswith(prefix)))))
    return history


@settings(max_examples=150, deadline=None)
@given(linearizable_histories())
def test_generated_linearizable_histories_are_accepted(history: list[Operation]) -> None:
    result = check(history)
    assert result.linearizable is True, "\n".join(describe(i, o) for i, o in enumerate(history))


@settings(max_examples=150, deadline=None)
@given(linearizable_histories(), st.data())
def test_a_read_no_write_explains_is_rejected(history: list[Operation], data: st.DataObject) -> None:
    reads = [i for i, o in enumerate(history) if isinstance(o.input, Get | List)]
    assume(reads)
    index = data.draw(st.sampled_from(reads))
    read = history[index]
    if isinstance(read.input, Get):
        mutated = replace(read, output="never-written")
    else:
        assert isinstance(read.input, List)
        listed = read.output if isinstance(read.output, tuple) else ()
        mutated = replace(read, output=tuple(sorted({*listed, f"{read.input.prefix}never-written"})))
    history[index] = mutated
    result = check(history)
    assert result.linearizable is False
    assert any(f"#{index} " in line for line in result.counterexample or [])


# --- the recorder's pure parts (tessera.history) -------------------------------------------


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {
        "HTTPStatusCode": status, "HTTPHeaders": {}, "HostId": "", "RequestId": "", "RetryAttempts": 0}}, "Op")


@pytest.mark.parametrize(("operation", "error", "expected"), [
    (Get("k"), client_error("NoSuchKey", 404), (None, OK, "")),
    (Put("k", "v"), client_error("SlowDown", 503), (None, UNKNOWN, "503 SlowDown")),  # may follow the commit
    (Put("k", "v"), client_error("InternalError", 500), (None, UNKNOWN, "500 InternalError")),
    (Put("k", "v"), client_error("AccessDenied", 403), (None, FAILED, "403 AccessDenied")),
    (Delete("k"), client_error("NoSuchBucket", 404), (None, FAILED, "404 NoSuchBucket")),
    (Get("k"), client_error("AccessDenied", 403), (None, UNKNOWN, "403 AccessDenied")),
])
def test_s3_errors_are_unknown_unless_they_prove_no_effect(
        operation: Input, error: Exception, expected: tuple[Output, Outcome, str]) -> None:
    assert classify(operation, error) == expected


def test_transport_errors_are_unknown() -> None:
    output, outcome, note = classify(Put("k", "v"), ReadTimeoutError(endpoint_url="http://127.0.0.1:1"))
    assert (output, outcome) == (None, UNKNOWN)
    assert note.startswith("ReadTimeoutError")


def test_plans_are_fixed_by_the_seed_and_write_unique_values() -> None:
    keys = ["lin/a", "lin/b"]
    first = [plan(client, keys, 40, seed=3, op_mix=OpMix()) for client in range(3)]
    assert first == [plan(client, keys, 40, seed=3, op_mix=OpMix()) for client in range(3)]
    assert first != [plan(client, keys, 40, seed=4, op_mix=OpMix()) for client in range(3)]
    values = [operation.value for operations in first for operation in operations if isinstance(operation, Put)]
    assert values and len(values) == len(set(values))
    lists = [operation for operations in first for operation in operations if isinstance(operation, List)]
    assert lists and all(operation.prefix == "lin/" for operation in lists)
    only_gets = plan(0, keys, 20, seed=3, op_mix=OpMix(put=0, get=1, delete=0, list=0))
    assert all(isinstance(operation, Get) for operation in only_gets)
