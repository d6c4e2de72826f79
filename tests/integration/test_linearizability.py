"""Linearizability of PUT / GET / DELETE / LIST through the frontend, checked by tessera.lincheck.

This is the no-fault baseline: six concurrent clients on three keys of one bucket, no node
killed. The Raft work adds leader kills and pauses through `record(..., chaos=...)`.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from tessera.cluster import LocalCluster
from tessera.history import OpMix, record
from tessera.lincheck import Get, List, Outcome, Put, check

pytestmark = pytest.mark.integration

CLIENTS = 6
OPERATIONS_PER_CLIENT = 50  # 300 operations: seconds to record, milliseconds to check
KEYS = ("lin/a", "lin/b", "lin/c")


def test_concurrent_history_without_faults_is_linearizable(cluster: LocalCluster, bucket: str) -> None:
    history = record(cluster.endpoint, cluster.credentials, bucket, KEYS, CLIENTS, OPERATIONS_PER_CLIENT,
                     seed=7, op_mix=OpMix(put=0.4, get=0.35, delete=0.1, list=0.15),
                     region=cluster.options.region)
    operations = history.operations
    assert len(operations) == CLIENTS * OPERATIONS_PER_CLIENT
    # Without faults every request succeeds, so the history pins down every linearization point.
    assert [op for op in operations if op.outcome is not Outcome.OK] == []
    assert {op.client_id for op in operations} == set(range(CLIENTS))
    overlapping = sum(later.call_ns < earlier.return_ns for earlier, later in pairwise(operations))
    assert overlapping > len(operations) // 4, "the clients ran concurrently"
    # The history exercises what the checker needs: reads that saw writes, and non-empty listings.
    assert any(isinstance(op.input, Get) and op.output is not None for op in operations)
    assert any(isinstance(op.input, List) and op.output for op in operations)
    assert len({op.input.value for op in operations if isinstance(op.input, Put)}) == sum(
        isinstance(op.input, Put) for op in operations)

    result = check(history)
    assert result.linearizable is True, "\n".join(result.counterexample or ["state bound reached"])
    assert result.explored_states >= len(operations)
