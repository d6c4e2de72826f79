"""The one place that decides whether enough chunks are durable."""

from __future__ import annotations

from collections.abc import Sequence

from frontend.objects.errors import WriteQuorumError


def write_quorum(k: int, m: int, configured: int) -> int:
    """Chunks that must be durable before a version may commit: k+1 by default.

    >>> write_quorum(4, 2, 0)
    5
    >>> write_quorum(4, 2, 6)
    6
    """
    quorum = configured or k + 1
    return max(k, min(quorum, k + m))


def reduce_write_quorum(durable: Sequence[bool], quorum: int) -> None:
    """Raise WriteQuorumError unless at least `quorum` chunks are durable."""
    count = sum(durable)
    if count < quorum:
        raise WriteQuorumError(count, quorum)
