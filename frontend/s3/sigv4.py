"""AWS Signature Version 4 verification for S3 requests.

Theory of operation
-------------------
A client signs a *canonical request*: method, URI, query, the headers it names in
SignedHeaders, and a payload hash, each normalised so that both ends produce the
same bytes. The signature is HMAC-SHA256 over a *string to sign* built from that
canonical request's hash, keyed by a *signing key* derived from the secret, the
date, the region and the service. We rebuild the canonical request from what
arrived, recompute the signature with the secret we hold for the access key, and
compare in constant time.

Two forms carry the same signature:

* ``Authorization: AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/s3/aws4_request,
  SignedHeaders=..., Signature=...`` with the date in ``x-amz-date`` and the payload
  hash in ``x-amz-content-sha256``; the request time must be within 15 minutes of
  ours.
* A presigned URL: ``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``,
  ``X-Amz-Expires``, ``X-Amz-SignedHeaders`` and ``X-Amz-Signature`` in the query,
  the payload hash being ``UNSIGNED-PAYLOAD``; valid until date + expires.

S3 differs from other services in one place: the path is *not* normalised or
double-encoded. We take the raw path as sent and only re-encode each segment per
the AWS URI-encoding rules, so ``/a%2Fb`` and ``/a%2fb`` agree but ``%2F`` never
turns into a path separator.

This module is pure: plain values in (``SignedRequest``, a secret lookup, the
current time), an ``AuthResult`` or a typed ``AuthError`` out. The body is not
read here: the caller checks a signed payload hash with ``check_payload_sha256``
or streams an ``aws-chunked`` body through ``frontend.s3.chunked``, which needs
the signing key and seed signature carried in ``AuthResult``.
"""

from __future__ import annotations

import base64
import email.utils
import enum
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

from frontend.s3 import limits

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
TERMINATOR = "aws4_request"
EMPTY_SHA256_HEX = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

# Characters AWS never percent-encodes (RFC 3986 unreserved).
_UNRESERVED = "-_.~"
_AMZ_DATE_RE = re.compile(r"\d{8}T\d{6}Z")
_DATE_STAMP_RE = re.compile(r"\d{8}")
_SHA256_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")
_PRESIGN_SIGNATURE_PARAM = "X-Amz-Signature"
_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_SIGV2_QUERY_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")


# --------------------------------------------------------------------------- errors


class AuthError(Exception):
    """Root of every authentication failure; subclasses are named after S3 codes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAccessKeyId(AuthError):
    def __init__(self, access_key: str) -> None:
        super().__init__("The AWS Access Key Id you provided does not exist in our records.")
        self.access_key = access_key


class SignatureDoesNotMatch(AuthError):
    """The recomputed signature differs; fields echo what AWS returns for debugging."""

    def __init__(
        self,
        access_key: str,
        string_to_sign: str,
        signature_provided: str,
        canonical_request: str = "",
    ) -> None:
        super().__init__(
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method."
        )
        self.access_key = access_key
        self.string_to_sign = string_to_sign
        self.signature_provided = signature_provided
        self.canonical_request = canonical_request


class RequestTimeTooSkewed(AuthError):
    def __init__(self, request_time: datetime, server_time: datetime, max_skew_s: int) -> None:
        super().__init__("The difference between the request time and the current time is too large.")
        self.request_time = request_time
        self.server_time = server_time
        self.max_skew_s = max_skew_s


class AccessDenied(AuthError):
    pass


class RequestExpired(AccessDenied):
    """A presigned URL used after X-Amz-Date + X-Amz-Expires (AWS: 403 AccessDenied)."""

    def __init__(self, expires_at: datetime, server_time: datetime) -> None:
        super().__init__("Request has expired")
        self.expires_at = expires_at
        self.server_time = server_time


class RequestNotYetValid(AccessDenied):
    """A presigned URL dated further in the future than the allowed clock skew."""

    def __init__(self, request_time: datetime, server_time: datetime) -> None:
        super().__init__("Request is not valid yet")
        self.request_time = request_time
        self.server_time = server_time


class HeadersNotSigned(AccessDenied):
    """x-amz-* headers were sent but not covered by the signature, so could be forged."""

    def __init__(self, headers: tuple[str, ...]) -> None:
        super().__init__("There were headers present in the request which were not signed")
        self.headers = headers


class AuthorizationHeaderMalformed(AuthError):
    """``region`` is set when the credential names another region than ours."""

    def __init__(self, message: str, region: str | None = None) -> None:
        super().__init__(message)
        self.region = region


class AuthorizationQueryParametersError(AuthError):
    def __init__(self, message: str, region: str | None = None) -> None:
        super().__init__(message)
        self.region = region


class MissingSecurityHeader(AuthError):
    def __init__(self, header_name: str) -> None:
        super().__init__(f"Your request was missing a required header: {header_name}")
        self.header_name = header_name


class InvalidArgument(AuthError):
    def __init__(self, message: str, argument_name: str, argument_value: str) -> None:
        super().__init__(message)
        self.argument_name = argument_name
        self.argument_value = argument_value


class XAmzContentSHA256Mismatch(AuthError):
    def __init__(self, client_computed: str, s3_computed: str) -> None:
        super().__init__("The provided 'x-amz-content-sha256' header does not match what was computed.")
        self.client_computed = client_computed
        self.s3_computed = s3_computed


# --------------------------------------------------------------------------- values


class PayloadMode(enum.Enum):
    """What ``x-amz-content-sha256`` promises about the body."""

    SHA256 = "sha256"  # payload_hash is the hex digest; check it with check_payload_sha256
    UNSIGNED = UNSIGNED_PAYLOAD
    STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    @property
    def is_aws_chunked(self) -> bool:
        """True when the body is ``aws-chunked`` framing for frontend.s3.chunked."""
        return self.value.startswith("STREAMING-")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of an HTTP request that SigV4 covers.

    ``raw_path`` is the path as sent on the request line (a trailing ``?query`` is
    ignored). ``query`` holds the decoded (name, value) pairs in arrival order.
    ``headers`` maps names to values; names are matched case-insensitively and a
    multi-dict's repeated headers are joined with ``,`` as SigV4 prescribes.
    """

    method: str
    raw_path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class AuthResult:
    """A verified request: who signed it, and what chunk verification needs."""

    access_key: str
    region: str
    date_stamp: str  # YYYYMMDD from the credential scope
    amz_date: str  # YYYYMMDDTHHMMSSZ the request was signed at
    signing_key: bytes
    seed_signature: str  # hex; the previous signature of the first aws-chunked chunk
    payload_hash: str  # the x-amz-content-sha256 value (UNSIGNED-PAYLOAD when presigned)
    payload_mode: PayloadMode
    presigned: bool
    signed_headers: tuple[str, ...]
    # 2 for a legacy SigV2 request (see verify_sigv2): region, dates, key and seed are empty.
    signature_version: int = 4

    @property
    def scope(self) -> str:
        return f"{self.date_stamp}/{self.region}/{SERVICE}/{TERMINATOR}"


SecretLookup = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class _Credential:
    access_key: str
    date_stamp: str
    region: str


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the client asserts: parsed from the header or the query, not yet checked."""

    credential: _Credential
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    request_time: datetime
    payload_hash: str
    payload_mode: PayloadMode
    presigned: bool


# --------------------------------------------------------------------------- helpers


def hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def derive_signing_key(secret: str, date_stamp: str, region: str, service: str = SERVICE) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    key = hmac_sha256(("AWS4" + secret).encode("utf-8"), date_stamp)
    key = hmac_sha256(key, region)
    key = hmac_sha256(key, service)
    return hmac_sha256(key, TERMINATOR)


def uri_encode(value: str) -> str:
    """Percent-encode all but unreserved characters, as UTF-8, with uppercase hex.

    >>> uri_encode("a b+c/~")
    'a%20b%2Bc%2F~'
    """
    # surrogateescape: aiohttp hands undecodable bytes over as surrogates; restore them.
    return quote(value, safe=_UNRESERVED, errors="surrogateescape")


def canonical_uri(raw_path: str) -> str:
    """The S3 canonical URI: the raw path, each segment re-encoded, never normalised.

    Decoding each segment before re-encoding makes ``%2f`` and ``%2F`` (and an
    unencoded ``!``) agree with what the client hashed, while an encoded slash
    stays inside its segment.

    >>> canonical_uri("/bucket/k%20ey%2b!/a%2Fb")
    '/bucket/k%20ey%2B%21/a%2Fb'
    >>> canonical_uri("")
    '/'
    """
    path = raw_path.split("?", 1)[0] or "/"
    return "/".join(
        quote_from_bytes(unquote_to_bytes(segment.encode("utf-8", "surrogateescape")), safe=_UNRESERVED)
        for segment in path.split("/")
    )


def canonical_query(query: Sequence[tuple[str, str]], exclude: str | None = None) -> str:
    """Encoded ``name=value`` pairs sorted by name then value, joined by ``&``.

    >>> canonical_query([("prefix", "a b"), ("list-type", "2"), ("uploads", "")])
    'list-type=2&prefix=a%20b&uploads='
    """
    pairs = sorted((uri_encode(name), uri_encode(value)) for name, value in query if name != exclude)
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_header_value(value: str) -> str:
    """Trim and collapse inner whitespace runs: ``"  a   b "`` -> ``"a b"``."""
    return " ".join(value.split())


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lowercased names; repeated headers of a multi-dict joined with ``,``."""
    result: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        result[key] = f"{result[key]},{value}" if key in result else value
    return result


def _canonical_request(
    request: SignedRequest, headers: Mapping[str, str], claim: _Claim
) -> str:
    exclude = _PRESIGN_SIGNATURE_PARAM if claim.presigned else None
    header_lines = "".join(
        f"{name}:{canonical_header_value(headers.get(name, ''))}\n" for name in claim.signed_headers
    )
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query(request.query, exclude),
            header_lines,
            ";".join(claim.signed_headers),
            claim.payload_hash,
        ]
    )


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def check_payload_sha256(expected_hex: str, actual_digest: bytes) -> None:
    """Raise XAmzContentSHA256Mismatch unless the body's SHA-256 is ``expected_hex``.

    Only meaningful for PayloadMode.SHA256, where ``expected_hex`` is
    ``AuthResult.payload_hash``.
    """
    assert len(actual_digest) == hashlib.sha256().digest_size, "pass the raw digest, not hex"
    actual_hex = actual_digest.hex()
    if not hmac.compare_digest(expected_hex.lower(), actual_hex):
        raise XAmzContentSHA256Mismatch(client_computed=expected_hex, s3_computed=actual_hex)


# --------------------------------------------------------------------------- parsing


def _parse_amz_date(value: str, argument_name: str) -> datetime:
    if _AMZ_DATE_RE.fullmatch(value):
        try:
            return datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise InvalidArgument(f"{argument_name} must be in the ISO8601 Long Format", argument_name, value)


def _request_time_from_headers(headers: Mapping[str, str]) -> tuple[str, datetime]:
    """x-amz-date, or failing that an RFC 1123 Date header (SigV4 allows either)."""
    if "x-amz-date" in headers:
        value = headers["x-amz-date"]
        return value, _parse_amz_date(value, "x-amz-date")
    if "date" not in headers:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    try:
        parsed = email.utils.parsedate_to_datetime(headers["date"])
    except (TypeError, ValueError):
        raise InvalidArgument("Date must be an RFC 1123 date", "Date", headers["date"]) from None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed.strftime(AMZ_DATE_FORMAT), parsed


def _parse_payload_hash(value: str) -> PayloadMode:
    if _SHA256_HEX_RE.fullmatch(value):
        return PayloadMode.SHA256
    try:
        mode = PayloadMode(value)
    except ValueError:
        mode = None
    if mode is None or mode is PayloadMode.SHA256:
        raise InvalidArgument(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
            "x-amz-content-sha256",
            value,
        )
    return mode


_ParseError = type[AuthorizationHeaderMalformed] | type[AuthorizationQueryParametersError]


def _parse_credential(value: str, error: _ParseError) -> _Credential:
    parts = value.split("/")
    if len(parts) != 5 or not all(parts):
        raise error(
            f'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/{TERMINATOR}".'
        )
    access_key, date_stamp, region, service, terminator = parts
    if not _DATE_STAMP_RE.fullmatch(date_stamp):
        raise error(f"Invalid credential date '{date_stamp}'. This date is not in YYYYMMDD format.")
    if service != SERVICE:
        raise error(f"Error parsing the Credential/X-Amz-Credential parameter; incorrect service '{service}'. "
                    f"This endpoint belongs to '{SERVICE}'.")
    if terminator != TERMINATOR:
        raise error(f"Error parsing the Credential parameter; incorrect terminal '{terminator}'. "
                    f"This endpoint uses '{TERMINATOR}'.")
    return _Credential(access_key=access_key, date_stamp=date_stamp, region=region)


def _parse_signed_headers(value: str, error: _ParseError) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not value or not all(names) or any(name != name.lower() for name in names):
        raise error(f"SignedHeaders must be a ';'-separated list of lowercase header names: '{value}'")
    if "host" not in names:
        raise error("'Host' must be a signed header")
    return names


def _split_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise InvalidArgument(f"Unsupported Authorization Type '{algorithm}'", "Authorization", value)
    fields: dict[str, str] = {}
    for component in rest.split(","):
        name, sep, field_value = component.strip().partition("=")
        if not sep or name in fields:
            raise AuthorizationHeaderMalformed(f"The authorization header is malformed; bad component "
                                               f"'{component.strip()}'.")
        fields[name] = field_value
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in fields:
            raise AuthorizationHeaderMalformed(
                f"The authorization header is malformed; missing {required}."
            )
    return fields


def _claim_from_header(headers: Mapping[str, str]) -> _Claim:
    fields = _split_authorization(headers["authorization"])
    credential = _parse_credential(fields["Credential"], AuthorizationHeaderMalformed)
    signed_headers = _parse_signed_headers(fields["SignedHeaders"], AuthorizationHeaderMalformed)
    amz_date, request_time = _request_time_from_headers(headers)
    if "x-amz-content-sha256" not in headers:
        # AWS answers this one as 400 InvalidRequest "Missing required header for this request".
        raise MissingSecurityHeader("x-amz-content-sha256")
    payload_hash = headers["x-amz-content-sha256"]
    return _Claim(
        credential=credential,
        signed_headers=signed_headers,
        signature=fields["Signature"],
        amz_date=amz_date,
        request_time=request_time,
        payload_hash=payload_hash,
        payload_mode=_parse_payload_hash(payload_hash),
        presigned=False,
    )


_PRESIGN_REQUIRED = (
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"
)


def _presign_params(query: Sequence[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in query:
        if name.startswith("X-Amz-"):
            if name in params:
                raise AuthorizationQueryParametersError(f"Query parameter {name} appears more than once.")
            params[name] = value
    if any(name not in params for name in _PRESIGN_REQUIRED):
        raise AuthorizationQueryParametersError(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise InvalidArgument(
            f'X-Amz-Algorithm only supports "{ALGORITHM}"', "X-Amz-Algorithm", params["X-Amz-Algorithm"]
        )
    return params


def _parse_expires(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
    expires_s = int(value)
    if expires_s > limits.presigned_expires_s_max:
        raise AuthorizationQueryParametersError(
            f"X-Amz-Expires must be less than a week (in seconds) that is; {limits.presigned_expires_s_max}"
        )
    return expires_s


def _claim_from_query(query: Sequence[tuple[str, str]]) -> tuple[_Claim, int]:
    params = _presign_params(query)
    credential = _parse_credential(params["X-Amz-Credential"], AuthorizationQueryParametersError)
    signed_headers = _parse_signed_headers(params["X-Amz-SignedHeaders"], AuthorizationQueryParametersError)
    expires_s = _parse_expires(params["X-Amz-Expires"])
    amz_date = params["X-Amz-Date"]
    # A presigned URL cannot know its body; a client may still pin one in the query.
    payload_hash = params.get("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD)
    claim = _Claim(
        credential=credential,
        signed_headers=signed_headers,
        signature=params["X-Amz-Signature"],
        amz_date=amz_date,
        request_time=_parse_amz_date(amz_date, "X-Amz-Date"),
        payload_hash=payload_hash,
        payload_mode=_parse_payload_hash(payload_hash),
        presigned=True,
    )
    return claim, expires_s


# --------------------------------------------------------------------------- checks


def _check_scope(claim: _Claim, region: str | None) -> None:
    error = AuthorizationQueryParametersError if claim.presigned else AuthorizationHeaderMalformed
    if claim.credential.date_stamp != claim.amz_date[:8]:
        raise error(
            f"Invalid credential date '{claim.credential.date_stamp}'. Date is not the same as X-Amz-Date."
        )
    if region is not None and claim.credential.region != region:
        raise error(f"the region '{claim.credential.region}' is wrong; expecting '{region}'", region=region)


def _check_request_time(claim: _Claim, now: datetime, expires_s: int | None) -> None:
    skew = timedelta(seconds=limits.request_time_skew_s_max)
    if expires_s is None:
        if abs(now - claim.request_time) > skew:
            raise RequestTimeTooSkewed(claim.request_time, now, limits.request_time_skew_s_max)
        return
    if claim.request_time - now > skew:
        raise RequestNotYetValid(claim.request_time, now)
    expires_at = claim.request_time + timedelta(seconds=expires_s)
    if now > expires_at:
        raise RequestExpired(expires_at, now)


def _check_headers_signed(headers: Mapping[str, str], claim: _Claim) -> None:
    # x-amz-* headers change what a request does (ACLs, copy source, metadata);
    # one outside the signature could have been added by anyone on the path.
    unsigned = tuple(sorted(
        name for name in headers if name.startswith("x-amz-") and name not in claim.signed_headers
    ))
    if unsigned:
        raise HeadersNotSigned(unsigned)


def _same_signature(expected_hex: str, provided: str) -> bool:
    # compare_digest refuses non-ASCII str; such a signature is simply wrong.
    return provided.isascii() and hmac.compare_digest(expected_hex, provided)


def _check_signature(
    request: SignedRequest, headers: Mapping[str, str], claim: _Claim, secret: str
) -> AuthResult:
    credential = claim.credential
    signing_key = derive_signing_key(secret, credential.date_stamp, credential.region)
    scope = f"{credential.date_stamp}/{credential.region}/{SERVICE}/{TERMINATOR}"
    canonical = _canonical_request(request, headers, claim)
    to_sign = string_to_sign(claim.amz_date, scope, canonical)
    expected = hmac_sha256(signing_key, to_sign).hex()
    if not _same_signature(expected, claim.signature):
        raise SignatureDoesNotMatch(credential.access_key, to_sign, claim.signature, canonical)
    return AuthResult(
        access_key=credential.access_key,
        region=credential.region,
        date_stamp=credential.date_stamp,
        amz_date=claim.amz_date,
        signing_key=signing_key,
        seed_signature=expected,
        payload_hash=claim.payload_hash,
        payload_mode=claim.payload_mode,
        presigned=claim.presigned,
        signed_headers=claim.signed_headers,
    )


def _parse_claim(
    headers: Mapping[str, str], query: Sequence[tuple[str, str]]
) -> tuple[_Claim, int | None] | None:
    names = {name for name, _ in query}
    has_presign = any(name in names for name in _PRESIGN_PARAMS)
    if "authorization" in headers:
        if has_presign:
            raise InvalidArgument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
                "query string parameter or the Authorization header should be specified",
                "Authorization", headers["authorization"],
            )
        return _claim_from_header(headers), None
    if has_presign:
        return _claim_from_query(query)
    return None


def verify_request(
    request: SignedRequest,
    lookup_secret: SecretLookup,
    now: datetime,
    *,
    region: str | None = None,
) -> AuthResult | None:
    """Verify a request's SigV4 signature; None means it carries no credentials.

    ``lookup_secret`` maps an access key to its secret (None: unknown key).
    ``now`` must be timezone-aware. When ``region`` is given, a credential
    scoped to another region is refused as AWS does; None accepts any region.
    The body is not checked here: see ``AuthResult.payload_mode``. Legacy SigV2
    requests (what boto3 and awscli presign by default) are verified too, with
    ``signature_version`` 2 in the result.
    """
    assert now.tzinfo is not None, "now must be timezone-aware"
    headers = lowercase_headers(request.headers)
    if _uses_sigv2(headers, request.query):
        return verify_sigv2(request, lookup_secret, now)
    parsed = _parse_claim(headers, request.query)
    if parsed is None:
        return None
    claim, expires_s = parsed
    _check_scope(claim, region)
    secret = lookup_secret(claim.credential.access_key)
    if secret is None:
        raise InvalidAccessKeyId(claim.credential.access_key)
    _check_request_time(claim, now.astimezone(UTC), expires_s)
    _check_headers_signed(headers, claim)
    return _check_signature(request, headers, claim, secret)


# --------------------------------------------------------------------------- legacy SigV2
#
# boto3's generate_presigned_url and `aws s3 presign` still produce SigV2 query
# URLs (AWSAccessKeyId, Signature, Expires) against a custom endpoint, so we
# verify those, and the matching "Authorization: AWS AK:sig" header form. The
# signature is base64 HMAC-SHA1 over: method, Content-MD5, Content-Type, Date (or
# Expires), the x-amz-* headers, and the resource: the path as sent plus the
# sub-resources below. Path-style only: a virtual-hosted request would need the
# bucket from the Host header prepended to the resource.

_SIGV2_SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle",
    "location", "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
    "requestPayment", "restore", "select", "select-type", "storageClass", "tagging", "torrent", "uploadId",
    "uploads", "versionId", "versioning", "versions", "website", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires",
})


def _uses_sigv2(headers: Mapping[str, str], query: Sequence[tuple[str, str]]) -> bool:
    if "authorization" in headers:
        return headers["authorization"].startswith("AWS ")
    names = {name for name, _ in query}
    return all(name in names for name in _SIGV2_QUERY_PARAMS) and "X-Amz-Algorithm" not in names


def _sigv2_string_to_sign(request: SignedRequest, headers: Mapping[str, str], date: str) -> str:
    query = dict(request.query)
    amz = {name.lower(): value for name, value in query.items() if name.lower().startswith("x-amz-")}
    amz.update((name, value) for name, value in headers.items() if name.startswith("x-amz-"))
    subresources = sorted((name, value) for name, value in request.query if name in _SIGV2_SUBRESOURCES)
    resource = request.raw_path.split("?", 1)[0] or "/"
    if subresources:
        resource += "?" + "&".join(f"{name}={value}" if value else name for name, value in subresources)
    lines = [
        request.method.upper(),
        headers.get("content-md5", query.get("Content-MD5", "")).strip(),
        headers.get("content-type", query.get("Content-Type", "")).strip(),
        date,
        *(f"{name}:{canonical_header_value(amz[name])}" for name in sorted(amz)),
        resource,
    ]
    return "\n".join(lines)


def _parse_sigv2_date(text: str) -> datetime:
    """RFC 1123 as SigV2 specifies, or the ISO 8601 basic form some clients put in x-amz-date."""
    if _AMZ_DATE_RE.fullmatch(text):
        return _parse_amz_date(text, "x-amz-date")
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sigv2_claim(request: SignedRequest, headers: Mapping[str, str], now: datetime) -> tuple[str, str, str]:
    """(access key, signature, date line), with the request's time checked."""
    if "authorization" in headers:
        access_key, separator, signature = headers["authorization"][len("AWS "):].strip().rpartition(":")
        if not separator or not access_key:
            raise AuthorizationHeaderMalformed("The authorization header is malformed; expecting AWS AK:signature")
        amz_date = headers.get("x-amz-date")
        date_text = amz_date if amz_date is not None else headers.get("date")
        if date_text is None:
            raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
        request_time = _parse_sigv2_date(date_text)
        if abs(now - request_time) > timedelta(seconds=limits.request_time_skew_s_max):
            raise RequestTimeTooSkewed(request_time, now, limits.request_time_skew_s_max)
        # With x-amz-date present the Date line is empty: the signed time is x-amz-date's.
        return access_key, signature, "" if amz_date is not None else headers.get("date", "")
    query = dict(request.query)
    expires_text = query["Expires"]
    if not expires_text.isascii() or not expires_text.isdigit():
        raise AuthorizationQueryParametersError("Invalid date (should be seconds since epoch): " + expires_text)
    expires_at = datetime.fromtimestamp(int(expires_text), UTC)
    if now > expires_at:
        raise RequestExpired(expires_at, now)
    # SigV2 has no upper bound; we hold it to SigV4's week so no URL lives forever.
    if expires_at - now > timedelta(seconds=limits.presigned_expires_s_max):
        raise AuthorizationQueryParametersError("Expires must be less than a week (in seconds) from now")
    return query["AWSAccessKeyId"], query["Signature"], expires_text


def verify_sigv2(request: SignedRequest, lookup_secret: SecretLookup, now: datetime) -> AuthResult:
    """Verify a legacy SigV2 request (header or presigned query); verify_request routes here."""
    headers = lowercase_headers(request.headers)
    access_key, signature, date_line = _sigv2_claim(request, headers, now.astimezone(UTC))
    secret = lookup_secret(access_key)
    if secret is None:
        raise InvalidAccessKeyId(access_key)
    to_sign = _sigv2_string_to_sign(request, headers, date_line)
    digest = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8", "surrogateescape"), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode("ascii")
    if not _same_signature(expected, signature):
        raise SignatureDoesNotMatch(access_key, to_sign, signature)
    return AuthResult(
        access_key=access_key, region="", date_stamp="", amz_date="", signing_key=b"", seed_signature="",
        payload_hash=UNSIGNED_PAYLOAD, payload_mode=PayloadMode.UNSIGNED, presigned="authorization" not in headers,
        signed_headers=(), signature_version=2,
    )
