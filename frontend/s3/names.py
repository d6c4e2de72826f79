"""S3 naming rules for buckets and keys."""

from __future__ import annotations

import ipaddress
import re

from frontend import limits
from frontend.s3 import errors

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_bucket_name(name: str) -> None:
    """Raise InvalidBucketName unless `name` follows AWS's general purpose bucket rules.

    >>> check_bucket_name("my-bucket.1")
    >>> check_bucket_name("My_Bucket")
    Traceback (most recent call last):
    ...
    frontend.s3.errors.InvalidBucketName: The specified bucket is not valid.
    """
    valid = bool(_BUCKET_NAME.match(name)) and ".." not in name and ".-" not in name and "-." not in name
    valid = valid and not name.startswith(("xn--", "sthree-")) and not name.endswith(("-s3alias", "--ol-s3"))
    if valid:
        try:
            ipaddress.IPv4Address(name)
            valid = False
        except ValueError:
            pass
    if not valid:
        raise errors.InvalidBucketName(None, BucketName=name)


def check_key(key: str) -> None:
    if len(key.encode("utf-8")) > limits.key_bytes_max:
        raise errors.KeyTooLongError(None, Key=key[:64] + "...")
