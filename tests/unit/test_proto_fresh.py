"""The committed gRPC stubs must be exactly what the .proto files generate.

A .proto edit without `python -m proto.generate` would leave the wire contract and the code
that speaks it out of step; this catches it in `make test` as well as in `make lint`.
"""

from __future__ import annotations

from proto import generate


def test_committed_stubs_match_the_proto_files() -> None:
    stale = generate.stale_files()
    assert stale == [], f"stale generated stubs {stale}: run `python -m proto.generate` and commit the result"
