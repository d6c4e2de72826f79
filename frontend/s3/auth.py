"""Bridge between aiohttp requests and the pure SigV4 verifier, and its S3 errors."""

from __future__ import annotations

import datetime
import hmac

from aiohttp import web

from frontend.config import FrontendConfig
from frontend.s3 import errors, sigv4


def signed_request(request: web.Request) -> sigv4.SignedRequest:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    return sigv4.SignedRequest(method=request.method, raw_path=request.raw_path,
                               query=list(request.query.items()), headers=headers)


def authenticate(request: web.Request, config: FrontendConfig, now: datetime.datetime) -> sigv4.AuthResult:
    """The verified identity behind `request`; anonymous requests are refused (no public ACLs yet)."""

    def lookup(access_key: str) -> str | None:
        return config.secret_key if hmac.compare_digest(access_key, config.access_key) else None

    try:
        result = sigv4.verify_request(signed_request(request), lookup, now, region=config.region)
    except sigv4.AuthError as error:
        raise to_s3_error(error) from error
    if result is None:
        raise errors.AccessDenied()
    return result


AUTH_ERRORS: dict[type[sigv4.AuthError], type[errors.S3Error]] = {
    sigv4.InvalidAccessKeyId: errors.InvalidAccessKeyId,
    sigv4.SignatureDoesNotMatch: errors.SignatureDoesNotMatch,
    sigv4.RequestTimeTooSkewed: errors.RequestTimeTooSkewed,
    sigv4.AccessDenied: errors.AccessDenied,
    sigv4.AuthorizationHeaderMalformed: errors.AuthorizationHeaderMalformed,
    sigv4.AuthorizationQueryParametersError: errors.AuthorizationQueryParametersError,
    sigv4.MissingSecurityHeader: errors.MissingSecurityHeader,
    sigv4.InvalidArgument: errors.InvalidArgument,
    sigv4.XAmzContentSHA256Mismatch: errors.XAmzContentSHA256Mismatch,
}


def to_s3_error(error: sigv4.AuthError) -> errors.S3Error:
    for cls in type(error).__mro__:
        mapped = AUTH_ERRORS.get(cls)
        if mapped is not None:
            return mapped(str(error))
    return errors.AccessDenied(str(error))
