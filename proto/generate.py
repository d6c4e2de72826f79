"""Regenerate the committed Python stubs from the .proto files.

Run from the repository root: `python -m proto.generate`. `--check` exits 1 when
the committed stubs differ from what the .proto files produce.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_FILES = ("proto/datanode.proto", "proto/metadata.proto", "proto/raft.proto")


def generate(out_dir: Path) -> None:
    for name in PROTO_FILES:
        args = ["protoc", f"-I{ROOT}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
                f"--grpc_python_out={out_dir}", str(ROOT / name)]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed for {name}")


def stale_files() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        stale = []
        for produced in sorted(Path(tmp, "proto").iterdir()):
            committed = ROOT / "proto" / produced.name
            if not committed.exists() or committed.read_bytes() != produced.read_bytes():
                stale.append(produced.name)
        return stale


def main() -> None:
    if "--check" in sys.argv:
        stale = stale_files()
        if stale:
            print("stale generated stubs:", ", ".join(stale))
            raise SystemExit(1)
        return
    generate(ROOT)


if __name__ == "__main__":
    main()
