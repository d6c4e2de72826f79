"""gRPC options shared by every role: message size bounds and keepalive.

Pieces of a 16 MiB segment split k>=1 ways must fit one message, so the bound is
the largest segment plus headroom for the fragment header and protobuf framing.
"""

from __future__ import annotations

from typing import Final

message_bytes_max: Final = 20 * 1024 * 1024  # > codec.segment_size_max + framing

CHANNEL_OPTIONS: Final[list[tuple[str, int]]] = [
    ("grpc.max_send_message_length", message_bytes_max),
    ("grpc.max_receive_message_length", message_bytes_max),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    # Reconnect quickly to a restarted node instead of waiting out the default backoff.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]


def error_name(details: str | None) -> str:
    """The typed error name a service put in front of its status details.

    >>> error_name("NoSuchKey: no such key 'a'")
    'NoSuchKey'
    """
    if not details:
        return ""
    return details.split(":", 1)[0].strip()
