"""Logging for every role: key=value lines on stderr, one named logger per subsystem."""

from __future__ import annotations

import logging
import os


def setup_logging(role: str) -> None:
    level = os.environ.get("TESSERA_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level,
        format=f"ts=%(asctime)s role={role} level=%(levelname)s logger=%(name)s msg=%(message)s",
    )
