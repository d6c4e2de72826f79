"""S3 errors: one class per S3 code, and the one table from backend errors to them."""

from __future__ import annotations

from frontend.clients import errors as backend
from frontend.objects import errors as objects


class S3Error(Exception):
    code = "InternalError"
    status = 500
    default_message = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, **fields: str) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.fields = fields  # extra XML elements, e.g. BucketName, Key


def _error(code: str, status: int, message: str) -> type[S3Error]:
    return type(code, (S3Error,), {"code": code, "status": status, "default_message": message})


AccessDenied = _error("AccessDenied", 403, "Access Denied")
AuthorizationHeaderMalformed = _error("AuthorizationHeaderMalformed", 400,
                                      "The authorization header is malformed.")
AuthorizationQueryParametersError = _error("AuthorizationQueryParametersError", 400,
                                           "Error parsing the X-Amz-Credential parameter.")
BadDigest = _error("BadDigest", 400,
                   "The Content-MD5 or checksum you specified did not match what we received.")
BucketAlreadyExists = _error("BucketAlreadyExists", 409, "The requested bucket name is not available.")
BucketAlreadyOwnedByYou = _error(
    "BucketAlreadyOwnedByYou", 409,
    "Your previous request to create the named bucket succeeded and you already own it.")
BucketNotEmpty = _error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty")
EntityTooSmall = _error("EntityTooSmall", 400,
                        "Your proposed upload is smaller than the minimum allowed object size.")
EntityTooLarge = _error("EntityTooLarge", 400,
                        "Your proposed upload exceeds the maximum allowed object size.")
IncompleteBody = _error("IncompleteBody", 400,
                        "You did not provide the number of bytes specified by the Content-Length HTTP header.")
InternalError = S3Error
InvalidAccessKeyId = _error("InvalidAccessKeyId", 403,
                            "The AWS Access Key Id you provided does not exist in our records.")
InvalidArgument = _error("InvalidArgument", 400, "Invalid Argument")
InvalidBucketName = _error("InvalidBucketName", 400, "The specified bucket is not valid.")
InvalidDigest = _error("InvalidDigest", 400, "The Content-MD5 you specified is not valid.")
InvalidPart = _error("InvalidPart", 400, "One or more of the specified parts could not be found. The part may not "
                     "have been uploaded, or the specified entity tag may not match the part's entity tag.")
InvalidPartOrder = _error("InvalidPartOrder", 400,
                          "The list of parts was not in ascending order. Parts must be ordered by part number.")
InvalidRange = _error("InvalidRange", 416, "The requested range is not satisfiable")
InvalidRequest = _error("InvalidRequest", 400, "Invalid Request")
KeyTooLongError = _error("KeyTooLongError", 400, "Your key is too long")
MalformedXML = _error("MalformedXML", 400,
                      "The XML you provided was not well-formed or did not validate against our published schema")
MetadataTooLarge = _error("MetadataTooLarge", 400,
                          "Your metadata headers exceed the maximum allowed metadata size")
MethodNotAllowed = _error("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
MissingContentLength = _error("MissingContentLength", 411, "You must provide the Content-Length HTTP header.")
MissingSecurityHeader = _error("MissingSecurityHeader", 400, "Your request is missing a required header.")
NoSuchBucket = _error("NoSuchBucket", 404, "The specified bucket does not exist")
NoSuchUpload = _error("NoSuchUpload", 404, "The specified multipart upload does not exist. The upload ID might "
                      "be invalid, or the multipart upload might have been aborted or completed.")
NoSuchKey = _error("NoSuchKey", 404, "The specified key does not exist.")
NotImplemented_ = _error("NotImplemented", 501,
                         "A header or query you provided requested a function that is not implemented.")
PreconditionFailed = _error("PreconditionFailed", 412,
                            "At least one of the pre-conditions you specified did not hold")
RequestTimeTooSkewed = _error("RequestTimeTooSkewed", 403,
                              "The difference between the request time and the current time is too large.")
ServiceUnavailable = _error("ServiceUnavailable", 503, "Please reduce your request rate.")
SignatureDoesNotMatch = _error("SignatureDoesNotMatch", 403,
                               "The request signature we calculated does not match the signature you provided. "
                               "Check your key and signing method.")
SlowDown = _error("SlowDown", 503, "Please reduce your request rate.")
TooManyBuckets = _error("TooManyBuckets", 400, "You have attempted to create more buckets than allowed")
XAmzContentSHA256Mismatch = _error("XAmzContentSHA256Mismatch", 400,
                                   "The provided 'x-amz-content-sha256' header does not match what was computed.")

BACKEND_ERRORS: dict[type[Exception], type[S3Error]] = {
    backend.NoSuchBucket: NoSuchBucket,
    backend.NoSuchKey: NoSuchKey,
    backend.BucketAlreadyOwnedByYou: BucketAlreadyOwnedByYou,
    backend.BucketNotEmpty: BucketNotEmpty,
    backend.InvalidArgument: InvalidArgument,
    backend.TooManyBuckets: TooManyBuckets,
    backend.NoSuchUpload: NoSuchUpload,
    backend.InvalidPart: InvalidPart,
    backend.InvalidPartOrder: InvalidPartOrder,
    backend.EntityTooSmall: EntityTooSmall,
    backend.InsufficientNodes: ServiceUnavailable,
    backend.MetadataUnavailable: ServiceUnavailable,
    backend.ChunkUnavailable: ServiceUnavailable,
    objects.WriteQuorumError: ServiceUnavailable,
    objects.ReadQuorumError: ServiceUnavailable,
    objects.EntityTooLarge: EntityTooLarge,
}


def to_s3_error(error: Exception) -> S3Error:
    """The S3 error a client should see for `error`; anything unmapped is InternalError."""
    if isinstance(error, S3Error):
        return error
    for cls in type(error).__mro__:
        mapped = BACKEND_ERRORS.get(cls)
        if mapped is not None:
            return mapped(str(error) if mapped.status < 500 else None)
    return InternalError()
