"""Erasure codec: one segment of object data <-> k data + m parity pieces.

Theory of operation: a stripe is one segment (up to `segment_size` bytes) cut
into k equal data fragments plus m parity fragments by pyeclib's
`isa_l_rs_cauchy` backend (Reed-Solomon over GF(2^8), polynomial 0x11d, Cauchy
generator matrix). The code is systematic, so the data fragments carry the
plain bytes and a healthy read only concatenates them. Each piece we store is a
liberasurecode fragment exactly as pyeclib returns it: an 80-byte fragment
header (index, sizes, checksum of its own) followed by the payload. Any k of the
k+m pieces of a stripe rebuild the segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pyeclib.ec_iface import ECDriver

DEFAULT_BACKEND: Final = "isa_l_rs_cauchy"
DEFAULT_K: Final = 4
DEFAULT_M: Final = 2
DEFAULT_SEGMENT_SIZE: Final = 4 * 1024 * 1024
# Bounds that keep one stripe's pieces well inside a gRPC message (limits.py of each role).
segment_size_max: Final = 16 * 1024 * 1024
chunk_count_max: Final = 32
FRAGMENT_HEADER_SIZE: Final = 80  # liberasurecode fragment_header_t


class CodecError(Exception):
    """Too few or inconsistent pieces to rebuild a segment."""


@dataclass(frozen=True, slots=True)
class ErasurePolicy:
    """How an object version is striped; recorded with every version."""

    backend: str = DEFAULT_BACKEND
    k: int = DEFAULT_K
    m: int = DEFAULT_M
    segment_size: int = DEFAULT_SEGMENT_SIZE

    def __post_init__(self) -> None:
        if not (self.k >= 1 and self.m >= 1 and self.k + self.m <= chunk_count_max):
            raise ValueError(f"bad k={self.k} m={self.m}: need k>=1, m>=1, k+m<={chunk_count_max}")
        if not (self.k <= self.segment_size <= segment_size_max):
            raise ValueError(f"segment_size {self.segment_size} out of range (k..{segment_size_max})")

    @property
    def width(self) -> int:
        return self.k + self.m

    def stripe_count(self, size_bytes: int) -> int:
        """Number of stripes for an object part of `size_bytes` (0 bytes -> 0 stripes).

        >>> ErasurePolicy(segment_size=4).stripe_count(9)
        3
        """
        return -(-size_bytes // self.segment_size)

    def segment_length(self, size_bytes: int, stripe_index: int) -> int:
        """Bytes of object data in stripe `stripe_index` of a part of `size_bytes`."""
        start = stripe_index * self.segment_size
        return max(0, min(self.segment_size, size_bytes - start))


class Codec:
    """Encode and decode the stripes of one erasure policy."""

    def __init__(self, policy: ErasurePolicy) -> None:
        self.policy = policy
        self._driver = ECDriver(k=policy.k, m=policy.m, ec_type=policy.backend)

    def piece_size(self, segment_length: int) -> int:
        """Size of each of the k+m pieces of a segment of `segment_length` bytes."""
        info = self._driver.get_segment_info(segment_length, segment_length)
        return int(info["fragment_size"])

    def encode(self, segment: bytes) -> list[bytes]:
        """k+m pieces, index i for chunk i (0..k-1 data, k..k+m-1 parity)."""
        if not segment:
            raise CodecError("an empty segment has no stripe")
        pieces: list[bytes] = self._driver.encode(segment)
        return pieces

    def decode(self, pieces: Mapping[int, bytes]) -> bytes:
        """Rebuild a segment from at least k pieces, keyed by chunk index."""
        if len(pieces) < self.policy.k:
            raise CodecError(f"need {self.policy.k} pieces, have {len(pieces)}")
        data_indexes = range(self.policy.k)
        chosen = [pieces[i] for i in data_indexes if i in pieces]
        if len(chosen) < self.policy.k:  # degraded: hand the library every piece we have
            chosen = list(pieces.values())
        try:
            segment: bytes = self._driver.decode(chosen)
        except Exception as error:  # pyeclib raises its own tree; callers want one type
            raise CodecError(f"decode failed: {error}") from error
        return segment
