"""Root credentials: from TESSERA_ACCESS_KEY / TESSERA_SECRET_KEY, else generated once per data directory."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

CREDENTIALS_FILE: Final = "credentials.json"


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str


def load_or_create(data_dir: Path) -> Credentials:
    access_key = os.environ.get("TESSERA_ACCESS_KEY")
    secret_key = os.environ.get("TESSERA_SECRET_KEY")
    if access_key and secret_key:
        return Credentials(access_key, secret_key)
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        return Credentials(stored["access_key"], stored["secret_key"])
    created = Credentials("TS" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30))
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # secret: owner-only
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"access_key": created.access_key, "secret_key": created.secret_key}, handle)
    return created
