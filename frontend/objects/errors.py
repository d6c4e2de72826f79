"""Errors of the object layer (striping and quorum)."""

from __future__ import annotations

from frontend.clients.errors import BackendError


class WriteQuorumError(BackendError):
    """Fewer than the write quorum of chunks became durable: nothing was committed."""

    def __init__(self, durable: int, quorum: int) -> None:
        super().__init__(f"only {durable} chunks durable, quorum is {quorum}")
        self.durable = durable
        self.quorum = quorum


class ReadQuorumError(BackendError):
    """Fewer than k chunks of a stripe could be read: the data cannot be rebuilt now."""


class EntityTooLarge(BackendError):
    """The body is longer than the operation allows."""
