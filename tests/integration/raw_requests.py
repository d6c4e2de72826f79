"""Hand-built, SigV4-signed HTTP requests, for inputs boto3 would refuse to send."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_http = urllib3.PoolManager()


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def code(self) -> str:
        text = self.body.decode("utf-8", "replace")
        start, end = text.find("<Code>"), text.find("</Code>")
        return text[start + 6:end] if start >= 0 else ""


def send(cluster: Any, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None,
         *, sign: bool = True, access_key: str | None = None, secret_key: str | None = None,
         now: datetime.datetime | None = None, sent_body: bytes | None = None,
         trailer: bool = False) -> RawResponse:
    """Sign `body`, then send `sent_body` instead when given (a body tampered after signing)."""
    url = cluster.endpoint + path
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if trailer:  # botocore signs STREAMING-UNSIGNED-PAYLOAD-TRAILER when the checksum goes in a trailer
        request.context["checksum"] = {"request_algorithm": {"in": "trailer"}}
    if sign:
        credentials = Credentials(access_key or cluster.credentials.access_key,
                                  secret_key or cluster.credentials.secret_key)
        signer = S3SigV4Auth(credentials, "s3", cluster.options.region)
        clock = now.replace(tzinfo=None) if now is not None else None
        with mock.patch("botocore.auth.get_current_datetime", side_effect=lambda *a, **k: clock) if clock \
                else _nothing():
            signer.add_auth(request)
    prepared = request.prepare()
    payload = prepared.body if sent_body is None else sent_body
    response = _http.request(method, prepared.url, body=payload, headers=dict(prepared.headers),
                             retries=False, redirect=False)
    return RawResponse(response.status, dict(response.headers), response.data)


def signed_headers(cluster: Any, method: str, path: str, body: bytes) -> dict[str, str]:
    """SigV4 headers for a request, for tests that then misbehave on the socket."""
    request = AWSRequest(method=method, url=cluster.endpoint + path, data=body)
    credentials = Credentials(cluster.credentials.access_key, cluster.credentials.secret_key)
    S3SigV4Auth(credentials, "s3", cluster.options.region).add_auth(request)
    return dict(request.prepare().headers)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
