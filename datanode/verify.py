"""`python -m datanode.verify DATA_DIR`: verify every piece of every chunk, as fast as the disk allows.

An offline fsck for a stopped (or running) datanode's directory, and the scrubber's unpaced speed
for `tessera bench-repair`. Prints one JSON object: bytes verified, seconds, corrupt chunk ids.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from datanode.errors import ChunkNotFound, CorruptChunk
from datanode.scrub import verify_chunk
from datanode.store import ChunkStore


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m datanode.verify DATA_DIR", file=sys.stderr)
        return 2
    store = ChunkStore(Path(sys.argv[1]))
    started = time.monotonic()
    verified, corrupt = 0, []
    for chunk_id in list(store.list()):
        try:
            verified += verify_chunk(store, chunk_id)
        except ChunkNotFound:
            continue
        except CorruptChunk:
            corrupt.append(chunk_id)
    seconds = time.monotonic() - started
    print(json.dumps({"bytes": verified, "seconds": round(seconds, 3), "corrupt": corrupt}))
    return 1 if corrupt else 0


if __name__ == "__main__":
    sys.exit(main())
