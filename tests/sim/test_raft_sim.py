"""Seeded simulation of Raft clusters (see simulator.py), and proof that its checker bites.

`TESSERA_SIM_SEEDS=N` runs seeds 0..N-1 (default 200, ~35 s here); `TESSERA_SIM_SEED=S`
runs only seed S, which is how a failure is replayed.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from metadata.raft.core import RaftCore, Role
from metadata.raft.messages import Message
from tests.sim.checker import SafetyViolation
from tests.sim.simulator import default_config, run_seed

seeds_default = 200  # seeds per run; keeps the suite under ~60 s on a 2-core machine
_only = os.environ.get("TESSERA_SIM_SEED")
SEEDS = [int(_only)] if _only else list(range(int(os.environ.get("TESSERA_SIM_SEEDS", seeds_default))))


@pytest.mark.parametrize("seed", SEEDS)
def test_simulated_cluster(seed: int) -> None:
    try:
        simulator = run_seed(default_config(seed))
    except AssertionError as error:
        replay = f"TESSERA_SIM_SEED={seed} .venv/bin/pytest tests/sim -k test_simulated_cluster"
        pytest.fail(f"seed {seed} failed; replay it with\n  {replay}\n{error}")
    assert simulator.acked, "no command was acknowledged: the run proves nothing"
    assert len(simulator.checker.leaders) >= 1


class OldTermCommit(RaftCore):
    """Bug: commits whatever a quorum holds, ignoring §5.4.2, and appends no NOOP (Figure 8)."""

    def _maybe_commit(self) -> bool:
        matches = sorted((self.progress[voter].match for voter in self.voters), reverse=True)
        index = matches[self._quorum() - 1]
        if index <= self.log.committed:
            return False
        self.log.commit_to(index)
        return True

    def _become_leader(self) -> None:
        self._reset(self.term)
        self.lead = self.id
        self.role = Role.LEADER
        self.progress[self.id].become_replicate()
        self._broadcast_append()


class VoteIgnoresLog(RaftCore):
    """Bug: grants votes without the election restriction (§5.4.1)."""

    def _on_vote_request(self, m: Message) -> None:
        super()._on_vote_request(dataclasses.replace(m, index=1 << 40, log_term=1 << 40))


@pytest.mark.parametrize("core_class", [OldTermCommit, VoteIgnoresLog])
def test_checker_catches_injected_bug(core_class: type[RaftCore]) -> None:
    for seed in range(10):
        try:
            run_seed(default_config(seed, core_class))
        except SafetyViolation as violation:
            assert "leader completeness" in str(violation) or "state machine safety" in str(violation)
            return
        except AssertionError:
            continue  # e.g. no progress without a NOOP: not the safety net under test
    pytest.fail(f"{core_class.__name__}: no seed in 0..9 caught the bug")
