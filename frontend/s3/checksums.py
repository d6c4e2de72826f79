"""Streaming hashers for S3's flexible checksums (``x-amz-checksum-*``).

Theory of operation
-------------------
A client may send one checksum of the object body, named by algorithm, either
as a header (``x-amz-checksum-crc32: <base64>``) or as an aws-chunked trailer.
The value is the base64 of the big-endian digest. We hash the body as it
streams past (``new_checksum(...).update(piece)``) and compare at the end with
``verify_checksum``; a well-formed but wrong value is S3's 400 ``BadDigest``
("The CRC32 you specified did not match the calculated checksum."), a value
that is not base64 of the right length is 400 ``InvalidRequest`` ("Value for
x-amz-checksum-crc32 header is invalid.").

CRC32 is zlib's. CRC32C and CRC64/NVME come from ``awscrt`` (what botocore[crt]
uses) or the ``crc32c`` package when installed, chosen at import; otherwise from
the table-driven pure-Python code below, which is correct but slow (a few MB/s)
and is also the reference the fast paths are tested against.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import importlib
import zlib
from collections.abc import Callable, Mapping
from typing import Protocol

# --------------------------------------------------------------------------- errors


class ChecksumError(Exception):
    """Root of checksum failures; subclasses are named after the S3 code they map to."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadDigest(ChecksumError):
    """A well-formed checksum that differs from the body's (S3: 400 BadDigest)."""

    def __init__(self, algorithm: ChecksumAlgorithm, expected_b64: str, calculated_b64: str) -> None:
        super().__init__(f"The {algorithm.value} you specified did not match the calculated checksum.")
        self.algorithm = algorithm
        self.expected_b64 = expected_b64
        self.calculated_b64 = calculated_b64


class InvalidChecksumValue(ChecksumError):
    """Not base64 of a digest of the right size (S3: 400 InvalidRequest)."""

    def __init__(self, algorithm: ChecksumAlgorithm, value: str) -> None:
        super().__init__(f"Value for {algorithm.header_name} header is invalid.")
        self.algorithm = algorithm
        self.value = value


class InvalidChecksumRequest(ChecksumError):
    """Unknown algorithm, or several checksum headers at once (S3: 400 InvalidRequest)."""


# --------------------------------------------------------------------------- algorithms


class ChecksumAlgorithm(enum.Enum):
    CRC32 = "CRC32"
    CRC32C = "CRC32C"
    CRC64NVME = "CRC64NVME"
    SHA1 = "SHA1"
    SHA256 = "SHA256"

    @property
    def header_name(self) -> str:
        """``x-amz-checksum-crc32`` etc.: the header and trailer name."""
        return f"x-amz-checksum-{self.value.lower()}"

    @property
    def digest_size(self) -> int:
        return _DIGEST_SIZES[self]

    @classmethod
    def parse(cls, name: str) -> ChecksumAlgorithm:
        """From ``x-amz-sdk-checksum-algorithm`` / ``ChecksumAlgorithm`` (any case)."""
        try:
            return cls(name.upper())
        except ValueError:
            raise InvalidChecksumRequest(
                "Checksum algorithm provided is unsupported. Please try again with any of the valid "
                "types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
            ) from None

    @classmethod
    def from_header_name(cls, header_name: str) -> ChecksumAlgorithm | None:
        """``x-amz-checksum-crc32c`` -> CRC32C; None for other headers."""
        return _BY_HEADER.get(header_name.lower())


_DIGEST_SIZES = {
    ChecksumAlgorithm.CRC32: 4,
    ChecksumAlgorithm.CRC32C: 4,
    ChecksumAlgorithm.CRC64NVME: 8,
    ChecksumAlgorithm.SHA1: 20,
    ChecksumAlgorithm.SHA256: 32,
}
_BY_HEADER = {algorithm.header_name: algorithm for algorithm in ChecksumAlgorithm}


# --------------------------------------------------------------------------- CRC kernels

CrcFunction = Callable[[bytes, int], int]  # (data, previous crc) -> crc, zlib.crc32 convention


def _reflected_table(polynomial: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _make_python_crc(polynomial: int, width_bits: int) -> CrcFunction:
    """A reflected CRC with all-ones init and xor-out, one table lookup per byte."""
    table = _reflected_table(polynomial)
    mask = (1 << width_bits) - 1

    def crc(data: bytes, previous: int = 0) -> int:
        value = previous ^ mask
        for byte in data:
            value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
        return value ^ mask

    return crc


# Reflected polynomials: Castagnoli (iSCSI) and the NVMe CRC-64 (Rocksoft).
python_crc32c = _make_python_crc(0x82F63B78, 32)
python_crc64nvme = _make_python_crc(0x9A6C9329AC4BC9B5, 64)


def _crc32(data: bytes, previous: int = 0) -> int:
    return zlib.crc32(data, previous)


def _load_fast(module_name: str, function_name: str) -> CrcFunction | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    function: CrcFunction | None = getattr(module, function_name, None)
    return function


def _choose(candidates: list[tuple[str, str]], fallback: CrcFunction) -> tuple[CrcFunction, str]:
    for module_name, function_name in candidates:
        function = _load_fast(module_name, function_name)
        if function is not None:
            return function, module_name
    return fallback, "python"


_crc32c, _crc32c_source = _choose([("awscrt.checksums", "crc32c"), ("crc32c", "crc32c")], python_crc32c)
_crc64nvme, _crc64nvme_source = _choose([("awscrt.checksums", "crc64nvme")], python_crc64nvme)

_CRC_FUNCTIONS: dict[ChecksumAlgorithm, tuple[CrcFunction, str]] = {
    ChecksumAlgorithm.CRC32: (_crc32, "zlib"),
    ChecksumAlgorithm.CRC32C: (_crc32c, _crc32c_source),
    ChecksumAlgorithm.CRC64NVME: (_crc64nvme, _crc64nvme_source),
}


def implementation_name(algorithm: ChecksumAlgorithm) -> str:
    """Which library computes ``algorithm``: zlib, awscrt.checksums, crc32c, python or hashlib."""
    entry = _CRC_FUNCTIONS.get(algorithm)
    return entry[1] if entry is not None else "hashlib"


# --------------------------------------------------------------------------- hashers


class Checksum(Protocol):
    @property
    def algorithm(self) -> ChecksumAlgorithm: ...

    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...

    def b64digest(self) -> str: ...


class _CrcChecksum:
    __slots__ = ("_algorithm", "_function", "_value")

    def __init__(self, algorithm: ChecksumAlgorithm, function: CrcFunction) -> None:
        self._algorithm = algorithm
        self._function = function
        self._value = 0

    @property
    def algorithm(self) -> ChecksumAlgorithm:
        return self._algorithm

    def update(self, data: bytes) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._algorithm.digest_size, "big")

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class _HashlibChecksum:
    __slots__ = ("_algorithm", "_hash")

    def __init__(self, algorithm: ChecksumAlgorithm) -> None:
        self._algorithm = algorithm
        self._hash = hashlib.new(algorithm.value.lower())

    @property
    def algorithm(self) -> ChecksumAlgorithm:
        return self._algorithm

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def new_checksum(algorithm: ChecksumAlgorithm | str) -> Checksum:
    """A fresh streaming hasher; a str is parsed like ``x-amz-sdk-checksum-algorithm``.

    >>> c = new_checksum("crc32"); c.update(b"hello world"); c.b64digest()
    'DUoRhQ=='
    """
    if isinstance(algorithm, str):
        algorithm = ChecksumAlgorithm.parse(algorithm)
    entry = _CRC_FUNCTIONS.get(algorithm)
    if entry is not None:
        return _CrcChecksum(algorithm, entry[0])
    return _HashlibChecksum(algorithm)


# --------------------------------------------------------------------------- checking


def decode_checksum_value(algorithm: ChecksumAlgorithm, value_b64: str) -> bytes:
    """The digest a client sent, or InvalidChecksumValue if it cannot be one."""
    try:
        digest = base64.b64decode(value_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InvalidChecksumValue(algorithm, value_b64) from None
    if len(digest) != algorithm.digest_size:
        raise InvalidChecksumValue(algorithm, value_b64)
    return digest


def verify_checksum(checksum: Checksum, expected_b64: str) -> None:
    """Raise InvalidChecksumValue or BadDigest unless the body hashed to ``expected_b64``."""
    expected = decode_checksum_value(checksum.algorithm, expected_b64)
    calculated = checksum.digest()
    if expected != calculated:
        raise BadDigest(checksum.algorithm, expected_b64, base64.b64encode(calculated).decode("ascii"))


def checksum_from_headers(headers: Mapping[str, str]) -> tuple[ChecksumAlgorithm, str] | None:
    """The (algorithm, base64 value) of the one ``x-amz-checksum-<alg>`` header, if any.

    ``headers`` must have lowercase names. ``x-amz-checksum-type``/``-mode``/
    ``-algorithm`` are not values and are ignored. Trailer checksums arrive
    through ``AwsChunkedDecoder.trailers`` instead.
    """
    found = [(algorithm, headers[name]) for name, algorithm in _BY_HEADER.items() if name in headers]
    if len(found) > 1:
        raise InvalidChecksumRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types "
                                     "are not allowed.")
    return found[0] if found else None
