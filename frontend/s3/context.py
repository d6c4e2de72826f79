"""What every handler needs: backend clients, the writer and the frontend config."""

from __future__ import annotations

from dataclasses import dataclass

from frontend.clients.datanode import DatanodePool
from frontend.clients.metadata import MetadataClient
from frontend.config import FrontendConfig
from frontend.objects.nodes import NodeDirectory
from frontend.objects.put import ObjectWriter


@dataclass(frozen=True, slots=True)
class S3Context:
    config: FrontendConfig
    metadata: MetadataClient
    pool: DatanodePool
    directory: NodeDirectory
    writer: ObjectWriter
