"""Cut a stream of arbitrary-sized byte blocks into fixed-size segments."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def segments(body: AsyncIterator[bytes], segment_size: int) -> AsyncIterator[bytes]:
    """Yield segments of exactly `segment_size` bytes, the last one shorter (never empty).

    Holds at most one segment plus one incoming block in memory.
    """
    buffer = bytearray()
    async for block in body:
        buffer += block
        while len(buffer) >= segment_size:
            yield bytes(buffer[:segment_size])
            del buffer[:segment_size]
    if buffer:
        yield bytes(buffer)
