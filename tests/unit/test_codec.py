"""Property tests for `tessera.codec`, with reedsolo as an independent GF(2^8) oracle.

Every piece we store is a liberasurecode fragment, so these tests pin three things
that the rest of Tessera relies on:

* any k of the k+m pieces of a stripe rebuild the segment bit-exact, and k-1 never do;
* the code is systematic: data payloads concatenated are the segment (plus zero padding),
  which is what lets a healthy read skip decoding;
* the parity bytes are the ones mathematics says they are. ISA-L's
  `gf_gen_cauchy1_matrix` (intel/isa-l, erasure_code/ec_base.c) builds the (k+m) x k
  generator as the identity on top of a Cauchy block: row i in k..k+m-1, column j in
  0..k-1 holds `gf_inv(i ^ j)` (addition in GF(2^8) is XOR, so this is 1/(x_i + y_j)
  with x_i = i, y_j = j). Parity payload byte b of chunk i is
  XOR_j gf_mul(coefficient(i, j), data_j[b]) over GF(2^8) with polynomial 0x11d.
  Checking that with reedsolo's tables, not ISA-L's, means a change of library or of
  its matrix cannot silently change our on-disk bytes.
"""

from __future__ import annotations

import functools
import itertools
import random
import struct

import pytest
import reedsolo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.codec import FRAGMENT_HEADER_SIZE, Codec, CodecError, ErasurePolicy

KIB = 1024
segment_bytes_max = 300 * KIB  # "a few hundred KiB": several ISA-L vector widths per fragment
oracle_segment_bytes_max = 4 * KIB  # the oracle is pure Python; keep it small and fast

# liberasurecode's fragment_header_t, packed little-endian (erasurecode.h):
# idx, size, frag_backend_metadata_size, orig_data_size, chksum_type, chksum[8],
# chksum_mismatch, backend_id, backend_version, then magic, libec_version,
# metadata_chksum and 9 bytes of padding.
FRAGMENT_HEADER = struct.Struct("<IIIQB32sBBIIII9x")
FRAGMENT_MAGIC = 0xB0C5ECC
GF_POLYNOMIAL = 0x11D  # x^8 + x^4 + x^3 + x^2 + 1, the polynomial ISA-L and reedsolo share

property_settings = settings(
    max_examples=40,
    deadline=None,  # the first call to a policy builds its driver; timing is not the property
    suppress_health_check=[HealthCheck.too_slow],
)


@functools.cache
def codec_for(k: int, m: int) -> Codec:
    return Codec(ErasurePolicy(k=k, m=m))


@st.composite
def stripes(draw: st.DrawFn, size_max: int = segment_bytes_max) -> tuple[int, int, bytes]:
    """(k, m, segment): random policy, random length biased towards multiples of k +-1."""
    k = draw(st.sampled_from(range(2, 9)))  # sampled_from spreads evenly; integers() favours 2
    m = draw(st.sampled_from(range(1, 5)))
    multiples = st.one_of(st.integers(1, 64), st.integers(size_max // (2 * k), size_max // k - 1))
    near_multiple = st.builds(lambda multiple, delta: multiple * k + delta, multiples, st.sampled_from([-1, 0, 1]))
    tiny = st.integers(1, 3 * k + 1)  # fewer bytes than fragments, one byte per fragment, ...
    large = st.integers(size_max // 2, size_max)  # integers() alone rarely leaves the first KiB
    size = draw(st.one_of(tiny, near_multiple, large, st.integers(1, size_max)))
    # Hypothesis cannot draw hundreds of KiB directly; a drawn seed makes the bytes
    # reproducible from the failing example all the same.
    seed = draw(st.integers(0, 2**32 - 1))
    return k, m, random.Random(seed).randbytes(size)


def payload(piece: bytes) -> bytes:
    return piece[FRAGMENT_HEADER_SIZE:]


@given(stripes())
@property_settings
def test_any_k_pieces_rebuild_the_segment(stripe: tuple[int, int, bytes]) -> None:
    k, m, segment = stripe
    codec = codec_for(k, m)
    pieces = codec.encode(segment)
    assert len(pieces) == k + m
    for lost_count in range(m + 1):
        for lost in itertools.combinations(range(k + m), lost_count):
            survivors = {index: pieces[index] for index in range(k + m) if index not in lost}
            assert codec.decode(survivors) == segment, f"lost chunks {lost}"


@given(stripes(size_max=16 * KIB), st.data())
@property_settings
def test_losing_more_than_m_pieces_raises(stripe: tuple[int, int, bytes], data: st.DataObject) -> None:
    k, m, segment = stripe
    codec = codec_for(k, m)
    pieces = codec.encode(segment)
    for lost in itertools.combinations(range(k + m), m + 1):
        survivors = {index: pieces[index] for index in range(k + m) if index not in lost}
        with pytest.raises(CodecError):
            codec.decode(survivors)
    # k entries but only k-1 distinct fragments: the library itself must refuse, not guess.
    # One drawn subset only: each refusal costs liberasurecode ~1.6 ms of failed syslog calls.
    drawn = data.draw(st.lists(st.sampled_from(range(k + m)), min_size=m + 1, max_size=m + 1, unique=True))
    survivors = {index: pieces[index] for index in range(k + m) if index not in drawn}
    padded = {**survivors, drawn[0]: data.draw(st.sampled_from(sorted(survivors.values())))}
    assert len(padded) == k
    with pytest.raises(CodecError):
        codec.decode(padded)


@pytest.mark.parametrize(("k", "m"), list(itertools.product(range(2, 9), range(1, 5))))
def test_every_policy_survives_every_loss_of_m(k: int, m: int) -> None:
    """A fixed sweep so no (k, m) pair is left to the luck of the draw."""
    codec = codec_for(k, m)
    rng = random.Random(k * 10 + m)
    for size in (1, k - 1, k, k + 1, 4096 * k - 1, 4096 * k + 1):
        if size < 1:
            continue
        segment = rng.randbytes(size)
        pieces = codec.encode(segment)
        for lost_count in range(m + 1):
            for lost in itertools.combinations(range(k + m), lost_count):
                survivors = {index: pieces[index] for index in range(k + m) if index not in lost}
                assert codec.decode(survivors) == segment, f"size {size}, lost chunks {lost}"


@given(stripes())
@property_settings
def test_pieces_are_systematic_with_sane_headers(stripe: tuple[int, int, bytes]) -> None:
    k, m, segment = stripe
    codec = codec_for(k, m)
    pieces = codec.encode(segment)
    payload_bytes = len(payload(pieces[0]))
    assert payload_bytes == -(-len(segment) // k)  # ceil: the smallest payload that holds it
    for index, piece in enumerate(pieces):
        assert len(piece) == codec.piece_size(len(segment)) == FRAGMENT_HEADER_SIZE + payload_bytes
        fields = FRAGMENT_HEADER.unpack(piece[:FRAGMENT_HEADER_SIZE])
        chunk_index, size, _, orig_data_size, *_, magic, _, _ = fields
        assert (chunk_index, size, orig_data_size, magic) == (
            index,
            payload_bytes,
            len(segment),
            FRAGMENT_MAGIC,
        )
    data = b"".join(payload(piece) for piece in pieces[:k])
    assert data[: len(segment)] == segment
    assert data[len(segment) :] == bytes(len(data) - len(segment))  # zero padding


def test_empty_segment_is_refused() -> None:
    with pytest.raises(CodecError):
        codec_for(4, 2).encode(b"")


# --- the reedsolo oracle -------------------------------------------------------------


@functools.cache
def gf_tables() -> None:
    reedsolo.init_tables(GF_POLYNOMIAL)


def cauchy_coefficient(row: int, column: int) -> int:
    """gf_gen_cauchy1_matrix's entry for parity row `row` (k..k+m-1), data column `column`."""
    gf_tables()
    return int(reedsolo.gf_inverse(row ^ column))


@functools.cache
def multiply_table(coefficient: int) -> bytes:
    """x -> coefficient * x in GF(2^8), as a bytes.translate table (reedsolo's gf_mul)."""
    gf_tables()
    return bytes(reedsolo.gf_mul(coefficient, x) for x in range(256))


def oracle_parity(data: list[bytes], row: int) -> bytes:
    """Payload of parity chunk `row`: XOR over j of coefficient(row, j) * data_j, bytewise."""
    accumulator = 0
    for column, fragment in enumerate(data):
        product = fragment.translate(multiply_table(cauchy_coefficient(row, column)))
        accumulator ^= int.from_bytes(product, "little")  # XOR of whole fragments at once
    return accumulator.to_bytes(len(data[0]), "little")


def test_oracle_field_matches_the_textbook() -> None:
    """Guards the oracle itself: 0x11d arithmetic facts that do not depend on reedsolo."""
    gf_tables()
    assert reedsolo.gf_mul(2, 0x80) == 0x1D  # x * x^7 = x^8 = x^4 + x^3 + x^2 + 1
    assert all(reedsolo.gf_mul(x, reedsolo.gf_inverse(x)) == 1 for x in range(1, 256))
    assert oracle_parity([bytes([1]), bytes([0])], 2) == bytes([cauchy_coefficient(2, 0)])


@given(stripes(size_max=oracle_segment_bytes_max))
@settings(max_examples=60, deadline=None)
def test_parity_bytes_match_the_cauchy_matrix(stripe: tuple[int, int, bytes]) -> None:
    k, m, segment = stripe
    pieces = codec_for(k, m).encode(segment)
    data = [payload(piece) for piece in pieces[:k]]
    for row in range(k, k + m):
        assert payload(pieces[row]) == oracle_parity(data, row), f"parity chunk {row}"


def test_parity_of_a_fixed_stripe_byte_by_byte() -> None:
    """The same check without the translate/XOR shortcuts, spelled out per byte."""
    gf_tables()
    k, m = 3, 2
    segment = bytes(range(1, 31))
    pieces = codec_for(k, m).encode(segment)
    data = [payload(piece) for piece in pieces[:k]]
    for row in range(k, k + m):
        expected = bytearray()
        for position in range(len(data[0])):
            value = 0
            for column in range(k):
                value ^= reedsolo.gf_mul(reedsolo.gf_inverse(row ^ column), data[column][position])
            expected.append(value)
        assert payload(pieces[row]) == bytes(expected)
