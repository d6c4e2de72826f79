"""Frontend configuration: one validated, frozen value passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field

from tessera.codec import ErasurePolicy


@dataclass(frozen=True, slots=True)
class FrontendConfig:
    host: str = "127.0.0.1"                 # listen address
    port: int = 9000                        # S3 HTTP port
    metadata_addresses: tuple[str, ...] = ("127.0.0.1:9001",)  # host:port of every metadata replica
    region: str = "us-east-1"               # the one region this cluster serves
    access_key: str = ""                    # root credentials (required)
    secret_key: str = ""
    domains: tuple[str, ...] = ("s3.localhost", "localhost")  # hosts for virtual-hosted-style buckets
    policy: ErasurePolicy = field(default_factory=ErasurePolicy)  # for new objects
    write_quorum: int = 0                   # chunks durable before commit; 0 = k+1

    def validate(self) -> None:
        if not (0 < self.port < 65536):
            raise ValueError(f"port {self.port} out of range")
        if not self.access_key or not self.secret_key:
            raise ValueError("root credentials are required (TESSERA_ACCESS_KEY / TESSERA_SECRET_KEY)")
        if self.write_quorum and not (self.policy.k <= self.write_quorum <= self.policy.width):
            raise ValueError(f"write_quorum must be between k={self.policy.k} and k+m={self.policy.width}")
