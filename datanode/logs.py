"""stderr logging in key=value form; every line names the datanode so a local cluster's
interleaved output stays readable. Messages themselves are written as key=value pairs."""

import logging
import sys


class _NodeIdFilter(logging.Filter):
    def __init__(self, node_id: str) -> None:
        super().__init__()
        self._node_id = node_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.node_id = self._node_id
        return True


def configure_logging(node_id: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_NodeIdFilter(node_id))
    handler.setFormatter(logging.Formatter(
        "ts=%(asctime)s level=%(levelname)s logger=%(name)s node_id=%(node_id)s %(message)s"
    ))
    root = logging.getLogger("tessera")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
