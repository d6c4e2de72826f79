"""HTTP Range for GetObject, as S3 reads it."""

from __future__ import annotations

import re

from frontend.objects.get import ByteRange
from frontend.s3 import errors

_SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, size_bytes: int) -> ByteRange | None:
    """The inclusive range to serve, None for the whole object.

    A header S3 cannot parse (or several ranges) is ignored and the whole object
    served; a well-formed range that misses the object is InvalidRange (416).

    >>> parse_range("bytes=0-9", 100)
    ByteRange(first=0, last=9)
    >>> parse_range("bytes=-10", 100)
    ByteRange(first=90, last=99)
    >>> parse_range("bytes=90-", 100)
    ByteRange(first=90, last=99)
    >>> parse_range("bytes=5-2", 100) is None
    True
    """
    if header is None:
        return None
    match = _SINGLE_RANGE.match(header)
    if match is None:
        return None
    start, end = match.group(1), match.group(2)
    if not start and not end:
        return None
    if not start:  # suffix range: the last N bytes
        suffix = int(end)
        if suffix == 0 or size_bytes == 0:
            raise errors.InvalidRange()
        return ByteRange(max(0, size_bytes - suffix), size_bytes - 1)
    first = int(start)
    last = int(end) if end else size_bytes - 1
    if end and last < first:
        return None
    if first >= size_bytes:
        raise errors.InvalidRange()
    return ByteRange(first, min(last, size_bytes - 1))
